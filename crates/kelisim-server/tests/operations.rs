//! The server binary as an operator runs it: credentials made with `credential add` and taken
//! on `SIGHUP` with a changed sites file (a broken one is refused and the old kept), and a
//! `SIGTERM` under load that answers every receipt already received and writes the last
//! chain heads.

mod common;

use common::binary::*;
use common::receipt;
use std::time::Duration;

fn signal(server: &Server, name: &str) {
    let pid = server.child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args([name, &pid])
        .status()
        .unwrap()
        .success());
}

fn get_with(base: &str, path: &str, token: &str) -> u16 {
    match ureq::get(&format!("{base}{path}"))
        .set("authorization", &format!("Bearer {token}"))
        .timeout(Duration::from_secs(5))
        .call()
    {
        Ok(response) => response.status(),
        Err(ureq::Error::Status(status, _)) => status,
        Err(error) => panic!("{path}: {error}"),
    }
}

fn post_to(base: &str, site: &str, origin: &str, n: u32) -> u16 {
    let mut body = receipt(n);
    body["site"] = site.into();
    match ureq::post(&format!("{base}/v1/receipts"))
        .set("origin", origin)
        .timeout(Duration::from_secs(5))
        .send_string(&body.to_string())
    {
        Ok(response) => response.status(),
        Err(ureq::Error::Status(status, _)) => status,
        Err(error) => panic!("{error}"),
    }
}

/// Waits until `check` holds (a reload is asynchronous to the signal).
fn eventually(what: &str, check: impl Fn() -> bool) {
    for _ in 0..100 {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not happen");
}

#[test]
fn sighup_takes_new_credentials_and_sites_and_keeps_the_old_over_a_broken_file() {
    let dir = temp_dir("reload");
    let server = start(&dir, free_port());
    let key = dir.join("signing.key").display().to_string();
    let (ok, printed) = add_credential(&key, "marat", "marketer");
    assert!(ok, "{printed}");
    // Standard output holds the token alone; the note goes to standard error.
    let token = printed.lines().next().unwrap().trim().to_owned();
    assert_eq!(token.len(), 48, "{printed}");
    let file = std::fs::read_to_string(dir.join("kelisim-credentials.json")).unwrap();
    assert!(!file.contains(&token), "the token itself was stored");
    let (ok, printed) = add_credential(&key, "x", "owner");
    assert!(
        !ok && printed.contains("admin, dpo, marketer, monitor or kiosk"),
        "{printed}"
    );
    // Not known before the reload; known after.
    assert_eq!(
        get_with(&server.base, "/v1/stats?site=glazik-kz", &token),
        401
    );
    assert_eq!(post_to(&server.base, "nlg-kz", "https://nlg.kz", 1), 400);
    std::fs::write(
        dir.join("sites.json"),
        r#"{"sites": [{"id": "glazik-kz", "origins": ["https://glazik.kz"]},
                      {"id": "nlg-kz", "origins": ["https://nlg.kz"]}]}"#,
    )
    .unwrap();
    signal(&server, "-HUP");
    eventually("the reload", || {
        get_with(&server.base, "/v1/stats?site=glazik-kz", &token) == 200
    });
    assert_eq!(get_with(&server.base, "/v1/receipts/x", &token), 403);
    assert_eq!(post_to(&server.base, "nlg-kz", "https://nlg.kz", 2), 201);
    // A broken sites file: refused, the server keeps serving both sites.
    std::fs::write(dir.join("sites.json"), "{\"sites\": [").unwrap();
    signal(&server, "-HUP");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(post_to(&server.base, "nlg-kz", "https://nlg.kz", 3), 201);
    assert_eq!(
        post_to(&server.base, "glazik-kz", "https://glazik.kz", 4),
        201
    );
}

