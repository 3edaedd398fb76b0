// Shared by the loader pages: records events and gated-script runs, and after the first
// choice checks everything the loader promises, writing the verdict to <body data-e2e-result>.
window.e2e = {
  events: [],
  ran: [],
  failures: [],
  // The module may already be running when a page's later script subscribes (the browser runs
  // tasks while it fetches that script): then the banner was shown before anyone listened.
  shownBeforeListening: false,
  subscribeShown: function () {
    var k = window.kelisim;
    window.e2e.shownBeforeListening = !!(k && k.loaded && document.getElementById('kelisim'));
  },
  expect: function (condition, message) { if (!condition) window.e2e.failures.push(message); },
  // Whether the page had a <body> when the module started. Without one (the module ready
  // while the parser is still in <head>: cached files, a slow script before <body>) the banner waits for
  // the body, and the queued accept() cancels it before it is shown.
  bodyAtReady: null,
  onReady: function (detail) {
    window.e2e.bodyAtReady = !!document.body;
    window.e2e.events.push('ready:' + (detail.consent === null));
  },
  onShown: function () { window.e2e.events.push('shown'); },
  onConsent: function (detail) {
    window.e2e.events.push('consent:' + detail.action);
    // Judged once the page has loaded (with preloaded files the choice can be made while the
    // parser is still in <head>, before <body> exists), then after the gated src script has
    // had time to load and run.
    var judgeSoon = function () { setTimeout(window.e2e.judge, 300); };
    if (document.readyState === 'complete') judgeSoon();
    else window.addEventListener('load', judgeSoon);
  },
  judge: function () {
    var e2e = window.e2e, k = window.kelisim, expect = e2e.expect;
    expect(k.accepted('analytics') === true, 'analytics not accepted after the queued accept()');
    expect(k.accepted('marketing') === false, 'marketing accepted without consent');
    var consent = k.getConsent();
    expect(consent && /^[0-9a-f-]{36}$/.test(consent.consentId), 'no consent id');
    expect(consent && consent.grantedCategories.join() === 'analytics,necessary', 'granted: ' + (consent && consent.grantedCategories));
    var expected = e2e.shownBeforeListening || !e2e.bodyAtReady ? 'ready:true,consent:custom' : 'ready:true,shown,consent:custom';
    expect(e2e.events.join() === expected, 'events: ' + e2e.events.join() + ' (expected ' + expected + ')');
    expect(e2e.ran.join() === 'analytics', 'gated scripts that ran: ' + e2e.ran.join());
    expect(document.cookie.indexOf('kelisim=1.') !== -1, 'no kelisim cookie: ' + document.cookie);
    expect(!document.getElementById('kelisim'), 'the banner is still on the page after the choice');
    var commands = (window.dataLayer || []).filter(function (entry) { return entry && entry[0] === 'consent'; });
    expect(commands.length === 2, 'consent commands in dataLayer: ' + commands.length);
    expect(commands[0] && commands[0][1] === 'default' && commands[0][2].analytics_storage === 'denied', 'first consent command is not the denied default');
    expect(commands[1] && commands[1][1] === 'update' && commands[1][2].analytics_storage === 'granted' && commands[1][2].ad_storage === 'denied', 'second consent command is not the update');
    // A preloaded module or config must be the response the loader used, not a second download.
    Array.prototype.forEach.call(document.querySelectorAll('link[rel=preload]'), function (link) {
      var fetched = performance.getEntriesByName(link.href).length;
      expect(fetched === 1, link.href + ' was fetched ' + fetched + ' times: the loader did not take the preload');
    });
    document.body.setAttribute('data-e2e-result', e2e.failures.length ? 'fail: ' + e2e.failures.join('; ') : 'pass');
  }
};
