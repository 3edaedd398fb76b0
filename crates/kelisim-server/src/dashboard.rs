//! The dashboard at `/dashboard`, its parts shared by every role's page: the UI language, HTML
//! escaping, the page frame and stylesheet, the sign-in page (any role's token opens an
//! HttpOnly session), the DPO's consent look-up and the page for a role without one.
//! Server-rendered, no script, so no CSP exception. The marketer's page is `marketing`.

use crate::receipt::ReceiptRecord;
use kelisim_core::compile::CompiledConfig;
use std::fmt::Write as _;

/// Dashboard UI languages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Kk,
    Ru,
    En,
}

impl Lang {
    pub fn parse(code: Option<&str>) -> Lang {
        match code {
            Some("ru") => Lang::Ru,
            Some("en") => Lang::En,
            _ => Lang::Kk,
        }
    }

    /// The page's language: `?lang=` when it names one, else the browser's first preference
    /// among kk, ru and en by `Accept-Language` (its q-values), else Kazakh.
    pub fn choose(asked: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(code @ ("kk" | "ru" | "en")) = asked {
            return Lang::parse(Some(code));
        }
        let mut best: Option<(f64, Lang)> = None;
        for entry in accept_language.unwrap_or_default().split(',') {
            let mut parts = entry.split(';');
            let tag = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let quality = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f64>().ok())
                .unwrap_or(1.0);
            let lang = match tag.split('-').next() {
                Some("kk") => Lang::Kk,
                Some("ru") => Lang::Ru,
                Some("en") => Lang::En,
                _ => continue,
            };
            if best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, lang));
            }
        }
        best.map_or(Lang::Kk, |(_, lang)| lang)
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Kk => "kk",
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    pub fn t(self, kk: &'static str, ru: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Kk => kk,
            Lang::Ru => ru,
            Lang::En => en,
        }
    }
}

