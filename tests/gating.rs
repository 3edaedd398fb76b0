//! Browser tests of gating and the JS API: scripts, images and iframes stay inert until their
//! category (and service) is granted, run in document order and once, late-added elements are
//! handled, revocation clears cookies and storage, and events fire in the right order.

#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const TAGS: &str = r#"
<script type="text/plain" data-category="analytics" @ready="framework" :key="1">testLog.push('inline-1')</script>
<script type="text/plain" data-category="analytics" src="data:text/javascript,window.fromSrc='loaded';testLog.push('src-2')"></script>
<script type="text/plain" data-category="analytics">testLog.push('inline-3:' + window.fromSrc)</script>
<script type="text/plain" data-category="analytics" data-service="google-analytics">testLog.push('ga')</script>
<script type="text/plain" data-category="analytics" data-service="yandex-metrika">testLog.push('ym')</script>
<script type="text/plain" data-category="marketing">testLog.push('marketing')</script>
<script type="text/plain" data-category="!marketing">testLog.push('no-marketing')</script>
<script type="text/plain" data-category="analytics" data-type="module">testLog.push('module')</script>
<img id="pixel" data-category="marketing" data-src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="">
<iframe id="map" data-category="functional" data-service="2gis" data-src="about:blank#map"></iframe>
"#;

#[wasm_bindgen_test]
async fn nothing_runs_before_a_choice() {
    reset("kk");
    fixture(TAGS);
    init(&demo_config());
    wait(50).await;
    assert!(log().is_empty(), "ran before consent: {:?}", log());
    assert!(query("#pixel").unwrap().get_attribute("src").is_none());
    assert!(query("#map").unwrap().get_attribute("src").is_none());
}

#[wasm_bindgen_test]
async fn granted_scripts_run_in_document_order_once() {
    reset("kk");
    fixture(TAGS);
    init(&demo_config());
    kelisim::accept(js(&["analytics"]), JsValue::UNDEFINED);
    wait(100).await;
    assert_eq!(
        log(),
        [
            "inline-1",
            "src-2",
            "inline-3:loaded",
            "ga",
            "ym",
            "no-marketing",
            "module"
        ]
    );
    assert!(
        query("#pixel").unwrap().get_attribute("src").is_none(),
        "marketing image loaded"
    );
    // A later change grants more, but what already ran never runs again.
    kelisim::accept_all();
    wait(100).await;
    assert_eq!(log()[7..], ["marketing"]);
    assert!(query("#pixel").unwrap().get_attribute("src").is_some());
    assert_eq!(
        query("#map").unwrap().get_attribute("src").as_deref(),
        Some("about:blank#map")
    );
    kelisim::reject_all();
    kelisim::accept_all();
    wait(50).await;
    assert_eq!(log().len(), 8, "something ran twice: {:?}", log());
}

#[wasm_bindgen_test]
async fn services_are_gated_individually() {
    reset("kk");
    fixture(TAGS);
    init(&demo_config());
    kelisim::accept(js(&["analytics"]), js(&["yandex-metrika"]));
    wait(100).await;
    let log = log();
    assert!(
        log.contains(&"ym".to_string()) && !log.contains(&"ga".to_string()),
        "{log:?}"
    );
    assert!(
        log.contains(&"inline-1".to_string()),
        "category-only tags run once the category is granted"
    );
}

#[wasm_bindgen_test]
async fn stored_choice_activates_at_once_on_the_next_page() {
    reset("kk");
    init(&demo_config());
    kelisim::accept(js(&["functional"]), JsValue::UNDEFINED);
    // The "next page load": a fresh SDK over a fresh page with the cookie in place.
    kelisim::destroy();
    fixture(TAGS);
    init(&demo_config());
    wait(50).await;
    assert!(query("#kelisim").is_none());
    assert_eq!(
        query("#map").unwrap().get_attribute("src").as_deref(),
        Some("about:blank#map")
    );
    assert_eq!(log(), ["no-marketing"]);
}

#[wasm_bindgen_test]
async fn elements_added_later_are_handled() {
    reset("kk");
    init(&demo_config());
    let container = fixture("");
    container.set_inner_html(
        r#"<script type="text/plain" data-category="analytics">testLog.push('early')</script>"#,
    );
    kelisim::accept(js(&["analytics"]), JsValue::UNDEFINED);
    wait(20).await;
    assert_eq!(log(), ["early"]);
    // A tag manager or SPA route adds markup after the choice.
    let late = document().create_element("div").unwrap();
    late.set_inner_html(
        r#"<script type="text/plain" data-category="analytics">testLog.push('late')</script>
           <script type="text/plain" data-category="marketing">testLog.push('late-marketing')</script>"#,
    );
    container.append_child(&late).unwrap();
    wait(50).await;
    assert_eq!(log(), ["early", "late"]);
}

