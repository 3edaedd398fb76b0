//! `cargo xtask demo` (the receipts server over the demo store), and a small static file
//! server on loopback for the end-to-end pages that need their own headers (a strict CSP):
//! `www/` at `/`, `pkg/` at `/sdk/`, with the right content types (`application/wasm` for
//! streaming compilation). Paths with `..` are refused. The benchmark serves its pages with
//! it too, gzip-compressed for its emulated mobile connection (`Encoding::Gzip`).

use anyhow::{anyhow, Context, Result};
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// Extra headers for pages whose path starts with a prefix (the e2e checks use a CSP).
pub type HeaderRule = (String, Vec<(String, String)>);

/// `cargo xtask demo`: runs the receipts server (SQLite in `data/`) serving the demo store
/// at `/`, the SDK under `/sdk/` and the dashboard, until Ctrl+C.
pub fn demo(root: &Path, port: u16) -> Result<()> {
    let server = build_server(root)?;
    let data = root.join("data");
    std::fs::create_dir_all(&data)?;
    let origins = format!("\"http://127.0.0.1:{port}\", \"http://localhost:{port}\"");
    std::fs::write(
        data.join("sites.json"),
        format!("{{\"sites\": [{{\"id\": \"glazik-demo\", \"origins\": [{origins}]}}]}}\n"),
    )?;
    println!("kelisim demo store: http://127.0.0.1:{port}/  (SQLite and signing key in data/)");
    let status = Command::new(server)
        .current_dir(root)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--db",
            "sqlite://data/kelisim.db",
        ])
        .args([
            "--sites",
            "data/sites.json",
            "--key",
            "data/signing.key",
            "--www",
            "www",
            "--sdk",
            "pkg",
        ])
        .status()
        .context("starting kelisim-server")?;
    if !status.success() {
        anyhow::bail!("kelisim-server exited with {status}");
    }
    Ok(())
}

/// Builds the server binary (debug: it shares the test build) and returns its path.
pub fn build_server(root: &Path) -> Result<PathBuf> {
    crate::tools::run(root, "cargo", &["build", "-p", "kelisim-server"], &[])?;
    Ok(root.join("target/debug/kelisim-server"))
}

pub fn mounts(root: &Path) -> Vec<(String, PathBuf)> {
    vec![
        ("/sdk/".into(), root.join("pkg")),
        ("/".into(), root.join("www")),
    ]
}

/// Whether the server compresses what it sends.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Every body as it is on disk (loopback: compressing would only cost time).
    Identity,
    /// `gzip -9` for text, JSON and wasm when the browser accepts it, as a store's server
    /// would over a mobile connection.
    Gzip,
}

/// Starts serving on a thread; returns its handle.
pub fn start(
    address: &str,
    mounts: Vec<(String, PathBuf)>,
    header_rules: Vec<HeaderRule>,
) -> Result<std::thread::JoinHandle<()>> {
    start_with(address, mounts, header_rules, Encoding::Identity)
}

/// [`start`], with a choice of [`Encoding`].
pub fn start_with(
    address: &str,
    mounts: Vec<(String, PathBuf)>,
    header_rules: Vec<HeaderRule>,
    encoding: Encoding,
) -> Result<std::thread::JoinHandle<()>> {
    let server = Arc::new(
        tiny_http::Server::http(address)
            .map_err(|error| anyhow!("cannot listen on {address}: {error}"))?,
    );
    let handle = std::thread::spawn(move || {
        // Compressed once per file, as a server with precompressed files would: the time a
        // request takes must not depend on how large the file is to compress.
        let mut compressed = Compressed::new();
        for request in server.incoming_requests() {
            let accepts_gzip = encoding == Encoding::Gzip
                && request
                    .headers()
                    .iter()
                    .any(|h| h.field.equiv("Accept-Encoding") && h.value.as_str().contains("gzip"));
            let gzip = accepts_gzip.then_some(&mut compressed);
            let response = respond(&mounts, &header_rules, request.url(), gzip);
            // A browser that drops a connection early is not an error worth stopping for.
            let _ = request.respond(response);
        }
    });
    Ok(handle)
}

/// Files already compressed by `gzip -9`, by path.
type Compressed = std::collections::HashMap<PathBuf, Vec<u8>>;

/// The response for `url`; gzip-encoded (through the `gzip` cache) when that is given and
/// the file compresses.
fn respond(
    mounts: &[(String, PathBuf)],
    header_rules: &[HeaderRule],
    url: &str,
    gzip: Option<&mut Compressed>,
) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let path = url.split(['?', '#']).next().unwrap_or("/");
    let file = mounts.iter().find_map(|(prefix, dir)| {
        let rest = path.strip_prefix(prefix.as_str())?;
        let rest = if rest.is_empty() || rest.ends_with('/') {
            format!("{rest}index.html")
        } else {
            rest.to_owned()
        };
        let relative = Path::new(&rest);
        relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
            .then(|| dir.join(relative))
    });
    let Some(bytes) = file.as_ref().and_then(|file| std::fs::read(file).ok()) else {
        return tiny_http::Response::from_data(b"not found\n".to_vec()).with_status_code(404);
    };
    let mut content_type = match file
        .as_ref()
        .and_then(|f| f.extension())
        .and_then(|e| e.to_str())
    {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    };
    // A rule may set `Content-Type` (to serve a file as a misconfigured server would); other
    // headers of the rules are added.
    let mut extra = Vec::new();
    for (prefix, headers) in header_rules {
        if path.starts_with(prefix.as_str()) {
            for (name, value) in headers {
                if name.eq_ignore_ascii_case("Content-Type") {
                    content_type = value;
                } else {
                    extra.push(header(name, value));
                }
            }
        }
    }
    let compressible = !matches!(content_type, "image/png" | "application/octet-stream");
    let compressed = match (file, gzip) {
        (Some(file), Some(cache)) if compressible => match cache.get(&file) {
            Some(body) => Some(body.clone()),
            None => match crate::build::gzip(&file) {
                Ok(body) => {
                    cache.insert(file, body.clone());
                    Some(body)
                }
                // Said out loud: an uncompressed body would skew what the bench measures.
                Err(error) => {
                    eprintln!("serve: sending {} uncompressed: {error:#}", file.display());
                    None
                }
            },
        },
        _ => None,
    };
    let mut response = match compressed {
        Some(compressed) => tiny_http::Response::from_data(compressed)
            .with_header(header("Content-Encoding", "gzip")),
        None => tiny_http::Response::from_data(bytes),
    }
    .with_header(header("Content-Type", content_type));
    response.add_header(header("Cache-Control", "no-cache"));
    for header in extra {
        response.add_header(header);
    }
    response
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
        .expect("static header names and values are valid")
}
