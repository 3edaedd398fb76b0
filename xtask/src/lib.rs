//! The xtask library: what `cargo xtask` and its test harness (`xtask/harness`) share. Building
//! `pkg/` (`build`), installing tools (`tools`), fuzzing (`fuzz`) and the tidy tests
//! live here, without the HTTP, TLS and WebDriver crates the harness's servers and browsers
//! need, so `cargo xtask build` does not compile them.

pub mod build;
pub mod fuzz;
mod tidy;
pub mod tools;

use anyhow::Result;
use std::path::{Path, PathBuf};

/// The workspace's root folder.
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// The value after `name` in `args` (`--port 8080`).
pub fn option_value(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|arg| arg == name)
        .and_then(|index| args.get(index + 1))
        .cloned()
}

/// Runs `cargo xtask`'s harness (`xtask/harness`: the demo, the end-to-end checks, the deploy
/// checks and the benchmark, which need servers and a browser) with `args`.
pub fn harness(root: &Path, args: &[&str]) -> Result<()> {
    let mut all = vec!["run", "--quiet", "--package", "xtask-harness", "--"];
    all.extend_from_slice(args);
    tools::run(root, "cargo", &all, &[])
}
