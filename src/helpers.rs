//! The bindings of `src/helpers.js`, the SDK's only JavaScript besides the loader: Google's
//! `gtag` stub, Clarity's and UET's queues, and the asynchronous POST of a receipt, whose result the wasm takes through a
//! callback instead of an async runtime. Shipped as a module snippet, so no eval is needed
//! (CSP).

use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/helpers.js")]
extern "C" {
    /// `dataLayer.push(arguments)`, as Google's `gtag` stub does: Google tags ignore an array.
    #[wasm_bindgen(variadic)]
    pub fn gtag_push(args: &js_sys::Array);

    /// `clarity(...args)`, creating Clarity's queue stub when the tag is not loaded yet.
    pub fn clarity_call(args: &js_sys::Array);

    /// `uetq.push(...args)`, creating UET's queue array when the tag is not loaded yet.
    pub fn uet_push(args: &js_sys::Array);

    /// POSTs `body` to `url` as text/plain with keepalive; `done([status, text])` is called
    /// once, with status 0 when no answer came.
    pub fn post_text(url: &str, body: &str, done: &JsValue);

    /// Has NCALayer sign base64 `data` as CMS (`iin` empty: any person's signing key);
    /// `done([status, value])` is called once: `ok` and the CMS, `cancelled`, `not_running`,
    /// or `error` and NCALayer's words.
    pub fn ncalayer_sign(data: &str, locale: &str, iin: &str, done: &JsValue);
}
