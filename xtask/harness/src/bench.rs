//! `cargo xtask bench`: kelisim beside vanilla-cookieconsent 3.1.0 and Klaro 0.7.22 (installed
//! from npm into a temporary folder), all measured in one run on this machine, written to
//! `bench/RESULTS.md` as medians and ratios:
//!
//! 1. bytes a site loads (raw, gzip -9, the .gz sent, brotli 11), first visit and returning visitor;
//! 2. headless Chromium over loopback, cold loads (a fresh browser each, files served
//!    `no-store`): banner visible, interactive, total blocking time; returning visitor: time
//!    until the granted tags ran, and whether any banner appeared; a later page of the same
//!    visit (the choice made, the files cached): time until the granted tags ran; for kelisim's
//!    returning visitors, when kelisim.js, the module and the config were in and how long after
//!    the last of them the tags ran;
//!    2b. the same over an emulated slow 4G connection (also with a 4× slower CPU), and a
//!    returning visitor there whose cached files have expired: revalidated first, or served
//!    with `stale-while-revalidate`;
//! 3. click on "accept all" → tags ran and banner gone;
//! 4. the receipts server: receipts/s, p50 and p99 at fixed concurrency for a bounded time, on
//!    SQLite and PostgreSQL, beside each database's own durable insert rate in the same run;
//! 5. stats queries (90 days) over 1,000,000 receipts and 3,000,000 impressions in SQLite.
//!
//! Pages and configs are in `bench/pages/`; the in-page probe (`probe.js`) defines each time.
//! Nothing here asserts a time: machines are noisy, so the table reports medians and ratios
//! against baselines measured in the same run. Everything targets 127.0.0.1 and stops by itself.

use crate::webdriver::Browser;
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use xtask::build::FileSize;
use xtask::tools;

const VANILLA: &str = "vanilla-cookieconsent@3.1.0";
const KLARO: &str = "klaro@0.7.22";
const PAGES_PORT: u16 = 18760;
/// The same pages, gzip-compressed, for the emulated mobile connection.
const MOBILE_PAGES_PORT: u16 = 18763;
/// The emulated mobile connection: Lighthouse's "slow 4G" figures (150 ms round trip,
/// 1.6 Mbit/s down), applied by Chromium's network emulation to every request.
const MOBILE_LATENCY_MS: u32 = 150;
const MOBILE_BYTES_PER_SECOND: u32 = 200_000;
/// Lighthouse's mobile preset also runs the page on a CPU 4× slower than the desktop's.
const MOBILE_CPU_SLOWDOWN: u32 = 4;
const DRIVER_PORT: u16 = 18761;
const SERVER_PORT: u16 = 18762;
/// Connections of the receipts load test, and how long it runs.
const CONCURRENCY: usize = 64;
const LOAD_SECONDS: u64 = 10;

/// What `cargo xtask bench` was asked for.
pub struct Options {
    /// Cold loads per banner (at least 20 for the published table).
    pub runs: usize,
    /// Receipts and impressions seeded for the stats queries.
    pub receipts: u64,
    pub impressions: u64,
    /// Only these sections (`bytes`, `browser`, `server`, `stats`, `verify`); all when empty.
    pub only: Vec<String>,
}

impl Options {
    fn wants(&self, section: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s == section)
    }
}

/// One banner under test: its page, the selector of its "accept all" button, the files a site
/// loads for it (relative to the served root), and its consent cookie.
struct Banner {
    name: &'static str,
    page: &'static str,
    accept: &'static str,
    files: Vec<&'static str>,
}

