// The few lines of the SDK written in JavaScript, imported by src/helpers.rs: vendors' queue
// stubs, which must be JavaScript functions (`arguments` objects, no eval under a CSP), and the
// POST, an asynchronous browser call whose result the wasm takes through a callback: written
// in Rust it needed an async runtime (wasm-bindgen-futures) and a dozen more imports.

// Google's own `gtag` stub: it must push the `arguments` object, not an array, or Google tags
// ignore the command.
export function gtag_push() {
  (window.dataLayer = window.dataLayer || []).push(arguments);
}

// Microsoft Clarity's `clarity(...args)`, with the queue stub Clarity's own snippet makes when
// the tag is not on the page yet (it reads the queue when it loads).
export function clarity_call(args) {
  var w = window;
  w.clarity = w.clarity || function () { (w.clarity.q = w.clarity.q || []).push(arguments); };
  w.clarity.apply(w, args);
}

// Microsoft UET's `uetq.push(...args)`: the queue array until the tag replaces it with its own.
export function uet_push(args) {
  var w = window;
  w.uetq = w.uetq || [];
  w.uetq.push.apply(w.uetq, args);
}

// POSTs `body` as text/plain (a "simple" CORS request: no preflight round trip), with
// keepalive so it can finish while the page closes. Calls `done([status, text])` exactly
// once; status 0 when the request did not get an answer.
export function post_text(url, body, done) {
  fetch(url, {
    method: "POST",
    body,
    keepalive: true,
    headers: { "content-type": "text/plain;charset=UTF-8" },
  })
    .then((response) => response.text().then((text) => [response.status, text]))
    .catch(() => [0, ""])
    .then(done);
}
