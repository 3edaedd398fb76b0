//! `cargo xtask`'s harness: the commands that need servers and a browser, run by `cargo xtask`
//! (`demo`, `e2e`, `deploy`, `bench`). It links the xtask library for building `pkg/` and
//! installing tools; its own crates (axum, hyper, TLS, certificates, the WebDriver client) stay
//! out of `cargo xtask build`.
//!
//! - `demo [--port N]`: build, then run the receipts server over the demo store.
//! - `e2e [--built]`: build (unless `cargo xtask test` just did), then the end-to-end checks.
//! - `deploy`: the operator's kit (`deploy/`) checked against the real binary.
//! - `bench [--runs 20] [--receipts N] [--impressions N] [--only …]`: `bench/RESULTS.md`.

mod bench;
mod deploy;
mod e2e;
mod serve;
mod webdriver;

use anyhow::{bail, Context, Result};
use xtask::{build, option_value, project_root, tools};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    match args.first().map(String::as_str) {
        Some("demo") => {
            let port = option_value(&args, "--port").unwrap_or_else(|| "8080".into());
            tools::ensure_build_tools(&root)?;
            let sizes = build::build(&root)?;
            build::print_sizes(&sizes);
            serve::demo(&root, port.parse().context("--port must be a number")?)
        }
        Some("bench") => {
            let number = |name: &str, default: u64| -> Result<u64> {
                option_value(&args, name)
                    .map_or(Ok(default), |text| text.parse())
                    .with_context(|| format!("{name} must be a number"))
            };
            let options = bench::Options {
                runs: number("--runs", 20)? as usize,
                receipts: number("--receipts", 1_000_000)?,
                impressions: number("--impressions", 3_000_000)?,
                only: option_value(&args, "--only")
                    .map(|list| list.split(',').map(str::to_owned).collect())
                    .unwrap_or_default(),
            };
            bench::run_bench(&root, &options)
        }
        Some("deploy") => deploy::check(&root),
        Some("e2e") => {
            // `cargo xtask test` installed the tools and built `pkg/` already.
            if !args.iter().any(|arg| arg == "--built") {
                tools::ensure_build_tools(&root)?;
                tools::ensure_test_tools(&root)?;
                tools::ensure_browser()?;
                build::print_sizes(&build::build(&root)?);
                tools::check_types(&root)?;
            }
            e2e::run(&root)
        }
        other => bail!("xtask-harness: unknown command {other:?}; run it through `cargo xtask`"),
    }
}