pub fn run_bench(root: &Path, options: &Options) -> Result<()> {
    tools::ensure_build_tools(root)?;
    // Only what the chosen sections need.
    if options.wants("browser") {
        tools::ensure_browser()?;
    }
    let sizes = xtask::build::build(root)?;
    xtask::build::print_sizes(&sizes);
    let work = root.join("target/bench");
    std::fs::create_dir_all(&work)?;
    // The bench page's config compiled, as kelisim-server serves it (`/config/{lang}`).
    let compiled = work.join("config");
    xtask::build::compile_config(&root.join("bench/pages/kelisim.json"), &compiled)?;
    let npm = std::env::temp_dir().join(format!("kelisim-bench-npm-{}", std::process::id()));
    tools::npm_install(&npm, &[VANILLA, KLARO])?;
    let banners = [
        Banner {
            name: "kelisim",
            page: "/kelisim.html",
            accept: ".kelisim-banner [data-kelisim-action=\"accept-all\"]",
            files: xtask::build::LOADED_FILES.to_vec(),
        },
        Banner {
            name: "vanilla-cookieconsent 3.1.0",
            page: "/vanilla.html",
            accept: "#cc-main .cm__btn[data-role=\"all\"]",
            files: vec![
                "npm/vanilla-cookieconsent/dist/cookieconsent.umd.js",
                "npm/vanilla-cookieconsent/dist/cookieconsent.css",
            ],
        },
        Banner {
            name: "Klaro 0.7.22",
            page: "/klaro.html",
            accept: ".klaro .cookie-notice .cm-btn-success",
            files: vec!["npm/klaro/dist/klaro.js"],
        },
    ];
    let mut report = header(root)?;

    // 1. Bytes.
    let pkg = root.join("pkg");
    let node_modules = npm.join("node_modules");
    let mut byte_rows = Vec::new();
    for banner in &banners {
        let mut total = FileSize::empty(banner.name);
        for file in &banner.files {
            let paths = if banner.name == "kelisim" {
                let path = pkg.join(file);
                if path.is_dir() {
                    xtask::build::walk(&path)?
                } else {
                    vec![path]
                }
            } else {
                vec![node_modules.join(file.trim_start_matches("npm/"))]
            };
            for path in paths {
                total = total.plus(&file_sizes(&path)?, banner.name.into());
            }
        }
        byte_rows.push(total);
    }
    let vanilla_gzip = byte_rows[1].gzip as f64;
    report.push_str("\n## 1. Bytes a site loads\n\nJS + CSS + translations as each package ships them (site configs not counted). A returning visitor loads the same files for all three (cached by the browser after the first visit). Gzip -9 is the measure; .gz is the gzip file kelisim's build writes and a server sends, compressed by zopfli (the bench's mobile connection sends every page's files so).\n\n| banner | raw | gzip -9 | .gz | brotli | gzip -9 vs vanilla-cookieconsent |\n|---|---:|---:|---:|---:|---:|\n");
    for size in &byte_rows {
        let _ = writeln!(
            report,
            "| {} | {} | {} | {} | {} | {:.2}× |",
            size.name,
            size.raw,
            size.gzip,
            size.gzip_sent,
            size.brotli,
            size.gzip as f64 / vanilla_gzip
        );
    }
    // Like for like: each package with the config of its bench page (kelisim's compiled
    // config carries its texts and stylesheet; vanilla-cookieconsent's config its texts).
    let kelisim_config = file_sizes(&compiled.join("ru"))?;
    let vanilla_config = file_sizes(&root.join("bench/pages/vanilla-config.js"))?;
    let kelisim_total = byte_rows[0].plus(&kelisim_config, String::new());
    let vanilla_total = byte_rows[1].plus(&vanilla_config, String::new());
    let _ = write!(
        report,
        "\nWith the bench page's own config, what a first visit loads: \n\n| banner | its config (raw / gzip -9) | raw | gzip -9 | .gz | brotli | gzip -9 vs vanilla-cookieconsent |\n|---|---:|---:|---:|---:|---:|---:|\n\
         | kelisim (compiled config, ru) | {} / {} | {} | {} | {} | {} | {:.2}× |\n\
         | vanilla-cookieconsent 3.1.0 (vanilla-config.js) | {} / {} | {} | {} | {} | {} | 1.00× |\n",
        kelisim_config.raw,
        kelisim_config.gzip,
        kelisim_total.raw,
        kelisim_total.gzip,
        kelisim_total.gzip_sent,
        kelisim_total.brotli,
        kelisim_total.gzip as f64 / vanilla_total.gzip as f64,
        vanilla_config.raw,
        vanilla_config.gzip,
        vanilla_total.raw,
        vanilla_total.gzip,
        vanilla_total.gzip_sent,
        vanilla_total.brotli,
    );
    let sentence = |size: &FileSize| {
        format!(
            "{} raw, {} gzip -9, {} .gz, {} brotli",
            size.raw, size.gzip, size.gzip_sent, size.brotli
        )
    };
    let _ = writeln!(
        report,
        "\nOnly a page that gives the loader a raw kelisim.json loads the compiler module besides: {}.",
        sentence(&sizes.compiler)
    );
    let _ = writeln!(
        report,
        "Only a page with a consent block in a form loads the forms module besides: {}.",
        sentence(&sizes.forms)
    );
    // vanilla-cookieconsent's config holds its preferences dialog; kelisim's keeps it apart.
    let preferences =
        file_sizes(&compiled.join(format!("ru{}", kelisim_core::compile::PREFERENCES_SUFFIX)))?;
    let _ = writeln!(
        report,
        "Only a visitor who opens kelisim's preferences loads their document besides (its dialog's tree and stylesheet rules, which vanilla-cookieconsent's row counts in its files and config): {}.",
        sentence(&preferences)
    );

    // 2, 3. Browser timings.
    if options.wants("browser") {
        browser_section(
            root,
            &mut report,
            &banners,
            &node_modules,
            &compiled,
            options,
        )?;
    }

    // 4. Receipts server.
    if options.wants("server") || options.wants("stats") || options.wants("verify") {
        xtask::tools::run(
            root,
            "cargo",
            &[
                "build",
                "--release",
                "-p",
                "kelisim-server",
                "--bin",
                "kelisim-server",
                "--example",
                "bench_storage",
            ],
            &[],
        )?;
    }
    if options.wants("server") {
        tools::ensure_wrk()?;
        let postgres = tools::ensure_postgres()?;
        server_section(root, &mut report, &work, &postgres)?;
    }
    if options.wants("stats") {
        stats_section(root, &mut report, &work, options)?;
    }
    if options.wants("verify") {
        verify_section(root, &mut report, &work)?;
    }

    let results = root.join("bench/RESULTS.md");
    std::fs::write(&results, &report)?;
    println!("{report}\nwritten to {}", results.display());
    let _ = std::fs::remove_dir_all(&npm);
    Ok(())
}

