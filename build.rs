//! Build script of the browser SDK: writes a minified copy of `src/ui/kelisim.css` to
//! `OUT_DIR` for `ui.rs` to embed. Every byte of the stylesheet is in the wasm every visitor
//! loads, and the readable source is two fifths comments and indentation.
//!
//! The minifier is in `build/minify_css.rs` (tested by the tidy tests in `xtask`).

use std::path::Path;

#[path = "build/minify_css.rs"]
mod minify_css;
use minify_css::minify_css;

fn main() {
    let source = "src/ui/kelisim.css";
    println!("cargo:rerun-if-changed={source}");
    println!("cargo:rerun-if-changed=build/minify_css.rs");
    let css = std::fs::read_to_string(source).expect("src/ui/kelisim.css is readable");
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(
        Path::new(&out_dir).join("kelisim.min.css"),
        minify_css(&css),
    )
    .expect("OUT_DIR is writable");
}
