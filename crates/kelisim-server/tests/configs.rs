//! Compiled configs on the real binary: `config check` and `config build`, a sites file that
//! names a config (served at `/v1/config/{site}/{language}` with an ETag, archived before it
//! is served), a config edited while serving (a new `config_id`, later receipts point to it,
//! both archived), the texts a receipt attests in its look-up, and `verify` on the archive.

mod common;

use common::binary::*;
use common::receipt;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

fn demo_config(site: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join("www/kelisim.json")).unwrap();
    let mut config: Value = serde_json::from_str(&text).unwrap();
    config["site"] = site.into();
    serde_json::to_string_pretty(&config).unwrap()
}

/// The compiled config of `text` in `language`.
fn compiled_in(text: &str, language: &str) -> kelisim_core::compile::CompiledConfig {
    kelisim_core::compile::compile_text(text)
        .unwrap()
        .into_iter()
        .find(|config| config.language == language)
        .unwrap()
}

fn get(base: &str, path: &str, headers: &[(&str, &str)]) -> (u16, ureq::Response) {
    let mut request = ureq::get(&format!("{base}{path}")).timeout(Duration::from_secs(5));
    for (name, value) in headers {
        request = request.set(name, value);
    }
    match request.call() {
        Ok(response) => (response.status(), response),
        Err(ureq::Error::Status(status, response)) => (status, response),
        Err(error) => panic!("{path}: {error}"),
    }
}

fn config_of(base: &str, language: &str) -> Value {
    let (status, response) = get(base, &format!("/v1/config/glazik-kz/{language}"), &[]);
    assert_eq!(status, 200, "{language}");
    serde_json::from_str(&response.into_string().unwrap()).unwrap()
}

fn post_with_config(base: &str, n: u32, config_id: &str) -> Value {
    let mut body = receipt(n);
    body["config_id"] = config_id.into();
    let response = ureq::post(&format!("{base}/v1/receipts"))
        .set("origin", "https://glazik.kz")
        .timeout(Duration::from_secs(5))
        .send_string(&body.to_string())
        .expect("201");
    assert_eq!(response.status(), 201);
    serde_json::from_str(&response.into_string().unwrap()).unwrap()
}

fn look_up(base: &str, n: u32) -> Value {
    let id = receipt(n)["receipt_id"].as_str().unwrap().to_owned();
    let (status, response) = get(
        base,
        &format!("/v1/receipts/{id}"),
        &[("authorization", &format!("Bearer {TOKEN}"))],
    );
    assert_eq!(status, 200);
    serde_json::from_str(&response.into_string().unwrap()).unwrap()
}

/// The DPO's dashboard page for a consent or receipt id, in Russian, signed in with `token`.
fn dpo_page(base: &str, token: &str, id: &str) -> String {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let login = agent
        .post(&format!("{base}/dashboard/login?lang=ru"))
        .set("origin", base)
        .send_form(&[("token", token)]);
    let response = match login {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(error) => panic!("login: {error}"),
    };
    let cookie = response
        .header("set-cookie")
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    agent
        .get(&format!("{base}/dashboard?lang=ru&id={id}"))
        .set("cookie", &cookie)
        .call()
        .expect("the page")
        .into_string()
        .unwrap()
}

