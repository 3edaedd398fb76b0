// Step "deliver" is a later page view: pretend the back-off after the failed send has passed.
window.e2eStep = new URLSearchParams(location.search).get('step');
if (window.e2eStep === 'deliver') localStorage.removeItem('kelisim:outbox-retry-at');
