// The few lines of the SDK written in JavaScript, imported by src/helpers.rs: the calls to
// vendors' tags and their queue stubs, which must be JavaScript functions (`arguments`
// objects, no eval under a CSP), and the POST, an asynchronous browser call whose result the
// wasm takes through a callback: written in Rust it needed an async runtime
// (wasm-bindgen-futures) and a dozen more imports.

// Google's own `gtag` stub: it must push the `arguments` object, not an array, or Google tags
// ignore the command.
export function gtag_push() {
  (window.dataLayer = window.dataLayer || []).push(arguments);
}

// Tells the tag of one service with a consent API what the visitor chose (`decided` false: no
// choice yet, which counts as refused); the wasm decides what is granted, this only makes the
// vendor's call. Meta Pixel, when on the page: `fbq('consent', 'grant' | 'revoke')`. Microsoft
// Clarity: `consentv2` with `analytics_Storage` (the service granted) and `ad_Storage` (it and
// Consent Mode's `ad_storage` granted), through the queue stub Clarity's own snippet makes
// when the tag is not loaded yet. Microsoft UET: `consent default` before a choice, then
// `consent update`, with `ad_storage`, through its queue array. The TikTok Pixel, when on
// the page: held before a choice, then granted or revoked.
export function tell_vendor(vendor, granted, decided, adStorage) {
  var w = window;
  var state = function (on) { return on ? "granted" : "denied"; };
  if (vendor == "meta-pixel") {
    if (typeof w.fbq == "function") w.fbq("consent", granted ? "grant" : "revoke");
  } else if (vendor == "microsoft-clarity") {
    w.clarity = w.clarity || function () { (w.clarity.q = w.clarity.q || []).push(arguments); };
    w.clarity("consentv2", {
      ad_Storage: state(granted && adStorage),
      analytics_Storage: state(granted)
    });
  } else if (vendor == "microsoft-uet") {
    (w.uetq = w.uetq || []).push("consent", decided ? "update" : "default", {
      ad_storage: state(granted)
    });
  } else if (vendor == "tiktok-pixel") {
    var method = !decided ? "holdConsent" : granted ? "grantConsent" : "revokeConsent";
    if (w.ttq && typeof w.ttq[method] == "function") w.ttq[method]();
  }
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

// Asks NCALayer, the national signing application on the visitor's computer, to sign `data`
// (base64) as CMS with the data inside, with a signing key (and, when `iin` is given, that
// person's), through its module kz.gov.pki.knca.basics. Calls `done([status, value])` once:
// "ok" and the CMS in base64, "cancelled" (the dialog was closed), "not_running" (nothing
// answers on wss://127.0.0.1:13579), or "error" and NCALayer's own words.
export function ncalayer_sign(data, locale, iin, done) {
  var socket;
  var greeted = false;
  var settled = false;
  var finish = function (status, value) {
    if (settled) return;
    settled = true;
    done([status, value || ""]);
    try { socket.close(); } catch (e) { /* already closed */ }
  };
  try {
    socket = new WebSocket("wss://127.0.0.1:13579/");
  } catch (e) {
    return finish("not_running");
  }
  socket.onerror = function () { finish(greeted ? "error" : "not_running", "connection lost"); };
  socket.onclose = function () { finish(greeted ? "error" : "not_running", "connection closed"); };
  socket.onmessage = function (event) {
    var answer;
    try { answer = JSON.parse(event.data); } catch (e) { return finish("error", "not JSON"); }
    if (!greeted) {
      // NCALayer greets a connection with its version first.
      greeted = true;
      var signer = { extKeyUsageOids: ["1.3.6.1.5.5.7.3.4"], chain: [] };
      if (iin) signer.iin = iin;
      socket.send(JSON.stringify({
        module: "kz.gov.pki.knca.basics",
        method: "sign",
        args: {
          allowedStorages: null,
          format: "cms",
          data: data,
          signingParams: { decode: true, encapsulate: true, digested: false },
          signerParams: signer,
          locale: locale,
        },
      }));
      return;
    }
    if (!answer.status) return finish("error", answer.code + ": " + answer.message);
    if (!answer.body || !("result" in answer.body)) return finish("cancelled");
    var result = answer.body.result;
    finish("ok", Array.isArray(result) ? result[0] : result);
  };
}
