//! End-to-end checks of the built `pkg/` through a real `<script>` tag in headless Chromium:
//! pages in `tests/e2e/` are served on loopback with a strict CSP, Chromium loads each one and
//! dumps the DOM; each page records its verdict in `data-e2e-result` on `<body>`, and console
//! output is checked for errors and CSP violations. `a11y.html` audits both layers with
//! axe-core (WCAG 2.1 A and AA).

use crate::serve;
use crate::tools::CHROMIUM;
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

/// The CSP the README tells stores they can use.
pub const STRICT_CSP: &str =
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; base-uri 'none'";

struct Check {
    page: &'static str,
    /// Text the dumped DOM must contain.
    dom_contains: &'static [&'static str],
    /// Text the dumped DOM must not contain.
    dom_lacks: &'static [&'static str],
    /// Text the console must contain (e.g. the config error naming its field).
    console_contains: &'static [&'static str],
    /// Whether a `kelisim:` console error is expected (only for the invalid-config page).
    console_errors_allowed: bool,
}

const CHECKS: [Check; 6] = [
    Check {
        page: "/e2e/loader.html",
        dom_contains: &["data-e2e-result=\"pass\""],
        dom_lacks: &[],
        console_contains: &[],
        console_errors_allowed: false,
    },
    Check {
        page: "/e2e/loader-sync.html",
        dom_contains: &["data-e2e-result=\"pass\""],
        dom_lacks: &[],
        console_contains: &[],
        console_errors_allowed: false,
    },
    Check {
        page: "/e2e/esm.html",
        dom_contains: &["data-e2e-result=\"pass\""],
        dom_lacks: &[],
        console_contains: &[],
        console_errors_allowed: false,
    },
    Check {
        page: "/e2e/a11y.html",
        dom_contains: &["data-e2e-result=\"pass\""],
        dom_lacks: &[],
        console_contains: &[],
        console_errors_allowed: false,
    },
    Check {
        page: "/e2e/invalid-config.html",
        dom_contains: &["data-e2e-result=\"pass\""],
        dom_lacks: &["id=\"kelisim\""],
        console_contains: &["`operator.bin`"],
        console_errors_allowed: true,
    },
    Check {
        page: "/",
        dom_contains: &[
            "id=\"kelisim\"",
            "Біз cookie файлдарын қолданамыз",
            "Барлығынан бас тарту",
        ],
        dom_lacks: &["data-kelisim-activated"],
        console_contains: &[],
        console_errors_allowed: false,
    },
];

pub fn run(root: &Path) -> Result<()> {
    let address = "127.0.0.1:18731";
    let mut mounts = serve::mounts(root);
    mounts.insert(0, ("/e2e/".into(), root.join("tests/e2e")));
    mounts.insert(0, ("/vendor/".into(), root.join(".tools/node_modules")));
    let csp = vec![("Content-Security-Policy".to_owned(), STRICT_CSP.to_owned())];
    let rules = vec![("/e2e/".to_owned(), csp.clone()), ("/sdk/".to_owned(), csp)];
    let _server = serve::start(address, mounts, rules)?;

    let (mut passed, mut failed) = (0, 0);
    for check in &CHECKS {
        let url = format!("http://{address}{}", check.page);
        match run_check(root, &url, check) {
            Ok(()) => {
                passed += 1;
                println!("e2e {} ... ok", check.page);
            }
            Err(error) => {
                failed += 1;
                println!("e2e {} ... FAILED: {error:#}", check.page);
            }
        }
    }
    println!("e2e: {passed} passed, {failed} failed");
    if failed > 0 {
        bail!("{failed} end-to-end check(s) failed");
    }
    Ok(())
}

fn run_check(root: &Path, url: &str, check: &Check) -> Result<()> {
    let profile = root.join("target/e2e-profile");
    let _ = std::fs::remove_dir_all(&profile);
    let output = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=15000",
            "--window-size=360,740",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(url)
        .output()
        .with_context(|| format!("could not start {CHROMIUM}"))?;
    let dom = String::from_utf8_lossy(&output.stdout);
    let log = String::from_utf8_lossy(&output.stderr);
    let console: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("CONSOLE"))
        .collect();
    let console_text = console.join("\n");
    for needle in check.dom_contains {
        if !dom.contains(needle) {
            bail!("the page's DOM lacks {needle}\nconsole:\n{console_text}\nDOM (first 3000 bytes):\n{}", head(&dom, 3000));
        }
    }
    for needle in check.dom_lacks {
        if dom.contains(needle) {
            bail!("the page's DOM has {needle}\nconsole:\n{console_text}");
        }
    }
    for needle in check.console_contains {
        if !console_text.contains(needle) {
            bail!("the console lacks {needle}\nconsole:\n{console_text}");
        }
    }
    if let Some(line) = log
        .lines()
        .find(|line| line.contains("Content Security Policy") || line.contains("Refused to"))
    {
        bail!("CSP violation: {line}");
    }
    if !check.console_errors_allowed {
        if let Some(line) = console.iter().find(|line| line.contains("kelisim:")) {
            bail!("unexpected kelisim console message: {line}");
        }
    }
    Ok(())
}

fn head(text: &str, bytes: usize) -> &str {
    let mut end = bytes.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
