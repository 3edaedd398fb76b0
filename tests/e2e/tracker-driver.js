// Drives a store page through the choices a visitor makes and checks, in the page, what the
// trackers left behind. Phase markers go to https://phase.kelisim.test/<name>, which the fake
// tracker host records in order with every tracker request (cargo xtask e2e checks that log).
(function () {
  var failures = [];
  function expect(condition, message) { if (!condition) failures.push(message); }
  function marker(name) { return fetch('https://phase.kelisim.test/' + name, { mode: 'no-cors' }).catch(function () {}); }
  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }
  function cookie(name) { return document.cookie.split('; ').some(function (c) { return c.indexOf(name + '=') === 0; }); }
  function click(selector) { var el = document.querySelector(selector); if (!el) throw new Error('no ' + selector); el.click(); }
  // Resolves once `selector` finds something: the preferences dialog's tree is fetched when it
  // first opens.
  async function until(selector) {
    for (var deadline = Date.now() + 5000; !document.querySelector(selector); await sleep(50)) {
      if (Date.now() > deadline) throw new Error('no ' + selector);
    }
  }
  function consentCommands() {
    return (window.dataLayer || []).filter(function (e) { return e && e[0] === 'consent'; }).map(function (e) {
      return e[1] + ':' + e[2].analytics_storage + '/' + e[2].ad_storage;
    });
  }
  var TRACKERS = ['_ga', '_ga_DEMO', '_ym_uid', '_fbp'];

  async function run() {
    await sleep(1500);
    expect(TRACKERS.every(function (c) { return !cookie(c); }), 'tracker cookies before a choice: ' + document.cookie);
    await marker('before');
    // Only analytics, through the preferences layer.
    click('[data-kelisim-action=preferences]');
    await until('input[data-kelisim-category=analytics]');
    click('input[data-kelisim-category=analytics]');
    click('.kelisim-preferences [data-kelisim-action=save]');
    await sleep(1500);
    expect(cookie('_ga') && cookie('_ym_uid'), 'analytics trackers did not run: ' + document.cookie);
    expect(!cookie('_fbp'), 'marketing ran with only analytics granted');
    await marker('analytics');
    // Reject all: analytics cookies and storage go, nothing new runs.
    // A page in vanilla-cookieconsent markup uses its own data-cc buttons.
    if (document.querySelector('[data-cc=show-preferencesModal]')) click('[data-cc=show-preferencesModal]');
    else window.kelisim.showPreferences();
    await until('.kelisim-preferences [data-kelisim-action=reject-all]');
    click('.kelisim-preferences [data-kelisim-action=reject-all]');
    await sleep(2000);
    expect(!cookie('_ga') && !cookie('_ga_DEMO') && !cookie('_ym_uid'), 'analytics cookies survived reject: ' + document.cookie);
    expect(localStorage.getItem('_ym_retryReqs') === null, 'Metrika localStorage survived reject');
    await marker('rejected');
    // Accept all, then withdraw.
    if (document.querySelector('[data-cc=accept-all]')) click('[data-cc=accept-all]');
    else window.kelisim.acceptAll();
    await sleep(1500);
    expect(cookie('_fbp'), 'marketing did not run after accept all');
    await marker('accepted');
    window.kelisim.withdraw();
    await sleep(2000);
    expect(TRACKERS.every(function (c) { return !cookie(c); }), 'tracker cookies survived withdrawal: ' + document.cookie);
    await marker('withdrawn');
    var commands = consentCommands().join(' ');
    expect(commands === 'default:denied/denied update:granted/denied update:denied/denied update:granted/granted update:denied/denied',
      'gtag consent commands: ' + commands);
    // The demo store's preload hints: the loader took the preloaded module and config.
    Array.prototype.forEach.call(document.querySelectorAll('link[rel=preload]'), function (link) {
      var fetched = performance.getEntriesByName(link.href).length;
      expect(fetched === 1, link.href + ' was fetched ' + fetched + ' times');
    });
    if (window.__cspViolations) {
      expect(window.__cspViolations.length === 0, 'CSP violations: ' + window.__cspViolations.join('; '));
    }
    document.body.setAttribute('data-e2e-result', failures.length ? 'fail: ' + failures.join('; ') : 'pass');
  }
  window.addEventListener('load', function () { run().catch(function (e) { document.body.setAttribute('data-e2e-result', 'fail: ' + e); }); });
})();
