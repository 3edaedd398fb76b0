//! Just enough of the W3C WebDriver protocol (over chromedriver) for end-to-end checks that
//! need a person's actions: type into a field, click, read the page, take a screenshot; and for
//! the benchmark, scripts, cookies and fresh browsers.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a fresh browser is left alone before a measured page load (see [`Browser::restart`]).
const SETTLE: Duration = Duration::from_millis(500);

/// A chromedriver process and one browser session, both ended on drop.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    /// Chromium flags beyond the usual ones, kept for `restart`.
    extra_args: Vec<String>,
}

impl Browser {
    pub fn start(chromedriver: &str, port: u16) -> Result<Browser> {
        Browser::start_with(chromedriver, port, &[])
    }

    /// [`Browser::start`] with more Chromium flags (e.g. `--ignore-certificate-errors` for a
    /// local double with a self-signed certificate).
    pub fn start_with(chromedriver: &str, port: u16, extra_args: &[&str]) -> Result<Browser> {
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting chromedriver")?;
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while ureq::get(&format!("{base}/status")).call().is_err() {
            if Instant::now() > deadline {
                bail!("chromedriver did not start");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let session = new_session(&base, extra_args)?;
        Ok(Browser {
            driver,
            base,
            session,
            extra_args: extra_args.iter().map(|arg| (*arg).to_owned()).collect(),
        })
    }

    /// Ends the browser and starts a fresh one (empty cache, cookies and storage): a cold load.
    ///
    /// Then waits [`SETTLE`], so that what is measured next is the page and not the browser's
    /// own start-up: a fresh Chromium spends its first few hundred milliseconds on its new-tab
    /// page in another renderer, which on two cores competed with the page under test (a
    /// trace showed it; the median time to banner fell from 107 to 84 ms with a 1 s wait, and
    /// the spread halved; 0.3 s was enough).
    pub fn restart(&mut self) -> Result<()> {
        let _ = ureq::delete(&format!("{}/session/{}", self.base, self.session)).call();
        let extra_args: Vec<&str> = self.extra_args.iter().map(String::as_str).collect();
        self.session = new_session(&self.base, &extra_args)?;
        std::thread::sleep(SETTLE);
        Ok(())
    }

    /// Emulates a slower network for this browser (Chromium's network conditions, as in
    /// DevTools): `latency_ms` added to each request, `bytes_per_second` down and half
    /// that up. Lasts until `restart`.
    pub fn emulate_network(&self, latency_ms: u32, bytes_per_second: u32) -> Result<()> {
        let conditions = json!({
            "latency": latency_ms,
            "download_throughput": bytes_per_second,
            "upload_throughput": bytes_per_second / 2,
        });
        self.call(
            "POST",
            "/chromium/network_conditions",
            Some(json!({ "network_conditions": conditions })),
        )
        .map(drop)
    }

    /// Takes this browser off the network, or back on (DevTools' "offline", through
    /// chromedriver's CDP endpoint): requests fail at once, as with the cable pulled.
    pub fn emulate_offline(&self, offline: bool) -> Result<()> {
        self.call(
            "POST",
            "/goog/cdp/execute",
            Some(
                json!({ "cmd": "Network.emulateNetworkConditions", "params": {
                "offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1
            } }),
            ),
        )
        .map(drop)
    }

    /// Emulates a CPU `rate` times slower than this machine's (DevTools' CPU throttling,
    /// through chromedriver's CDP endpoint). Lasts until `restart`.
    pub fn emulate_cpu_slowdown(&self, rate: u32) -> Result<()> {
        self.call(
            "POST",
            "/goog/cdp/execute",
            Some(json!({ "cmd": "Emulation.setCPUThrottlingRate", "params": { "rate": rate } })),
        )
        .map(drop)
    }

    /// Runs a script in the page (`return ...;` gives its value).
    pub fn execute(&self, script: &str) -> Result<Value> {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
    }

    /// Presses keys (WebDriver key codes: "\u{E004}" Tab, "\u{E007}" Enter, "\u{E00C}"
    /// Escape, " " Space), each down and up, on whatever has the focus.
    pub fn press(&self, keys: &str) -> Result<()> {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|key| {
                let key = key.to_string();
                [
                    json!({"type": "keyDown", "value": key}),
                    json!({"type": "keyUp", "value": key}),
                ]
            })
            .collect();
        self.call(
            "POST",
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        )
        .map(drop)
    }

    /// Runs `script` every 25 ms until `done` accepts its value, and returns that value; fails
    /// after `timeout` with the last value.
    pub fn poll(
        &self,
        script: &str,
        timeout: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Result<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let value = self.execute(script)?;
            if done(&value) {
                return Ok(value);
            }
            if Instant::now() > deadline {
                bail!("after {timeout:?}, `{script}` still gave {value}");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// The current page's cookies, as WebDriver cookie objects.
    pub fn cookies(&self) -> Result<Vec<Value>> {
        Ok(self
            .call("GET", "/cookie", None)?
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    /// Sets a cookie (a WebDriver cookie object) for the current page's origin.
    pub fn add_cookie(&self, cookie: &Value) -> Result<()> {
        self.call("POST", "/cookie", Some(json!({ "cookie": cookie })))
            .map(drop)
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let request = ureq::request(method, &url);
        let response = match body {
            Some(body) => request.send_json(body),
            None => request.call(),
        };
        let value: Value = match response {
            Ok(response) => response.into_json()?,
            Err(ureq::Error::Status(code, response)) => bail!(
                "WebDriver {method} {path}: {code} {}",
                response.into_string()?
            ),
            Err(error) => return Err(error.into()),
        };
        Ok(value["value"].clone())
    }

    pub fn goto(&self, url: &str) -> Result<()> {
        self.call("POST", "/url", Some(json!({ "url": url })))
            .map(drop)
    }

    fn element(&self, css: &str) -> Result<String> {
        let found = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        )?;
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .map(str::to_owned)
            .with_context(|| format!("no element {css}"))
    }

    pub fn type_into(&self, css: &str, text: &str) -> Result<()> {
        let id = self.element(css)?;
        self.call(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .map(drop)
    }

    pub fn click(&self, css: &str) -> Result<()> {
        let id = self.element(css)?;
        self.call("POST", &format!("/element/{id}/click"), Some(json!({})))
            .map(drop)
    }

    pub fn source(&self) -> Result<String> {
        Ok(self
            .call("GET", "/source", None)?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// Resizes the window and saves a PNG screenshot.
    pub fn screenshot(&self, width: u32, height: u32, path: &std::path::Path) -> Result<()> {
        self.call(
            "POST",
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )?;
        let encoded = self.call("GET", "/screenshot", None)?;
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap_or_default())?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, png)?;
        Ok(())
    }
}

/// What headless Chromium needs on these machines (as root, in a container, offline) besides
/// `--headless`: the end-to-end checks and the WebDriver sessions both start it so.
pub const CHROMIUM_FLAGS: [&str; 7] = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
];

fn new_session(base: &str, extra_args: &[&str]) -> Result<String> {
    let mut args = vec!["--headless=new"];
    args.extend_from_slice(&CHROMIUM_FLAGS);
    args.extend_from_slice(extra_args);
    // A page that never finishes loading fails `goto` after a minute, not WebDriver's five.
    let capabilities = json!({"capabilities": {"alwaysMatch": {
        "timeouts": {"pageLoad": 60_000},
        "goog:chromeOptions": {
            "binary": xtask::tools::CHROMIUM,
            "args": args
        }
    }}});
    let answer: Value = ureq::post(&format!("{base}/session"))
        .send_json(capabilities)?
        .into_json()?;
    Ok(answer["value"]["sessionId"]
        .as_str()
        .context("no WebDriver session id")?
        .to_owned())
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = ureq::delete(&format!("{}/session/{}", self.base, self.session)).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
