//! The bindings of `src/helpers.js`, the SDK's only JavaScript besides the loader: Google's
//! `gtag` stub and the two asynchronous calls (POST a receipt, hash a text) whose results the
//! wasm takes through a callback instead of an async runtime. Shipped as a module snippet, so
//! no eval is needed (CSP).

use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/helpers.js")]
extern "C" {
    /// `dataLayer.push(arguments)`, as Google's `gtag` stub does: Google tags ignore an array.
    #[wasm_bindgen(variadic)]
    pub fn gtag_push(args: &js_sys::Array);

    /// POSTs `body` to `url` as text/plain with keepalive; `done([status, text])` is called
    /// once, with status 0 when no answer came.
    pub fn post_text(url: &str, body: &str, done: &JsValue);

    /// Calls `done` once with the SHA-256 of `text` in lowercase hex ("" where the browser
    /// cannot hash: `crypto.subtle` is only there in secure contexts).
    pub fn sha256_hex(text: &str, done: &JsValue);
}
