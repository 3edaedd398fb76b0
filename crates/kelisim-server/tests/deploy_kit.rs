//! The deployment kit in `deploy/` configures a server that works: the container image's and
//! the systemd unit's environment, each given to the real binary (no container engine runs on
//! these machines, so the image's entrypoint runs outside one), store a receipt from the sample
//! site's origin, answer `/readyz`, stop on `SIGTERM` and leave a database that verifies. The
//! nginx site sends the SDK with the same caching header as the server. (`cargo xtask deploy`
//! checks the files themselves with hadolint, systemd-analyze and nginx.)

mod common;

use common::binary::*;
use common::receipt;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn deploy_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(name)
}

/// `KEY=value` pairs of the Dockerfile's `ENV` instruction (continued over lines).
fn dockerfile_env() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(deploy_file("Dockerfile")).unwrap();
    let start = text.find("\nENV ").expect("the Dockerfile sets ENV") + 5;
    let mut block = String::new();
    for line in text[start..].lines() {
        block.push_str(line.trim_end_matches('\\'));
        block.push(' ');
        if !line.ends_with('\\') {
            break;
        }
    }
    block
        .split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The `Environment=` lines of the systemd unit.
fn unit_env() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(deploy_file("kelisim.service")).unwrap();
    text.lines()
        .filter_map(|line| line.strip_prefix("Environment="))
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Runs `serve` with `env` (paths of the image or host mapped into a test folder), stores a
/// receipt of the sample site, stops it and verifies what it stored.
fn serve_with(name: &str, env: Vec<(String, String)>) {
    let dir = temp_dir(name);
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let token = dir.join("admin.token");
    std::fs::write(&token, "a-deployment-test-token-0123\n").unwrap();
    let port = free_port();
    let sample = deploy_file("sites.sample.json").display().to_string();
    let env: Vec<(String, String)> = env
        .into_iter()
        .map(|(key, value)| {
            let value = match key.as_str() {
                "KELISIM_LISTEN" => format!("127.0.0.1:{port}"),
                "KELISIM_SITES" => sample.clone(),
                "KELISIM_ADMIN_TOKEN_FILE" => token.display().to_string(),
                _ => value.replace("/var/lib/kelisim", &state.display().to_string()),
            };
            (key, value)
        })
        .collect();
    for needed in [
        "KELISIM_DB",
        "KELISIM_KEY",
        "KELISIM_HEADS",
        "KELISIM_SITES",
        "KELISIM_ADMIN_TOKEN_FILE",
    ] {
        assert!(
            env.iter().any(|(k, _)| k == needed),
            "{name} does not set {needed}"
        );
    }
    let child = std::process::Command::new(BINARY)
        .arg("serve")
        .env_remove("KELISIM_ADMIN_TOKEN")
        .env_remove("KELISIM_RATE_PER_MINUTE")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let server = up(child, port);
    let ready = ureq::get(&format!("{}/readyz", server.base))
        .timeout(Duration::from_secs(5))
        .call()
        .unwrap();
    assert_eq!(ready.status(), 200);
    let stored = ureq::post(&format!("{}/v1/receipts", server.base))
        .set("origin", "https://glazik.kz")
        .timeout(Duration::from_secs(5))
        .send_string(&receipt(1).to_string())
        .unwrap();
    assert_eq!(stored.status(), 201);
    server.stop();
    let verified = std::process::Command::new(BINARY)
        .arg("verify")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&verified.stdout);
    assert!(verified.status.success(), "{name}: {printed}");
    assert!(
        printed.contains("vouch for receipts up to 1"),
        "{name}: {printed}"
    );
}

#[test]
fn the_container_image_environment_serves_and_verifies() {
    serve_with("image-env", dockerfile_env());
}

#[test]
fn the_systemd_unit_environment_serves_and_verifies() {
    serve_with("unit-env", unit_env());
}

#[test]
fn the_nginx_site_caches_the_sdk_as_the_server_does() {
    let site = std::fs::read_to_string(deploy_file("nginx/kelisim.conf")).unwrap();
    let header = format!(
        "add_header Cache-Control \"{}\" always;",
        kelisim_server::SDK_CACHE_CONTROL
    );
    assert!(
        site.contains(&header),
        "the nginx site does not send {header}"
    );
    assert!(
        site.contains("X-Forwarded-For"),
        "the proxy must forward the visitor's address"
    );
}
