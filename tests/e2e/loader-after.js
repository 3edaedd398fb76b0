// The loader tag is async, so it may or may not have run yet: the push form works either way.
window.kelisim = window.kelisim || [];
window.e2e.subscribeShown();
window.kelisim.push(['on', 'shown', window.e2e.onShown]);
window.kelisim.push(['on', 'consent', window.e2e.onConsent]);
window.kelisim.push(['accept', ['analytics']]);