fn browser_section(
    root: &Path,
    report: &mut String,
    banners: &[Banner],
    node_modules: &Path,
    compiled: &Path,
    options: &Options,
) -> Result<()> {
    let pkg = root.join("pkg");
    let pages = root.join("bench/pages");
    // kelisim.html with preload hints for the module and config: what the round trip costs
    // (docs/embedding.md advises them).
    let generated = root.join("target/bench/pages");
    std::fs::create_dir_all(&generated)?;
    let kelisim_page = std::fs::read_to_string(pages.join("kelisim.html"))?;
    let loader_tag = "<script src=\"/sdk/kelisim.js\"";
    anyhow::ensure!(
        kelisim_page.contains(loader_tag),
        "bench/pages/kelisim.html no longer loads /sdk/kelisim.js"
    );
    std::fs::write(
        generated.join("kelisim-preload.html"),
        kelisim_page.replacen(
            loader_tag,
            &format!(
                "<link rel=\"preload\" href=\"/sdk/kelisim_sdk_bg.wasm\" as=\"fetch\" crossorigin>\n\
                 <link rel=\"preload\" href=\"/config/ru\" as=\"fetch\" crossorigin>\n{loader_tag}"
            ),
            1,
        ),
    )?;
    // The kelisim and vanilla-cookieconsent pages once more for each cache policy, with
    // everything they load under `/<policy>/` (the page itself is not cached, as a store's
    // pages are not).
    for (policy, _) in CACHED.iter().chain(&EXPIRED) {
        for page in ["kelisim.html", "vanilla.html", "kelisim-preload.html"] {
            let source = match page {
                "kelisim-preload.html" => generated.join(page),
                _ => pages.join(page),
            };
            let mut text = std::fs::read_to_string(source)?;
            for attribute in ["src", "href", "data-config"] {
                text = text.replace(
                    &format!("{attribute}=\"/"),
                    &format!("{attribute}=\"/{policy}/"),
                );
            }
            std::fs::write(generated.join(format!("{policy}-{page}")), text)?;
        }
    }
    let mounts = vec![
        ("/sdk/".into(), pkg.clone()),
        ("/config/".into(), compiled.to_path_buf()),
        ("/npm/".into(), node_modules.to_path_buf()),
        ("/generated/".into(), generated),
        ("/".into(), pages.clone()),
    ];
    let mut policy_mounts = Vec::new();
    let mut rules = no_store_rules();
    for (policy, cache_control) in CACHED.iter().chain(&EXPIRED) {
        policy_mounts.push((format!("/{policy}/sdk/"), pkg.clone()));
        policy_mounts.push((format!("/{policy}/config/"), compiled.to_path_buf()));
        policy_mounts.push((format!("/{policy}/npm/"), node_modules.to_path_buf()));
        policy_mounts.push((format!("/{policy}/"), pages.clone()));
        rules.push((
            format!("/{policy}/"),
            vec![("Cache-Control".to_owned(), cache_control.to_string())],
        ));
    }
    let mounts = [policy_mounts, mounts].concat();
    let _server = crate::serve::start(
        &format!("127.0.0.1:{PAGES_PORT}"),
        mounts.clone(),
        rules.clone(),
    )?;
    let _mobile_server = crate::serve::start_with(
        &format!("127.0.0.1:{MOBILE_PAGES_PORT}"),
        mounts,
        rules,
        crate::serve::Encoding::Gzip,
    )?;
    let mut browser = Browser::start(tools::CHROMEDRIVER, DRIVER_PORT)?;
    let origin = format!("http://127.0.0.1:{PAGES_PORT}");
    let floor = measure_visible(
        &mut browser,
        &format!("{origin}/floor.html"),
        options.runs,
        None,
    )?;
    report.push_str(&format!(
        "\n## 2–3. In headless Chromium, cold loads over loopback (median of {} each)\n\nTimes in ms from navigation start, as `bench/pages/probe.js` defines them. The floor is a page whose banner text is plain HTML ({:.1} ms to visible). Interaction: click on \"accept all\" until the analytics tags ran and the banner is gone.\n\n| banner | visible | × floor | interactive | total blocking time | accept click → done | returning: tags ran | returning: banner shown |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
        options.runs, floor
    ));
    let mut kelisim_visible = 0.0;
    let mut kelisim_memory = None;
    let mut vanilla_visible = 0.0;
    // kelisim's returning visitors, step by step.
    let mut cold_steps = Vec::new();
    // kelisim once more with the preload hints: the first visit and the returning visitor
    // both wait for the module, and the hints start fetching it with the page.
    let with_hints = banners
        .iter()
        .find(|banner| banner.name == "kelisim")
        .map(|kelisim| Banner {
            name: "kelisim with the preload hints",
            page: "/generated/kelisim-preload.html",
            accept: kelisim.accept,
            files: Vec::new(),
        });
    for banner in banners.iter().chain(&with_hints) {
        eprintln!("bench: {} × {} cold loads", banner.name, options.runs);
        let timings = measure_banner(&mut browser, &origin, banner, options.runs)?;
        if banner.name == "kelisim" {
            kelisim_visible = timings.visible;
            kelisim_memory = timings.memory;
        } else if banner.name.starts_with("vanilla") {
            vanilla_visible = timings.visible;
        }
        if let Some(steps) = timings.returning_steps {
            cold_steps.push(format!("{}: {}", banner.name, steps.describe()));
        }
        let _ = writeln!(
            report,
            "| {} | {:.1} | {:.2}× | {:.1} | {:.1} | {:.1} | {:.1} | {} of {} |",
            banner.name,
            timings.visible,
            timings.visible / floor,
            timings.interactive,
            timings.blocking,
            timings.interaction,
            timings.returning_tags,
            timings.returning_banner_shown,
            options.runs
        );
    }
    let _ = writeln!(
        report,
        "\nkelisim's time to banner visible is {:.2}× vanilla-cookieconsent's in this run.",
        kelisim_visible / vanilla_visible
    );
    if !cold_steps.is_empty() {
        let _ = writeln!(
            report,
            "\nA returning visitor's page, step by step (medians): {}.",
            cold_steps.join("; ")
        );
    }
    if let Some(bytes) = kelisim_memory {
        let _ = writeln!(
            report,
            "\nkelisim's module memory when its banner showed: {:.0} pages of 64 KiB ({:.0} KiB; the stack takes {} KiB of it, the static data and heap the rest).",
            bytes / 65_536.0,
            bytes / 1024.0,
            xtask::build::STACK_BYTES / 1024
        );
    }
    // Most page views of a store are the later pages of a visit: the choice is made and the
    // files are in the browser's cache.
    let (policy, cache_control) = CACHED[0];
    let _ = write!(
        report,
        "\nA later page of the same visit: the choice made, everything the page loads but the page itself in the browser's cache and fresh (`{cache_control}`): time in ms until the granted tags ran (median of {}; one visit to accept, then the page again in the same browser).\n\n| banner | tags ran |\n|---|---:|\n",
        options.runs
    );
    // And kelisim with the preload hints, which start the module's and the config's reads
    // from the cache with the page rather than once kelisim.js runs.
    let hinted = with_hints
        .iter()
        .map(|banner| (banner, "kelisim-preload.html"));
    let mut later_steps = Vec::new();
    for (banner, page) in returning_banners(banners)
        .map(|banner| (banner, &banner.page[1..]))
        .chain(hinted)
    {
        let page = format!("/generated/{policy}-{page}");
        eprintln!(
            "bench: {} × {} later pages, {policy}",
            banner.name, options.runs
        );
        let (tags, steps) = measure_returning(
            &mut browser,
            &origin,
            &page,
            banner.accept,
            options.runs,
            None,
        )
        .with_context(|| format!("{}: a later page, {policy}", banner.name))?;
        let _ = writeln!(report, "| {} | {tags:.1} |", banner.name);
        if let Some(steps) = steps {
            later_steps.push(format!("{}: {}", banner.name, steps.describe()));
        }
    }
    if !later_steps.is_empty() {
        let _ = writeln!(
            report,
            "\nStep by step (medians): {}.",
            later_steps.join("; ")
        );
    }
    mobile_section(report, &mut browser, banners, options)?;
    Ok(())
}

