window.e2e.ran.push('fallback');
