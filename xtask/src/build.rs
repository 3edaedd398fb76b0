//! `cargo xtask build`: release wasm (pinned nightly, `-Z build-std`) -> wasm-bindgen (names and
//! producers stripped) -> import/export names minified, glue rewritten to match -> wasm-opt -Oz
//! -> the build id appended to the module (a custom section the loader checks) -> `pkg/` assembled from `pkg-template/`, the loader (`src/loader.js`) bundled with the glue by esbuild under V8's compile hint, then the
//! size of every file a site loads, raw, gzip and brotli (and the ceiling the tests hold it to).

use crate::tools::{run, wasm_opt, NIGHTLY};
use anyhow::{Context, Result};
use std::path::Path;

/// Size of one file a site loads.
pub struct FileSize {
    pub name: String,
    pub raw: usize,
    /// `gzip -9`: the measure of sizes (see [`gzip`]).
    pub gzip: usize,
    /// The `.gz` written beside the file and sent to browsers (see [`gzip_sent`]).
    pub gzip_sent: usize,
    pub brotli: usize,
}

/// Where the release wasm is built (see `build`).
const RELEASE_TARGET_DIR: &str = "target/release-wasm";
/// Where the compiler module is built (see `build_compiler`).
const COMPILER_TARGET_DIR: &str = "target/release-wasm-compiler";
/// Where the forms module is built (see `build_forms`).
const FORMS_TARGET_DIR: &str = "target/release-wasm-forms";

impl FileSize {
    /// The raw, `gzip -9`, sent gzip and brotli 11 sizes of the file at `path`, reported as
    /// `name`.
    pub fn measure(path: &Path, name: String) -> Result<FileSize> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(FileSize {
            name,
            raw: bytes.len(),
            gzip: gzip_size(path)?,
            gzip_sent: gzip_sent(&bytes)?.len(),
            brotli: brotli_size(&bytes)?,
        })
    }

    /// No file: what sizes are added to.
    pub fn empty(name: &str) -> FileSize {
        FileSize {
            name: name.to_owned(),
            raw: 0,
            gzip: 0,
            gzip_sent: 0,
            brotli: 0,
        }
    }

    /// The sizes of two files loaded together.
    pub fn plus(&self, other: &FileSize, name: String) -> FileSize {
        FileSize {
            name,
            raw: self.raw + other.raw,
            gzip: self.gzip + other.gzip,
            gzip_sent: self.gzip_sent + other.gzip_sent,
            brotli: self.brotli + other.brotli,
        }
    }
}

/// Files of `pkg/` a visitor's browser downloads, in load order.
pub const LOADED_FILES: [&str; 2] = ["kelisim.js", "kelisim_sdk_bg.wasm"];

pub fn build(root: &Path) -> Result<Build> {
    // The pinned nightly rebuilds the standard library with the module (`-Z build-std`): for
    // size (`optimize_for_size`) and with panics that trap at once, so no panic message,
    // location or formatting code is linked in. Its own target
    // folder keeps these artifacts apart from the stable ones of the tests.
    // Without `reference-types` wasm-bindgen keeps JS values in an array of the glue instead
    // of a wasm table: no table bookkeeping at each call into JS (the wasm shrinks more than
    // the glue grows, measured).
    let bindgen_dir = build_browser_module(root, "kelisim", RELEASE_TARGET_DIR, "kelisim_sdk")?;

    let pkg = root.join("pkg");
    if pkg.exists() {
        std::fs::remove_dir_all(&pkg)?;
    }
    std::fs::create_dir_all(&pkg)?;
    let wasm_in = bindgen_dir.join("kelisim_sdk_bg.wasm");
    let wasm_out = pkg.join("kelisim_sdk_bg.wasm");
    // Names first, while the module still says which wasm features it uses.
    minify_wasm_names(root, &wasm_in, &bindgen_dir.join("kelisim_sdk.js"))?;
    let wasm_opt = wasm_opt(root);
    let wasm_opt = wasm_opt.to_str().context("wasm-opt path is not UTF-8")?;
    let path = |path: &Path| -> Result<String> {
        Ok(path.to_str().context("path is not UTF-8")?.to_owned())
    };
    let mut passes = WASM_OPT_PASSES.to_vec();
    let (input, output) = (path(&wasm_in)?, path(&wasm_out)?);
    passes.extend([
        "--strip-debug",
        "--strip-producers",
        "--strip-target-features",
        input.as_str(),
        "-o",
        output.as_str(),
    ]);
    run(root, wasm_opt, &passes, &[])?;
    let runtime = std::fs::read(&wasm_out)?;
    check_runtime_reads_compiled_configs_only(&runtime)?;
    check_stack(&runtime, "kelisim_sdk_bg.wasm")?;
    let build_id = mark_build(&wasm_out, &bindgen_dir.join("kelisim_sdk.js"))?;
    copy_dir(&root.join("pkg-template"), &pkg, &[])?;
    let compiler = build_compiler(root, &pkg)?;
    let forms = build_forms(root, &pkg)?;
    // The editor schema of kelisim.json, made from the config reader's own lists.
    std::fs::write(
        pkg.join("kelisim.schema.json"),
        serde_json::to_string_pretty(&kelisim_core::compile::json_schema())?,
    )?;
    // The one script a page loads: the loader with the glue and the snippet the glue imports
    // (src/helpers.js) bundled in and minified. The glue carries wasm-bindgen's doc comments
    // and long helper names, which minifying removes; one script instead of the loader
    // importing the glue saves a request before the wasm can be fetched, and compresses as one
    // stream instead of two.
    bundle_loader(
        root,
        &bindgen_dir,
        &pkg.join("kelisim.js"),
        &build_id,
        compiler.gzip,
    )?;

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

    // Each file a site loads also goes out precompressed, next to itself (`.br` by brotli 11,
    // `.gz` by zopfli, see `gzip_sent`): a server that serves precompressed files
    // (kelisim-server, nginx's `gzip_static`/`brotli_static`) then sends the smallest form
    // without compressing per request, and these are exactly the sent sizes reported below.
    let mut sizes = Vec::new();
    for name in LOADED_FILES {
        sizes.push(precompress(&pkg, name)?);
    }
    let (config, forms_document, preferences_document) = demo_compiled_config(root)?;
    Ok(Build {
        sizes,
        compiler,
        forms,
        config,
        forms_document,
        preferences_document,
    })
}

