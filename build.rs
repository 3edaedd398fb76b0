//! Build script of the browser SDK: writes the banner's stylesheet (`kelisim_core::css`),
//! minified, to `OUT_DIR` for `ui.rs` to embed. Every byte of the stylesheet is in the wasm
//! every visitor loads, and the readable source is two fifths comments and indentation.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=crates/kelisim-core/src/kelisim.css");
    println!("cargo:rerun-if-changed=crates/kelisim-core/src/css.rs");
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(
        Path::new(&out_dir).join("kelisim.min.css"),
        kelisim_core::css::minify_css(kelisim_core::css::STYLESHEET),
    )
    .expect("OUT_DIR is writable");
}
