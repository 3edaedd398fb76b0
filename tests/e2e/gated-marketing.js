window.e2e.ran.push('marketing');