/// Fails when the runtime module carries what the compiler resolves ahead: the built-in texts,
/// the validator's messages or the stylesheet. Any of them there means something in the SDK
/// reaches the raw config's reader again (the linker keeps what is reachable).
fn check_runtime_reads_compiled_configs_only(wasm: &[u8]) -> Result<()> {
    use kelisim_core::texts::builtin_texts;
    use kelisim_core::Language;
    let markers = [
        (
            "a built-in text",
            builtin_texts(Language::Ru).accept_all().to_owned(),
        ),
        (
            "a built-in text",
            builtin_texts(Language::Kk).title().to_owned(),
        ),
        (
            "a validator message",
            "a BIN is exactly 12 digits".to_owned(),
        ),
        ("the stylesheet", "box-shadow".to_owned()),
    ];
    for (what, marker) in markers {
        anyhow::ensure!(
            !wasm
                .windows(marker.len())
                .any(|window| window == marker.as_bytes()),
            "the runtime module carries {what} ({marker:?}): something in the SDK reaches the \
             raw config's reader or the built-in tables again; they belong to the compiler"
        );
    }
    Ok(())
}

/// Builds `package` (a browser module: the runtime or the forms module) with the pinned nightly
/// and the runtime's size options, then runs wasm-bindgen on it into `target/<out_name>-bindgen`
/// (emptied first), naming the glue `<out_name>.js`. Answers that folder.
fn build_browser_module(
    root: &Path,
    package: &str,
    target_dir: &str,
    out_name: &str,
) -> Result<std::path::PathBuf> {
    build_nightly_wasm(
        root,
        package,
        target_dir,
        &format!(
            "-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none \
             -Ctarget-feature=-reference-types -Clink-arg=-zstack-size={STACK_BYTES}"
        ),
    )?;
    let out_dir = format!("target/{out_name}-bindgen");
    let bindgen_dir = root.join(&out_dir);
    if bindgen_dir.exists() {
        std::fs::remove_dir_all(&bindgen_dir)?;
    }
    let crate_name = package.replace('-', "_");
    run(
        root,
        "wasm-bindgen",
        &[
            &format!("{target_dir}/wasm32-unknown-unknown/release/{crate_name}.wasm"),
            "--out-dir",
            &out_dir,
            "--out-name",
            out_name,
            "--target",
            "web",
            "--no-typescript",
            "--remove-name-section",
            "--remove-producers-section",
        ],
        &[],
    )?;
    Ok(bindgen_dir)
}

