window.e2e.ran.push('analytics');