#[wasm_bindgen_test]
async fn revoking_clears_cookies_and_storage() {
    reset("kk");
    init(&demo_config());
    kelisim::accept_all();
    for name in [
        "_ga",
        "_ga_X1Y2Z3",
        "_gid",
        "_ym_uid",
        "_ym_d",
        "_fbp",
        "store_pref",
    ] {
        set_cookie(name, "1");
    }
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    storage.set_item("_ym_retryReqs", "x").unwrap();
    storage.set_item("cart", "y").unwrap();

    kelisim::accept(js(&["marketing"]), JsValue::UNDEFINED);
    for name in ["_ga", "_ga_X1Y2Z3", "_gid", "_ym_uid", "_ym_d"] {
        assert!(cookie(name).is_none(), "{name} survived revoking analytics");
    }
    assert_eq!(
        cookie("_fbp").as_deref(),
        Some("1"),
        "marketing is still granted"
    );
    assert_eq!(
        cookie("store_pref").as_deref(),
        Some("1"),
        "a cookie no service names was deleted"
    );
    assert!(storage.get_item("_ym_retryReqs").unwrap().is_none());
    assert_eq!(storage.get_item("cart").unwrap().as_deref(), Some("y"));
    assert!(
        cookie("kelisim").is_some(),
        "the consent cookie itself must stay"
    );
}

#[wasm_bindgen_test]
async fn events_and_withdrawal() {
    reset("kk");
    // What the loader's `kelisim.on` listens to (its own tests are in tests/e2e/events.js).
    let recorder = EventRecorder::new(&["ready", "shown", "consent", "change", "withdraw"]);
    init(&demo_config());
    click("[data-kelisim-action=accept-all]");
    kelisim::accept(js(&["analytics"]), JsValue::UNDEFINED);
    set_cookie("_fbp", "1");
    kelisim::withdraw();
    let consent_id = consent_field("consentId").as_string().unwrap();
    assert_eq!(consent_id.len(), 36);
    assert_eq!(strings(&consent_field("grantedCategories")), ["necessary"]);
    assert!(consent_field("timestamp")
        .as_string()
        .unwrap()
        .ends_with('Z'));
    assert!(consent_field("receiptId").is_null());
    assert_eq!(
        recorder.seen(),
        [
            "ready:",
            "shown:",
            "consent:accept_all",
            "change:custom",
            "withdraw:withdraw"
        ]
    );
    kelisim::destroy();
}

#[wasm_bindgen_test]
fn bad_api_input_changes_nothing() {
    reset("kk");
    init(&demo_config());
    kelisim::accept_all();
    let before = cookie("kelisim");
    assert!(
        !kelisim::accept(js(&["analitics"]), JsValue::UNDEFINED),
        "unknown category accepted"
    );
    assert!(!kelisim::accept(JsValue::from_f64(3.0), JsValue::UNDEFINED));
    assert!(!kelisim::accept(
        js(&["analytics"]),
        js(&["no-such-service"])
    ));
    assert_eq!(
        cookie("kelisim"),
        before,
        "a bad call changed the stored choice"
    );
    assert!(!init(&demo_config()), "a second init must be refused");
    assert_eq!(query_all("#kelisim").len(), 0);
}

#[wasm_bindgen_test]
fn consent_mode_update_is_sent_on_every_choice() {
    reset("kk");
    let data_layer = js_sys::Array::new();
    js_sys::Reflect::set(
        &web_sys::window().unwrap(),
        &"dataLayer".into(),
        &data_layer,
    )
    .unwrap();
    init_with(
        &demo_config(),
        js_sys::JSON::parse("{\"consentModeDefaults\":true}").unwrap(),
    );
    kelisim::accept(js(&["analytics"]), JsValue::UNDEFINED);
    kelisim::reject_all();
    let commands: Vec<(String, String, String)> = data_layer
        .iter()
        .filter_map(|entry| {
            let get = |i: u32| js_sys::Reflect::get(&entry, &JsValue::from(i)).ok();
            let signals = get(2)?;
            let analytics = js_sys::Reflect::get(&signals, &"analytics_storage".into())
                .ok()?
                .as_string()?;
            Some((get(0)?.as_string()?, get(1)?.as_string()?, analytics))
        })
        .collect();
    assert_eq!(
        commands,
        [
            ("consent".into(), "update".into(), "granted".into()),
            ("consent".into(), "update".into(), "denied".into())
        ]
    );
}

fn js(ids: &[&str]) -> JsValue {
    ids.iter()
        .map(|id| JsValue::from_str(id))
        .collect::<js_sys::Array>()
        .into()
}

