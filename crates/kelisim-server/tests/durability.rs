//! The server binary over real HTTP on loopback: every receipt answered `201` survives a
//! `kill -9` mid-stream, the restarted server keeps the chain, and `verify` passes; then a
//! tampered database makes `verify` exit 1 naming the first bad sequence number. Slow clients
//! are cut off. A full disk answers 503 and corrupts nothing.

mod common;

use common::binary::*;
use common::receipt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[test]
fn acknowledged_receipts_survive_kill_9() {
    let dir = temp_dir("durability");
    let port = free_port();
    let server = start(&dir, port);

    // Two senders post receipts as fast as they can; the server is killed mid-stream.
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..2u32)
        .map(|sender| {
            let (acknowledged, stop, base) =
                (acknowledged.clone(), stop.clone(), server.base.clone());
            std::thread::spawn(move || {
                let mut n = sender * 1_000_000;
                while !stop.load(Ordering::SeqCst) && n < sender * 1_000_000 + 5_000 {
                    n += 1;
                    if post(&base, n) {
                        acknowledged.lock().unwrap().push(n);
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while acknowledged.lock().unwrap().len() < 100 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(server); // SIGKILL: no graceful shutdown, no flush
    stop.store(true, Ordering::SeqCst);
    for sender in senders {
        sender.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 100,
        "only {} receipts were acknowledged",
        acknowledged.len()
    );

    let server = start(&dir, port);
    for n in &acknowledged {
        let id = receipt(*n)["receipt_id"].as_str().unwrap().to_owned();
        let response = ureq::get(&format!("{}/v1/receipts/{id}", server.base))
            .set("authorization", &format!("Bearer {TOKEN}"))
            .call();
        assert!(
            response.is_ok(),
            "receipt {n} was answered 201 but is gone after kill -9"
        );
    }
    // The chain continues after the restart.
    assert!(post(&server.base, 9_999_999));
    drop(server);
    let (ok, printed) = verify(&dir);
    assert!(ok, "verify failed after kill -9:\n{printed}");
    assert!(
        printed.contains("ok: every hash and signature matches"),
        "{printed}"
    );
}

#[tokio::test]
async fn verify_exits_1_and_names_the_first_bad_receipt() {
    let dir = temp_dir("tamper");
    let server = start(&dir, free_port());
    for n in 1..=6 {
        assert!(post(&server.base, n));
    }
    drop(server);
    let store = kelisim_server::store::Store::open(&format!(
        "sqlite://{}",
        dir.join("kelisim.db").display()
    ))
    .await
    .unwrap();
    store
        .execute_raw("UPDATE receipts SET body = replace(body, '\"custom\"', '\"accept_all\"') WHERE seq = 4")
        .await
        .unwrap();
    store.close().await;
    let (ok, printed) = verify(&dir);
    assert!(!ok, "verify passed a tampered database:\n{printed}");
    assert!(
        printed.contains("first bad sequence number: 4"),
        "{printed}"
    );
    println!("verify on a tampered database printed:\n{printed}");
}

#[test]
fn slow_clients_are_cut_off() {
    use std::io::{Read, Write};
    let dir = temp_dir("slow");
    let port = free_port();
    let server = start_with(&dir, port, &["--client-timeout-seconds", "1"]);
    let read_all = |stream: &mut std::net::TcpStream| {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let started = Instant::now();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        (
            String::from_utf8_lossy(&answer).into_owned(),
            started.elapsed(),
        )
    };
    // Headers that never end: the connection is closed.
    let mut trickle = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    trickle
        .write_all(b"POST /v1/receipts HTTP/1.1\r\nHost: x\r\nOrigin: https://glazik.kz\r\n")
        .unwrap();
    let (answer, waited) = read_all(&mut trickle);
    assert!(
        waited < Duration::from_secs(5),
        "held for {waited:?}: {answer}"
    );
    // A body that never arrives whole, on every route that reads one (the login form and a
    // staff withdrawal need no credential to hold a connection): 408 with a JSON message.
    for (path, content_type) in [
        ("/v1/receipts", "application/json"),
        ("/v1/impressions", "application/json"),
        ("/dashboard/login", "application/x-www-form-urlencoded"),
        (
            "/v1/consents/11111111-1111-4111-8111-000000000001/withdraw",
            "application/json",
        ),
    ] {
        let mut slow = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nOrigin: https://glazik.kz\r\nContent-Type: {content_type}\r\nContent-Length: 500\r\nConnection: close\r\n\r\n{{\"a\":"
        );
        slow.write_all(head.as_bytes()).unwrap();
        let (answer, waited) = read_all(&mut slow);
        assert!(
            waited < Duration::from_secs(5),
            "{path} held for {waited:?}"
        );
        assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
        assert!(answer.contains("too long"), "{path}: {answer}");
    }
    // Meanwhile and afterwards, normal clients are served.
    assert!(post(&server.base, 1));
}

#[test]
fn a_full_disk_answers_503_and_corrupts_nothing() {
    let dir = temp_dir("full");
    let port = free_port();
    // The server runs with its files capped at about a megabyte (RLIMIT_FSIZE) and SIGXFSZ
    // ignored, so a write past the cap fails with EFBIG: SQLite reports "database or disk is
    // full", as on a full disk.
    let script = format!(
        "trap '' XFSZ; ulimit -f 2048; exec '{BINARY}' serve --listen 127.0.0.1:{port} \
         --db 'sqlite://{db}' --sites '{sites}' --key '{key}' \
         --rate-per-minute 1000000",
        db = dir.join("kelisim.db").display(),
        sites = dir.join("sites.json").display(),
        key = dir.join("signing.key").display(),
    );
    let child = Command::new("sh")
        .env("KELISIM_ADMIN_TOKEN", TOKEN)
        .args(["-c", &script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sh starts");
    let server = up(child, port);
    let mut acknowledged = Vec::new();
    let mut full = None;
    for n in 1..=20_000u32 {
        let answer = ureq::post(&format!("{}/v1/receipts", server.base))
            .set("content-type", "text/plain")
            .set("origin", "https://glazik.kz")
            .send_string(&receipt(n).to_string());
        match answer {
            Ok(response) if response.status() == 201 => acknowledged.push(n),
            Err(ureq::Error::Status(status, response)) => {
                let retry_after = response.header("retry-after").map(str::to_owned);
                full = Some((status, retry_after, response.into_string().unwrap()));
                break;
            }
            other => panic!("receipt {n}: unexpected answer {other:?}"),
        }
    }
    let (status, retry_after, body) = full.expect("the capped disk filled up");
    assert_eq!(status, 503, "{body}");
    assert_eq!(retry_after.as_deref(), Some("5"));
    assert!(body.contains("unavailable"), "{body}");
    assert!(
        acknowledged.len() > 10,
        "only {} stored before",
        acknowledged.len()
    );
    println!(
        "{} receipts stored before the disk was full; then {status}: {body}",
        acknowledged.len()
    );
    drop(server);
    // With room again: everything acknowledged is there, and the chain verifies.
    let server = start(&dir, port);
    for n in [acknowledged[0], *acknowledged.last().unwrap()] {
        let id = receipt(n)["receipt_id"].as_str().unwrap().to_owned();
        assert!(
            ureq::get(&format!("{}/v1/receipts/{id}", server.base))
                .set("authorization", &format!("Bearer {TOKEN}"))
                .call()
                .is_ok(),
            "receipt {n} was acknowledged but is gone"
        );
    }
    assert!(post(&server.base, 999_999), "the server stores again");
    drop(server);
    let (ok, printed) = verify(&dir);
    assert!(ok, "verify failed after the disk filled up:\n{printed}");
}
