// Ticks the required purpose and SMS, then sends the form as a person would. The store's own
// handler sends it with fetch (as most stores do), so the page stays and can judge: the form
// data carries the receipt id, and the receipt leaves the outbox (the server has it).
// First the loader's side of forms: `formConsent`'s checks, and a declared form added later.
window.kelisim.on('ready', function () {
  var form = document.getElementById('signup');
  var failures = [];
  function expect(condition, message) { if (!condition) failures.push(message); }
  function fail(message) { document.body.setAttribute('data-e2e-result', 'fail: ' + message); }
  // Resolves once `selector` finds something; fails the page after 8 s.
  function until(selector, what) {
    return new Promise(function (resolve) {
      var deadline = Date.now() + 8000;
      (function look() {
        if (document.querySelector(selector)) return resolve();
        if (Date.now() > deadline) return fail(what);
        setTimeout(look, 50);
      })();
    });
  }
  var sentId = null;
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    sentId = new FormData(form).get('kelisim_receipt_id');
  });
  var plain = document.createElement('form');
  plain.id = 'plain';
  document.body.appendChild(plain);
  var errors = [];
  var consoleError = console.error;
  console.error = function (message) { errors.push(String(message)); };
  expect(window.kelisim.formConsent('#missing', { set: 'signup' }) === false, 'formConsent took a selector that finds nothing');
  expect(window.kelisim.formConsent('#plain', { set: 'newsletter' }) === false, 'formConsent took an unknown purpose set');
  expect(window.kelisim.formConsent('#plain', {}) === false, 'formConsent took no purpose set');
  expect(window.kelisim.formConsent('#plain', { set: 'signup' }) === true, 'formConsent refused a good form');
  expect(window.kelisim.formConsent(plain, { set: 'signup' }) === false, 'formConsent gave a form a second block');
  console.error = consoleError;
  expect(errors.length === 4 && /`newsletter` is not a purpose set of the config \(forms: signup, loyalty, contract\)/.test(errors[1]),
    'formConsent errors: ' + errors.join(' | '));
  until('#signup .kelisim-form-consent', 'the declared form got no consent block')
    .then(function () { return until('#plain .kelisim-form-consent', 'formConsent added no block'); })
    .then(function () {
      // A declared form the page adds later (a single-page app's route) gets its block too.
      var later = document.createElement('form');
      later.id = 'later';
      later.setAttribute('data-kelisim-form', 'signup');
      later.innerHTML = '<button>OK</button>';
      document.body.appendChild(later);
      return until('#later .kelisim-form-consent', 'a declared form added later got no block');
    })
    .then(function () {
      if (failures.length) return fail(failures.join('; '));
      document.querySelector('#signup input[name=kelisim_purposes][value=account]').click();
      document.querySelector('#signup input[name=kelisim_purposes][value=sms]').click();
      form.requestSubmit();
      var deadline = Date.now() + 8000;
      (function poll() {
        var pending = JSON.parse(localStorage.getItem('kelisim:outbox') || '[]').length;
        if (sentId && /^[0-9a-f-]{36}$/.test(sentId) && pending === 0 && localStorage.getItem('kelisim:receipt')) {
          return document.body.setAttribute('data-e2e-result', 'pass');
        }
        if (Date.now() > deadline) return fail('receipt id ' + sentId + ', outbox ' + pending);
        setTimeout(poll, 100);
      })();
    });
});
