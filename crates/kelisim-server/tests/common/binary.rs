//! The server binary, run for real on loopback: start it on a temporary folder (database,
//! key, head log, sites file), post receipts over HTTP, run its other commands.

use super::receipt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BINARY: &str = env!("CARGO_BIN_EXE_kelisim-server");
pub const TOKEN: &str = "durability-token";

pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn start(dir: &Path, port: u16) -> Server {
    start_with(dir, port, &[])
}

pub fn start_with(dir: &Path, port: u16, extra: &[&str]) -> Server {
    start_on(dir, &format!("127.0.0.1:{port}"), port, extra)
}

/// The server listening on `listen` (whose port is `port`), reached over 127.0.0.1.
pub fn start_on(dir: &Path, listen: &str, port: u16, extra: &[&str]) -> Server {
    let child = Command::new(BINARY)
        .args(["serve", "--listen", listen])
        .arg("--db")
        .arg(format!("sqlite://{}", dir.join("kelisim.db").display()))
        .arg("--sites")
        .arg(dir.join("sites.json"))
        .arg("--key")
        .arg(dir.join("signing.key"))
        .env("KELISIM_ADMIN_TOKEN", TOKEN)
        // Unlimited unless the test sets a rate of its own.
        .env("KELISIM_RATE_PER_MINUTE", "1000000")
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    up(child, port)
}

/// Waits until the server started as `child` answers on `port`.
pub fn up(child: Child, port: u16) -> Server {
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while ureq::get(&format!("{base}/v1/public-key")).call().is_err() {
        assert!(Instant::now() < deadline, "the server did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server { child, base }
}

pub fn post(base: &str, n: u32) -> bool {
    ureq::post(&format!("{base}/v1/receipts"))
        .set("content-type", "text/plain")
        .set("origin", "https://glazik.kz")
        .timeout(Duration::from_secs(5))
        .send_string(&receipt(n).to_string())
        .is_ok_and(|response| response.status() == 201)
}

pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kelisim-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("sites.json"),
        r#"{"sites": [{"id": "glazik-kz", "origins": ["https://glazik.kz"]}]}"#,
    )
    .unwrap();
    dir
}

pub fn verify(dir: &Path) -> (bool, String) {
    verify_with(dir, &[])
}

/// `verify` on the folder's database with its key (and so its head log), and `extra`
/// arguments; what it printed on standard output, then standard error.
pub fn verify_with(dir: &Path, extra: &[&str]) -> (bool, String) {
    let key = dir.join("signing.key").display().to_string();
    let mut args = vec!["verify", "--db"];
    let url = db_url(dir);
    args.extend([url.as_str(), "--key", key.as_str()]);
    args.extend_from_slice(extra);
    run(&args)
}

impl Server {
    /// Stops the server as `stop` does and hands `check` everything it printed (it must have
    /// been started with piped standard output and error).
    pub fn stop_and_read(mut self, check: impl FnOnce(&str)) {
        use std::io::Read;
        let mut stdout = self.child.stdout.take().expect("piped stdout");
        let mut stderr = self.child.stderr.take().expect("piped stderr");
        self.stop();
        let mut printed = String::new();
        let _ = stdout.read_to_string(&mut printed);
        let _ = stderr.read_to_string(&mut printed);
        check(&printed);
    }

    /// Stops the server as Ctrl+C would (SIGINT), so it stores what is queued and writes its
    /// last chain heads, and waits for it to exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                Instant::now() < deadline,
                "the server did not stop on SIGINT"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The database URL of a test folder.
pub fn db_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("kelisim.db").display())
}

/// `credential --key KEY add --name NAME --role ROLE`: its exit status and what it printed (the
/// token alone on standard output).
pub fn add_credential(key: &str, name: &str, role: &str) -> (bool, String) {
    run(&[
        "credential",
        "--key",
        key,
        "add",
        "--name",
        name,
        "--role",
        role,
    ])
}

/// Runs the binary with `args` (the folder's database and key are not added) and answers its
/// exit status and everything it printed (standard output, then standard error).
pub fn run(args: &[&str]) -> (bool, String) {
    let output = Command::new(BINARY)
        .args(args)
        .env_remove("KELISIM_ADMIN_TOKEN")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
}