/// Every page and file uncached: each load is a first visit.
fn no_store_rules() -> Vec<crate::serve::HeaderRule> {
    vec![(
        "/".to_owned(),
        vec![("Cache-Control".to_owned(), "no-store".to_owned())],
    )]
}

/// The banners measured with their files cached: kelisim and vanilla-cookieconsent.
fn returning_banners(banners: &[Banner]) -> impl Iterator<Item = &Banner> {
    banners
        .iter()
        .filter(|banner| banner.name == "kelisim" || banner.name.starts_with("vanilla"))
}

/// Files a browser may keep and use without asking again: a later page of the same visit.
const CACHED: [(&str, &str); 1] = [("cached", "public, max-age=600")];

/// How a returning visitor's cached files are served once they have expired (`max-age=0`
/// makes them expired at once): revalidated first (the bench's server answers `304`), or used
/// at once while the browser revalidates them in the background. `kelisim-server` sends the
/// second (`SDK_CACHE_CONTROL`), with 5 minutes of freshness before it.
const EXPIRED: [(&str, &str); 2] = [
    ("revalidate", "public, max-age=0"),
    (
        "stale-while-revalidate",
        "public, max-age=0, stale-while-revalidate=600",
    ),
];

/// Time to banner visible over an emulated mobile connection, where the bytes and the round
/// trips a banner needs show, beside the same page with preload hints for the module and config.
fn mobile_section(
    report: &mut String,
    browser: &mut Browser,
    banners: &[Banner],
    options: &Options,
) -> Result<()> {
    let runs = (options.runs / 4).max(5);
    let origin = format!("http://127.0.0.1:{MOBILE_PAGES_PORT}");
    let slow_4g = Emulation {
        latency_ms: MOBILE_LATENCY_MS,
        bytes_per_second: MOBILE_BYTES_PER_SECOND,
        cpu_slowdown: 1,
    };
    let slow_4g_slow_cpu = Emulation {
        cpu_slowdown: MOBILE_CPU_SLOWDOWN,
        ..slow_4g
    };
    let mut pages = vec![("floor (banner text as plain HTML)", "/floor.html")];
    for banner in banners {
        pages.push((banner.name, banner.page));
        if banner.name == "kelisim" {
            pages.push((
                "kelisim with the preload hints",
                "/generated/kelisim-preload.html",
            ));
        }
    }
    let _ = write!(
        report,
        "\n## 2b. Over an emulated mobile connection (median of {runs} cold loads each)\n\nChromium's network emulation adds {MOBILE_LATENCY_MS} ms to every request and limits the connection to {} Mbit/s down and half that up (Lighthouse's \"slow 4G\" figures); every file of both pages is sent gzip-compressed as kelisim's build writes its .gz (zopfli). The second column also slows the CPU down {MOBILE_CPU_SLOWDOWN}× (DevTools' CPU throttling; Lighthouse's mobile preset), where compiling and running the banner's code shows. Time in ms from navigation start to banner visible.\n\n| page | slow 4G | × floor | slow 4G, CPU {MOBILE_CPU_SLOWDOWN}× slower | × floor |\n|---|---:|---:|---:|---:|\n",
        f64::from(MOBILE_BYTES_PER_SECOND) * 8.0 / 1e6
    );
    let (mut floor, mut floor_slow_cpu) = (f64::NAN, f64::NAN);
    for (name, page) in pages {
        let url = format!("{origin}{page}");
        // One load first, not counted: the bench's server compresses each file the first time
        // it is asked for, which a server with precompressed files did before any visitor.
        measure_visible(browser, &url, 1, None)
            .with_context(|| format!("{name}: the load that has its files compressed"))?;
        eprintln!("bench: {name} × {runs} cold loads over the emulated mobile connection");
        let visible = measure_visible(browser, &url, runs, Some(slow_4g))
            .with_context(|| format!("{name} over the emulated mobile connection"))?;
        eprintln!("bench: {name} × {runs} cold loads, and a {MOBILE_CPU_SLOWDOWN}× slower CPU");
        let visible_slow_cpu = measure_visible(browser, &url, runs, Some(slow_4g_slow_cpu))
            .with_context(|| format!("{name} over the emulated mobile connection, slow CPU"))?;
        if page == "/floor.html" {
            (floor, floor_slow_cpu) = (visible, visible_slow_cpu);
        }
        let _ = writeln!(
            report,
            "| {name} | {visible:.0} | {:.2}× | {visible_slow_cpu:.0} | {:.2}× |",
            visible / floor,
            visible_slow_cpu / floor_slow_cpu
        );
    }
    let _ = write!(
        report,
        "\nA returning visitor over the same connection whose cached files (everything the page loads but the page itself) have expired: time in ms from navigation start until the granted tags ran (median of {runs}; one visit to accept, then the page again in the same browser).\n\n| page | files revalidated first (`304`) | `stale-while-revalidate` |\n|---|---:|---:|\n"
    );
    for banner in returning_banners(banners) {
        let mut row = format!("| {} |", banner.name);
        for (policy, _) in EXPIRED {
            let page = format!("/generated/{policy}-{}", &banner.page[1..]);
            eprintln!("bench: {} × {runs} returning visits, {policy}", banner.name);
            let (tags, _) =
                measure_returning(browser, &origin, &page, banner.accept, runs, Some(slow_4g))
                    .with_context(|| format!("{}: returning visitor, {policy}", banner.name))?;
            let _ = write!(row, " {tags:.0} |");
        }
        let _ = writeln!(report, "{row}");
    }
    Ok(())
}

