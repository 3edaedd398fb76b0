//! `kelisim-server scan URL`: drives headless Chromium (Debian's `chromium` through
//! `chromedriver`, with the fantoccini WebDriver client) over up to N same-site pages three
//! times, in fresh profiles: with no choice made, after "accept all" and after "reject all"
//! (through kelisim's API when the page runs it). On every page it records the cookies the page
//! can see (name, domain, path, expiry, flags), the localStorage and sessionStorage keys, the
//! IndexedDB databases and the hosts of every request the page made. `report` matches what it
//! found against the vendor knowledge base and the store's config.
//!
//! Owns the browser session and the crawl; bounded everywhere: pages by `--pages`, every page
//! load and script by timeouts, links to the start URL's origin only.

pub mod report;

use anyhow::{bail, Context, Result};
use fantoccini::{Client, ClientBuilder};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// What `scan` is asked to do.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    /// The store's start page.
    pub url: String,
    /// Most same-site pages to visit in each phase.
    pub pages: usize,
    /// The Chromium binary.
    pub chromium: PathBuf,
    /// The chromedriver binary.
    pub chromedriver: PathBuf,
    /// More Chromium flags (a proxy, host rules).
    pub browser_args: Vec<String>,
    /// How long a page may take to load.
    pub page_timeout: Duration,
    /// How long to let a page's scripts run after it loaded, before looking.
    pub settle: Duration,
}

/// The three passes over the pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// A first visit, nothing chosen.
    NoChoice,
    /// After "accept all".
    AcceptAll,
    /// After "reject all": what is still there survived the refusal.
    RejectAll,
}

impl Phase {
    pub const ALL: [Phase; 3] = [Phase::NoChoice, Phase::AcceptAll, Phase::RejectAll];

    pub fn describe(self) -> &'static str {
        match self {
            Phase::NoChoice => "before any choice",
            Phase::AcceptAll => "after accept all",
            Phase::RejectAll => "after reject all",
        }
    }
}

/// One thing a page stored or did.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Seen {
    pub kind: Kind,
    /// The cookie name, storage key, database name or request host.
    pub name: String,
    /// Cookies: `domain path, expires …, Secure, HttpOnly, SameSite=…`; requests: the first URL.
    pub detail: String,
    /// The page it was seen on (the first).
    pub page: String,
    /// A cookie of the page's own site, or a request to another host.
    pub first_party: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Cookie,
    LocalStorage,
    SessionStorage,
    IndexedDb,
    Request,
}

impl Kind {
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Cookie => "cookie",
            Kind::LocalStorage => "localStorage key",
            Kind::SessionStorage => "sessionStorage key",
            Kind::IndexedDb => "IndexedDB database",
            Kind::Request => "request to",
        }
    }
}

/// A page of a phase: its URL and, when it could not be looked at, why.
#[derive(Clone, Debug, Serialize)]
pub struct PageVisit {
    pub url: String,
    pub error: Option<String>,
}

/// What one phase saw.
#[derive(Clone, Debug, Serialize)]
pub struct PhaseResult {
    pub phase: Phase,
    /// Whether the choice was made through kelisim's API (`None` for the first phase).
    pub choice_made: Option<bool>,
    pub pages: Vec<PageVisit>,
    pub seen: Vec<Seen>,
}

/// Runs the three phases.
pub async fn scan(options: &ScanOptions) -> Result<Vec<PhaseResult>> {
    let start =
        url::Url::parse(&options.url).with_context(|| format!("`{}` is not a URL", options.url))?;
    if !matches!(start.scheme(), "http" | "https") {
        bail!("`{}` is not an http(s) URL", options.url);
    }
    let driver = Driver::start(&options.chromedriver)?;
    // chromedriver wants the browser's full path; `chromium` is looked up on PATH here.
    let chromium = on_path(&options.chromium).with_context(|| {
        format!(
            "{} is not an executable on PATH (Debian's chromium; --chromium names another)",
            options.chromium.display()
        )
    })?;
    let options = &ScanOptions {
        chromium,
        ..options.clone()
    };
    let mut results = Vec::new();
    let mut pages = vec![start.to_string()];
    for phase in Phase::ALL {
        let client = driver.session(options).await?;
        let result = run_phase(&client, options, phase, &start, &mut pages).await;
        let _ = client.close().await;
        let result = result?;
        // A scan that looked at nothing must not read as a clean one.
        if let Some(failed) = result.pages.iter().find_map(|page| page.error.as_ref()) {
            if result.pages.iter().all(|page| page.error.is_some()) {
                bail!("could not look at any page of {}: {failed}", options.url);
            }
        }
        results.push(result);
    }
    Ok(results)
}

