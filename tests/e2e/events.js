// kelisim.on/off are the loader's: window listeners for the module's kelisim:<event>
// CustomEvents. Checked here: subscribing before the module has loaded (no queue), the array
// form, bad arguments reported by name, a listener that throws reported while the others still
// run, off, and `ready` heard by a late subscriber at once (but not after destroy()).
(function () {
  var k = window.kelisim, seen = window.e2eSeen, failures = [], errors = [];
  var realError = console.error;
  // The errors this page provokes are its subject: recorded here, not left on the console.
  console.error = function (message) { errors.push(String(message)); };
  var expect = function (condition, message) { if (!condition) failures.push(message); };
  var finish = function () {
    console.error = realError;
    document.body.setAttribute('data-e2e-result', failures.length ? 'fail: ' + failures.join('; ') : 'pass');
  };

  k.on('consented', function () {});
  expect(errors[0] === 'kelisim: on: unknown event `consented`; use one of ready, shown, consent, change, withdraw',
    'unknown event: ' + errors[0]);
  k.off('consent', 'not a function');
  expect(errors[1] === 'kelisim: off: the listener for `consent` must be a function', 'not a function: ' + errors[1]);

  k.on('consent', function () { throw new Error('site bug'); });
  k.on('consent', function (detail) { seen.push('consent:' + detail.action); });
  var removed = function () { seen.push('removed listener ran'); };
  k.on('change', removed);
  k.off('change', removed);
  k.on('change', function (detail) { seen.push('change:' + detail.action); });
  k.on('ready', function (detail) {
    seen.push('ready:' + (detail.consent === null));
    // After `ready` has fired: a new ready listener hears it at once.
    setTimeout(function () {
      var late = [];
      k.on('ready', function (detail) { late.push(detail.consent === null); });
      expect(late.join() === 'true', 'a late ready listener heard: [' + late.join() + ']');
      k.acceptAll();
      k.rejectAll();
      expect(seen.join() === 'ready:true,queued:accept_all,consent:accept_all,change:reject_all',
        'heard: ' + seen.join());
      expect(errors[2] === 'kelisim: a `consent` listener threw: site bug', 'thrower: ' + errors[2]);
      expect(errors.length === 3, 'errors: ' + errors.join(' | '));
      // destroy() forgets the last `ready`: a listener added now waits for the next init.
      k.destroy();
      var afterDestroy = 0;
      k.on('ready', function () { afterDestroy += 1; });
      expect(afterDestroy === 0, 'ready replayed after destroy()');
      finish();
    }, 50);
  });
})();