/// Median time until the granted tags ran on a second visit to `page` in the same browser,
/// after a first visit that accepted all (`accept`), under `emulation` when one is given.
fn measure_returning(
    browser: &mut Browser,
    origin: &str,
    page: &str,
    accept: &str,
    runs: usize,
    emulation: Option<Emulation>,
) -> Result<(f64, Option<Steps>)> {
    let (url, blank) = (format!("{origin}{page}"), format!("{origin}/blank.html"));
    let mut tags = Vec::new();
    let mut steps = Vec::new();
    for _ in 0..runs {
        browser.restart()?;
        if let Some(emulation) = emulation {
            emulation.apply(browser)?;
        }
        browser.goto(&url)?;
        wait_for(browser, |v| v["interactive"].is_number())?;
        browser.click(accept)?;
        wait_for(browser, |v| v["tag"].is_number())?;
        browser.goto(&blank)?;
        browser.goto(&url)?;
        let again = wait_for(browser, |v| v["tag"].is_number())?;
        tags.push(number(&again, "tag"));
        if page.contains("kelisim") {
            steps.push(arrivals(browser, number(&again, "tag"))?);
        }
    }
    Ok((median(tags), Steps::median(&steps)))
}

/// When a kelisim page had each file the tags wait for (`responseEnd`, ms from navigation
/// start, from the network or the cache), and how long after the last of them the tags ran:
/// whether a returning visitor waits for the files or for the work once they are in.
#[derive(Clone, Copy)]
struct Steps {
    script: f64,
    module: f64,
    config: f64,
    after_files: f64,
}

impl Steps {
    /// Each step's median over the runs; `None` when no run had one (not a kelisim page).
    fn median(runs: &[Steps]) -> Option<Steps> {
        let each = |step: fn(&Steps) -> f64| median(runs.iter().map(step).collect());
        (!runs.is_empty()).then(|| Steps {
            script: each(|steps| steps.script),
            module: each(|steps| steps.module),
            config: each(|steps| steps.config),
            after_files: each(|steps| steps.after_files),
        })
    }

    /// The sentence the report gives them.
    fn describe(&self) -> String {
        format!(
            "kelisim.js in at {:.1} ms, the module at {:.1}, the config at {:.1}, the tags ran {:.1} ms after the last of them",
            self.script, self.module, self.config, self.after_files
        )
    }
}

/// The [`Steps`] of the page the browser shows, whose tags ran at `tags`: kelisim.js, the
/// module and the config (a path with `/config/` in it, preloaded or not, under a cache
/// policy's folder or not).
fn arrivals(browser: &Browser, tags: f64) -> Result<Steps> {
    let found = browser.execute(
        "var found = {}; performance.getEntriesByType('resource').forEach(function (entry) { \
         var path = new URL(entry.name).pathname; \
         if (/\\/kelisim\\.js$/.test(path)) found.script = entry.responseEnd; \
         else if (/\\.wasm$/.test(path)) found.module = entry.responseEnd; \
         else if (/\\/config\\//.test(path)) found.config = entry.responseEnd; }); return found;",
    )?;
    let (script, module, config) = (
        number(&found, "script"),
        number(&found, "module"),
        number(&found, "config"),
    );
    Ok(Steps {
        script,
        module,
        config,
        after_files: tags - script.max(module).max(config),
    })
}

