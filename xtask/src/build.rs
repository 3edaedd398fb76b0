//! `cargo xtask build`: release wasm -> wasm-bindgen (names and producers stripped) ->
//! wasm-opt -Oz -> `pkg/` assembled from `pkg-template/`, the loader and glue minified with
//! esbuild, then the size of every file a site loads, raw, gzip and brotli.

use crate::tools::{run, wasm_opt, NIGHTLY};
use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

/// Size of one file a site loads.
pub struct FileSize {
    pub name: String,
    pub raw: usize,
    pub gzip: usize,
    pub brotli: usize,
}

/// Where the release wasm is built (see `build`).
const RELEASE_TARGET_DIR: &str = "target/release-wasm";

/// Files of `pkg/` a visitor's browser downloads, in load order.
pub const LOADED_FILES: [&str; 3] = ["kelisim.js", "kelisim_sdk.js", "kelisim_sdk_bg.wasm"];

pub fn build(root: &Path) -> Result<Vec<FileSize>> {
    // The pinned nightly rebuilds the standard library with the module (`-Z build-std`): for
    // size (`optimize_for_size`) and with panics that trap at once, so no panic message,
    // location or formatting code is linked in (measured: 106.2 -> 99.0 KB gzip). Its own target
    // folder keeps these artifacts apart from the stable ones of the tests.
    run(
        root,
        "cargo",
        &[
            &format!("+{NIGHTLY}"),
            "build",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "--target-dir",
            RELEASE_TARGET_DIR,
            "-p",
            "kelisim",
            "--lib",
            "-Z",
            "build-std=std,panic_abort",
            "-Z",
            "build-std-features=optimize_for_size",
        ],
        &[(
            "RUSTFLAGS",
            "-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none",
        )],
    )?;
    let bindgen_dir = root.join("target/kelisim-bindgen");
    if bindgen_dir.exists() {
        std::fs::remove_dir_all(&bindgen_dir)?;
    }
    run(
        root,
        "wasm-bindgen",
        &[
            &format!("{RELEASE_TARGET_DIR}/wasm32-unknown-unknown/release/kelisim.wasm"),
            "--out-dir",
            "target/kelisim-bindgen",
            "--out-name",
            "kelisim_sdk",
            "--target",
            "web",
            "--no-typescript",
            "--remove-name-section",
            "--remove-producers-section",
        ],
        &[],
    )?;

    let pkg = root.join("pkg");
    if pkg.exists() {
        std::fs::remove_dir_all(&pkg)?;
    }
    std::fs::create_dir_all(&pkg)?;
    let wasm_in = bindgen_dir.join("kelisim_sdk_bg.wasm");
    let wasm_out = pkg.join("kelisim_sdk_bg.wasm");
    run(
        root,
        wasm_opt(root)
            .to_str()
            .context("wasm-opt path is not UTF-8")?,
        &[
            "-Oz",
            // Repeats the passes while they still shrink the module (0.6 KB gzip).
            "--converge",
            "--strip-producers",
            "--strip-target-features",
            wasm_in.to_str().context("path is not UTF-8")?,
            "-o",
            wasm_out.to_str().context("path is not UTF-8")?,
        ],
        &[],
    )?;
    copy_dir(&bindgen_dir, &pkg, &["kelisim_sdk_bg.wasm"])?;
    copy_dir(&root.join("pkg-template"), &pkg, &[])?;
    // The scripts every page loads, minified: the glue carries wasm-bindgen's doc comments and
    // long helper names (52 KB raw, 8.9 KB gzip before; 23 KB, 6.8 KB after).
    for script in ["kelisim_sdk.js", "kelisim.js"] {
        minify(root, &pkg.join(script))?;
    }

    // The npm package carries the workspace version.
    let package_json = pkg.join("package.json");
    let text = std::fs::read_to_string(&package_json)?;
    let workspace_version = workspace_version(root)?;
    std::fs::write(
        &package_json,
        text.replace(
            "\"version\": \"0.0.0\"",
            &format!("\"version\": \"{workspace_version}\""),
        ),
    )?;

    let mut sizes = Vec::new();
    let mut loaded: Vec<String> = LOADED_FILES.iter().map(|s| s.to_string()).collect();
    let snippets = pkg.join("snippets");
    if snippets.exists() {
        for path in walk(&snippets)? {
            loaded.push(path.strip_prefix(&pkg)?.to_string_lossy().into_owned());
        }
    }
    for name in loaded {
        let bytes =
            std::fs::read(pkg.join(&name)).with_context(|| format!("reading pkg/{name}"))?;
        sizes.push(FileSize {
            raw: bytes.len(),
            gzip: gzip_size(&bytes)?,
            brotli: brotli_size(&bytes)?,
            name,
        });
    }
    Ok(sizes)
}

pub fn print_sizes(sizes: &[FileSize]) {
    println!("\nwhat a site loads (pkg/):");
    println!(
        "  {:<52} {:>9} {:>9} {:>9}",
        "file", "raw", "gzip", "brotli"
    );
    let (mut raw, mut gzip, mut brotli) = (0, 0, 0);
    for size in sizes {
        println!(
            "  {:<52} {:>9} {:>9} {:>9}",
            size.name, size.raw, size.gzip, size.brotli
        );
        raw += size.raw;
        gzip += size.gzip;
        brotli += size.brotli;
    }
    println!(
        "  {:<52} {:>9} {:>9} {:>9}",
        "total (CSS and kk/ru/en texts are inside the wasm)", raw, gzip, brotli
    );
    println!("  for comparison: vanilla-cookieconsent 3.1.0 15,513 gzip (JS + CSS, no translations); Klaro 0.7.22 68,892 gzip\n");
}

/// Minifies a script in place with esbuild (comments out, local names shortened, syntax kept).
fn minify(root: &Path, script: &Path) -> Result<()> {
    let minified = script.with_extension("min.js");
    run(
        root,
        crate::tools::esbuild(root)
            .to_str()
            .context("esbuild path is not UTF-8")?,
        &[
            script.to_str().context("path is not UTF-8")?,
            "--minify",
            "--log-level=warning",
            &format!("--outfile={}", minified.display()),
        ],
        &[],
    )?;
    std::fs::rename(&minified, script)?;
    Ok(())
}

fn workspace_version(root: &Path) -> Result<String> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml"))?;
    manifest
        .lines()
        .find_map(|line| line.trim().strip_prefix("version = \""))
        .map(|rest| rest.trim_end_matches('"').to_owned())
        .context("no version in the workspace Cargo.toml")
}

pub fn gzip_size(bytes: &[u8]) -> Result<usize> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len())
}

pub fn brotli_size(bytes: &[u8]) -> Result<usize> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        writer.write_all(bytes)?;
    }
    Ok(out.len())
}

fn copy_dir(from: &Path, to: &Path, skip: &[&str]) -> Result<()> {
    for path in walk(from)? {
        let relative = path.strip_prefix(from)?;
        if skip.iter().any(|name| relative == Path::new(name)) {
            continue;
        }
        let target = to.join(relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(&path, &target).with_context(|| format!("copying {}", path.display()))?;
    }
    Ok(())
}

/// Every file under `dir`, sorted, recursively.
pub fn walk(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|entry| entry.path());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path)?);
        } else {
            files.push(path);
        }
    }
    Ok(files)
}
