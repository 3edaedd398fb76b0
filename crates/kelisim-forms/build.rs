//! Minifies the forms' stylesheet (`kelisim_core::css::FORMS_STYLESHEET`) into the module with
//! the minifier the compiler uses for the banner's, so the module carries neither comments nor
//! the minifier.

fn main() {
    let css = kelisim_core::css::minify_css(kelisim_core::css::FORMS_STYLESHEET);
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("forms.min.css"), css).expect("OUT_DIR is writable");
    println!("cargo:rerun-if-changed=../kelisim-core/src/forms.css");
    println!("cargo:rerun-if-changed=../kelisim-core/src/css.rs");
}
