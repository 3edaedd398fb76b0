// Per step: offline → the receipt waits in the outbox; deliver → a later page view sends it
// and it is acknowledged. (Accepting on the demo store itself is checked with the server.)
(function () {
  var step = window.e2eStep, k = window.kelisim;
  function outbox() { return JSON.parse(localStorage.getItem('kelisim:outbox') || '[]'); }
  function finish(ok, why) { document.body.setAttribute('data-e2e-result', ok ? 'pass' : 'fail: ' + why); }
  function waitFor(condition, why, ms) {
    var deadline = Date.now() + ms;
    (function poll() {
      if (condition()) return finish(true);
      if (Date.now() > deadline) return finish(false, why());
      setTimeout(poll, 100);
    })();
  }
  var acknowledged = function () { var c = k.getConsent(); return c && c.receiptId && outbox().length === 0; };
  var state = function () { return 'consent=' + JSON.stringify(k.getConsent()) + ' outbox=' + outbox().length; };
  k.on('ready', function () {
    if (step === 'offline') {
      k.acceptAll();
      waitFor(function () { return outbox().length === 1 && localStorage.getItem('kelisim:outbox-retry-at'); }, state, 8000);
    }
    if (step === 'deliver') waitFor(acknowledged, state, 8000);
  });
})();
