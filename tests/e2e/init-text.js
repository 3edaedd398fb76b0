// The text of a raw kelisim.json handed to init(): the loader compiles it with the compiler
// module and starts the banner; calls made meanwhile wait for it.
window.kelisim = window.kelisim || [];
fetch('/e2e/config.json').then(function (response) { return response.text(); }).then(function (text) {
  var ready = false;
  window.kelisim.push(['on', 'ready', function () { ready = true; }]);
  window.kelisim.push(['init', text]);
  window.kelisim.push(['on', 'shown', function () {
    var title = document.querySelector('#kelisim-title');
    var ok = ready && title && title.textContent === 'Мы используем файлы cookie';
    document.body.setAttribute('data-e2e-result', ok ? 'pass' : 'fail: ready ' + ready + ', title ' + (title && title.textContent));
  }]);
});
