// The store's own handler: it sends the form with fetch (as most stores do), so the page
// stays; the end-to-end check reads what it sent from `window.e2eSent`.
document.addEventListener('DOMContentLoaded', function () {
  var form = document.querySelector('form[data-kelisim-form]');
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var data = new FormData(form);
    window.e2eSent = {
      receipt: data.get('kelisim_receipt_id'),
      phone: data.get('kelisim_phone'),
      purposes: data.getAll('kelisim_purposes'),
    };
  });
});
