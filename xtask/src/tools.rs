//! Installs what the project needs on a fresh machine, each only when missing: the wasm32
//! target, the wasm-bindgen CLI matching Cargo.lock, wasm-opt from npm's `binaryen` (Debian's
//! is too old), esbuild from npm, and Debian's chromium and chromium-driver. Also the `run`
//! helper.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// npm's binaryen; version 108 from Debian writes modules that fail at page load.
const BINARYEN_VERSION: &str = "132.0.0";
/// axe-core for the accessibility audit of the end-to-end checks.
const AXE_VERSION: &str = "4.14.1";
/// esbuild, to minify the loader and the wasm-bindgen glue.
const ESBUILD_VERSION: &str = "0.28.2";
/// TypeScript, to type-check a store's use of `index.d.ts`.
const TYPESCRIPT_VERSION: &str = "5.9.3";
/// A fixed nightly, so a broken new nightly cannot turn CI red. The release wasm is built with
/// it (`-Z build-std` with immediate-abort panics: a smaller module than stable's prebuilt std)
/// and cargo-fuzz needs one.
pub const NIGHTLY: &str = "nightly-2026-10-30";

/// Runs a command in `dir`, echoing it, and fails with the command's name if it fails.
pub fn run(dir: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<()> {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .status()
        .with_context(|| format!("could not start `{program}`"))?;
    if !status.success() {
        bail!("`{program} {}` failed with {status}", args.join(" "));
    }
    Ok(())
}

/// A program's standard output when it ran and succeeded.
pub fn output(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The pinned nightly with the standard library's source (for `-Z build-std`) and the wasm
/// target. `rustup toolchain install` adds only what is missing.
pub fn ensure_nightly(root: &Path) -> Result<()> {
    let have_src = output("rustc", &[&format!("+{NIGHTLY}"), "--print", "sysroot"])
        .map(|sysroot| {
            Path::new(sysroot.trim())
                .join("lib/rustlib/src/rust/library")
                .exists()
        })
        .unwrap_or(false);
    let have_target = output(
        "rustup",
        &["target", "list", "--installed", "--toolchain", NIGHTLY],
    )
    .is_some_and(|list| {
        list.lines()
            .any(|line| line.trim() == "wasm32-unknown-unknown")
    });
    if have_src && have_target {
        return Ok(());
    }
    run(
        root,
        "rustup",
        &[
            "toolchain",
            "install",
            NIGHTLY,
            "--profile",
            "minimal",
            "--component",
            "rust-src",
            "--target",
            "wasm32-unknown-unknown",
        ],
        &[],
    )
}

/// The wasm target (stable for tests, the pinned nightly for the release build), the matching
/// wasm-bindgen CLI and wasm-opt.
pub fn ensure_build_tools(root: &Path) -> Result<()> {
    ensure_nightly(root)?;
    let installed = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if !installed
        .lines()
        .any(|line| line.trim() == "wasm32-unknown-unknown")
    {
        run(
            root,
            "rustup",
            &["target", "add", "wasm32-unknown-unknown"],
            &[],
        )?;
    }
    let wanted = wasm_bindgen_version(root)?;
    let have = output("wasm-bindgen", &["--version"]).unwrap_or_default();
    let runner = output("wasm-bindgen-test-runner", &["--version"]).unwrap_or_default();
    if !have.contains(&wanted) || !runner.contains(&wanted) {
        // Without --locked: the CLI's own lockfile pins a crate this registry lacks.
        run(
            root,
            "cargo",
            &[
                "install",
                "wasm-bindgen-cli",
                "--version",
                &wanted,
                "--force",
            ],
            &[],
        )?;
    }
    ensure_npm_package(
        root,
        ".bin/wasm-opt",
        &format!("binaryen@{BINARYEN_VERSION}"),
    )?;
    ensure_npm_package(root, ".bin/esbuild", &format!("esbuild@{ESBUILD_VERSION}"))
}

/// axe-core (injected into the accessibility audit page) and TypeScript, from npm.
pub fn ensure_test_tools(root: &Path) -> Result<()> {
    ensure_npm_package(
        root,
        "axe-core/axe.min.js",
        &format!("axe-core@{AXE_VERSION}"),
    )?;
    ensure_npm_package(
        root,
        ".bin/tsc",
        &format!("typescript@{TYPESCRIPT_VERSION}"),
    )
}

/// Installs an npm package into `.tools/` unless `.tools/node_modules/<marker>` exists.
fn ensure_npm_package(root: &Path, marker: &str, package: &str) -> Result<()> {
    let tools = root.join(".tools");
    if tools.join("node_modules").join(marker).exists() {
        return Ok(());
    }
    npm_install(&tools, &[package])
}

/// `npm install` of exact package versions into `dir/node_modules`.
pub fn npm_install(dir: &Path, packages: &[&str]) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut args = vec!["install", "--prefix", ".", "--no-audit", "--no-fund"];
    args.extend_from_slice(packages);
    run(dir, "npm", &args, &[])
}

/// A running PostgreSQL server for the server's storage tests: installs Debian's `postgresql`
/// when missing, starts its cluster, and makes sure the current user has a superuser role.
/// Returns an admin URL over the local socket (tests create a fresh database each).
pub fn ensure_postgres() -> Result<String> {
    let root = output("id", &["-u"]).is_some_and(|uid| uid.trim() == "0");
    let as_root = |program: &str, args: &[&str]| -> Result<()> {
        if root {
            run(
                Path::new("/"),
                program,
                args,
                &[("DEBIAN_FRONTEND", "noninteractive")],
            )
        } else {
            let mut with_sudo = vec![program];
            with_sudo.extend_from_slice(args);
            run(
                Path::new("/"),
                "sudo",
                &with_sudo,
                &[("DEBIAN_FRONTEND", "noninteractive")],
            )
        }
    };
    if output("pg_lsclusters", &["--no-header"]).is_none() {
        as_root("apt-get", &["update"])?;
        as_root("apt-get", &["install", "-y", "postgresql"])?;
    }
    let mut clusters = output("pg_lsclusters", &["--no-header"]).unwrap_or_default();
    if clusters.trim().is_empty() {
        let version = std::fs::read_dir("/usr/lib/postgresql")?
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .max()
            .context("postgresql is installed but /usr/lib/postgresql has no version")?;
        as_root("pg_createcluster", &[&version, "main"])?;
        clusters = output("pg_lsclusters", &["--no-header"]).unwrap_or_default();
    }
    let fields: Vec<&str> = clusters
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let [version, name, port, status, ..] = fields[..] else {
        bail!("cannot read pg_lsclusters output: {clusters}");
    };
    if status != "online" {
        as_root("pg_ctlcluster", &[version, name, "start"])?;
    }
    let user = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| {
            if root {
                "root".into()
            } else {
                output("id", &["-un"]).unwrap_or_default().trim().to_owned()
            }
        });
    let has_role = format!("SELECT 1 FROM pg_roles WHERE rolname = '{user}'");
    let exists = Command::new("runuser")
        .args([
            "-u", "postgres", "--", "psql", "-p", port, "-tAc", &has_role,
        ])
        .output()
        .or_else(|_| {
            Command::new("sudo")
                .args(["-u", "postgres", "psql", "-p", port, "-tAc", &has_role])
                .output()
        })
        .context("asking PostgreSQL for the test role")?;
    if String::from_utf8_lossy(&exists.stdout).trim() != "1" {
        let created = Command::new("runuser")
            .args([
                "-u",
                "postgres",
                "--",
                "createuser",
                "-p",
                port,
                "-s",
                &user,
            ])
            .status()
            .or_else(|_| {
                Command::new("sudo")
                    .args(["-u", "postgres", "createuser", "-p", port, "-s", &user])
                    .status()
            })?;
        if !created.success() {
            bail!("could not create the PostgreSQL role {user}");
        }
    }
    Ok(format!(
        "postgres://{user}@localhost:{port}/postgres?host=/var/run/postgresql"
    ))
}