/// The first phase finds the pages (links of the start URL's origin, breadth first); the later
/// ones visit the same pages, so the phases compare.
async fn run_phase(
    client: &Client,
    options: &ScanOptions,
    phase: Phase,
    start: &url::Url,
    pages: &mut Vec<String>,
) -> Result<PhaseResult> {
    let mut result = PhaseResult {
        phase,
        choice_made: None,
        pages: Vec::new(),
        seen: Vec::new(),
    };
    if phase != Phase::NoChoice {
        let made = choose(client, options, phase, start).await;
        result.choice_made = Some(made);
    }
    let mut index = 0;
    while index < pages.len() && index < options.pages {
        let page = pages[index].clone();
        index += 1;
        match observe(client, options, &page).await {
            Ok((seen, links)) => {
                merge(&mut result.seen, seen);
                if phase == Phase::NoChoice {
                    for link in links {
                        if pages.len() >= options.pages {
                            break;
                        }
                        if same_origin(start, &link) && !pages.contains(&link) {
                            pages.push(link);
                        }
                    }
                }
                result.pages.push(PageVisit {
                    url: page,
                    error: None,
                });
            }
            Err(error) => result.pages.push(PageVisit {
                url: page,
                error: Some(format!("{error:#}")),
            }),
        }
    }
    Ok(result)
}

/// Opens the start page and makes the phase's choice through `window.kelisim`; `false` when
/// the page does not run kelisim (the phase then sees what a visitor sees without choosing).
async fn choose(client: &Client, options: &ScanOptions, phase: Phase, start: &url::Url) -> bool {
    if goto(client, options, start.as_str()).await.is_err() {
        return false;
    }
    let command = match phase {
        Phase::AcceptAll => "acceptAll",
        _ => "rejectAll",
    };
    // The module loads asynchronously: wait for it, at most the page timeout.
    let script = format!(
        "const done = arguments[arguments.length - 1];
         const started = Date.now();
         (function wait() {{
           const k = window.kelisim;
           if (k && k.loaded && k.getConsent) {{ k.{command}(); done(true); }}
           else if (Date.now() - started > {timeout}) done(false);
           else setTimeout(wait, 100);
         }})();",
        timeout = options.page_timeout.as_millis()
    );
    let made = client
        .execute_async(&script, Vec::new())
        .await
        .ok()
        .and_then(|value| value.as_bool())
        .unwrap_or(false);
    tokio::time::sleep(options.settle).await;
    made
}

async fn goto(client: &Client, options: &ScanOptions, url: &str) -> Result<()> {
    tokio::time::timeout(
        options.page_timeout + Duration::from_secs(5),
        client.goto(url),
    )
    .await
    .with_context(|| format!("{url} did not load within {:?}", options.page_timeout))?
    .with_context(|| format!("loading {url}"))
}

/// Loads `page`, lets its scripts run, and records what it stored and requested; answers that
/// and the page's links.
async fn observe(
    client: &Client,
    options: &ScanOptions,
    page: &str,
) -> Result<(Vec<Seen>, Vec<String>)> {
    goto(client, options, page).await?;
    tokio::time::sleep(options.settle).await;
    let page_url = url::Url::parse(page)?;
    let page_host = page_url.host_str().unwrap_or_default().to_owned();
    let mut seen = Vec::new();
    for cookie in client.get_all_cookies().await.context("reading cookies")? {
        let domain = cookie.domain().unwrap_or(&page_host).to_owned();
        let mut detail = format!("{} {}", domain, cookie.path().unwrap_or("/"));
        match cookie.expires_datetime() {
            Some(when) => detail.push_str(&format!(", expires {}", when.date())),
            None => detail.push_str(", session"),
        }
        if cookie.secure() == Some(true) {
            detail.push_str(", Secure");
        }
        if cookie.http_only() == Some(true) {
            detail.push_str(", HttpOnly");
        }
        if let Some(same_site) = cookie.same_site() {
            detail.push_str(&format!(", SameSite={same_site:?}"));
        }
        seen.push(Seen {
            kind: Kind::Cookie,
            name: cookie.name().to_owned(),
            first_party: same_site(&page_host, domain.trim_start_matches('.')),
            detail,
            page: page.to_owned(),
        });
    }
    let found = client
        .execute(
            "const keys = (storage) => { try { return Object.keys(storage); } catch (e) { return []; } };
             return {
               local: keys(window.localStorage),
               session: keys(window.sessionStorage),
               requests: performance.getEntriesByType('resource').map((entry) => entry.name),
               links: Array.from(document.links, (link) => link.href)
             };",
            Vec::new(),
        )
        .await
        .context("reading storage and requests")?;
    let strings = |name: &str| -> Vec<String> {
        found[name]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    for (kind, field) in [
        (Kind::LocalStorage, "local"),
        (Kind::SessionStorage, "session"),
    ] {
        for key in strings(field) {
            seen.push(Seen {
                kind,
                name: key,
                detail: String::new(),
                page: page.to_owned(),
                first_party: true,
            });
        }
    }
    let databases = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             if (!indexedDB.databases) return done([]);
             indexedDB.databases().then((list) => done(list.map((db) => db.name)), () => done([]));",
            Vec::new(),
        )
        .await
        .unwrap_or(json!([]));
    for name in databases.as_array().into_iter().flatten() {
        if let Some(name) = name.as_str() {
            seen.push(Seen {
                kind: Kind::IndexedDb,
                name: name.to_owned(),
                detail: String::new(),
                page: page.to_owned(),
                first_party: true,
            });
        }
    }
    for request in strings("requests") {
        let Ok(url) = url::Url::parse(&request) else {
            continue;
        };
        let Some(host) = url.host_str() else { continue };
        if host == page_host {
            continue;
        }
        seen.push(Seen {
            kind: Kind::Request,
            name: host.to_owned(),
            detail: request.clone(),
            page: page.to_owned(),
            first_party: same_site(&page_host, host),
        });
    }
    let links = strings("links")
        .into_iter()
        .filter_map(|link| {
            let mut url = url::Url::parse(&link).ok()?;
            url.set_fragment(None);
            Some(url.to_string())
        })
        .collect();
    Ok((seen, links))
}

