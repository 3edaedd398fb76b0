// Before the loader: a subscription queued in the array form, and a record of what was heard.
window.e2eSeen = [];
window.kelisim = [['on', 'consent', function (detail) { window.e2eSeen.push('queued:' + detail.action); }]];