#[test]
fn config_check_lists_every_problem_and_build_writes_cacheable_files() {
    let dir = temp_dir("config-cli");
    let good = dir.join("kelisim.json");
    std::fs::write(&good, demo_config("glazik-kz")).unwrap();
    let (ok, printed) = run(&["config", "check", good.to_str().unwrap()]);
    assert!(ok, "{printed}");
    assert!(printed.contains("ok: site `glazik-kz`"), "{printed}");

    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        "{\n  \"site\": \"glazik-kz\",\n  \"operater\": {},\n  \"policy\": {\"version\": \"1\", \"url\": {\"kk\": \"/privacy\"}},\n  \"categories\": [{\"id\": \"analytics\", \"services\": [{\"id\": \"ga\", \"name\": \"GA\", \"country\": \"Russia\"}]}]\n}\n",
    )
    .unwrap();
    let (ok, printed) = run(&["config", "check", bad.to_str().unwrap()]);
    assert!(!ok);
    let bad_name = bad.display().to_string();
    assert!(
        printed.contains(&format!("{bad_name}:3:3: `operater` is not a known field"))
            && printed.contains("(did you mean `operator`?)"),
        "{printed}"
    );
    assert!(
        printed.contains("`categories[0].services[0].country` \"Russia\"")
            && printed.contains("(did you mean `RU`?)"),
        "{printed}"
    );
    assert!(
        printed.contains("problems found; nothing was compiled"),
        "{printed}"
    );

    let out = dir.join("out");
    let build = |extra: &[&str]| {
        let mut args = vec![
            "config",
            "build",
            good.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let (ok, printed) = build(&[]);
    assert!(ok, "{printed}");
    let folders = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&out)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect()
    };
    let folder = folders().pop().unwrap();
    let name = folder.file_name().unwrap().to_str().unwrap().to_owned();
    assert!(name.starts_with("glazik-kz-") && name.len() == "glazik-kz-".len() + 16);
    for language in ["kk", "ru", "en", "default"] {
        let text = std::fs::read_to_string(folder.join(format!("{language}.json"))).unwrap();
        let expected = if language == "default" {
            "kk"
        } else {
            language
        };
        // What a browser gets: the compiled config less what only its layers show.
        let compiled = compiled_in(&std::fs::read_to_string(&good).unwrap(), expected);
        assert_eq!(text, compiled.to_browser_json());
        // Beside it the same bytes in brotli and gzip, for a server that sends those.
        let path = folder.join(format!("{language}.json"));
        assert_eq!(decompressed(&path, "br"), text.as_bytes());
        assert_eq!(decompressed(&path, "gz"), text.as_bytes());
        assert!(text.len() < compiled.to_json().len());
        // The forms of each offered language beside its body, where its `forms_href` says.
        if language != "default" {
            let href = compiled.forms_href().unwrap();
            assert!(text.contains(&format!("\"forms_href\":\"{href}\"")));
            let forms = std::fs::read_to_string(folder.join(href)).unwrap();
            assert_eq!(Some(forms), compiled.to_forms_json());
            let href = compiled.preferences_href().unwrap();
            assert!(text.contains(&format!("\"preferences_href\":\"{href}\"")));
            let preferences = std::fs::read_to_string(folder.join(&href)).unwrap();
            assert_eq!(
                decompressed(&folder.join(&href), "gz"),
                preferences.as_bytes()
            );
            assert_eq!(Some(preferences), compiled.to_preferences_json());
        }
    }
    // `--db` archives into a database that exists, and never creates one.
    let url = db_url(&dir);
    let (ok, printed) = build(&["--db", &url]);
    assert!(!ok && printed.contains("no database at"), "{printed}");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        kelisim_server::store::Store::open(&url)
            .await
            .unwrap()
            .close()
            .await;
    });
    let (ok, printed) = build(&["--db", &url]);
    assert!(
        ok && printed.contains("archived 3 new compiled configs"),
        "{printed}"
    );
    // The same config builds into the same folder, and is archived once.
    let (ok, printed) = build(&["--db", &url]);
    assert!(ok && printed.contains("archived 0 new"), "{printed}");
    assert_eq!(folders(), [folder]);
}