/// The browser modules' stack. Rust gives a wasm module 1 MiB, which every page view would
/// allocate; these modules recurse no deeper than a layer's tree (`MAX_LAYER_DEPTH`), keep
/// their data on the heap, and are re-entered only when a site's listener calls the API, a
/// few frames each time; every end-to-end check passes with an eighth of this. The stack sits
/// below the static data (wasm-ld's `--stack-first`, Rust's default for wasm), so an overflow
/// traps at address 0 instead of overwriting data.
pub const STACK_BYTES: usize = 128 * 1024;

/// Fails unless the module `name` has the stack [`STACK_BYTES`] asks for, below its static data:
/// its memory starts no larger than the stack, the data and one page, and no data segment
/// starts inside the stack. A linker that ignored the flag would otherwise give every page view
/// a megabyte again, or put data where an overflow would overwrite it, and nothing would say so.
fn check_stack(wasm: &[u8], name: &str) -> Result<()> {
    use wasmparser::{DataKind, Operator, Parser, Payload};
    let mut initial_pages = None;
    let mut lowest_data = u64::MAX;
    let mut data_bytes = 0_u64;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::MemorySection(memories) => {
                for memory in memories {
                    initial_pages = Some(memory?.initial);
                }
            }
            Payload::DataSection(segments) => {
                for segment in segments {
                    let segment = segment?;
                    data_bytes += segment.data.len() as u64;
                    if let DataKind::Active { offset_expr, .. } = segment.kind {
                        if let Operator::I32Const { value } =
                            offset_expr.get_operators_reader().read()?
                        {
                            lowest_data = lowest_data.min(u64::from(value as u32));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let stack = STACK_BYTES as u64;
    let initial = initial_pages.with_context(|| format!("{name} has no memory section"))? * 65_536;
    anyhow::ensure!(
        initial <= stack + data_bytes + 65_536,
        "{name} starts with {initial} bytes of memory, more than its {stack}-byte stack and {data_bytes} bytes of data need: was `-zstack-size` ignored?"
    );
    anyhow::ensure!(
        lowest_data >= stack,
        "{name} has static data at {lowest_data}, inside its {stack}-byte stack: an overflow would overwrite it (is wasm-ld's `--stack-first` still Rust's default?)"
    );
    Ok(())
}

/// Builds `package`'s release wasm with the pinned nightly, the standard library rebuilt with it
/// for size, into `target_dir`, with `rustflags`.
fn build_nightly_wasm(root: &Path, package: &str, target_dir: &str, rustflags: &str) -> Result<()> {
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
            target_dir,
            "-p",
            package,
            "--lib",
            "-Z",
            "build-std=std,panic_abort",
            "-Z",
            "build-std-features=optimize_for_size",
        ],
        &[("RUSTFLAGS", rustflags)],
    )
}

/// What `build` made: the sizes of the files every site loads, in [`LOADED_FILES`] order, and
/// of the compiler module only pages with a raw config load.
pub struct Build {
    pub sizes: Vec<FileSize>,
    pub compiler: FileSize,
    /// The forms module, loaded by pages with a consent block in a form (glue and wasm).
    pub forms: FileSize,
    /// The demo's compiled config (its largest language).
    pub config: FileSize,
    /// That config's forms document, loaded by pages with a consent block in a form.
    pub forms_document: FileSize,
    /// That config's preferences document, loaded when the visitor opens the preferences.
    pub preferences_document: FileSize,
}

/// Writes `pkg/<name>.gz` and `.br` beside `pkg/<name>` and answers its sizes.
fn precompress(pkg: &Path, name: &str) -> Result<FileSize> {
    let path = pkg.join(name);
    let bytes = std::fs::read(&path).with_context(|| format!("reading pkg/{name}"))?;
    let gzipped = gzip_sent(&bytes)?;
    let brotlied = brotli(&bytes)?;
    std::fs::write(pkg.join(format!("{name}.gz")), &gzipped)?;
    std::fs::write(pkg.join(format!("{name}.br")), &brotlied)?;
    Ok(FileSize {
        raw: bytes.len(),
        gzip: gzip_size(&path)?,
        gzip_sent: gzipped.len(),
        brotli: brotlied.len(),
        name: name.to_owned(),
    })
}

/// The compiler module (`crates/kelisim-compiler`) into `pkg/`: `kelisim_compiler.js` (its
/// wasm-bindgen glue, an ES module the loader imports) and `kelisim_compiler_bg.wasm`. Only
/// pages that hand the loader a raw kelisim.json load it, once, so it is not held to the
/// runtime's rules (it formats messages and parses JSON with serde); it is still built with the
/// pinned nightly's size options, as the runtime is, but keeps `Debug` formatting (its messages
/// use it), in a target folder of its own. Answers the module's size.
fn build_compiler(root: &Path, pkg: &Path) -> Result<FileSize> {
    build_nightly_wasm(
        root,
        "kelisim-compiler",
        COMPILER_TARGET_DIR,
        "-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none",
    )?;
    let pkg_dir = pkg.to_str().context("pkg path is not UTF-8")?;
    run(
        root,
        "wasm-bindgen",
        &[
            &format!("{COMPILER_TARGET_DIR}/wasm32-unknown-unknown/release/kelisim_compiler.wasm"),
            "--out-dir",
            pkg_dir,
            "--out-name",
            "kelisim_compiler",
            "--target",
            "web",
            "--no-typescript",
            "--remove-name-section",
            "--remove-producers-section",
        ],
        &[],
    )?;
    let wasm = pkg.join("kelisim_compiler_bg.wasm");
    let wasm = wasm.to_str().context("pkg path is not UTF-8")?;
    let wasm_opt = wasm_opt(root);
    let wasm_opt = wasm_opt.to_str().context("wasm-opt path is not UTF-8")?;
    run(
        root,
        wasm_opt,
        &[
            "-Oz",
            "--strip-debug",
            "--strip-producers",
            wasm,
            "-o",
            wasm,
        ],
        &[],
    )?;
    precompress(pkg, "kelisim_compiler.js")?;
    precompress(pkg, "kelisim_compiler_bg.wasm")
}

/// The forms module (`crates/kelisim-forms`) into `pkg/`: `kelisim_forms.js` (its wasm-bindgen
/// glue with the helpers snippet bundled in, an ES module the loader imports) and
/// `kelisim_forms_bg.wasm`, built and optimized as the runtime is. Only pages where the runtime
/// hands over a form load it. Its import names are wasm-bindgen's own (with their hashes), so a
/// glue and a module of different builds fail to instantiate rather than bind the wrong calls.
/// Answers the two files' sizes together.
fn build_forms(root: &Path, pkg: &Path) -> Result<FileSize> {
    let bindgen_dir =
        build_browser_module(root, "kelisim-forms", FORMS_TARGET_DIR, "kelisim_forms")?;
    let wasm_in = bindgen_dir.join("kelisim_forms_bg.wasm");
    let wasm_out = pkg.join("kelisim_forms_bg.wasm");
    let wasm_opt = wasm_opt(root);
    let mut args = WASM_OPT_PASSES.to_vec();
    args.extend([
        "--strip-debug",
        "--strip-producers",
        "--strip-target-features",
    ]);
    let (input, output) = (
        wasm_in.to_str().context("path is not UTF-8")?,
        wasm_out.to_str().context("path is not UTF-8")?,
    );
    args.extend([input, "-o", output]);
    run(
        root,
        wasm_opt.to_str().context("wasm-opt path is not UTF-8")?,
        &args,
        &[],
    )?;
    esbuild_compiled_at_once(
        root,
        &bindgen_dir.join("kelisim_forms.js"),
        &pkg.join("kelisim_forms.js"),
        &["--bundle", "--format=esm"],
    )?;
    check_stack(&std::fs::read(&wasm_out)?, "kelisim_forms_bg.wasm")?;
    let glue = precompress(pkg, "kelisim_forms.js")?;
    let wasm = precompress(pkg, "kelisim_forms_bg.wasm")?;
    Ok(glue.plus(&wasm, "kelisim_forms.js + kelisim_forms_bg.wasm".into()))
}

/// The wasm-opt optimizations of the browser module.
const WASM_OPT_PASSES: [&str; 3] = [
    "-Oz",
    // Repeats the passes while they still shrink the module.
    "--converge",
    // Inline a function that has one caller only when it is tiny. By default -Oz inlines
    // every one-caller function: fewer bytes raw, but one huge body per entry point with
    // its locals renumbered, where separate functions repeat the same local numbering
    // and compress better (15 to 20 is the sweet spot, measured).
    "--one-caller-inline-max-function-size=20",
];

/// The most gzip bytes a first visit may load (the loader, the runtime module and the demo's
/// largest compiled config): a ratchet, not the goal (25,000, ../shared/SPEC.md). It sits just
/// above today's size, so a change that adds bytes fails the test command, and the commit that
/// raises it says why; a change that saves bytes lowers it.
pub const GZIP_CEILING: usize = 49_435;

/// Fails when everything a site loads weighs more than [`GZIP_CEILING`] gzip bytes.
pub fn check_size_ceiling(build: &Build) -> Result<()> {
    let total = build.first_visit_gzip();
    anyhow::ensure!(
        total <= GZIP_CEILING,
        "a first visit now loads {total} gzip bytes, more than the ceiling of {GZIP_CEILING} \
         (xtask/src/build.rs): find what grew with `twiggy top`, or raise the ceiling in the \
         same commit and say why"
    );
    println!("size: {total} gzip bytes, within the ceiling of {GZIP_CEILING}");
    Ok(())
}

impl Build {
    /// Gzip bytes of everything a first visit loads: the loader, the runtime module and the
    /// demo's largest compiled config.
    pub fn first_visit_gzip(&self) -> usize {
        self.sizes.iter().map(|size| size.gzip).sum::<usize>() + self.config.gzip
    }
}

pub fn print_sizes(build: &Build) {
    println!("\nwhat a first visit loads (gzip -9 measures; .gz is the gzip file sent):");
    let row = |size: &FileSize| {
        println!(
            "  {:<52} {:>9} {:>9} {:>9} {:>9}",
            size.name, size.raw, size.gzip, size.gzip_sent, size.brotli
        );
    };
    println!(
        "  {:<52} {:>9} {:>9} {:>9} {:>9}",
        "file", "raw", "gzip -9", ".gz", "brotli"
    );
    let mut total = FileSize::empty("total");
    for size in build.sizes.iter().chain([&build.config]) {
        row(size);
        total = total.plus(size, "total".into());
    }
    row(&total);
    let compiler = &build.compiler;
    println!(
        "  only with a raw config: {} {} raw, {} gzip -9, {} .gz, {} brotli",
        compiler.name, compiler.raw, compiler.gzip, compiler.gzip_sent, compiler.brotli
    );
    let preferences = &build.preferences_document;
    println!(
        "  only when the visitor opens the preferences: the {} {} raw, {} gzip -9, {} .gz, {} brotli",
        preferences.name, preferences.raw, preferences.gzip, preferences.gzip_sent, preferences.brotli
    );
    let (forms, document) = (&build.forms, &build.forms_document);
    println!(
        "  only with a consent block in a form: {} {} raw, {} gzip -9, {} .gz, {} brotli; the {} {} gzip -9",
        forms.name, forms.raw, forms.gzip, forms.gzip_sent, forms.brotli, document.name, document.gzip
    );
    println!("  for comparison: vanilla-cookieconsent 3.1.0 15,513 gzip (JS + CSS, no translations, and the page's own config); Klaro 0.7.22 68,892 gzip\n");
}

/// Compiles the `kelisim.json` at `source` into `dir/<language>` for each language a browser
/// may ask for (`kk`, `ru`, `en`, `default`), as kelisim-server serves them at
/// `/v1/config/<site>/<language>`.
pub fn compile_config(source: &Path, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let text =
        std::fs::read_to_string(source).with_context(|| format!("reading {}", source.display()))?;
    let compiled = kelisim_core::compile::compile_text(&text).map_err(|problems| {
        anyhow::anyhow!("{} does not compile: {problems:?}", source.display())
    })?;
    for language in kelisim_core::compile::SERVED_LANGUAGES {
        let config = kelisim_core::compile::for_language(&compiled, language)
            .context("a compiled config in the default language")?;
        std::fs::write(dir.join(language), config.to_browser_json())?;
    }
    // Each body's documents apart beside it, where it says they are, as the server serves them.
    for config in &compiled {
        for (href, document) in config.documents_apart() {
            std::fs::write(dir.join(href), document)?;
        }
    }
    Ok(())
}

/// The demo's compiled config in the language whose texts weigh most: what a first visit
/// loads besides `pkg/` (from kelisim-server or the files of `config build`); and its forms
/// and preferences documents, which only pages with a form and visitors who open the
/// preferences load.
fn demo_compiled_config(root: &Path) -> Result<(FileSize, FileSize, FileSize)> {
    let text = std::fs::read_to_string(root.join("www/kelisim.json"))?;
    let compiled = kelisim_core::compile::compile_text(&text)
        .map_err(|problems| anyhow::anyhow!("www/kelisim.json does not compile: {problems:?}"))?;
    let mut largest: Option<(FileSize, FileSize, FileSize)> = None;
    for config in &compiled {
        let measure = |suffix: &str, text: &str, name: String| -> Result<FileSize> {
            let file = root.join(format!(
                "target/kelisim_sdk-bindgen/demo-{}{suffix}",
                config.language
            ));
            std::fs::write(&file, text)?;
            FileSize::measure(&file, name)
        };
        let size = measure(
            ".json",
            &config.to_browser_json(),
            format!("demo config, compiled ({})", config.language),
        )?;
        let forms = measure(
            kelisim_core::compile::FORMS_SUFFIX,
            &config
                .to_forms_json()
                .context("www/kelisim.json has forms")?,
            format!("demo forms document ({})", config.language),
        )?;
        let preferences = measure(
            kelisim_core::compile::PREFERENCES_SUFFIX,
            &config
                .to_preferences_json()
                .context("www/kelisim.json has layers")?,
            format!("demo preferences document ({})", config.language),
        )?;
        if largest
            .as_ref()
            .is_none_or(|(largest, _, _)| size.gzip > largest.gzip)
        {
            largest = Some((size, forms, preferences));
        }
    }
    largest.context("www/kelisim.json compiled to no language")
}

/// Renames the wasm module's imports and exports to one or two characters (and its import
/// module to `a`) and the glue's uses of them to match. wasm-bindgen names every import after
/// its JS method plus a 16-digit hash (`__wbg_setAttribute_d31332438b4f2366`), and each of ~190
/// names is written twice (the module's import section and the glue's import object); hashes
/// do not compress, so this saves gzip bytes in both the wasm and the glue. wasm-opt does the renaming and
/// prints the mapping as JSON; the glue refers to exports only as `wasm.<name>` and to imports
/// only as keys of its import object, which is what gets rewritten.
fn minify_wasm_names(root: &Path, wasm: &Path, glue: &Path) -> Result<()> {
    let wasm_path = wasm.to_str().context("path is not UTF-8")?;
    eprintln!("$ wasm-opt --minify-imports-and-exports-and-modules {wasm_path}");
    let output = std::process::Command::new(wasm_opt(root))
        .args([
            "--minify-imports-and-exports-and-modules",
            wasm_path,
            "-o",
            wasm_path,
        ])
        .output()
        .context("could not start wasm-opt")?;
    if !output.status.success() {
        anyhow::bail!(
            "wasm-opt --minify-imports-and-exports-and-modules failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let mapping: serde_json::Value = serde_json::from_slice(&output.stdout)
        .context("wasm-opt printed no JSON mapping of the minified names")?;
    let mut text = std::fs::read_to_string(glue)?;
    let pairs = |key: &str| -> Result<Vec<(String, String)>> {
        let entries = mapping[key]
            .as_array()
            .with_context(|| format!("the mapping has no `{key}` list"))?;
        entries
            .iter()
            .map(|entry| {
                let fields: Vec<&str> = entry
                    .as_array()
                    .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
                    .unwrap_or_default();
                // Imports are [module, old, new], exports [old, new].
                match fields.as_slice() {
                    [.., old, new] => Ok((old.to_string(), new.to_string())),
                    _ => anyhow::bail!("unexpected `{key}` entry in the mapping: {entry}"),
                }
            })
            .collect()
    };
    // Every import moves to the one module `a` (binaryen's name for it); the glue has one import
    // object, which wasm-bindgen names after the module file.
    let module_key = "\n        \"./kelisim_sdk_bg.js\": import0,\n    };";
    anyhow::ensure!(
        text.matches(module_key).count() == 1,
        "the glue's imports are not the one `./kelisim_sdk_bg.js` object this step expects"
    );
    text = text.replace(module_key, "\n        \"a\": import0,\n    };");
    for (old, new) in pairs("imports")? {
        let key = format!("\n        {old}: function");
        anyhow::ensure!(
            text.matches(&key).count() == 1,
            "import `{old}` is not a key of the glue's import object"
        );
        text = text.replace(&key, &format!("\n        \"{new}\": function"));
    }
    let exports = pairs("exports")?;
    for (old, new) in &exports {
        text = replace_word(&text, &format!("wasm.{old}"), &format!("wasm.{new}"));
    }
    // Every export the glue uses must now have its new name (some, e.g. `__wbindgen_free`, are
    // exported but unused).
    for (at, _) in text.match_indices("wasm.") {
        let name: String = text[at + 5..]
            .chars()
            .take_while(|c| is_identifier_char(*c))
            .collect();
        anyhow::ensure!(
            exports.iter().any(|(_, new)| *new == name),
            "the glue uses `wasm.{name}`, which is not a minified export"
        );
    }
    std::fs::write(glue, text)?;
    Ok(())
}

/// Replaces `from` where it is not followed by another identifier character (`wasm.init` must
/// not touch `wasm.initialize`).
fn replace_word(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let after = &rest[at + from.len()..];
        let whole = !after.chars().next().is_some_and(is_identifier_char);
        out.push_str(&rest[..at]);
        out.push_str(if whole { to } else { from });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Whether `c` can continue a JS identifier (enough for the glue's ASCII names).
fn is_identifier_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// What the loader compares with the module's `kelisim` custom section, in place of
/// `src/loader.js`'s placeholder.
const BUILD_ID_PLACEHOLDER: &str = "@KELISIM_BUILD@";
/// Where the loader states the compiler module's size (its one-time note on raw configs).
const COMPILER_SIZE_PLACEHOLDER: &str = "@KELISIM_COMPILER_KB@";

/// Names the build of the finished module `wasm` and its glue: the first 16 hex digits of
/// SHA-256 over both, appended to the module as a custom section `kelisim` and returned for
/// the loader. The glue binds the module's imports by minified names (`a`, `b`, ... in the
/// order wasm-opt met them), so the glue of one build with the module of another would call
/// the wrong browser functions without any error: each file is cached on its own (browser,
/// CDN, `stale-while-revalidate`), and a store copies a new `pkg/` over the old one. The loader
/// refuses a module whose section names another build.
fn mark_build(wasm: &Path, glue: &Path) -> Result<String> {
    use wasm_encoder::Section;
    let mut module = std::fs::read(wasm)?;
    let build_id = short_digest(&[&module, &std::fs::read(glue)?]);
    wasm_encoder::CustomSection {
        name: "kelisim".into(),
        data: build_id.as_bytes().into(),
    }
    .append_to(&mut module);
    std::fs::write(wasm, module)?;
    Ok(build_id)
}

/// The first 16 hex digits of SHA-256 over `parts`, one after the other: the build id, and
/// the static server's ETags.
pub fn short_digest(parts: &[&[u8]]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part);
    }
    hash.finalize()[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Writes `pkg/kelisim.js`: `src/loader.js` with the glue it imports bundled in, as one
/// minified classic script (a store embeds it with a plain `<script>` tag). Only what the
/// loader uses of the glue is kept (`command`, the import object and the start step), with
/// `build_id` in place of the loader's placeholder.
fn bundle_loader(
    root: &Path,
    bindgen_dir: &Path,
    out: &Path,
    build_id: &str,
    compiler_gzip: usize,
) -> Result<()> {
    let glue = std::fs::read_to_string(bindgen_dir.join("kelisim_sdk.js"))?;
    let api: Vec<&str> = glue
        .lines()
        .filter_map(|line| line.strip_prefix("export function "))
        .filter_map(|rest| rest.split('(').next())
        .collect();
    anyhow::ensure!(
        api == ["command"],
        "expected the one export `command` in the glue (exports: {api:?}); has wasm-bindgen's output changed?"
    );
    // The loader fetches and instantiates the module itself (one `fetch`, streaming compile,
    // a fallback for servers that send .wasm with the wrong type): it needs the glue's import
    // object and the step that starts the module, not wasm-bindgen's initialiser, which also
    // accepts a `Response`, a `Request`, bytes or a compiled module and warns about deprecated
    // parameters: code the loader never runs).
    let default_exports = "\nexport { initSync, __wbg_init as default };";
    anyhow::ensure!(
        glue.matches(default_exports).count() == 1,
        "the glue does not end with wasm-bindgen's usual exports (`{default_exports}`)"
    );
    let glue = glue.replace(
        default_exports,
        "\nexport { __wbg_get_imports, __wbg_finalize_init };",
    );
    std::fs::write(bindgen_dir.join("kelisim_sdk.js"), glue)?;
    // Beside the glue, so the loader's `import … from './kelisim_sdk.js'` finds it.
    let entry = bindgen_dir.join("loader.js");
    let loader = std::fs::read_to_string(root.join("src/loader.js"))?;
    anyhow::ensure!(
        loader.matches(BUILD_ID_PLACEHOLDER).count() == 1,
        "src/loader.js must hold the build id placeholder {BUILD_ID_PLACEHOLDER} once"
    );
    anyhow::ensure!(
        loader.matches(COMPILER_SIZE_PLACEHOLDER).count() == 1,
        "src/loader.js must hold the compiler size placeholder {COMPILER_SIZE_PLACEHOLDER} once"
    );
    // The size the loader's note on raw configs states, in whole KB of gzip.
    let compiler_kb = compiler_gzip.div_ceil(1000).to_string();
    std::fs::write(
        &entry,
        loader
            .replace(BUILD_ID_PLACEHOLDER, build_id)
            .replace(COMPILER_SIZE_PLACEHOLDER, &compiler_kb),
    )?;
    esbuild_compiled_at_once(root, &entry, out, &["--bundle", "--format=iife"])
}

/// V8's explicit compile hint: a script that starts with it has its functions compiled as it
/// streams in, instead of one by one on the main thread when each is first called. The glue's
/// many small import functions all run as the module starts, so this takes their compiling
/// off the page's critical path (browsers without the hint read a comment).
const COMPILE_HINT: &str = "//# allFunctionsCalledOnLoad";

/// Minifies `input` into `output` with esbuild (`extra`: its further options). Every script the
/// build makes this way runs its functions at once (the loader with the runtime's glue, the forms
/// module's glue), so each starts with [`COMPILE_HINT`], checked, so that a change in esbuild
/// cannot drop the hint without a word.
fn esbuild_compiled_at_once(
    root: &Path,
    input: &Path,
    output: &Path,
    extra: &[&str],
) -> Result<()> {
    let outfile = format!("--outfile={}", output.display());
    let banner = format!("--banner:js={COMPILE_HINT}");
    let mut args = vec![
        input.to_str().context("path is not UTF-8")?,
        "--minify",
        "--log-level=warning",
        &outfile,
        &banner,
    ];
    args.extend(extra);
    run(
        root,
        crate::tools::esbuild(root)
            .to_str()
            .context("esbuild path is not UTF-8")?,
        &args,
        &[],
    )?;
    anyhow::ensure!(
        std::fs::read_to_string(output)?.starts_with(&format!("{COMPILE_HINT}\n")),
        "{} does not start with V8's compile hint `{COMPILE_HINT}`; has esbuild's --banner changed?",
        output.display()
    );
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

/// Bytes of `gzip -9 -c <file>`: the tool, level and header the issues' anchors were measured
/// with (vanilla-cookieconsent 3.1.0's 15,513 bytes and Klaro 0.7.22's 68,892, both reproduced
/// exactly by the bench). Other deflate encoders at their best level differ by a few hundred
/// bytes either way, and not alike for every file, so every size in this project is measured
/// this one way.
pub fn gzip_size(file: &Path) -> Result<usize> {
    Ok(gzip(file)?.len())
}

/// `file` compressed by `gzip -9`: the measure of the issues' anchors.
pub fn gzip(file: &Path) -> Result<Vec<u8>> {
    let output = std::process::Command::new("gzip")
        .arg("-9")
        .arg("-c")
        .arg(file)
        .output()
        .context("could not run `gzip` (Debian's gzip package) to measure sizes")?;
    anyhow::ensure!(
        output.status.success(),
        "gzip -9 -c {} failed: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(output.stdout)
}

/// `bytes` as the `.gz` that goes out to browsers (`kelisim_core::precompress`). Sizes are
/// still measured by [`gzip`], the ruler the issues' anchors and goals are in.
pub fn gzip_sent(bytes: &[u8]) -> Result<Vec<u8>> {
    kelisim_core::precompress::gzip(bytes).context("zopfli could not compress")
}

pub fn brotli_size(bytes: &[u8]) -> Result<usize> {
    Ok(brotli(bytes)?.len())
}

/// `bytes` as the `.br` that goes out to browsers (`kelisim_core::precompress`).
pub fn brotli(bytes: &[u8]) -> Result<Vec<u8>> {
    kelisim_core::precompress::brotli(bytes).context("brotli could not compress")
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A module with `pages` of memory and one data segment of `bytes` at `offset`.
    fn module(pages: u64, offset: i32, bytes: usize) -> Vec<u8> {
        use wasm_encoder::{ConstExpr, DataSection, MemorySection, MemoryType, Module};
        let mut memories = MemorySection::new();
        memories.memory(MemoryType {
            minimum: pages,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
        let mut data = DataSection::new();
        data.active(0, &ConstExpr::i32_const(offset), vec![7_u8; bytes]);
        let mut module = Module::new();
        module.section(&memories).section(&data);
        module.finish()
    }

    #[test]
    fn the_stack_check_takes_only_a_small_stack_below_the_data() {
        let stack = STACK_BYTES as i32;
        // What the release build makes: the stack, then the data, in as few pages as they need.
        let pages = (STACK_BYTES as u64 + 9_000).div_ceil(65_536);
        check_stack(&module(pages, stack, 9_000), "small").unwrap();
        // Rust's default megabyte: the flag did not reach the linker.
        let error = check_stack(&module(17, 1_048_576, 9_000), "default")
            .unwrap_err()
            .to_string();
        assert!(error.contains("was `-zstack-size` ignored?"), "{error}");
        // Data below the stack's top: an overflow would run into it.
        let error = check_stack(&module(pages, 1_024, 9_000), "data first")
            .unwrap_err()
            .to_string();
        assert!(error.contains("inside its"), "{error}");
    }
}
