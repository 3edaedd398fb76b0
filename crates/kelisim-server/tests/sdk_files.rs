//! The SDK as `kelisim-server` serves it under `/sdk/`: the precompressed `.br` and `.gz`
//! files that `cargo xtask build` writes are sent to browsers that accept them, with the
//! original file's type and `Vary: Accept-Encoding`, and the plain file to the others.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::*;
use serde_json::Value;

#[tokio::test]
async fn the_sdk_is_sent_in_the_precompressed_form_the_browser_accepts() {
    let base = std::env::temp_dir().join(format!("kelisim-sdk-files-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    // Stand-ins: the server must pick the file by name, never re-encode it.
    std::fs::write(base.join("kelisim_sdk_bg.wasm"), "plain").unwrap();
    std::fs::write(base.join("kelisim_sdk_bg.wasm.br"), "brotli form").unwrap();
    std::fs::write(base.join("kelisim_sdk_bg.wasm.gz"), "gzip form").unwrap();
    let app = app_serving(None, Some(base.clone())).await;
    for (accepted, encoding, body) in [
        ("br", Some("br"), "brotli form"),
        ("gzip", Some("gzip"), "gzip form"),
        ("identity", None, "plain"),
    ] {
        let request = Request::get("/sdk/kelisim_sdk_bg.wasm")
            .header(header::ACCEPT_ENCODING, accepted)
            .body(Body::empty())
            .unwrap();
        let (status, headers, answer) = send(&app, request).await;
        assert_eq!(status, StatusCode::OK, "Accept-Encoding: {accepted}");
        assert_eq!(
            headers
                .get(header::CONTENT_ENCODING)
                .map(|v| v.to_str().unwrap()),
            encoding,
            "Accept-Encoding: {accepted}"
        );
        assert_eq!(
            answer,
            Value::String(body.into()),
            "Accept-Encoding: {accepted}"
        );
        // Streaming compilation needs the wasm type, whichever form is sent.
        assert_eq!(headers[header::CONTENT_TYPE], "application/wasm");
        // Fresh for 5 minutes, then used at once for a week while it is fetched again.
        assert_eq!(
            headers[header::CACHE_CONTROL],
            "public, max-age=300, stale-while-revalidate=604800"
        );
        // Shared caches keep one copy per encoding.
        let vary: Vec<_> = headers.get_all(header::VARY).iter().collect();
        assert_eq!(vary, ["accept-encoding"], "Accept-Encoding: {accepted}");
    }
    std::fs::remove_dir_all(&base).unwrap();
}
