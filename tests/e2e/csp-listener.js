// Collects every Content-Security-Policy violation of the page (tests/e2e/tracker-driver.js
// fails the page on any). Loaded first, before the SDK and the tags.
(function () {
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', function (event) {
    window.__cspViolations.push(event.violatedDirective + ' ' + (event.blockedURI || 'inline') +
      ' (' + (event.sourceFile || '') + ':' + event.lineNumber + ')');
  });
})();
