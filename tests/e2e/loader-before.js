// Before the loader exists: the array form of the queue, as the README shows it.
window.kelisim = window.kelisim || [];
window.kelisim.push(['on', 'ready', window.e2e.onReady]);
