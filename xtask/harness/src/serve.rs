//! `cargo xtask demo` (the receipts server over the demo store), and a small static file
//! server on loopback for the end-to-end pages that need their own headers (a strict CSP):
//! `www/` at `/`, `pkg/` at `/sdk/`, with the right content types (`application/wasm` for
//! streaming compilation) and an ETag per file (a revalidation gets `304`). Paths with `..`
//! are refused. The benchmark serves its pages with
//! it too, gzip-compressed for its emulated mobile connection (`Encoding::Gzip`), and the
//! e2e checks' fake trackers run on [`spawn`] over TLS. Every server is axum on a tokio
//! runtime of its own thread, owned by a [`Running`] handle.

use anyhow::{Context, Result};
use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

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
        // The demo's own config, compiled and served at /v1/config/glazik-demo/{language}.
        format!(
            "{{\"sites\": [{{\"id\": \"glazik-demo\", \"origins\": [{origins}], \"config\": \"../www/kelisim.json\"}}]}}\n"
        ),
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
    xtask::tools::run(root, "cargo", &["build", "-p", "kelisim-server"], &[])?;
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
    /// Gzip for text, JSON and wasm when the browser accepts it, as a store's server would
    /// over a mobile connection: the `.gz` `cargo xtask build` writes beside kelisim's files
    /// (`xtask::build::gzip_sent`), for every page's files alike.
    Gzip,
}

/// A server running on a thread of its own, stopped when the handle is dropped.
///
/// axum on tokio, not a thread-per-connection server: tiny_http 0.12 (used here before)
/// lost connections that arrived in a burst. Its task pool counted a worker as idle until
/// that worker had taken the lock again, so a second connection in the same instant was
/// queued behind a worker that then held a keep-alive connection for the life of the page.
/// Chromium opens six at once, more with preload hints, and about half of the cold page
/// loads never finished (`bursts_of_keep_alive_connections_are_all_answered` below).
pub struct Running {
    #[cfg(test)]
    address: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[cfg(test)]
impl Running {
    /// The address it listens on (the port is chosen by the system for `127.0.0.1:0`).
    pub fn address(&self) -> std::net::SocketAddr {
        self.address
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Serves `router` on `address`, over TLS when `tls` is given, until the handle is
/// dropped. Binding happens before this returns, so a busy port is an error here.
pub fn spawn(
    address: &str,
    router: axum::Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> Result<Running> {
    let listener = std::net::TcpListener::bind(address)
        .with_context(|| format!("cannot listen on {address}"))?;
    listener.set_nonblocking(true)?;
    #[cfg(test)]
    let bound = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the server's runtime")?;
    let listener = {
        let _inside = runtime.enter();
        tokio::net::TcpListener::from_std(listener).context("registering the listener")?
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        runtime.block_on(async move {
            let serving = async move {
                match tls {
                    None => {
                        let _ = axum::serve(listener, router).await;
                    }
                    Some(acceptor) => serve_tls(listener, router, acceptor).await,
                }
            };
            // Stopping drops every connection: nothing here needs a graceful end.
            tokio::select! {
                () = serving => {}
                _ = stopped => {}
            }
        });
    });
    Ok(Running {
        #[cfg(test)]
        address: bound,
        stop: Some(stop),
        thread: Some(thread),
    })
}

/// HTTP/1.1 over TLS: each accepted connection gets its handshake and `router` on a task.
async fn serve_tls(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    acceptor: tokio_rustls::TlsAcceptor,
) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of file descriptors, say: wait instead of spinning, as axum::serve does.
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let (acceptor, router) = (acceptor.clone(), router.clone());
        tokio::spawn(async move {
            // A browser that gives up on a self-signed certificate is not an error here.
            let Ok(stream) = acceptor.accept(stream).await else {
                return;
            };
            let service = hyper_util::service::TowerToHyperService::new(router);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

/// A TLS acceptor for a self-signed certificate and its PKCS #8 key, both DER.
pub fn tls_acceptor(
    certificate: Vec<u8>,
    private_key: Vec<u8>,
) -> Result<tokio_rustls::TlsAcceptor> {
    use tokio_rustls::rustls;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![certificate.into()],
            rustls::pki_types::PrivatePkcs8KeyDer::from(private_key).into(),
        )
        .context("the fake trackers' certificate")?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Starts serving static files on a thread; see [`start_with`].
pub fn start(
    address: &str,
    mounts: Vec<(String, PathBuf)>,
    header_rules: Vec<HeaderRule>,
) -> Result<Running> {
    start_with(address, mounts, header_rules, Encoding::Identity)
}

/// Serves the files under `mounts` (the first prefix that matches wins), with the headers of
/// every rule whose prefix matches the path, compressed as `encoding` says.
pub fn start_with(
    address: &str,
    mounts: Vec<(String, PathBuf)>,
    header_rules: Vec<HeaderRule>,
    encoding: Encoding,
) -> Result<Running> {
    let mut rules = Vec::new();
    for (prefix, headers) in header_rules {
        let mut parsed = Vec::new();
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .with_context(|| format!("header name {name:?} of the rule for {prefix}"))?;
            let value = HeaderValue::from_str(&value)
                .with_context(|| format!("header value {value:?} of the rule for {prefix}"))?;
            parsed.push((name, value));
        }
        rules.push((prefix, parsed));
    }
    let files = Arc::new(Files {
        mounts,
        rules,
        encoding,
        compressed: Mutex::default(),
    });
    let router = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let files = files.clone();
        async move {
            // Reading and compressing are blocking work: off the runtime's workers.
            tokio::task::spawn_blocking(move || files.respond(&request))
                .await
                .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "server error\n"))
        }
    });
    spawn(address, router, None)
}

