// Two page views in one browser profile, with /sdk-pair/ cached for 10 minutes (`?step=`):
// refused   the server has kelisim.js of one build and a .wasm of another: no banner, a
//           console error (checked by the harness), and the module was fetched twice (the
//           second time past the cache);
// recovered the server has the right .wasm now, the cache still the other one: the loader
//           finds the cached copy of another build, fetches it again past the cache, and starts.
(function () {
  var step = new URLSearchParams(location.search).get('step');
  function finish(failures) {
    document.body.setAttribute('data-e2e-result', failures.length ? 'fail: ' + failures.join('; ') : 'pass');
  }
  function fetches() {
    return performance.getEntriesByType('resource').filter(function (entry) {
      return /\/sdk-pair\/kelisim_sdk_bg\.wasm$/.test(entry.name);
    });
  }
  if (step === 'refused') {
    setTimeout(function () {
      var failures = [];
      if (document.getElementById('kelisim')) failures.push('a banner was shown by a module of another build');
      if (window.kelisim.loaded) failures.push('the module of another build was started');
      if (fetches().length !== 2) failures.push('the module was fetched ' + fetches().length + ' times, not twice');
      finish(failures);
    }, 3000);
  } else {
        // The queue form: heard whether the async loader has run yet or not, and `ready` is
    // replayed to a late listener, so a fast start cannot slip past this one. Judged at once,
    // with no timer: under --virtual-time-budget a timer may outlast the budget when the
    // machine is slow to compile the module.
    window.kelisim = window.kelisim || [];
    window.kelisim.push(['on', 'ready', function () {
      var seen = fetches(), failures = [];
      // The first answer came from the cache (nothing transferred), the second from the server.
      if (seen.length !== 2) failures.push('the module was fetched ' + seen.length + ' times, not twice');
      else if (seen[0].transferSize !== 0 || seen[1].transferSize === 0) {
        failures.push('transferred ' + seen[0].transferSize + ' then ' + seen[1].transferSize + ' bytes; expected the cache, then the server');
      }
      // `ready` comes before the banner; the banner comes in the same task, before `shown`.
      var judge = function () {
        if (!document.getElementById('kelisim')) failures.push('no banner');
        finish(failures);
      };
      if (document.getElementById('kelisim')) judge();
      else window.kelisim.push(['on', 'shown', judge]);
    }]);
  }
})();