/// Type-checks `tests/types/usage.ts` against the built `pkg/index.d.ts`.
pub fn check_types(root: &Path) -> Result<()> {
    let tsc = root.join(".tools/node_modules/.bin/tsc");
    run(
        root,
        tsc.to_str().context("tsc path is not UTF-8")?,
        &[
            "--noEmit",
            "--strict",
            "--target",
            "es2020",
            "--module",
            "esnext",
            "--moduleResolution",
            "bundler",
            "--lib",
            "es2020,dom",
            "tests/types/usage.ts",
        ],
        &[],
    )
}

/// Debian's chromium and chromium-driver; never a browser a tool downloads itself.
pub fn ensure_browser() -> Result<()> {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return Ok(());
    }
    apt_install(&["chromium", "chromium-driver"])
}

/// wrk, the HTTP load generator of `cargo xtask bench`.
pub fn ensure_wrk() -> Result<()> {
    if output("wrk", &["--version"]).is_some() || Path::new("/usr/bin/wrk").exists() {
        return Ok(());
    }
    apt_install(&["wrk"])
}

/// Installs Debian packages (with sudo when not root).
pub fn apt_install(packages: &[&str]) -> Result<()> {
    let sudo = output("id", &["-u"]).is_some_and(|uid| uid.trim() != "0");
    let apt = |args: &[&str]| -> Result<()> {
        let env = [("DEBIAN_FRONTEND", "noninteractive")];
        if sudo {
            let mut with_sudo = vec!["apt-get"];
            with_sudo.extend_from_slice(args);
            run(Path::new("/"), "sudo", &with_sudo, &env)
        } else {
            run(Path::new("/"), "apt-get", args, &env)
        }
    };
    apt(&["update"])?;
    let mut install = vec!["install", "-y"];
    install.extend_from_slice(packages);
    apt(&install)
}

pub fn esbuild(root: &Path) -> PathBuf {
    root.join(".tools/node_modules/.bin/esbuild")
}

pub fn wasm_opt(root: &Path) -> PathBuf {
    root.join(".tools/node_modules/.bin/wasm-opt")
}

/// The exact `wasm-bindgen` version in Cargo.lock: the CLI must match it.
pub fn wasm_bindgen_version(root: &Path) -> Result<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\"" {
            if let Some(version) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = \""))
            {
                return Ok(version.trim_end_matches('"').to_owned());
            }
        }
    }
    bail!("Cargo.lock has no wasm-bindgen package; run `cargo generate-lockfile`")
}