#[test]
fn sigterm_under_load_answers_what_it_received_and_writes_the_last_heads() {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::{Arc, Mutex};
    let dir = temp_dir("sigterm");
    let server = start(&dir, free_port());
    let stored = Arc::new(Mutex::new(Vec::new()));
    let next = Arc::new(AtomicU32::new(1));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (base, stored, next) = (server.base.clone(), stored.clone(), next.clone());
            std::thread::spawn(move || loop {
                let n = next.fetch_add(1, Ordering::SeqCst);
                let answer = ureq::post(&format!("{base}/v1/receipts"))
                    .set("origin", "https://glazik.kz")
                    .timeout(Duration::from_secs(5))
                    .send_string(&receipt(n).to_string());
                match answer {
                    Ok(response) if response.status() == 201 => stored.lock().unwrap().push(n),
                    _ => break,
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(700));
    signal(&server, "-TERM");
    for client in clients {
        client.join().unwrap();
    }
    let mut server = server;
    let status = server.child.wait().unwrap();
    assert!(status.success(), "the server exited with {status}");
    let acknowledged = stored.lock().unwrap().clone();
    assert!(
        acknowledged.len() > 10,
        "only {} receipts before the stop",
        acknowledged.len()
    );
    let (ok, printed) = run(&["export", "--db", &db_url(&dir)]);
    assert!(ok, "{printed}");
    for n in &acknowledged {
        let id = receipt(*n)["receipt_id"].as_str().unwrap().to_owned();
        assert!(
            printed.contains(&id),
            "receipt {n} was answered 201 but is gone"
        );
    }
    // The last heads were written at the stop: they vouch for every stored receipt.
    let rows = printed.lines().count();
    let (ok, printed) = verify(&dir);
    assert!(ok, "{printed}");
    assert!(
        printed.contains(&format!("vouch for receipts up to {rows}")),
        "{rows} stored:\n{printed}"
    );
}

#[test]
fn a_backup_taken_under_load_restores_and_verifies_with_every_acknowledged_receipt() {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::sync::{Arc, Mutex};
    let dir = temp_dir("backup");
    let server = start(&dir, free_port());
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let (next, stop) = (
        Arc::new(AtomicU32::new(1)),
        Arc::new(AtomicBool::new(false)),
    );
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let (base, acknowledged) = (server.base.clone(), acknowledged.clone());
            let (next, stop) = (next.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if post_to(&base, "glazik-kz", "https://glazik.kz", n) == 201 {
                        acknowledged.lock().unwrap().push(n);
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    // Everything answered before the backup starts must be in it.
    let before_backup = acknowledged.lock().unwrap().clone();
    let out = dir.join("backup.db");
    let key = dir.join("signing.key").display().to_string();
    let (ok, printed) = run(&[
        "backup",
        "--db",
        &db_url(&dir),
        "--key",
        &key,
        "--out",
        &out.display().to_string(),
    ]);
    assert!(ok, "{printed}");
    assert!(printed.contains("keep the signing key"), "{printed}");
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.join().unwrap();
    }
    server.stop();
    assert!(
        before_backup.len() > 10,
        "too little load: {}",
        before_backup.len()
    );
    // A second backup to the same file is refused.
    let (ok, _) = run(&[
        "backup",
        "--db",
        &db_url(&dir),
        "--key",
        &key,
        "--out",
        &out.display().to_string(),
    ]);
    assert!(!ok, "a backup overwrote a file");
    // Restore into a fresh folder: the database, its head log, and the key kept with them.
    let restored = temp_dir("restored");
    std::fs::copy(&out, restored.join("kelisim.db")).unwrap();
    std::fs::copy(
        dir.join("backup.db.heads.jsonl"),
        restored.join("kelisim-heads.jsonl"),
    )
    .unwrap();
    std::fs::copy(dir.join("signing.key"), restored.join("signing.key")).unwrap();
    let (ok, printed) = verify(&restored);
    assert!(ok, "the restored backup does not verify:\n{printed}");
    let (ok, exported) = run(&["export", "--db", &db_url(&restored)]);
    assert!(ok);
    for n in &before_backup {
        let id = receipt(*n)["receipt_id"].as_str().unwrap().to_owned();
        assert!(
            exported.contains(&id),
            "receipt {n}, acknowledged before the backup, is missing"
        );
    }
    // With the live server's newer head log, the older copy is recognised for what it is.
    std::fs::copy(
        dir.join("kelisim-heads.jsonl"),
        restored.join("kelisim-heads.jsonl"),
    )
    .unwrap();
    let (ok, printed) = verify(&restored);
    assert!(!ok && printed.contains("[truncated]"), "{printed}");
}
