//! `cargo xtask`: every workflow of the project, in Rust instead of shell scripts.
//!
//! - `build`: release wasm, wasm-bindgen, wasm-opt, `pkg/` from `pkg-template/`, sizes.
//! - `demo`: build, then run the receipts server over the demo store (`www/`), the SDK under
//!   `/sdk/` and the dashboard, with SQLite in `data/`.
//! - `test`: install what is missing, then run every check and test (CI runs this).
//! - `e2e`: build, then only the end-to-end checks through a real script tag.
//! - `fuzz [--time S]`: every fuzz target for S seconds (60 by default).
//! - `bench`: kelisim beside vanilla-cookieconsent and Klaro, and the server's throughput and
//!   stats queries, written to `bench/RESULTS.md`.
//!
//! `demo`, `e2e`, `deploy` and `bench` run the harness (`xtask/harness`), which holds the
//! servers and the browser driving; the rest, and building `pkg/`, need none of its crates.
//!
//! Each step prints what it runs, so a failure names the command that failed.

use anyhow::{bail, Context, Result};
use std::path::Path;
use xtask::{build, fuzz, harness, option_value, project_root, tools};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    match args.first().map(String::as_str) {
        Some("build") => {
            tools::ensure_build_tools(&root)?;
            let sizes = build::build(&root)?;
            build::print_sizes(&sizes);
            Ok(())
        }
        Some("test") => test(&root),
        // The harness's commands: it builds what it needs itself.
        Some("demo" | "bench" | "deploy" | "e2e") => {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            harness(&root, &args)
        }
        Some("fuzz") => {
            let seconds = option_value(&args, "--time")
                .map_or(Ok(60), |text| text.parse())
                .context("--time must be a number of seconds")?;
            fuzz::fuzz(&root, seconds)
        }
        Some("postgres") => {
            println!("{}", tools::ensure_postgres()?);
            Ok(())
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n  build          build pkg/ (wasm, glue, loader, types) and print its sizes\n  demo [--port N] build, then run the receipts server with the demo store on http://127.0.0.1:8080/\n  test           install what is missing, then run every check and test\n  e2e            build, then only the end-to-end checks (a quick loop while developing)\n  bench [--runs 20] [--receipts 1000000] [--impressions 3000000] [--only bytes,browser,server,stats]\n                 kelisim beside vanilla-cookieconsent and Klaro, server throughput, stats queries: bench/RESULTS.md\n  fuzz [--time 60]  run every fuzz target (config, compile, cookie, receipt, CSV export) for that many seconds\n  postgres       start (installing if needed) a local PostgreSQL and print a URL for KELISIM_TEST_POSTGRES"
            );
            bail!("unknown or missing command: {:?}", args.first());
        }
    }
}

/// Everything CI runs: formatting and lints, native tests, browser tests in headless
/// Chromium, then end-to-end checks of the built package through a real script tag.
fn test(root: &Path) -> Result<()> {
    tools::ensure_build_tools(root)?;
    tools::ensure_test_tools(root)?;
    tools::ensure_browser()?;
    let checks: [&[&str]; 3] = [
        &["fmt", "--all", "--", "--check"],
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[
            "clippy",
            "--target",
            "wasm32-unknown-unknown",
            "-p",
            "kelisim",
            "-p",
            "kelisim-compiler",
            "-p",
            "kelisim-forms",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    ];
    for check in checks {
        tools::run(root, "cargo", check, &[])?;
    }
    let postgres = tools::ensure_postgres()?;
    tools::run(
        root,
        "cargo",
        &["test", "--workspace"],
        &[("KELISIM_TEST_POSTGRES", &postgres)],
    )?;
    // One package at a time: built together, the runtime's `command` export would be on (its
    // default feature) in the forms module's test build too, beside the forms module's own.
    for package in ["kelisim", "kelisim-forms"] {
        tools::run(
            root,
            "cargo",
            &["test", "--target", "wasm32-unknown-unknown", "-p", package],
            &[
                ("CHROMEDRIVER", tools::CHROMEDRIVER),
                ("WASM_BINDGEN_TEST_TIMEOUT", "120"),
            ],
        )?;
    }
    harness(root, &["deploy"])?;
    let sizes = build::build(root)?;
    build::print_sizes(&sizes);
    build::check_size_ceiling(&sizes)?;
    tools::check_types(root)?;
    harness(root, &["e2e", "--built"])?;
    // A short fuzzing pass from the committed corpora; `cargo xtask fuzz` runs longer.
    fuzz::fuzz(root, 10)
}
