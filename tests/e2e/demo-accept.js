// Injected into a copy of the demo store served by kelisim-server itself: a visitor presses
// "accept all" on the real banner; the receipt must be acknowledged by the same server.
// The demo's loader tag is async: queue with the array form, as the README shows.
window.kelisim = window.kelisim || [];
window.kelisim.push(['on', 'ready', function () {
  setTimeout(function () {
    var button = document.querySelector('#kelisim [data-kelisim-action=accept-all]');
    if (!button) return document.body.setAttribute('data-e2e-result', 'fail: no banner');
    button.click();
    var deadline = Date.now() + 8000;
    (function poll() {
      var consent = window.kelisim.getConsent();
      if (consent && consent.receiptId) return document.body.setAttribute('data-e2e-result', 'pass');
      if (Date.now() > deadline) return document.body.setAttribute('data-e2e-result', 'fail: ' + JSON.stringify(consent));
      setTimeout(poll, 100);
    })();
  }, 50);
}]);