#[test]
fn served_configs_are_archived_and_receipts_show_the_texts_they_attest() {
    let dir = temp_dir("config-serve");
    let config_path = dir.join("kelisim.json");
    std::fs::write(&config_path, demo_config("glazik-kz")).unwrap();
    let sites = r#"{"sites": [{"id": "glazik-kz", "origins": ["https://glazik.kz"], "config": "kelisim.json"}]}"#;
    std::fs::write(dir.join("sites.json"), sites).unwrap();
    let key = dir.join("signing.key").display().to_string();
    let (ok, printed) = add_credential(&key, "aigerim", "dpo");
    assert!(ok, "{printed}");
    let dpo_token = printed.lines().next().unwrap().trim().to_owned();
    let port = free_port();
    let server = start(&dir, port);
    let base = server.base.clone();

    let ru = config_of(&base, "ru");
    assert_eq!(ru["format"], "kelisim-compiled/1");
    assert_eq!(ru["language"], "ru");
    assert_eq!(config_of(&base, "default")["language"], "kk");
    let first_id = ru["config_id"].as_str().unwrap().to_owned();
    let (status, response) = get(&base, "/v1/config/glazik-kz/ru", &[]);
    assert_eq!(status, 200);
    let etag = response.header("etag").unwrap().to_owned();
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        response.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let body = response.into_string().unwrap();
    assert_eq!(
        etag,
        format!("\"{}\"", kelisim_core::compile::sha256_hex(&body))
    );
    let (status, _) = get(
        &base,
        "/v1/config/glazik-kz/ru",
        &[("if-none-match", &etag)],
    );
    assert_eq!(status, 304);
    // Brotli, or gzip, when the browser accepts it: the same bytes, each form with its own
    // ETag, and `Vary: Accept-Encoding` on every form.
    for (accept, coding) in [
        ("gzip, deflate, br, zstd", "br"),
        ("gzip;q=1.0, br;q=0", "gzip"),
        ("deflate", ""),
    ] {
        let (status, response) = get(
            &base,
            "/v1/config/glazik-kz/ru",
            &[("accept-encoding", accept)],
        );
        assert_eq!(status, 200, "{accept}");
        assert_eq!(response.header("vary"), Some("accept-encoding"), "{accept}");
        assert_eq!(response.header("content-encoding").unwrap_or(""), coding);
        let coded_etag = response.header("etag").unwrap().to_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut response.into_reader(), &mut bytes).unwrap();
        if coding.is_empty() {
            assert_eq!(coded_etag, etag);
            assert_eq!(bytes, body.as_bytes());
            continue;
        }
        assert_eq!(
            coded_etag,
            format!("{}-{coding}\"", etag.trim_end_matches('"'))
        );
        assert_eq!(decode(&bytes, coding), body.as_bytes(), "{accept}");
        assert!(bytes.len() < body.len() / 2, "{accept}");
        let (status, _) = get(
            &base,
            "/v1/config/glazik-kz/ru",
            &[("accept-encoding", accept), ("if-none-match", &coded_etag)],
        );
        assert_eq!(status, 304, "{accept}");
    }
    let (status, response) = get(&base, "/v1/config/glazik-kz/de", &[]);
    assert_eq!(status, 400);
    assert!(response.into_string().unwrap().contains("language"));
    assert_eq!(get(&base, "/v1/config/other-site/ru", &[]).0, 404);
    // The forms document beside the body, at its `forms_href`, cacheable the same way.
    assert_eq!(ru["forms_href"], "ru.forms.json");
    let (status, response) = get(&base, "/v1/config/glazik-kz/ru.forms.json", &[]);
    assert_eq!(status, 200);
    assert!(response.header("etag").is_some());
    let forms: Value = serde_json::from_str(&response.into_string().unwrap()).unwrap();
    assert_eq!(forms["config_id"], first_id.as_str());
    assert_eq!(forms["forms"][0]["id"], "signup");
    // Each form with the block it shows, its statement written in.
    assert!(forms["forms"][0]["block"]
        .to_string()
        .contains("kelisim-form-consent"));
    assert_eq!(get(&base, "/v1/config/glazik-kz/de.forms.json", &[]).0, 404);
    // So is the preferences dialog's, fetched when the visitor opens it.
    assert_eq!(ru["preferences_href"], "ru.preferences.json");
    assert!(ru["layers"].get("preferences").is_none());
    let (status, response) = get(&base, "/v1/config/glazik-kz/ru.preferences.json", &[]);
    assert_eq!(status, 200);
    let preferences: Value = serde_json::from_str(&response.into_string().unwrap()).unwrap();
    assert_eq!(preferences["config_id"], first_id.as_str());
    assert!(preferences["preferences"].is_array());

    post_with_config(&base, 1, &first_id);
    let answer = look_up(&base, 1);
    assert_eq!(answer["config"]["archived"], true);
    assert_eq!(answer["config"]["compiled"]["config_id"], first_id.as_str());
    assert_eq!(
        answer["config"]["compiled"]["texts"]["accept_all"],
        "Принять все"
    );

    // The store edits its config and reloads: a new id, served and archived; the old one
    // stays in the archive for the receipts made with it.
    let edited = demo_config("glazik-kz").replacen("\"revision\": ", "\"revision\": 1", 1);
    std::fs::write(&config_path, edited).unwrap();
    let pid = server.child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let second_id = loop {
        let id = config_of(&base, "ru")["config_id"]
            .as_str()
            .unwrap()
            .to_owned();
        if id != first_id {
            break id;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the reload did not happen"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    post_with_config(&base, 2, &second_id);
    assert_eq!(
        look_up(&base, 2)["config"]["compiled"]["config_id"],
        second_id.as_str()
    );
    assert_eq!(
        look_up(&base, 1)["config"]["compiled"]["config_id"],
        first_id.as_str()
    );

    // A receipt naming a config the archive does not hold: accepted, and `verify` says so.
    post_with_config(&base, 3, &"0".repeat(64));
    assert_eq!(look_up(&base, 3)["config"]["archived"], false);
    // The DPO's page shows, under each receipt, the texts its visitor saw (from the archive),
    // or says that the archive lacks them.
    let page = dpo_page(
        &base,
        &dpo_token,
        receipt(1)["consent_id"].as_str().unwrap(),
    );
    assert!(
        page.contains("Тексты, которые видел посетитель")
            && page.contains("Мы используем файлы cookie")
            && page.contains("Принять все")
            && page.contains(&first_id),
        "{page}"
    );
    let page = dpo_page(
        &base,
        &dpo_token,
        receipt(2)["receipt_id"].as_str().unwrap(),
    );
    assert!(page.contains(&second_id), "{page}");
    let page = dpo_page(
        &base,
        &dpo_token,
        receipt(3)["receipt_id"].as_str().unwrap(),
    );
    assert!(page.contains("нет в архиве"), "{page}");
    // A form receipt's visitor saw the form's consent block, not the banner: the page shows
    // the block the archive holds, checkboxes as boxes, nothing of it live.
    let mut form = receipt(5);
    form["config_id"] = first_id.as_str().into();
    form["action"] = "form".into();
    form["method"] = "form:submit".into();
    form["form_id"] = "signup".into();
    form["granted_purposes"] = serde_json::json!(["account"]);
    form["denied_purposes"] = serde_json::json!(["sms", "email-news", "telegram"]);
    let response = ureq::post(&format!("{base}/v1/receipts"))
        .set("origin", "https://glazik.kz")
        .send_string(&form.to_string())
        .expect("201");
    assert_eq!(response.status(), 201);
    let page = dpo_page(&base, &dpo_token, form["receipt_id"].as_str().unwrap());
    // The page lists the consent's history; the form receipt's row (its id's last place on
    // the page, the search box holding it too), then what it attests.
    let statement = page
        .rsplit(form["receipt_id"].as_str().unwrap())
        .next()
        .and_then(|row| row.split("Тексты, которые видел посетитель").nth(1))
        .and_then(|seen| seen.split("</td>").next())
        .expect("the texts seen");
    assert!(
        statement.contains("\u{2610}")
            && statement.contains("Я даю согласие")
            && statement.contains("Telegram Messenger Inc.")
            && statement.contains("form <code>signup</code>")
            && !statement.contains("Мы используем файлы cookie")
            && !statement.contains("<input")
            && !statement.contains("Чтобы продолжить"),
        "{statement}"
    );
    // A malformed id is refused, naming the field.
    let mut body = receipt(4);
    body["config_id"] = "not-a-hash".into();
    match ureq::post(&format!("{base}/v1/receipts"))
        .set("origin", "https://glazik.kz")
        .send_string(&body.to_string())
    {
        Err(ureq::Error::Status(400, response)) => {
            assert!(response.into_string().unwrap().contains("config_id"))
        }
        other => panic!("{other:?}"),
    }
    server.stop();

    let (ok, printed) = verify(&dir);
    assert!(ok, "{printed}");
    assert!(
        printed.contains("4 receipts name a compiled config; 3 of them one the archive holds")
            && printed.contains(&format!(
                "its compiled config {} is not in the archive",
                "0".repeat(64)
            )),
        "{printed}"
    );

    // An archived config edited in the database: `verify` fails, the look-up answers 500.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = kelisim_server::store::Store::open_existing(&db_url(&dir))
            .await
            .unwrap();
        let edit = "UPDATE config_archive SET body = replace(body, 'Принять все', 'Принять всё')";
        assert!(
            store.execute_raw(edit).await.is_err(),
            "the archive refuses an update"
        );
        store
            .execute_raw("DROP TRIGGER config_archive_is_append_only")
            .await
            .unwrap();
        assert!(store.execute_raw(edit).await.unwrap() > 0);
        store.close().await;
    });
    let (ok, printed) = verify(&dir);
    assert!(
        !ok && printed.contains("[archived config edited]"),
        "{printed}"
    );

    // A sites file whose config does not compile: the server does not start, and says why.
    std::fs::write(&config_path, "{\"site\": \"glazik-kz\"}").unwrap();
    let (ok, printed) = run(&[
        "serve",
        "--listen",
        &format!("127.0.0.1:{}", free_port()),
        "--db",
        &db_url(&dir),
        "--sites",
        dir.join("sites.json").to_str().unwrap(),
        "--key",
        dir.join("signing.key").to_str().unwrap(),
        "--admin-token-file",
        dir.join("missing-token").to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        printed.contains("a site's config does not compile")
            && printed.contains("`operator` is missing"),
        "{printed}"
    );
}

/// The file beside `path` ending in `.br` or `.gz` (`extension`), decompressed.
fn decompressed(path: &std::path::Path, extension: &str) -> Vec<u8> {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{extension}"));
    let file = std::fs::read(&name).unwrap_or_else(|e| panic!("{name:?}: {e}"));
    decode(&file, extension)
}

/// `bytes` decompressed from brotli (`br`) or gzip (`gz`, `gzip`).
fn decode(bytes: &[u8], coding: &str) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    match coding {
        "br" => brotli::Decompressor::new(bytes, 4096)
            .read_to_end(&mut out)
            .unwrap(),
        _ => flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .unwrap(),
    };
    out
}
