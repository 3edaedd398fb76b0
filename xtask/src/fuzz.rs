//! `cargo xtask fuzz [--time SECONDS]`: runs every cargo-fuzz (libFuzzer) target in `fuzz/` for
//! a bounded time each, starting from its committed corpus (`fuzz/corpus/<target>/`). Installs
//! what it needs when missing: a pinned nightly toolchain (cargo-fuzz needs one) and cargo-fuzz.
//! New inputs go to `target/fuzz-corpus/` so the committed corpus only changes on purpose
//! (`cargo +nightly-2026-10-30 fuzz cmin` to fold them in). A crash fails the run and leaves its input in
//! `fuzz/artifacts/<target>/`: make it a regression test next to the code it broke.

use crate::tools::{run, NIGHTLY};
use anyhow::{bail, Result};
use std::path::Path;
use std::process::Command;

pub const TARGETS: [&str; 6] = [
    "config",
    "compile",
    "cookie",
    "receipt",
    "csv_export",
    "cms",
];
const CARGO_FUZZ_VERSION: &str = "0.13.1";

pub fn fuzz(root: &Path, seconds: u64) -> Result<()> {
    ensure_fuzz_tools(root)?;
    let fuzz_dir = root.join("fuzz");
    let mut crashed = Vec::new();
    for target in TARGETS {
        let scratch = root.join("target/fuzz-corpus").join(target);
        std::fs::create_dir_all(&scratch)?;
        let committed = fuzz_dir.join("corpus").join(target);
        // libFuzzer reports every new input; its log goes to a file, and only the summary (or,
        // after a crash, the end of the log) to the console.
        let log_path = root.join("target/fuzz-logs").join(format!("{target}.log"));
        std::fs::create_dir_all(log_path.parent().expect("a logs folder"))?;
        let log = std::fs::File::create(&log_path)?;
        eprintln!(
            "$ cargo +{NIGHTLY} fuzz run -O {target} (log: {})",
            log_path.display()
        );
        let status = Command::new("cargo")
            .current_dir(&fuzz_dir)
            .arg(format!("+{NIGHTLY}"))
            .args(["fuzz", "run", "-O", target])
            .arg(&scratch)
            .arg(&committed)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .stdout(log.try_clone()?)
            .stderr(log)
            .status()?;
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        if status.success() {
            let summary = text
                .lines()
                .rev()
                .find(|line| line.starts_with("Done "))
                .unwrap_or("done");
            eprintln!("fuzz {target}: no crash ({summary})");
        } else {
            let lines: Vec<&str> = text.lines().collect();
            eprintln!(
                "fuzz {target}: CRASHED\n{}",
                lines[lines.len().saturating_sub(60)..].join("\n")
            );
            crashed.push(target);
        }
    }
    if !crashed.is_empty() {
        bail!(
            "fuzzing found crashes in {}: the inputs are in fuzz/artifacts/",
            crashed.join(", ")
        );
    }
    Ok(())
}

fn ensure_fuzz_tools(root: &Path) -> Result<()> {
    crate::tools::ensure_nightly(root)?;
    let version = crate::tools::output("cargo", &["fuzz", "--version"]).unwrap_or_default();
    if !version.contains(CARGO_FUZZ_VERSION) {
        run(
            root,
            "cargo",
            &[
                "install",
                "cargo-fuzz",
                "--version",
                CARGO_FUZZ_VERSION,
                "--force",
            ],
            &[],
        )?;
    }
    Ok(())
}