fn server_section(root: &Path, report: &mut String, work: &Path, postgres: &str) -> Result<()> {
    let server_binary = root.join("target/release/kelisim-server");
    let storage_binary = root.join("target/release/examples/bench_storage");
    report.push_str(&format!("\n## 4. Receipts server (release build, {CONCURRENCY} connections for {LOAD_SECONDS} s over loopback)\n\nEach `201` is durable (answered after its commit; group commit shares one commit among the receipts that arrive together). The database's own rate is measured in the same run with ~1 KB rows: one row per commit, and 100 rows per commit.\n\n| database | receipts/s | p50 ms | p99 ms | errors | DB: 1 row per commit /s | DB: 100 rows per commit /s | receipts/s ÷ batched rate |\n|---|---:|---:|---:|---:|---:|---:|---:|\n"));
    let sqlite_dir = work.join("sqlite");
    let _ = std::fs::remove_dir_all(&sqlite_dir);
    std::fs::create_dir_all(&sqlite_dir)?;
    let sqlite_url = |name: &str| format!("sqlite://{}", sqlite_dir.join(name).display());
    let raw_pg = output_of(
        &storage_binary,
        &["fresh-postgres", postgres, "kelisim_bench_raw"],
    )?;
    let load_pg = output_of(
        &storage_binary,
        &["fresh-postgres", postgres, "kelisim_bench_load"],
    )?;
    for (name, raw_url, load_url) in [
        (
            "SQLite (WAL, synchronous=FULL)",
            format!("{}?mode=rwc", sqlite_url("raw.db")),
            sqlite_url("load.db"),
        ),
        ("PostgreSQL 15 (local socket)", raw_pg, load_pg),
    ] {
        eprintln!("bench: {name}");
        let raw: Value =
            serde_json::from_str(&output_of(&storage_binary, &["raw", &raw_url, "3"])?)?;
        let load = load_server(root, &server_binary, work, &load_url)?;
        let batched = raw["batched_per_s"].as_f64().unwrap_or(f64::NAN);
        let _ = writeln!(
            report,
            "| {name} | {:.0} | {:.1} | {:.1} | {} | {} | {} | {:.2} |",
            load.per_second,
            load.p50,
            load.p99,
            load.errors,
            raw["single_per_s"],
            raw["batched_per_s"],
            load.per_second / batched
        );
    }

    Ok(())
}

fn stats_section(root: &Path, report: &mut String, work: &Path, options: &Options) -> Result<()> {
    let server_binary = root.join("target/release/kelisim-server");
    let storage_binary = root.join("target/release/examples/bench_storage");
    let stats_db = seeded_database(
        &storage_binary,
        work,
        &format!("stats-{}-{}", options.receipts, options.impressions),
        options.receipts,
        options.impressions,
    )?;
    let stats_url = format!("sqlite://{}", stats_db.display());
    let timings = stats_queries(&server_binary, work, &stats_url)?;
    let _ = write!(report, "\n## 5. Stats queries over {} receipts and {} impressions (SQLite, 90 days, median of 10, over HTTP)\n\n| query | ms |\n|---|---:|\n", options.receipts, options.impressions);
    for (query, ms) in timings {
        let _ = writeln!(report, "| `{query}` | {ms:.1} |");
    }
    Ok(())
}

/// A SQLite database in `work` seeded by `bench_storage seed` with `receipts` and
/// `impressions` over 90 days, made once and kept (as `{name}.db`) for later runs.
fn seeded_database(
    storage_binary: &Path,
    work: &Path,
    name: &str,
    receipts: u64,
    impressions: u64,
) -> Result<std::path::PathBuf> {
    let db = work.join(format!("{name}.db"));
    if db.exists() {
        return Ok(db);
    }
    eprintln!(
        "bench: seeding {receipts} receipts and {impressions} impressions (kept in {} for later runs)",
        db.display()
    );
    let partial = work.join(format!("{name}-seeding.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", partial.display()));
    }
    output_of(
        storage_binary,
        &[
            "seed",
            &format!("sqlite://{}", partial.display()),
            &receipts.to_string(),
            &impressions.to_string(),
            "90",
        ],
    )?;
    std::fs::rename(&partial, &db)?;
    Ok(db)
}

/// Receipts `verify` checks in section 6.
const VERIFY_RECEIPTS: u64 = 100_000;

/// Section 6: `kelisim-server verify` over a database of [`VERIFY_RECEIPTS`] receipts (the
/// real binary, release build, every hash, signature and column checked; median of 3 runs).
fn verify_section(root: &Path, report: &mut String, work: &Path) -> Result<()> {
    let server_binary = root.join("target/release/kelisim-server");
    let storage_binary = root.join("target/release/examples/bench_storage");
    let db = seeded_database(
        &storage_binary,
        work,
        &format!("verify-{VERIFY_RECEIPTS}"),
        VERIFY_RECEIPTS,
        0,
    )?;
    let public_key = output_of(&storage_binary, &["public-key"])?;
    let url = format!("sqlite://{}", db.display());
    let mut times = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let printed = output_of(
            &server_binary,
            &[
                "verify",
                "--db",
                &url,
                "--public-key",
                public_key.trim(),
                "--without-heads",
            ],
        )?;
        times.push(started.elapsed().as_secs_f64());
        if !printed.contains(&format!("{VERIFY_RECEIPTS} receipts verified")) {
            bail!("verify did not check every receipt:\n{printed}");
        }
    }
    let seconds = median(times);
    let _ = write!(
        report,
        "\n## 6. `kelisim-server verify` over {VERIFY_RECEIPTS} receipts (SQLite, release build, median of 3)\n\n| receipts | seconds | µs per receipt |\n|---:|---:|---:|\n| {VERIFY_RECEIPTS} | {seconds:.2} | {:.1} |\n",
        seconds * 1e6 / VERIFY_RECEIPTS as f64
    );
    Ok(())
}

/// Date, machine and browser, for the top of RESULTS.md.
fn header(root: &Path) -> Result<String> {
    let date = command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|name| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let chromium = command_output(tools::CHROMIUM, &["--version"]);
    let commit = command_output(
        "git",
        &[
            "-C",
            &root.display().to_string(),
            "rev-parse",
            "--short",
            "HEAD",
        ],
    );
    Ok(format!(
        "# Benchmark results\n\nWritten by `cargo xtask bench` on {date}: {cores} cores, {cpu}; {chromium}; kelisim at commit {commit}. Medians and ratios measured in one run on one machine; rerun to compare.\n"
    ))
}

