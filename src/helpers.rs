//! The bindings of `src/helpers.js`, the SDK's only JavaScript besides the loader: Google's
//! `gtag` stub, the calls to the tags of vendors with a consent API (Meta, Clarity, UET,
//! TikTok) and their queue stubs, and the asynchronous POST of a receipt, whose result the
//! wasm takes through a callback instead of an async runtime. Shipped as a module snippet, so
//! no eval is needed (CSP).

use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/helpers.js")]
extern "C" {
    /// `dataLayer.push(arguments)`, as Google's `gtag` stub does: Google tags ignore an array.
    #[wasm_bindgen(variadic)]
    pub fn gtag_push(args: &js_sys::Array);

    /// Tells the tag of a service with `vendor` (its name in a config) whether the service is
    /// `granted`, `decided` false before any choice; `ad_storage`: Consent Mode's signal of
    /// that name is granted. Vendors without a consent API are left alone.
    pub fn tell_vendor(vendor: &str, granted: bool, decided: bool, ad_storage: bool);

    /// POSTs `body` to `url` as text/plain with keepalive; `done([status, text])` is called
    /// once, with status 0 when no answer came.
    pub fn post_text(url: &str, body: &str, done: &JsValue);

    /// Has NCALayer sign base64 `data` as CMS (`iin` empty: any person's signing key);
    /// `done([status, value])` is called once: `ok` and the CMS, `cancelled`, `not_running`,
    /// or `error` and NCALayer's words.
    pub fn ncalayer_sign(data: &str, locale: &str, iin: &str, done: &JsValue);
}
