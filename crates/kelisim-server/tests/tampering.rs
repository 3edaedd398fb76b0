//! Whoever holds the database, against the real binaries: receipts stored over HTTP by
//! `kelisim-server serve`, the SQLite file then edited as an attacker would, and `verify`,
//! `purge` and `serve` run on it. Each kind of tampering is caught and named; nothing is
//! purged or signed over it.

mod common;

use common::binary::*;

const RECEIPTS: u32 = 12;

/// A folder with `RECEIPTS` receipts of glazik-kz stored by a server that then stopped as an
/// operator stops it (its head log written).
fn stored(name: &str) -> std::path::PathBuf {
    let dir = temp_dir(name);
    let server = start(&dir, free_port());
    for n in 1..=RECEIPTS {
        assert!(post(&server.base, n), "receipt {n} stored");
    }
    server.stop();
    assert!(
        dir.join("kelisim-heads.jsonl").exists(),
        "the head log is kept beside the key"
    );
    dir
}

async fn tamper(dir: &std::path::Path, statements: &[&str]) {
    let store = kelisim_server::store::Store::open_existing(&db_url(dir))
        .await
        .unwrap();
    for statement in statements {
        assert!(
            store.execute_raw(statement).await.unwrap() > 0,
            "tampering changed nothing: {statement}"
        );
    }
    store.close().await;
}

/// `verify` fails, naming the kind of tampering and the first bad receipt.
fn assert_caught(dir: &std::path::Path, kind: &str, words: &[&str]) {
    let (ok, printed) = verify_with(dir, &[]);
    assert!(!ok, "verify passed a tampered database:\n{printed}");
    assert!(printed.contains(&format!("[{kind}]")), "{printed}");
    for word in words {
        assert!(printed.contains(word), "no {word:?} in:\n{printed}");
    }
}

#[test]
fn a_clean_database_verifies_against_its_head_log() {
    let dir = stored("clean");
    let (ok, printed) = verify_with(&dir, &[]);
    assert!(ok, "{printed}");
    assert!(
        printed.contains(
            "site glazik-kz: 12 receipts verified; the signed heads vouch for receipts up to 12"
        ),
        "{printed}"
    );
}

#[tokio::test]
async fn cutting_the_newest_receipts_and_moving_the_head_back_is_caught() {
    let dir = stored("truncated");
    tamper(
        &dir,
        &[
            "DELETE FROM receipts WHERE seq > 9",
            "UPDATE chain_heads SET seq = 9, hash = (SELECT hash FROM receipts WHERE seq = 9)",
        ],
    )
    .await;
    assert_caught(
        &dir,
        "truncated",
        &[
            "receipt 10",
            "receipts 10 to 12 deleted",
            "first bad sequence number: 10",
        ],
    );
    // Nor will the server extend the cut chain and sign over the gap.
    let (started, printed) = run(&[
        "serve",
        "--listen",
        &format!("127.0.0.1:{}", free_port()),
        "--db",
        &db_url(&dir),
        "--key",
        &dir.join("signing.key").display().to_string(),
        "--sites",
        &dir.join("sites.json").display().to_string(),
    ]);
    assert!(!started, "serve started on a cut database:\n{printed}");
    assert!(
        printed.contains("does not hold receipt 12 of site glazik-kz"),
        "{printed}"
    );
}

#[tokio::test]
async fn deleting_the_last_receipt_with_its_head_row_is_caught() {
    let dir = stored("last-and-head");
    tamper(
        &dir,
        &[
            "DELETE FROM receipts WHERE seq = 12",
            "DELETE FROM chain_heads",
        ],
    )
    .await;
    assert_caught(&dir, "truncated", &["receipt 12"]);
}

#[tokio::test]
async fn deleting_a_whole_site_is_caught() {
    let dir = stored("whole-site");
    tamper(&dir, &["DELETE FROM receipts", "DELETE FROM chain_heads"]).await;
    assert_caught(
        &dir,
        "truncated",
        &["site glazik-kz", "receipts 1 to 12 deleted"],
    );
}

#[tokio::test]
async fn an_edited_consent_id_column_is_caught() {
    let dir = stored("consent-column");
    // Hides receipt 12 from its consent's history (look-ups go by the column).
    tamper(
        &dir,
        &["UPDATE receipts SET consent_id = '99999999-9999-4999-8999-999999999999' WHERE seq = 12"],
    )
    .await;
    assert_caught(&dir, "column edited", &["receipt 12", "consent_id column"]);
}

#[tokio::test]
async fn an_edited_server_time_is_caught_and_purge_refuses_to_delete() {
    let dir = stored("server-time");
    tamper(
        &dir,
        &["UPDATE receipts SET server_time = '2020-06-01T00:00:00Z'"],
    )
    .await;
    assert_caught(&dir, "column edited", &["receipt 1", "server_time column"]);
    let (purged, printed) = run(&[
        "purge",
        "--db",
        &db_url(&dir),
        "--key",
        &dir.join("signing.key").display().to_string(),
        "--sites",
        &dir.join("sites.json").display().to_string(),
        "--before",
        "2021-01-01",
    ]);
    assert!(!purged, "purge went on:\n{printed}");
    assert!(printed.contains("refusing to purge"), "{printed}");
    let store = kelisim_server::store::Store::open_existing(&db_url(&dir))
        .await
        .unwrap();
    assert_eq!(store.chain_rows().await.unwrap().len(), RECEIPTS as usize);
    assert!(
        store.checkpoints().await.unwrap().is_empty(),
        "no checkpoint signed"
    );
}

