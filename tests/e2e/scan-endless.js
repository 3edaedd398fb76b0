// Every page links to the next one (?n=1, ?n=2, …): the scanner must stop at --pages.
var n = Number(new URLSearchParams(location.search).get('n') || 0);
document.getElementById('next').href = location.pathname + '?n=' + (n + 1);
