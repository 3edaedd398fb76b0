//! The marketers' dashboard at `/dashboard`: a login with the admin token that opens an
//! HttpOnly session, then server-rendered pages (no script, so no CSP exception) in kk/ru/en
//! with filters (site, dates, language, variant, device), totals, opt-in per category, an SVG chart of
//! the daily opt-in rates, and the splits by language and by variant with Wilson intervals.
//! The numbers are exactly `GET /v1/stats`'s (`stats::compute` over the same rollups).

use crate::receipt::ReceiptRecord;
use crate::stats::{Filter, Row};
use std::collections::HashMap;
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

    pub fn code(self) -> &'static str {
        match self {
            Lang::Kk => "kk",
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    fn t(self, kk: &'static str, ru: &'static str, en: &'static str) -> &'static str {
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
.totals{display:flex;flex-wrap:wrap;gap:.75rem}.total{background:#fff;border-radius:.5rem;padding:.75rem 1rem;min-width:9rem}\
.total b{display:block;font-size:1.4rem}table{border-collapse:collapse;background:#fff;width:100%;margin-top:.5rem}\
th,td{border:1px solid #d0d0d8;padding:.35rem .5rem;text-align:right}th:first-child,td:first-child{text-align:left}\
.note{color:#5a3a00}.scroll{overflow-x:auto;max-width:100%}svg{background:#fff;border-radius:.5rem;max-width:100%;height:auto}\
a{color:#0b57a4}.langs a{margin-right:.5rem}:focus-visible{outline:3px solid #1b1b1f;outline-offset:2px}";

fn page(lang: Lang, title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        lang.code(),
        escape(title)
    )
}

fn language_links(lang: Lang, query: &str) -> String {
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

fn logout_form(lang: Lang) -> String {
    format!(
        "<form method=\"post\" action=\"/dashboard/logout\"><button type=\"submit\">{}</button></form>",
        lang.t("Шығу", "Выйти", "Sign out")
    )
}

/// The data-protection officer's page: a form for a consent id or receipt id, and the
/// receipts of the consent found (oldest first), or a note that there are none.
pub fn dpo_page(lang: Lang, asked: Option<&str>, history: Option<&[ReceiptRecord]>) -> String {
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
            "Келісім немесе түбіртек идентификаторы",
            "Идентификатор согласия или квитанции",
            "Consent id or receipt id"
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
        Some(records) => {
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
                    escape(&receipt.method),
                    escape(&receipt.site),
                    escape(&receipt.receipt_id),
                );
            }
            body.push_str("</tbody></table></div>");
        }
    }
    body.push_str(&logout_form(lang));
    page(lang, "kelisim — DPO", &body)
}

/// The numbers a dashboard page shows, each grouping read from the rollups for the filter.
#[derive(Debug, Default)]
pub struct Sections {
    pub by_day: Vec<Row>,
    pub by_category: Vec<Row>,
    pub by_language: Vec<Row>,
    pub by_variant: Vec<Row>,
    pub by_device: Vec<Row>,
}

/// The dashboard of `site` for a filter (days, language, variant, device).
pub fn dashboard_page(
    lang: Lang,
    sites: &[String],
    site: &str,
    filter: &Filter,
    sections: &Sections,
) -> String {
    let Sections {
        by_day,
        by_category,
        by_language,
        by_variant,
        by_device,
    } = sections;
    // Every impression has a day: the daily rows hold them all.
    let impressions_total: i64 = by_day.iter().map(|r| r.impressions).sum();
    let decisions_total: i64 = by_day.iter().map(|r| r.decisions).sum();

    let mut body = String::new();
    let query = format!("site={site}&from={}&to={}&", filter.from, filter.to);
    body.push_str(&language_links(lang, &query));
    let _ = write!(
        body,
        "<h1>{}</h1>",
        lang.t(
            "Келісім көрсеткіштері",
            "Показатели согласия",
            "Consent opt-in rates"
        )
    );
    // Filters (a plain GET form).
    let _ = write!(body, "<form class=\"filters\" method=\"get\" action=\"/dashboard\"><input type=\"hidden\" name=\"lang\" value=\"{}\">", lang.code());
    let _ = write!(
        body,
        "<label>{}<select name=\"site\">",
        lang.t("Сайт", "Сайт", "Site")
    );
    for option in sites {
        let selected = if site == option { " selected" } else { "" };
        let _ = write!(body, "<option{selected}>{}</option>", escape(option));
    }
    body.push_str("</select></label>");
    for (name, label, value) in [
        ("from", lang.t("Басы", "С", "From"), &filter.from),
        ("to", lang.t("Соңы", "По", "To"), &filter.to),
    ] {
        let _ = write!(
            body,
            "<label>{label}<input type=\"date\" name=\"{name}\" value=\"{}\"></label>",
            escape(value)
        );
    }
    for (name, label, value) in [
        (
            "language",
            lang.t("Тіл", "Язык", "Language"),
            &filter.language,
        ),
        (
            "variant",
            lang.t("Нұсқа", "Вариант", "Variant"),
            &filter.variant,
        ),
        (
            "device",
            lang.t("Құрылғы", "Устройство", "Device"),
            &filter.device,
        ),
    ] {
        let _ = write!(
            body,
            "<label>{label}<input name=\"{name}\" value=\"{}\" size=\"6\"></label>",
            escape(value.as_deref().unwrap_or(""))
        );
    }
    let _ = write!(
        body,
        "<button type=\"submit\">{}</button></form>",
        lang.t("Көрсету", "Показать", "Show")
    );

    // Totals.
    body.push_str("<h2>");
    body.push_str(lang.t("Жиынтық", "Итого", "Totals"));
    body.push_str("</h2><div class=\"totals\">");
    let rate = if impressions_total > 0 {
        format!(
            "{:.1}%",
            100.0 * decisions_total as f64 / impressions_total as f64
        )
    } else {
        "—".into()
    };
    for (label, value) in [
        (
            lang.t("Көрсетілімдер", "Показы", "Impressions"),
            impressions_total.to_string(),
        ),
        (
            lang.t("Шешімдер", "Решения", "Decisions"),
            decisions_total.to_string(),
        ),
        (lang.t("Шешім үлесі", "Доля решений", "Decision rate"), rate),
    ] {
        let _ = write!(
            body,
            "<div class=\"total\" data-total=\"{}\">{label}<b>{}</b></div>",
            escape(label),
            escape(&value)
        );
    }
    for row in by_category {
        let value = row
            .opt_in
            .get(&row.key)
            .map_or("—".to_owned(), |r| format!("{:.1}%", r * 100.0));
        let _ = write!(
            body,
            "<div class=\"total\" data-opt-in=\"{}\">{} ({})<b>{}</b></div>",
            escape(&row.key),
            lang.t("Келісім", "Согласие", "Opt-in"),
            escape(&row.key),
            value
        );
    }
    body.push_str("</div>");

    // Daily chart and table.
    let _ = write!(
        body,
        "<h2>{}</h2>",
        lang.t("Күн бойынша", "По дням", "By day")
    );
    body.push_str(&chart(by_day, lang));
    body.push_str(&table(lang, lang.t("Күн", "День", "Day"), by_day));
    let _ = write!(
        body,
        "<h2>{}</h2>",
        lang.t("Тіл бойынша", "По языкам", "By language")
    );
    body.push_str(&table(lang, lang.t("Тіл", "Язык", "Language"), by_language));
    let _ = write!(
        body,
        "<h2>{}</h2>",
        lang.t(
            "Нұсқа бойынша (A/B)",
            "По вариантам (A/B)",
            "By variant (A/B)"
        )
    );
    body.push_str(&table(
        lang,
        lang.t("Нұсқа", "Вариант", "Variant"),
        by_variant,
    ));
    body.push_str(&significance_note(lang, by_variant));
    let _ = write!(
        body,
        "<h2>{}</h2>",
        lang.t("Құрылғы бойынша", "По устройствам", "By device")
    );
    body.push_str(&table(
        lang,
        lang.t("Құрылғы", "Устройство", "Device"),
        by_device,
    ));
    body.push_str(&logout_form(lang));
    page(lang, "kelisim", &body)
}

fn table(lang: Lang, key_label: &str, rows: &[Row]) -> String {
    let categories: Vec<String> = {
        let mut all: Vec<String> = rows.iter().flat_map(|r| r.opt_in.keys().cloned()).collect();
        all.sort();
        all.dedup();
        all
    };
    let mut out = format!(
        "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"{}\"><table><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>",
        escape(key_label),
        escape(key_label),
        lang.t("Көрсетілімдер", "Показы", "Impressions"),
        lang.t("Шешімдер", "Решения", "Decisions"),
        lang.t("Өзгерістер", "Изменения", "Changes"),
        lang.t("Кері қайтарып алу", "Отзывы", "Withdrawals"),
    );
    for category in &categories {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(category));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        let key = if row.key.is_empty() {
            "—"
        } else {
            row.key.as_str()
        };
        let _ = write!(
            out,
            "<tr data-key=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            escape(&row.key),
            escape(key),
            row.impressions,
            row.decisions,
            row.changes,
            row.withdrawals
        );
        for category in &categories {
            match (row.opt_in.get(category), row.opt_in_interval.get(category)) {
                (Some(rate), Some([low, high])) => {
                    let _ = write!(
                        out,
                        "<td>{:.1}% <small>({:.0}–{:.0}%)</small></td>",
                        rate * 100.0,
                        low * 100.0,
                        high * 100.0
                    );
                }
                _ => out.push_str("<td>—</td>"),
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    out
}

/// "Not yet significant" when two variants' intervals overlap for a category.
fn significance_note(lang: Lang, variants: &[Row]) -> String {
    let mut notes = String::new();
    let mut categories: HashMap<&str, Vec<(&str, [f64; 2])>> = HashMap::new();
    for row in variants {
        for (category, interval) in &row.opt_in_interval {
            categories
                .entry(category.as_str())
                .or_default()
                .push((row.key.as_str(), *interval));
        }
    }
    let mut names: Vec<&&str> = categories.keys().collect();
    names.sort();
    for category in names {
        let intervals = &categories[*category];
        if intervals.len() < 2 {
            continue;
        }
        let overlap = intervals.iter().enumerate().any(|(i, (_, a))| {
            intervals[i + 1..]
                .iter()
                .any(|(_, b)| a[0] <= b[1] && b[0] <= a[1])
        });
        if overlap {
            let _ = write!(
                notes,
                "<p class=\"note\">{}: {}</p>",
                escape(category),
                lang.t(
                    "нұсқалар арасындағы айырмашылық әлі мәнді емес (95% аралықтар қиылысады).",
                    "разница между вариантами пока не значима (95% интервалы пересекаются).",
                    "the difference between variants is not yet significant (95% intervals overlap).",
                )
            );
        }
    }
    notes
}

/// An SVG line chart of each category's daily opt-in rate (0–100%).
fn chart(days: &[Row], lang: Lang) -> String {
    const WIDTH: f64 = 720.0;
    const HEIGHT: f64 = 220.0;
    const PAD: f64 = 30.0;
    const COLOURS: [&str; 6] = [
        "#0b57a4", "#a4000f", "#1a6e2e", "#7a4a00", "#5b2a86", "#00697a",
    ];
    let mut categories: Vec<&String> = days.iter().flat_map(|d| d.opt_in.keys()).collect();
    categories.sort();
    categories.dedup();
    let mut svg = format!(
        "<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{}\"><line x1=\"{PAD}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#6b6b75\"/>",
        escape(lang.t("Күн бойынша келісім үлесі", "Доля согласий по дням", "Daily opt-in rate")),
        HEIGHT - PAD,
        WIDTH - PAD,
        HEIGHT - PAD
    );
    let span = (days.len().max(2) - 1) as f64;
    let x = |i: usize| PAD + (WIDTH - 2.0 * PAD) * i as f64 / span;
    let y = |rate: f64| HEIGHT - PAD - (HEIGHT - 2.0 * PAD) * rate;
    for (index, category) in categories.iter().enumerate() {
        let colour = COLOURS[index % COLOURS.len()];
        let points: Vec<String> = days
            .iter()
            .enumerate()
            .filter_map(|(i, day)| {
                day.opt_in
                    .get(*category)
                    .map(|rate| format!("{:.1},{:.1}", x(i), y(*rate)))
            })
            .collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>",
            points.join(" ")
        );
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" fill=\"{colour}\" font-size=\"12\">{}</text>",
            PAD + 110.0 * index as f64,
            16,
            escape(category)
        );
    }
    svg.push_str("</svg>");
    svg
}