#[test]
fn an_edited_head_log_is_caught() {
    let dir = stored("edited-log");
    let log = dir.join("kelisim-heads.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::write(&log, text.replace("\"seq\":12", "\"seq\":20")).unwrap();
    assert_caught(
        &dir,
        "signed head mismatch",
        &["does not verify with this key"],
    );
}

#[test]
fn verify_without_signed_heads_refuses_unless_told() {
    let dir = stored("no-heads");
    std::fs::remove_file(dir.join("kelisim-heads.jsonl")).unwrap();
    let (ok, printed) = verify_with(&dir, &[]);
    assert!(!ok, "{printed}");
    assert!(printed.contains("no signed chain heads"), "{printed}");
    let (ok, printed) = verify_with(&dir, &["--without-heads"]);
    assert!(ok, "{printed}");
    assert!(printed.contains("not checked"), "{printed}");
}

#[test]
fn verify_export_and_purge_refuse_a_database_that_does_not_exist() {
    let dir = temp_dir("typo");
    let typo = format!("sqlite://{}", dir.join("kelisim-typo.db").display());
    let key = dir.join("signing.key").display().to_string();
    let sites = dir.join("sites.json").display().to_string();
    for args in [
        vec!["verify", "--db", &typo, "--key", &key, "--without-heads"],
        vec!["export", "--db", &typo],
        vec![
            "purge",
            "--db",
            &typo,
            "--sites",
            &sites,
            "--before",
            "2020-01-01",
        ],
    ] {
        let (ok, printed) = run(&args);
        assert!(!ok, "{args:?}:\n{printed}");
        assert!(!dir.join("kelisim-typo.db").exists(), "{args:?} created it");
    }
}

fn serve_args<'a>(dir: &'a std::path::Path, key: &'a str, port: u16) -> Vec<String> {
    vec![
        "serve".into(),
        "--listen".into(),
        format!("127.0.0.1:{port}"),
        "--db".into(),
        db_url(dir),
        "--key".into(),
        key.into(),
        "--sites".into(),
        dir.join("sites.json").display().to_string(),
    ]
}

#[tokio::test]
async fn another_key_is_refused_until_a_rotation_hands_over_to_it() {
    let dir = stored("rotation");
    let old_key = dir.join("signing.key").display().to_string();
    let new_key = dir.join("new.key").display().to_string();
    // The database restored without its key: no new key is made for it.
    let missing = dir.join("missing.key").display().to_string();
    let args = serve_args(&dir, &missing, free_port());
    let (started, printed) = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!started && printed.contains("no signing key"), "{printed}");
    assert!(
        !dir.join("missing.key").exists(),
        "a key was made for a signed database"
    );
    // Another key that exists: refused too.
    std::fs::copy(&old_key, dir.join("copy.key")).unwrap();
    let other = dir.join("other.key");
    kelisim_server::chain::write_private(&other, &"07".repeat(32)).unwrap();
    let args = serve_args(&dir, other.to_str().unwrap(), free_port());
    let (started, printed) = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        !started && printed.contains("was not signed by this signing key"),
        "{printed}"
    );
    // A rotation, then the server runs with the new key and the whole chain verifies with it.
    let (ok, printed) = run(&[
        "rotate-key",
        "--db",
        &db_url(&dir),
        "--key",
        &old_key,
        "--new-key",
        &new_key,
    ]);
    assert!(ok, "{printed}");
    assert!(printed.contains("receipt 13 of glazik-kz"), "{printed}");
    let port = free_port();
    let child = std::process::Command::new(BINARY)
        .args(serve_args(&dir, &new_key, port))
        .env("KELISIM_ADMIN_TOKEN", TOKEN)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let server = up(child, port);
    for n in 13..=15 {
        assert!(post(&server.base, n));
    }
    server.stop();
    let (ok, printed) = run(&["verify", "--db", &db_url(&dir), "--key", &new_key]);
    assert!(ok, "{printed}");
    assert!(
        printed.contains("15 receipts verified; the signed heads vouch for receipts up to 15"),
        "{printed}"
    );
    // The rotation is signed: moving where the new key starts is caught.
    tamper(
        &dir,
        &["UPDATE key_rotations SET starts = '{\"glazik-kz\":10}'"],
    )
    .await;
    let (ok, printed) = run(&["verify", "--db", &db_url(&dir), "--key", &new_key]);
    assert!(
        !ok && printed.contains("not signed by both of its keys"),
        "{printed}"
    );
}

#[test]
fn purge_needs_the_sites_file_and_says_what_it_did() {
    let dir = stored("purge-report");
    let key = dir.join("signing.key").display().to_string();
    let (purged, printed) = run(&[
        "purge",
        "--db",
        &db_url(&dir),
        "--key",
        &key,
        "--before",
        "2020-01-01",
    ]);
    assert!(!purged, "purge ran without a sites file:\n{printed}");
    assert!(printed.contains("purge needs the sites file"), "{printed}");
    let sites = dir.join("sites.json").display().to_string();
    let (purged, printed) = run(&[
        "purge",
        "--db",
        &db_url(&dir),
        "--key",
        &key,
        "--sites",
        &sites,
        "--before",
        "2020-01-01",
    ]);
    assert!(purged, "{printed}");
    assert!(
        printed
            .contains("site glazik-kz: nothing to purge (no receipt was stored before 2020-01-01"),
        "{printed}"
    );
}

#[test]
fn a_database_password_on_the_command_line_is_refused() {
    for command in ["serve", "verify", "export"] {
        let (ok, printed) = run(&[
            command,
            "--db",
            "postgres://kelisim:secret@127.0.0.1:1/kelisim",
        ]);
        assert!(!ok, "{command} took a password on the command line");
        assert!(printed.contains("KELISIM_DB"), "{command}: {printed}");
    }
}
