// The loader tag is synchronous, so the API object exists, but the wasm module is still
// loading: calls are queued, and queries answer "nothing granted".
(function () {
  var k = window.kelisim, expect = window.e2e.expect;
  expect(typeof k.acceptAll === 'function', 'the loader installed no API object');
  expect(k.accepted('analytics') === false, 'accepted() answered true before a choice');
  expect(k.getConsent() === null, 'getConsent() was not null before a choice');
  window.e2e.subscribeShown();
  k.on('shown', window.e2e.onShown);
  k.on('consent', window.e2e.onConsent);
  k.accept(['analytics']);
})();