fn command_output(program: &str, args: &[&str]) -> String {
    tools::output(program, args)
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// Runs a program and returns its standard output (trimmed), failing with its error output.
fn output_of(program: &Path, args: &[&str]) -> Result<String> {
    let output = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("starting {}", program.display()))?;
    if !output.status.success() {
        bail!(
            "{} {} failed: {}",
            program.display(),
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The sizes of one file: raw, measured, sent and in brotli.
fn file_sizes(path: &Path) -> Result<FileSize> {
    FileSize::measure(path, String::new())
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[middle - 1] + values[middle]) / 2.0
    } else {
        values[middle]
    }
}

/// Polls the page's `__bench` until `done` says so (or 15 s pass).
fn wait_for(browser: &Browser, done: impl Fn(&Value) -> bool) -> Result<Value> {
    browser.poll(
        "return window.__bench || null;",
        Duration::from_secs(15),
        done,
    )
}

fn number(value: &Value, field: &str) -> f64 {
    value[field].as_f64().unwrap_or(f64::NAN)
}

/// How a mobile visitor's browser is emulated: network latency and bytes per second, and how
/// many times slower the CPU is (1: this machine's).
#[derive(Clone, Copy)]
struct Emulation {
    latency_ms: u32,
    bytes_per_second: u32,
    cpu_slowdown: u32,
}

impl Emulation {
    /// Sets the network, and the CPU when it is slowed down, for the browser's next loads.
    fn apply(self, browser: &Browser) -> Result<()> {
        browser.emulate_network(self.latency_ms, self.bytes_per_second)?;
        if self.cpu_slowdown > 1 {
            browser.emulate_cpu_slowdown(self.cpu_slowdown)?;
        }
        Ok(())
    }
}

/// Median time to banner visible of `runs` cold loads of `url`, under `emulation` when one
/// is given.
fn measure_visible(
    browser: &mut Browser,
    url: &str,
    runs: usize,
    emulation: Option<Emulation>,
) -> Result<f64> {
    let mut visible = Vec::new();
    for _ in 0..runs {
        browser.restart()?;
        if let Some(emulation) = emulation {
            emulation.apply(browser)?;
        }
        browser.goto(url)?;
        let value = wait_for(browser, |v| v["interactive"].is_number())?;
        visible.push(number(&value, "visible"));
    }
    Ok(median(visible))
}

struct Timings {
    visible: f64,
    interactive: f64,
    blocking: f64,
    interaction: f64,
    returning_tags: f64,
    /// kelisim only: when a returning visitor's page had each of its files (see [`Steps`]).
    returning_steps: Option<Steps>,
    returning_banner_shown: usize,
    /// Bytes of the module's linear memory when the banner showed (kelisim only).
    memory: Option<f64>,
}

fn measure_banner(
    browser: &mut Browser,
    origin: &str,
    banner: &Banner,
    runs: usize,
) -> Result<Timings> {
    let (mut visible, mut interactive, mut blocking, mut interaction, mut returning) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut memory = Vec::new();
    let mut steps = Vec::new();
    let mut returning_banner_shown = 0;
    let page = format!("{origin}{}", banner.page);
    for _ in 0..runs {
        // First visit.
        browser.restart()?;
        browser.goto(&page)?;
        let first = wait_for(browser, |v| v["interactive"].is_number())
            .with_context(|| format!("{}: banner", banner.name))?;
        if first["tag"].is_number() {
            bail!("{}: a tag ran before any choice", banner.name);
        }
        visible.push(number(&first, "visible"));
        if first["memory"].is_number() {
            memory.push(number(&first, "memory"));
        }
        interactive.push(number(&first, "interactive"));
        blocking.push(number(&first, "blocking"));
        browser.click(banner.accept)?;
        let after = wait_for(browser, |v| v["gone"].is_number() && v["tag"].is_number())
            .with_context(|| format!("{}: accept all", banner.name))?;
        interaction
            .push(number(&after, "gone").max(number(&after, "tag")) - number(&after, "click"));
        // Returning visitor: a fresh browser with only the consent cookies.
        let cookies = browser.cookies()?;
        browser.restart()?;
        browser.goto(&format!("{origin}/blank.html"))?;
        for cookie in &cookies {
            let mut cookie = cookie.clone();
            if let Some(object) = cookie.as_object_mut() {
                object.remove("domain");
            }
            browser.add_cookie(&cookie)?;
        }
        browser.goto(&page)?;
        let again = wait_for(browser, |v| v["tag"].is_number())
            .with_context(|| format!("{}: returning visitor", banner.name))?;
        returning.push(number(&again, "tag"));
        if banner.name.starts_with("kelisim") {
            steps.push(arrivals(browser, number(&again, "tag"))?);
        }
        std::thread::sleep(Duration::from_millis(200));
        let settled = browser.execute("return window.__bench;")?;
        if settled["visible"].is_number() {
            returning_banner_shown += 1;
        }
    }
    Ok(Timings {
        visible: median(visible),
        interactive: median(interactive),
        blocking: median(blocking),
        interaction: median(interaction),
        returning_tags: median(returning),
        returning_steps: Steps::median(&steps),
        returning_banner_shown,
        memory: (!memory.is_empty()).then(|| median(memory)),
    })
}

/// A `kelisim-server serve` on loopback for the benchmark, stopped on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The admin token of the benchmark's server.
const BENCH_TOKEN: &str = "bench-admin-token-not-secret";

/// The benchmark's server on `db`. Every database here is signed with the key
/// `bench_storage seed` signs with (the server refuses a database another key signed), and each
/// run starts a new head log for it (a log of one database's heads does not fit another).
fn start_server(binary: &Path, work: &Path, db: &str) -> Result<Server> {
    let sites = work.join("sites.json");
    std::fs::write(
        &sites,
        "{\"sites\": [{\"id\": \"bench-kz\", \"origins\": [\"https://bench.kz\"]}]}\n",
    )?;
    let storage = binary.with_file_name("examples").join("bench_storage");
    std::fs::write(
        work.join("signing.key"),
        output_of(&storage, &["seed-key"])?.trim(),
    )?;
    let heads_name: String = db
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let heads = work.join(format!("heads-{heads_name}.jsonl"));
    // The load databases are made anew each run, and a head log of an earlier one would not
    // fit them (the server would refuse to start); the benchmark checks no heads.
    let _ = std::fs::remove_file(&heads);
    let child = Command::new(binary)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{SERVER_PORT}"),
            "--db",
            db,
            "--key",
            &work.join("signing.key").display().to_string(),
            "--sites",
            &sites.display().to_string(),
            "--heads",
            &heads.display().to_string(),
            "--rate-per-minute",
            "1000000000",
        ])
        .env("KELISIM_ADMIN_TOKEN", BENCH_TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting kelisim-server")?;
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while ureq::get(&format!("http://127.0.0.1:{SERVER_PORT}/v1/public-key"))
        .call()
        .is_err()
    {
        if Instant::now() > deadline {
            bail!("kelisim-server did not start on {db}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(server)
}

struct Load {
    per_second: f64,
    p50: f64,
    p99: f64,
    errors: usize,
}

/// `CONCURRENCY` keep-alive connections posting distinct receipts for `LOAD_SECONDS`, each
/// waiting for its answer before the next (a closed loop), driven by wrk with
/// `bench/receipts.lua` on one thread, so the load generator leaves the CPU to the server.
/// (A load generator written on hyper reached only half of wrk's rate against the same server.)
fn load_server(root: &Path, binary: &Path, work: &Path, db: &str) -> Result<Load> {
    let _server = start_server(binary, work, db)?;
    let script = root.join("bench/receipts.lua");
    let output = Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{CONCURRENCY}"),
            &format!("-d{LOAD_SECONDS}s"),
            "--latency",
            "-s",
            &script.display().to_string(),
            &format!("http://127.0.0.1:{SERVER_PORT}"),
        ])
        .output()
        .context("starting wrk")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed: {text}{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    parse_wrk(&text).with_context(|| format!("reading wrk's report:\n{text}"))
}

/// Rate, median and 99th percentile (ms) and the count of failed requests from wrk's report.
fn parse_wrk(report: &str) -> Option<Load> {
    let milliseconds = |value: &str| -> Option<f64> {
        let (number, factor) = if let Some(n) = value.strip_suffix("us") {
            (n, 0.001)
        } else if let Some(n) = value.strip_suffix("ms") {
            (n, 1.0)
        } else {
            (value.strip_suffix('s')?, 1000.0)
        };
        Some(number.parse::<f64>().ok()? * factor)
    };
    let field = |label: &str| {
        report
            .lines()
            .find_map(|line| line.trim().strip_prefix(label).map(str::trim))
    };
    let requests: f64 = field("Requests/sec:")?.parse().ok()?;
    let failed: usize = field("Non-2xx or 3xx responses:")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let socket_errors = field("Socket errors:").map_or(0, |text| {
        text.split(',')
            .filter_map(|part| part.split_whitespace().last()?.parse::<usize>().ok())
            .sum()
    });
    let seconds = LOAD_SECONDS as f64;
    Some(Load {
        // Only `201`s count toward the rate.
        per_second: requests - failed as f64 / seconds,
        p50: milliseconds(field("50%")?)?,
        p99: milliseconds(field("99%")?)?,
        errors: failed + socket_errors,
    })
}

/// Median times of stats queries over the last 90 days, through the real endpoint.
fn stats_queries(binary: &Path, work: &Path, db: &str) -> Result<Vec<(String, f64)>> {
    let _server = start_server(binary, work, db)?;
    let today = time_today();
    let mut timings = Vec::new();
    for query in [
        "by=day",
        "by=category",
        "by=variant",
        "by=device&language=ru",
        "by=page",
    ] {
        let path = format!(
            "/v1/stats?site=bench-kz&from={}&to={}&{query}",
            today.0, today.1
        );
        let mut times = Vec::new();
        for _ in 0..10 {
            let started = Instant::now();
            let response = ureq::get(&format!("http://127.0.0.1:{SERVER_PORT}{path}"))
                .set("Authorization", &format!("Bearer {BENCH_TOKEN}"))
                .call()
                .with_context(|| format!("GET {path}"))?;
            let body: Value = response.into_json()?;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            if body["rows"].as_array().is_none_or(Vec::is_empty) {
                bail!("GET {path} answered no rows: {body}");
            }
        }
        timings.push((path, median(times)));
    }
    // The marketer's dashboard page for the same 90 days (its eight queries and the HTML),
    // signed in as a person is.
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let login = agent
        .post(&format!("http://127.0.0.1:{SERVER_PORT}/dashboard/login"))
        .send_form(&[("token", BENCH_TOKEN)]);
    let login = match login {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(error) => return Err(error.into()),
    };
    let session = login
        .header("set-cookie")
        .and_then(|cookie| cookie.split(';').next())
        .context("the dashboard sign-in set no session")?
        .to_owned();
    let path = format!(
        "/dashboard?site=bench-kz&range=custom&from={}&to={}",
        today.0, today.1
    );
    let mut times = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        let page = agent
            .get(&format!("http://127.0.0.1:{SERVER_PORT}{path}"))
            .set("cookie", &session)
            .call()
            .with_context(|| format!("GET {path}"))?
            .into_string()?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        if !page.contains("data-total") {
            bail!("GET {path} showed no numbers");
        }
    }
    timings.push((path, median(times)));
    Ok(timings)
}

/// The first and last day of the last 90 days (UTC), `YYYY-MM-DD`.
fn time_today() -> (String, String) {
    let day = |offset: &str| command_output("date", &["-u", "-d", offset, "+%Y-%m-%d"]);
    (day("89 days ago"), day("today"))
}