#[wasm_bindgen_test]
async fn vendors_hear_every_choice() {
    reset("kk");
    let window = web_sys::window().unwrap();
    // A Meta Pixel already on the page: record what it is told.
    let calls = js_sys::Array::new();
    let fbq = Closure::<dyn Fn(JsValue, JsValue)>::new({
        let calls = calls.clone();
        move |command: JsValue, state: JsValue| {
            calls.push(&JsValue::from_str(&format!(
                "{}:{}",
                command.as_string().unwrap_or_default(),
                state.as_string().unwrap_or_default()
            )));
        }
    })
    .into_js_value();
    js_sys::Reflect::set(&window, &"fbq".into(), &fbq).unwrap();
    // A Metrika snippet gated on analytics reads its flag as it runs: already cleared.
    fixture(
        "<script type=\"text/plain\" data-category=\"analytics\">window.flagSeenByTag = window.disableYaCounter99999999;</script>",
    );
    init(&demo_config());
    kelisim::accept_all();
    let seen_by_tag = js_sys::Reflect::get(&window, &"flagSeenByTag".into()).unwrap();
    assert_eq!(
        seen_by_tag.as_bool(),
        Some(false),
        "the tag ran before the flag was cleared"
    );
    kelisim::accept(js(&["analytics"]), JsValue::UNDEFINED);
    let seen: Vec<String> = calls.iter().filter_map(|c| c.as_string()).collect();
    // Revoked before any choice (before it can track), granted, revoked again.
    assert_eq!(seen, ["consent:revoke", "consent:grant", "consent:revoke"]);
    // Yandex Metrika has no consent API: a refused counter is disabled by its flag.
    let flag = js_sys::Reflect::get(&window, &"disableYaCounter99999999".into()).unwrap();
    assert_eq!(
        flag.as_bool(),
        Some(false),
        "Metrika is granted with analytics"
    );
    kelisim::reject_all();
    let flag = js_sys::Reflect::get(&window, &"disableYaCounter99999999".into()).unwrap();
    assert_eq!(flag.as_bool(), Some(true));
    js_sys::Reflect::delete_property(&window, &"fbq".into()).unwrap();
}

#[wasm_bindgen_test]
async fn cookies_written_again_after_revoking_are_cleared_again() {
    reset("kk");
    init(&demo_config());
    kelisim::accept_all();
    kelisim::reject_all();
    // A vendor timer writes its cookie again just after the refusal.
    set_cookie("_ga", "GA1.1.late");
    set_cookie("_ym_uid", "late");
    wait(1_800).await;
    assert!(cookie("_ga").is_none(), "_ga came back and stayed");
    assert!(cookie("_ym_uid").is_none(), "_ym_uid came back and stayed");
}

#[wasm_bindgen_test]
async fn blocked_embeds_show_a_placeholder_with_load_once_and_always_allow() {
    reset("ru");
    fixture(
        r#"<iframe id="map" data-category="functional" data-service="2gis" data-src="about:blank#map" width="400" height="300"></iframe>
           <iframe id="map2" data-category="functional" data-service="2gis" data-src="about:blank#map2"></iframe>"#,
    );
    init(&demo_config());
    let placeholders = query_all(".kelisim-embed");
    assert_eq!(placeholders.len(), 2, "one placeholder per blocked embed");
    let notice = placeholders[0].text_content().unwrap();
    assert!(
        notice.contains("2ГИС") && notice.contains("Россия"),
        "{notice}"
    );
    assert!(query("#map")
        .unwrap()
        .unchecked_into::<web_sys::HtmlElement>()
        .hidden());

    // Load once: this embed only, no consent recorded.
    placeholders[0]
        .query_selector("[data-kelisim-embed-action=load-once]")
        .unwrap()
        .unwrap()
        .unchecked_into::<web_sys::HtmlElement>()
        .click();
    assert_eq!(
        query("#map").unwrap().get_attribute("src").as_deref(),
        Some("about:blank#map")
    );
    assert!(!query("#map")
        .unwrap()
        .unchecked_into::<web_sys::HtmlElement>()
        .hidden());
    assert_eq!(query_all(".kelisim-embed").len(), 1);
    assert!(cookie("kelisim").is_none(), "load once is not consent");

    // Always allow: grants the service, loads its other embeds.
    click(".kelisim-embed [data-kelisim-embed-action=always-allow]");
    wait(20).await;
    assert!(kelisim::accepted_service("2gis"));
    assert!(!kelisim::accepted("analytics"), "nothing else is granted");
    assert_eq!(
        query("#map2").unwrap().get_attribute("src").as_deref(),
        Some("about:blank#map2")
    );
    assert!(query_all(".kelisim-embed").is_empty());
}

