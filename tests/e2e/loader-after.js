// The loader is async, so the module is not ready yet: everything here is queued.
(function () {
  var e2e = window.e2e;
  var failures = [];
  function expect(condition, message) { if (!condition) failures.push(message); }
  expect(typeof window.kelisim.acceptAll === 'function', 'the loader installed no API object');
  expect(window.kelisim.accepted('analytics') === false, 'accepted() answered true before the module was ready');
  expect(window.kelisim.getConsent() === null, 'getConsent() was not null before the module was ready');
  window.kelisim.on('shown', function () { e2e.events.push('shown'); });
  window.kelisim.on('consent', function (detail) {
    e2e.events.push('consent:' + detail.action);
    // Give the gated src script time to load and run, then judge.
    setTimeout(judge, 300);
  });
  window.kelisim.accept(['analytics']);

  function judge() {
    var k = window.kelisim;
    expect(k.accepted('analytics') === true, 'analytics not accepted after the queued accept()');
    expect(k.accepted('marketing') === false, 'marketing accepted without consent');
    var consent = k.getConsent();
    expect(consent && /^[0-9a-f-]{36}$/.test(consent.consentId), 'no consent id');
    expect(consent && consent.grantedCategories.join() === 'analytics,necessary', 'granted: ' + (consent && consent.grantedCategories));
    expect(e2e.events.join() === 'ready:true,shown,consent:custom', 'events: ' + e2e.events.join());
    expect(e2e.ran.join() === 'analytics', 'gated scripts that ran: ' + e2e.ran.join());
    expect(document.cookie.indexOf('kelisim=1.') !== -1, 'no kelisim cookie: ' + document.cookie);
    expect(!document.getElementById('kelisim'), 'the banner is still on the page after the choice');
    var commands = (window.dataLayer || []).filter(function (entry) { return entry && entry[0] === 'consent'; });
    expect(commands.length === 2, 'consent commands in dataLayer: ' + commands.length);
    expect(commands[0] && commands[0][1] === 'default' && commands[0][2].analytics_storage === 'denied', 'first consent command is not the denied default');
    expect(commands[1] && commands[1][1] === 'update' && commands[1][2].analytics_storage === 'granted' && commands[1][2].ad_storage === 'denied', 'second consent command is not the update');
    document.body.setAttribute('data-e2e-result', failures.length ? 'fail: ' + failures.join('; ') : 'pass');
  }
})();