/// Escapes text for HTML (every value from receipts goes through it).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;color:#1b1b1f;margin:0;background:#f6f6f8}\
main{max-width:70rem;margin:0 auto;padding:1rem}h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.5rem}\
form.filters{display:flex;flex-wrap:wrap;gap:.75rem;align-items:end;background:#fff;padding:.75rem;border-radius:.5rem}\
label{display:grid;gap:.2rem;font-size:.9rem}input,select,button{font:inherit;padding:.35rem .5rem}\
button{background:#0b57a4;color:#fff;border:0;border-radius:.3rem;cursor:pointer}\
.totals{display:grid;grid-template-columns:repeat(auto-fill,minmax(10.5rem,1fr));gap:.75rem}\
.total{background:#fff;border-radius:.5rem;padding:.75rem 1rem}\
.total b{display:block;font-size:1.4rem}.total small{display:block;color:#3b3b45}\
table{border-collapse:collapse;background:#fff;width:100%;margin-top:.5rem}\
th,td{border:1px solid #d0d0d8;padding:.35rem .5rem;text-align:right}th:first-child,td:first-child{text-align:left}\
.note{color:#5a3a00}.scroll{overflow-x:auto;max-width:100%}svg{background:#fff;border-radius:.5rem;width:100%;min-width:34rem;height:auto}\
figure.chart{margin:0}.legend{display:flex;flex-wrap:wrap;gap:.25rem 1rem;list-style:none;padding:0}\
.swatch{display:inline-block;width:.9rem;height:.9rem;border-radius:.2rem;margin-right:.35rem;vertical-align:-.1rem}\
.verdicts{background:#fff;border-radius:.5rem;padding:.75rem 1rem .75rem 2rem}\
a{color:#0b57a4}.langs a{margin-right:.5rem}:focus-visible{outline:3px solid #1b1b1f;outline-offset:2px}\
@media (max-width:40rem){main{padding:.5rem}.totals{grid-template-columns:1fr 1fr}\
table.cards thead{position:absolute;left:-9999px}table.cards,table.cards tbody{display:block;border:0;background:none}\
table.cards tr{display:block;background:#fff;border-radius:.5rem;margin:.5rem 0;padding:.25rem .5rem}\
table.cards th,table.cards td{display:flex;justify-content:space-between;gap:1rem;border:0;border-bottom:1px solid #eee;text-align:right}\
table.cards [data-label]::before{content:attr(data-label);font-weight:600;text-align:left}}";

pub fn page(lang: Lang, title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        lang.code(),
        escape(title)
    )
}

pub fn language_links(lang: Lang, query: &str) -> String {
    let mut out = String::from("<p class=\"langs\">");
    for (code, name) in [("kk", "Қазақша"), ("ru", "Русский"), ("en", "English")] {
        let current = if code == lang.code() {
            " aria-current=\"true\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<a href=\"/dashboard?{}lang={code}\" lang=\"{code}\"{current}>{name}</a>",
            escape(query)
        );
    }
    out.push_str("</p>");
    out
}

/// The login page; `failed` after a wrong token.
pub fn login_page(lang: Lang, failed: bool) -> String {
    let title = lang.t("kelisim — кіру", "kelisim — вход", "kelisim — sign in");
    let error = if failed {
        format!(
            "<p role=\"alert\" class=\"note\">{}</p>",
            lang.t("Токен қате.", "Неверный токен.", "Wrong token.")
        )
    } else {
        String::new()
    };
    let body = format!(
        "{}<h1>{}</h1>{error}<form method=\"post\" action=\"/dashboard/login?lang={}\" class=\"filters\">\
         <label>{}<input type=\"password\" name=\"token\" autocomplete=\"current-password\" required></label>\
         <button type=\"submit\">{}</button></form>",
        language_links(lang, ""),
        lang.t("Келісім көрсеткіштері", "Показатели согласия", "Consent opt-in rates"),
        lang.code(),
        lang.t("Кіру токені", "Токен доступа", "Access token"),
        lang.t("Кіру", "Войти", "Sign in"),
    );
    page(lang, title, &body)
}

/// What a role without a dashboard (`monitor`) sees after signing in.
pub fn nothing_to_see_page(lang: Lang, role: crate::access::Role) -> String {
    let body = format!(
        "{}<h1>{}</h1><p>{} <code>{}</code></p>{}",
        language_links(lang, ""),
        lang.t(
            "Бұл рөлге панель жоқ",
            "Для этой роли панели нет",
            "No dashboard for this role"
        ),
        lang.t("Рөл:", "Роль:", "Role:"),
        role.name(),
        logout_form(lang),
    );
    page(lang, "kelisim", &body)
}

pub fn logout_form(lang: Lang) -> String {
    format!(
        "<form method=\"post\" action=\"/dashboard/logout\"><button type=\"submit\">{}</button></form>",
        lang.t("Шығу", "Выйти", "Sign out")
    )
}

/// The data-protection officer's page: a form for a consent id or receipt id, and the
/// receipts of the consent found (oldest first), or a note that there are none. Under each
/// receipt that names a compiled config, the texts the visitor saw, from the archive
/// (`configs`: each config id with its archived config, or `None` when the archive lacks it).
pub fn dpo_page(
    lang: Lang,
    asked: Option<&str>,
    history: Option<&[ReceiptRecord]>,
    configs: &[(String, Option<CompiledConfig>)],
    scans: &[crate::store::ScanReportRow],
    withdraw_pages: &[String],
) -> String {
    let mut body = language_links(lang, "");
    let _ = write!(
        body,
        "<h1>{}</h1><form class=\"filters\" method=\"get\" action=\"/dashboard\">\
         <input type=\"hidden\" name=\"lang\" value=\"{}\">\
         <label>{}<input name=\"id\" value=\"{}\" size=\"38\" required></label>\
         <button type=\"submit\">{}</button></form>",
        lang.t("Келісім тарихы", "История согласия", "Consent history"),
        lang.code(),
        lang.t(
            "Келісім не түбіртек идентификаторы, немесе телефон нөмірі",
            "Идентификатор согласия или квитанции, или номер телефона",
            "Consent id, receipt id or phone number"
        ),
        escape(asked.unwrap_or_default()),
        lang.t("Іздеу", "Найти", "Look up"),
    );
    match history {
        None => {}
        Some([]) => {
            let _ = write!(
                body,
                "<p role=\"status\" class=\"note\">{}</p>",
                lang.t(
                    "Бұл идентификатормен түбіртек жоқ.",
                    "Квитанций с этим идентификатором нет.",
                    "No receipt has this id."
                )
            );
        }
        Some(records) => body.push_str(&history_table(lang, records, configs)),
    }
    body.push_str(&withdraw_pages_section(lang, withdraw_pages));
    body.push_str(&scans_section(lang, scans));
    body.push_str(&logout_form(lang));
    page(lang, "kelisim — DPO", &body)
}

/// A consent's receipts, oldest first, each with the signed document when it has one and the
/// texts its visitor saw.
fn history_table(
    lang: Lang,
    records: &[ReceiptRecord],
    configs: &[(String, Option<CompiledConfig>)],
) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<div class=\"scroll\"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        lang.t("Уақыты", "Время", "Time"),
        lang.t("Әрекет", "Действие", "Action"),
        lang.t("Рұқсат етілді", "Разрешено", "Granted"),
        lang.t("Бас тартылды", "Отказано", "Refused"),
        lang.t("Тәсілі", "Способ", "Method"),
        lang.t("Сайт", "Сайт", "Site"),
        lang.t("Түбіртек", "Квитанция", "Receipt"),
    );
    for record in records {
        let receipt = &record.stored.receipt;
        let granted = [
            &receipt.granted_categories[..],
            &receipt.granted_services[..],
            &receipt.granted_purposes[..],
        ]
        .concat();
        let denied = [
            &receipt.denied_categories[..],
            &receipt.denied_services[..],
            &receipt.denied_purposes[..],
        ]
        .concat();
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            escape(&record.stored.server_time),
            escape(&receipt.action),
            escape(&granted.join(", ")),
            escape(&denied.join(", ")),
            escape(&method_text(lang, receipt)),
            escape(&receipt.site),
            escape(&receipt.receipt_id),
        );
        if let Some(eds) = &receipt.eds {
            // The document as signed, and the signature itself (CMS, base64).
            let _ = write!(
                body,
                "<tr><td colspan=\"7\"><details><summary>{}</summary><pre>{}</pre>\
                 <p>{} {}, {} {}</p><p><small>CMS: <code>{}</code></small></p></details></td></tr>",
                lang.t(
                    "Қол қойылған құжат",
                    "Подписанный документ",
                    "The signed document"
                ),
                escape(&eds.document),
                lang.t("Сертификат", "Сертификат", "Certificate"),
                escape(&eds.certificate_serial),
                lang.t("берген", "выдан", "issued by"),
                escape(&eds.certificate_issuer),
                escape(&eds.cms),
            );
        }
        if let Some(config_id) = &receipt.config_id {
            let archived = configs
                .iter()
                .find(|(known, _)| known == config_id)
                .and_then(|(_, compiled)| compiled.as_ref());
            let _ = write!(
                body,
                "<tr><td colspan=\"7\">{}</td></tr>",
                texts_seen(lang, config_id, archived, receipt.form_id.as_deref())
            );
        }
    }
    body.push_str("</tbody></table></div>");
    body
}

/// Links to the public withdrawal pages of the forms confirmed by SMS code.
fn withdraw_pages_section(lang: Lang, withdraw_pages: &[String]) -> String {
    let mut body = String::new();
    if withdraw_pages.is_empty() {
        return body;
    }
    let _ = write!(
        body,
        "<h2>{}</h2><ul>",
        lang.t(
            "SMS-кодпен кері қайтарып алу беттері",
            "Страницы отзыва согласия по SMS-коду",
            "Withdrawal by SMS code"
        )
    );
    for path in withdraw_pages {
        let _ = write!(
            body,
            "<li><a href=\"{0}?lang={1}\">{0}</a></li>",
            escape(path),
            lang.code()
        );
    }
    body.push_str("</ul>");
    body
}

/// How a receipt was collected, with the SMS confirmation's gateway, delivery status and
/// kiosk when it has one.
fn method_text(lang: Lang, receipt: &kelisim_core::receipt::Receipt) -> String {
    if let Some(eds) = &receipt.eds {
        return format!(
            "{} ({}: {}{}; {}; {} {})",
            receipt.method,
            lang.t("қол қойған", "подписал", "signed by"),
            eds.signer_name,
            eds.signer_iin
                .as_ref()
                .map(|iin| format!(", {} {iin}", lang.t("ЖСН", "ИИН", "IIN")))
                .unwrap_or_default(),
            if eds.verified {
                lang.t("тексерілді", "проверена", "verified")
            } else {
                lang.t("ТЕКСЕРІЛМЕГЕН", "НЕ ПРОВЕРЕНА", "NOT VERIFIED")
            },
            eds.algorithm,
            eds.verification
        );
    }
    let Some(sms) = &receipt.sms else {
        return receipt.method.clone();
    };
    let mut text = format!(
        "{} ({} {}, {} {})",
        receipt.method,
        sms.gateway,
        sms.message_id,
        lang.t("жеткізу:", "доставка:", "delivery:"),
        sms.delivery_status
    );
    if let Some(kiosk) = &sms.kiosk {
        let _ = write!(
            text,
            "; {} {}, {}",
            lang.t("планшет:", "планшет:", "kiosk:"),
            kiosk.location,
            kiosk.staff
        );
    }
    text
}

/// Each site's latest `kelisim-server scan` report: when, which URL, the verdict, and the
/// whole report folded under it.
pub fn scans_section(lang: Lang, scans: &[crate::store::ScanReportRow]) -> String {
    let mut out = format!(
        "<section aria-labelledby=\"scans\"><h2 id=\"scans\">{}</h2>",
        lang.t(
            "Соңғы тексерулер",
            "Последние проверки сайта",
            "Latest site scans"
        )
    );
    if scans.is_empty() {
        let _ = write!(
            out,
            "<p class=\"note\">{} <code>kelisim-server scan URL --db … --site …</code></p></section>",
            lang.t("Әлі тексеру жоқ:", "Проверок ещё нет:", "No scan yet:")
        );
        return out;
    }
    for scan in scans {
        let verdict = if scan.ran_before_consent {
            lang.t(
                "келісімге дейін іске қосылған нәрсе бар",
                "что-то запускалось до согласия",
                "something ran before consent",
            )
        } else if scan.clean {
            lang.t("таза", "чисто", "clean")
        } else {
            lang.t(
                "келісімге дейін ештеңе жоқ; есепті қараңыз",
                "до согласия ничего; см. отчёт",
                "nothing before consent; see the report",
            )
        };
        let _ = write!(
            out,
            "<details><summary><strong>{}</strong> · {} · {} · {}</summary><pre>{}</pre></details>",
            escape(&scan.site),
            escape(&scan.scanned_at),
            escape(&scan.url),
            verdict,
            escape(&scan.markdown)
        );
    }
    out.push_str("</section>");
    out
}

/// What the visitor saw, from the archived compiled config a receipt names: the first layer
/// (title, text, the notes the law asks for, the three buttons) and each category, in the
/// visitor's language, with the config id and the texts' fingerprint.
/// What the visitor of a receipt saw, from the archived compiled config `config_id`: the
/// banner's texts, or for a form receipt (`form_id`) the form's consent block as it was shown.
fn texts_seen(
    lang: Lang,
    config_id: &str,
    archived: Option<&CompiledConfig>,
    form_id: Option<&str>,
) -> String {
    let Some(config) = archived else {
        return format!(
            "<p class=\"note\">{} <code>{}</code></p>",
            lang.t(
                "Бұл түбіртек атаған конфигурация архивте жоқ:",
                "Конфигурации, которую называет квитанция, нет в архиве:",
                "The archive does not hold the config this receipt names:"
            ),
            escape(config_id)
        );
    };
    let text = |name: &str| escape(config.texts.get(name).map_or("", String::as_str));
    let mut out = format!(
        "<details><summary>{} ({})</summary><div lang=\"{}\">",
        lang.t(
            "Келушінің көрген мәтіндері",
            "Тексты, которые видел посетитель",
            "The texts the visitor saw"
        ),
        escape(&config.language),
        escape(&config.language),
    );
    if let Some(form) = form_id.and_then(|id| config.forms.iter().find(|form| form.id == id)) {
        if form.block.is_null() {
            // Archived before blocks were compiled: the purposes it asked consent for.
            let _ = write!(
                out,
                "<p class=\"note\">{}</p><ul>",
                lang.t(
                    "Бұл конфигурация форманың блогын сақтамаған; оның мақсаттары:",
                    "Эта конфигурация не хранит блок формы; её цели:",
                    "This config does not keep the form's block; its purposes:"
                )
            );
            for purpose in &form.purposes {
                let _ = write!(out, "<li>{}</li>", escape(&purpose.title));
            }
            out.push_str("</ul>");
        } else {
            out.push_str(&block_as_shown(&form.block));
        }
        let _ = write!(
            out,
            "<p class=\"note\">config_id <code>{}</code>, form <code>{}</code>, texts_hash <code>{}</code></p></div></details>",
            escape(&config.config_id),
            escape(&form.id),
            escape(&form.texts_hash)
        );
        return out;
    }
    let _ = write!(
        out,
        "<h3>{}</h3><p>{}</p>",
        text("title"),
        text("description")
    );
    for note in &config.first_layer {
        let _ = write!(out, "<p>{}</p>", escape(&note.text));
    }
    let _ = write!(
        out,
        "<p>[{}] [{}] [{}]</p><ul>",
        text("accept_all"),
        text("reject_all"),
        text("preferences")
    );
    for category in &config.categories {
        let services: Vec<&str> = category.services.iter().map(|s| s.name.as_str()).collect();
        let _ = write!(
            out,
            "<li><strong>{}</strong>: {} ({})</li>",
            escape(&category.title),
            escape(&category.description),
            escape(&services.join(", "))
        );
    }
    let _ = write!(
        out,
        "</ul><p class=\"note\">config_id <code>{}</code>, texts_hash <code>{}</code></p></div></details>",
        escape(&config.config_id),
        escape(&config.texts_hash)
    );
    out
}

/// A form's consent block as the visitor saw it, from the node tree the compiler wrote
/// (`kelisim_core::layers::form_block`): its elements as they are (the tree holds only the
/// tags a layer may have), every text escaped, a checkbox as an empty box, a link with its
/// address, and no attribute, so nothing of it runs or loads here.
fn block_as_shown(tree: &serde_json::Value) -> String {
    let Some(items) = tree.as_array() else {
        return tree.as_str().map(escape).unwrap_or_default();
    };
    let tag = items
        .first()
        .and_then(serde_json::Value::as_str)
        .unwrap_or("");
    let attribute = |name: &str| {
        items
            .get(1)
            .and_then(|attributes| attributes.get(name))
            .and_then(serde_json::Value::as_str)
    };
    // An error a visitor sees only after missing a box is not part of what the block states.
    if attribute("hidden").is_some() {
        return String::new();
    }
    let children: String = items.iter().skip(2).map(block_as_shown).collect();
    match tag {
        "input" if attribute("type") == Some("checkbox") => "\u{2610}".to_owned(),
        "input" => String::new(),
        "a" => format!(
            "{children} (<code>{}</code>)",
            escape(attribute("href").unwrap_or(""))
        ),
        _ if kelisim_core::compiled::is_layer_tag(tag) => format!("<{tag}>{children}</{tag}>"),
        _ => children,
    }
}

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn the_page_language_follows_the_browser_unless_asked() {
        assert_eq!(
            Lang::choose(None, Some("ru-RU,ru;q=0.9,en;q=0.8")),
            Lang::Ru
        );
        assert_eq!(
            Lang::choose(None, Some("de;q=1,en;q=0.5,kk;q=0.7")),
            Lang::Kk
        );
        assert_eq!(Lang::choose(None, Some("en-US")), Lang::En);
        assert_eq!(Lang::choose(None, None), Lang::Kk);
        assert_eq!(Lang::choose(Some("en"), Some("ru")), Lang::En);
        assert_eq!(Lang::choose(Some("xx"), Some("ru")), Lang::Ru);
    }
}
