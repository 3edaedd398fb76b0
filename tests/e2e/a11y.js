// Audits both layers, the embed placeholder and the floating "Cookie settings" button a choice
// leaves behind with axe-core (WCAG 2.0/2.1 A and AA) and records the verdict.
(function () {
  var options = { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] };
  var found = [];
  // Run with prefers-reduced-motion (cargo xtask sets it), so no fade is caught half-way.
  function audit(layer) {
    var include = [['#kelisim'], ['.kelisim-embed']];
    if (document.getElementById('kelisim-reopen')) include.push(['#kelisim-reopen']);
    return window.axe.run({ include: include }, options).then(function (results) {
      results.violations.forEach(function (violation) {
        found.push(layer + ': ' + violation.id + ' (' + violation.nodes.map(function (n) { return n.target.join(' '); }).join(', ') + ')');
      });
    });
  }
  // Resolves once `selector` finds something (the preferences dialog's tree is fetched when
  // it first opens), rejects after 5 s.
  function until(selector) {
    var deadline = Date.now() + 5000;
    return new Promise(function (resolve, reject) {
      (function look() {
        if (document.querySelector(selector)) return resolve();
        if (Date.now() > deadline) return reject('no ' + selector);
        setTimeout(look, 50);
      })();
    });
  }
  // `ready` is replayed to late subscribers; then wait for the banner to be on the page.
  window.kelisim.on('ready', function () {
    var deadline = Date.now() + 5000;
    (function waitForBanner() {
      if (!document.querySelector('#kelisim .kelisim-banner') || !document.querySelector('.kelisim-embed')) {
        if (Date.now() > deadline) return document.body.setAttribute('data-e2e-result', 'fail: no banner or no embed placeholder');
        return setTimeout(waitForBanner, 50);
      }
      audit('banner')
        .then(function () { window.kelisim.showPreferences(); return until('#kelisim .kelisim-preferences'); })
        .then(function () { return audit('preferences'); })
        .then(function () { window.kelisim.setLanguage('ru'); return until('#kelisim[lang=ru] .kelisim-preferences'); })
        .then(function () { return audit('preferences (ru)'); })
        .then(function () {
          window.kelisim.rejectAll();
          var reopen = document.getElementById('kelisim-reopen');
          if (!reopen) throw 'no "Cookie settings" button after the choice';
          reopen.click();
          return until('#kelisim .kelisim-preferences').catch(function () { throw 'the button did not open the preferences'; });
        })
        .then(function () {
          window.kelisim.hide();
          return audit('after a choice');
        })
        .then(function () {
          document.body.setAttribute('data-e2e-result', found.length ? 'fail: ' + found.join('; ') : 'pass');
        })
        .catch(function (error) { document.body.setAttribute('data-e2e-result', 'fail: axe error ' + error); });
    })();
  });
})();