type ParsedRule = (String, Vec<(HeaderName, HeaderValue)>);

/// What [`start_with`] serves.
struct Files {
    mounts: Vec<(String, PathBuf)>,
    rules: Vec<ParsedRule>,
    encoding: Encoding,
    /// Files already compressed, by path: compressed once per file, as a server
    /// with precompressed files would, so the time a request takes does not depend on how
    /// large the file is to compress.
    compressed: Mutex<HashMap<PathBuf, Vec<u8>>>,
}

impl Files {
    fn respond(&self, request: &axum::extract::Request) -> Response {
        let path = request.uri().path();
        let Some((file, bytes)) = self.read(path) else {
            return plain(StatusCode::NOT_FOUND, "not found\n");
        };
        let mut content_type =
            HeaderValue::from_static(match file.extension().and_then(|e| e.to_str()) {
                Some("html") => "text/html; charset=utf-8",
                Some("js") => "text/javascript; charset=utf-8",
                Some("wasm") => "application/wasm",
                Some("json") => "application/json",
                Some("css") => "text/css; charset=utf-8",
                Some("svg") => "image/svg+xml",
                Some("png") => "image/png",
                _ => "application/octet-stream",
            });
        // A rule may set `Content-Type` (to serve a file as a misconfigured server would) or
        // `Cache-Control`; its other headers are added.
        let mut headers = HeaderMap::new();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        for (prefix, rule) in &self.rules {
            if path.starts_with(prefix.as_str()) {
                for (name, value) in rule {
                    if name == header::CONTENT_TYPE {
                        content_type = value.clone();
                    } else {
                        headers.insert(name.clone(), value.clone());
                    }
                }
            }
        }
        // A validator, so a browser revalidating a cached file gets `304 Not Modified`, as
        // from a real server (the benchmark's returning visitor with expired files). Weak: the
        // gzip and plain forms share it.
        let digest = xtask::build::short_digest(&[&bytes]);
        let etag = HeaderValue::from_str(&format!("W/\"{digest}\""))
            .expect("hex digits are a header value");
        headers.insert(header::ETAG, etag.clone());
        if request
            .headers()
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .any(|value| value == etag)
        {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            *response.headers_mut() = headers;
            return response;
        }
        let compressible = !matches!(
            content_type.to_str().unwrap_or(""),
            "image/png" | "application/octet-stream"
        );
        let accepts_gzip = request
            .headers()
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .any(|value| value.to_str().is_ok_and(|v| v.contains("gzip")));
        let body = match self.encoding {
            Encoding::Gzip if compressible && accepts_gzip => match self.gzip(&file, &bytes) {
                Some(compressed) => {
                    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                    compressed
                }
                None => bytes,
            },
            _ => bytes,
        };
        headers.insert(header::CONTENT_TYPE, content_type);
        let mut response = Response::new(Body::from(body));
        *response.headers_mut() = headers;
        response
    }

