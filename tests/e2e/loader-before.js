// Array-form queue, set before the loader exists.
window.e2e = { events: [], ran: [] };
window.kelisim = [['on', 'ready', function (detail) { window.e2e.events.push('ready:' + (detail.consent === null)); }]];
