// The few lines of the SDK written in JavaScript, imported by src/helpers.rs. The POST is an
// asynchronous browser call whose result the wasm takes through a callback: written in Rust
// it needed an async runtime (wasm-bindgen-futures) and a dozen more imports, several
// kilobytes of the module for what these lines do.

// Google's own `gtag` stub: it must push the `arguments` object, not an array, or Google tags
// ignore the command.
export function gtag_push() {
  (window.dataLayer = window.dataLayer || []).push(arguments);
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
