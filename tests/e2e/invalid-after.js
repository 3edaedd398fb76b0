// After the module had every chance to start, nothing may be shown and nothing may run.
setTimeout(function () {
  var failures = [];
  if (document.getElementById('kelisim')) failures.push('a banner was shown for an invalid config');
  if (window.e2e.ran.length) failures.push('gated scripts ran: ' + window.e2e.ran.join());
  if (window.kelisim.getConsent() !== null) failures.push('a consent exists');
  document.body.setAttribute('data-e2e-result', failures.length ? 'fail: ' + failures.join('; ') : 'pass');
}, 3000);