    /// The file `path` names under the first mount whose prefix it starts with, and its bytes.
    /// Directories are their `index.html`; paths with `..` or other non-normal parts name
    /// nothing.
    fn read(&self, path: &str) -> Option<(PathBuf, Vec<u8>)> {
        let file = self.mounts.iter().find_map(|(prefix, dir)| {
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
        })?;
        let bytes = std::fs::read(&file).ok()?;
        Some((file, bytes))
    }

    /// `bytes`, the contents of `file`, gzip-compressed, from the cache when it was
    /// compressed before.
    fn gzip(&self, file: &Path, bytes: &[u8]) -> Option<Vec<u8>> {
        let mut cache = self.compressed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(body) = cache.get(file) {
            return Some(body.clone());
        }
        match xtask::build::gzip_sent(bytes) {
            Ok(body) => {
                cache.insert(file.to_owned(), body.clone());
                Some(body)
            }
            // Said out loud: an uncompressed body would skew what the bench measures.
            Err(error) => {
                eprintln!("serve: sending {} uncompressed: {error:#}", file.display());
                None
            }
        }
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (status, text).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// The burst a browser makes at the start of a page (six or more connections at once,
    /// each kept alive): every one is answered, also when the server has just started.
    #[test]
    fn bursts_of_keep_alive_connections_are_all_answered() {
        let dir = std::env::temp_dir().join(format!("kelisim-serve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.js"), "ok").unwrap();
        for round in 0..5 {
            let server = start("127.0.0.1:0", vec![("/".into(), dir.clone())], Vec::new()).unwrap();
            let mut connections: Vec<std::net::TcpStream> = (0..10)
                .map(|_| std::net::TcpStream::connect(server.address()).unwrap())
                .collect();
            for connection in &mut connections {
                connection
                    .write_all(b"GET /a.js HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
                    .unwrap();
            }
            for (index, connection) in connections.iter_mut().enumerate() {
                connection
                    .set_read_timeout(Some(std::time::Duration::from_secs(5)))
                    .unwrap();
                let mut start = [0; 12];
                connection.read_exact(&mut start).unwrap_or_else(|error| {
                    panic!("round {round}: connection {index} got no answer: {error}")
                });
                assert_eq!(&start, b"HTTP/1.1 200", "round {round}, connection {index}");
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn paths_leaving_the_mount_and_missing_files_are_not_found() {
        let dir = std::env::temp_dir().join(format!("kelisim-serve-404-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/index.html"), "<p>").unwrap();
        let files = Files {
            mounts: vec![("/site/".into(), dir.join("sub"))],
            rules: Vec::new(),
            encoding: Encoding::Identity,
            compressed: Mutex::default(),
        };
        assert!(files.read("/site/").is_some());
        assert!(files.read("/site/../sub/index.html").is_none());
        assert!(files.read("/site/missing.js").is_none());
        assert!(files.read("/other/index.html").is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A browser revalidating its cached copy gets `304` without a body, with the rules'
    /// headers; a changed file gets a new validator and the whole body.
    #[test]
    fn a_file_unchanged_since_its_etag_is_not_sent_again() {
        let dir = std::env::temp_dir().join(format!("kelisim-serve-etag-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.js"), "one").unwrap();
        let files = Files {
            mounts: vec![("/".into(), dir.clone())],
            rules: vec![(
                "/".into(),
                vec![(header::CACHE_CONTROL, HeaderValue::from_static("max-age=0"))],
            )],
            encoding: Encoding::Identity,
            compressed: Mutex::default(),
        };
        let get = |etag: Option<&HeaderValue>| {
            let mut request = axum::extract::Request::new(Body::empty());
            *request.uri_mut() = "/a.js".parse().unwrap();
            if let Some(etag) = etag {
                request
                    .headers_mut()
                    .insert(header::IF_NONE_MATCH, etag.clone());
            }
            files.respond(&request)
        };
        let first = get(None);
        assert_eq!(first.status(), StatusCode::OK);
        let etag = first.headers()[header::ETAG].clone();
        let again = get(Some(&etag));
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(again.headers()[header::CACHE_CONTROL], "max-age=0");
        std::fs::write(dir.join("a.js"), "two").unwrap();
        let changed = get(Some(&etag));
        assert_eq!(changed.status(), StatusCode::OK);
        assert_ne!(changed.headers()[header::ETAG], etag);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