/// Adds what is new: the first page something was seen on is the one reported.
fn merge(all: &mut Vec<Seen>, seen: Vec<Seen>) {
    let known: BTreeSet<(Kind, String)> = all
        .iter()
        .map(|item| (item.kind, item.name.clone()))
        .collect();
    let mut added = BTreeSet::new();
    for item in seen {
        let key = (item.kind, item.name.clone());
        if !known.contains(&key) && added.insert(key) {
            all.push(item);
        }
    }
}

fn same_origin(start: &url::Url, link: &str) -> bool {
    url::Url::parse(link)
        .is_ok_and(|url| url.origin() == start.origin() && matches!(url.scheme(), "http" | "https"))
}

/// Whether `host` belongs to the site of `page_host`: the same host, or one a domain of the
/// other (`shop.example.kz` and `example.kz`).
fn same_site(page_host: &str, host: &str) -> bool {
    let within = |inner: &str, outer: &str| {
        inner == outer
            || inner
                .strip_suffix(outer)
                .is_some_and(|rest| rest.ends_with('.'))
    };
    within(page_host, host) || within(host, page_host)
}

/// A chromedriver process on a free loopback port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start(chromedriver: &PathBuf) -> Result<Driver> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| {
                format!(
                    "could not start {} (Debian's chromium-driver; --chromedriver names another)",
                    chromedriver.display()
                )
            })?;
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        // Ready once it accepts connections (at most 10 s).
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(driver);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("{} did not start listening", chromedriver.display())
    }

    /// A new headless session in a fresh profile.
    async fn session(&self, options: &ScanOptions) -> Result<Client> {
        let mut args: Vec<String> = [
            "--headless",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            "--window-size=1280,900",
        ]
        .map(str::to_owned)
        .to_vec();
        // The scanner runs other people's scripts: Chromium keeps its sandbox, which it can only
        // set up when not running as root (as in a container); there it must go without.
        if running_as_root() {
            args.push("--no-sandbox".to_owned());
        }
        args.extend(options.browser_args.iter().cloned());
        let capabilities: Value = json!({
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "timeouts": {
                "pageLoad": options.page_timeout.as_millis() as u64,
                "script": options.page_timeout.as_millis() as u64 + 5_000
            },
            "goog:chromeOptions": {
                "binary": options.chromium,
                "args": args
            }
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal")
        };
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .with_context(|| {
                format!(
                    "could not start {} through chromedriver (--chromium names another)",
                    options.chromium.display()
                )
            })
    }
}

/// `program` itself when it names a path, else the first executable of that name on PATH.
fn on_path(program: &std::path::Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |path: &std::path::Path| {
        std::fs::metadata(path)
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    };
    if program.components().count() > 1 || program.is_absolute() {
        return executable(program).then(|| program.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|candidate| executable(candidate))
}

/// Whether this process runs as root (Linux: the owner of `/proc/self`).
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn programs_are_found_on_path() {
        let sh = super::on_path(Path::new("sh")).expect("sh is on PATH");
        assert!(sh.is_absolute() && sh.ends_with("sh"), "{}", sh.display());
        assert_eq!(super::on_path(&sh), Some(sh.clone()));
        assert_eq!(super::on_path(Path::new("no-such-program-kelisim")), None);
        let plain =
            std::env::temp_dir().join(format!("kelisim-not-executable-{}", std::process::id()));
        std::fs::write(&plain, "data").unwrap();
        assert_eq!(
            super::on_path(&plain),
            None,
            "a file that is not executable"
        );
        std::fs::remove_file(&plain).unwrap();
    }

    #[test]
    fn sites_and_origins() {
        assert!(super::same_site("shop.example.kz", "example.kz"));
        assert!(super::same_site("example.kz", "pay.example.kz"));
        assert!(!super::same_site("example.kz", "badexample.kz"));
        assert!(!super::same_site("example.kz", "mc.yandex.ru"));
        let start = url::Url::parse("http://127.0.0.1:8080/").unwrap();
        assert!(super::same_origin(&start, "http://127.0.0.1:8080/catalog"));
        assert!(!super::same_origin(&start, "http://127.0.0.1:9090/"));
        assert!(!super::same_origin(&start, "mailto:shop@example.kz"));
    }
}