/// Microsoft Clarity (`consentv2`), Microsoft UET (`consent default/update`) and the TikTok
/// Pixel (`holdConsent`, `grantConsent`, `revokeConsent`) hear every choice.
#[wasm_bindgen_test]
async fn clarity_uet_and_tiktok_hear_every_choice() {
    reset("kk");
    let window = web_sys::window().unwrap();
    for name in ["clarity", "uetq", "ttq"] {
        js_sys::Reflect::delete_property(&window, &name.into()).unwrap();
    }
    // A TikTok Pixel already on the page: record what it is told.
    let tiktok_calls = js_sys::Array::new();
    let ttq = js_sys::Object::new();
    for method in ["holdConsent", "grantConsent", "revokeConsent"] {
        let calls = tiktok_calls.clone();
        let record = Closure::<dyn Fn()>::new(move || {
            calls.push(&JsValue::from_str(method));
        })
        .into_js_value();
        js_sys::Reflect::set(&ttq, &method.into(), &record).unwrap();
    }
    js_sys::Reflect::set(&window, &"ttq".into(), &ttq).unwrap();

    let config = demo_config();
    let service = |id: &str, vendor: &str, country: &str| {
        js_sys::JSON::parse(&format!(
            r#"{{"id": "{id}", "name": "{id}", "data": ["cookie_ids"], "country": "{country}", "vendor": "{vendor}"}}"#
        ))
        .unwrap()
    };
    let services = |category: &str| {
        js_sys::Reflect::get(
            &js_sys::Reflect::get(&config, &"categories".into()).unwrap(),
            &category.into(),
        )
        .and_then(|category| js_sys::Reflect::get(&category, &"services".into()))
        .unwrap()
        .unchecked_into::<js_sys::Array>()
    };
    services("1").push(&service("clarity", "microsoft-clarity", "US"));
    services("2").push(&service("bing-ads", "microsoft-uet", "US"));
    services("2").push(&service("tiktok", "tiktok-pixel", "SG"));
    assert!(init(&config));

    // Clarity's and UET's queues, as their tags would read them when they load.
    let clarity_calls = || -> Vec<String> {
        let clarity = js_sys::Reflect::get(&window, &"clarity".into()).unwrap();
        let queue: js_sys::Array = js_sys::Reflect::get(&clarity, &"q".into())
            .unwrap()
            .unchecked_into();
        queue
            .iter()
            .map(|arguments| {
                let get = |index: u32| js_sys::Reflect::get(&arguments, &index.into()).unwrap();
                let field = |name: &str| {
                    js_sys::Reflect::get(&get(1), &name.into())
                        .unwrap()
                        .as_string()
                        .unwrap_or_default()
                };
                format!(
                    "{} ad={} analytics={}",
                    get(0).as_string().unwrap_or_default(),
                    field("ad_Storage"),
                    field("analytics_Storage")
                )
            })
            .collect()
    };
    let uet_calls = || -> Vec<String> {
        let queue: js_sys::Array = js_sys::Reflect::get(&window, &"uetq".into())
            .unwrap()
            .unchecked_into();
        let items: Vec<JsValue> = queue.iter().collect();
        items
            .chunks(3)
            .map(|call| {
                let ad = js_sys::Reflect::get(&call[2], &"ad_storage".into())
                    .unwrap()
                    .as_string()
                    .unwrap_or_default();
                format!(
                    "{} {} ad_storage={ad}",
                    call[0].as_string().unwrap_or_default(),
                    call[1].as_string().unwrap_or_default()
                )
            })
            .collect()
    };
    let tiktok = || -> Vec<String> { tiktok_calls.iter().filter_map(|c| c.as_string()).collect() };

    // Before any choice: nothing granted, TikTok held.
    assert_eq!(clarity_calls(), ["consentv2 ad=denied analytics=denied"]);
    assert_eq!(uet_calls(), ["consent default ad_storage=denied"]);
    assert_eq!(tiktok(), ["holdConsent"]);

    kelisim::accept_all();
    assert_eq!(
        clarity_calls()[1..],
        ["consentv2 ad=granted analytics=granted"]
    );
    assert_eq!(uet_calls()[1..], ["consent update ad_storage=granted"]);
    assert_eq!(tiktok()[1..], ["grantConsent"]);

    // Analytics only: Clarity keeps analytics, loses ads; UET and TikTok are refused.
    kelisim::accept(js(&["analytics"]), JsValue::UNDEFINED);
    assert_eq!(
        clarity_calls()[2..],
        ["consentv2 ad=denied analytics=granted"]
    );
    assert_eq!(uet_calls()[2..], ["consent update ad_storage=denied"]);
    assert_eq!(tiktok()[2..], ["revokeConsent"]);
    for name in ["clarity", "uetq", "ttq"] {
        js_sys::Reflect::delete_property(&window, &name.into()).unwrap();
    }
}
