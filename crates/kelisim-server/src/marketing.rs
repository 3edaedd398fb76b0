//! The marketer's dashboard page and its CSV: what a marketer asks of a consent banner, read at
//! a glance. Tiles (impressions, decisions, decision rate, the accept-all / reject-all / custom /
//! GPC shares, opt-in per optional category under its own title) each with the change against
//! the previous period of the same length; a chart of the daily opt-in rates with axes, dates
//! and a value on every point; filters as selects with date presets; the A/B comparison with
//! each variant's lift against the control and a plain verdict; tables by language, device and
//! page. Server-rendered HTML and SVG, no script. The numbers are `GET /v1/stats`'s: the same
//! rows (`stats::compute`), only arranged.

use crate::dashboard::{escape, language_links, logout_form, page, Lang};
use crate::stats::{Filter, Row};
use std::fmt::Write as _;
use time::{Date, Duration};

/// A period to show: a preset or the dates given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Range {
    Days(u16),
    ThisMonth,
    LastMonth,
    Custom,
}

impl Range {
    pub const PRESETS: [Range; 6] = [
        Range::Days(7),
        Range::Days(30),
        Range::Days(90),
        Range::ThisMonth,
        Range::LastMonth,
        Range::Custom,
    ];

    pub fn parse(text: &str) -> Option<Range> {
        Range::PRESETS
            .into_iter()
            .find(|range| range.code() == text)
    }

    pub fn code(self) -> &'static str {
        match self {
            Range::Days(7) => "7",
            Range::Days(90) => "90",
            Range::Days(_) => "30",
            Range::ThisMonth => "this-month",
            Range::LastMonth => "last-month",
            Range::Custom => "custom",
        }
    }

    fn label(self, lang: Lang) -> &'static str {
        match self {
            Range::Days(7) => lang.t("7 күн", "7 дней", "7 days"),
            Range::Days(90) => lang.t("90 күн", "90 дней", "90 days"),
            Range::Days(_) => lang.t("30 күн", "30 дней", "30 days"),
            Range::ThisMonth => lang.t("Осы ай", "Этот месяц", "This month"),
            Range::LastMonth => lang.t("Өткен ай", "Прошлый месяц", "Last month"),
            Range::Custom => lang.t("Өз күндерім", "Свои даты", "Custom dates"),
        }
    }

    /// The first and last day of a preset, `today` included; `None` for custom dates.
    pub fn bounds(self, today: Date) -> Option<(Date, Date)> {
        let first_of_month = today.replace_day(1).ok()?;
        match self {
            Range::Days(days) => Some((today - Duration::days(i64::from(days) - 1), today)),
            Range::ThisMonth => Some((first_of_month, today)),
            Range::LastMonth => {
                let last = first_of_month - Duration::days(1);
                Some((last.replace_day(1).ok()?, last))
            }
            Range::Custom => None,
        }
    }
}

/// The period of the same length just before `from`..=`to`.
pub fn previous_period(from: Date, to: Date) -> (Date, Date) {
    let days = (to - from).whole_days() + 1;
    let previous_to = from - Duration::days(1);
    (previous_to - Duration::days(days - 1), previous_to)
}

/// Everything the page shows, read for the filter (and its previous period).
#[derive(Debug, Default)]
pub struct Sections {
    pub by_day: Vec<Row>,
    pub by_category: Vec<Row>,
    pub by_language: Vec<Row>,
    pub by_variant: Vec<Row>,
    pub by_device: Vec<Row>,
    /// `None` when the filter narrows by language, variant or device (pages are not split so).
    pub by_page: Option<Vec<Row>>,
    pub previous_by_day: Vec<Row>,
    pub previous_by_category: Vec<Row>,
}

/// What the page is about besides the numbers.
#[derive(Debug)]
pub struct View<'a> {
    pub sites: &'a [String],
    pub site: &'a str,
    pub range: Range,
    pub filter: &'a Filter,
    /// A filter value that was refused, said in the page's language.
    pub message: Option<String>,
    /// The latest scan of each site, for roles that may see them (admin); `None` hides the
    /// section.
    pub scans: Option<&'a [crate::store::ScanReportRow]>,
}

/// The period's totals: its daily rows summed into one row (the same counts the API has).
pub fn totals(days: &[Row]) -> Row {
    let mut total = Row::default();
    for day in days {
        total.impressions += day.impressions;
        total.decisions += day.decisions;
        total.accept_all += day.accept_all;
        total.reject_all += day.reject_all;
        total.custom += day.custom;
        total.gpc += day.gpc;
        total.changes += day.changes;
        total.withdrawals += day.withdrawals;
    }
    total.decision_rate = share(total.decisions, total.impressions);
    total
}

fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// A category's opt-in rate in the per-category rows.
fn opt_in_of(by_category: &[Row], id: &str) -> Option<f64> {
    by_category
        .iter()
        .find(|row| row.key == id)
        .and_then(|row| row.opt_in.get(id).copied())
}

/// The category ids the page shows: every one but `necessary`, which is always granted.
pub fn optional_categories(rows: &[Row]) -> Vec<String> {
    let mut ids: Vec<String> = rows
        .iter()
        .flat_map(|row| row.opt_in.keys().cloned())
        .filter(|id| id != "necessary")
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// A category's title in the page's language: the built-in title of a well-known id, else the
/// id itself.
pub fn category_title(id: &str, lang: Lang) -> String {
    let language = match lang {
        Lang::Kk => kelisim_core::Language::Kk,
        Lang::Ru => kelisim_core::Language::Ru,
        Lang::En => kelisim_core::Language::En,
    };
    kelisim_core::texts::builtin_category_texts(id, language)
        .map_or_else(|| id.to_owned(), |texts| texts.title)
}

/// A count with narrow no-break spaces between thousands (16 800), as kk and ru write them; en
/// too, so that every page reads alike.
pub fn count(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push('\u{202f}');
        }
        out.push(digit);
    }
    if value < 0 {
        out.insert(0, '−');
    }
    out
}

/// A row's key as the page shows it: a banner language or a device class by its name.
fn key_name(key: &str, lang: Lang) -> String {
    match key {
        "kk" => "Қазақша".into(),
        "ru" => "Русский".into(),
        "en" => "English".into(),
        "mobile" => lang.t("Смартфон", "Смартфон", "Phone").into(),
        "tablet" => lang.t("Планшет", "Планшет", "Tablet").into(),
        "desktop" => lang.t("Компьютер", "Компьютер", "Desktop").into(),
        "unknown" => lang.t("Белгісіз", "Неизвестно", "Unknown").into(),
        "" => "—".into(),
        other => other.into(),
    }
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_owned(), |rate| format!("{:.1}%", rate * 100.0))
}

/// "+12%" for counts, "+3.1 pp" for rates; empty when the previous period has nothing.
fn change_of_count(now: i64, before: i64, lang: Lang) -> String {
    if before == 0 {
        return String::new();
    }
    let change = 100.0 * (now - before) as f64 / before as f64;
    format!(
        "{change:+.0}% {}",
        lang.t(
            "алдыңғымен салыстырғанда",
            "к прошлому периоду",
            "vs previous period"
        )
    )
}

fn change_of_rate(now: Option<f64>, before: Option<f64>, lang: Lang) -> String {
    match (now, before) {
        (Some(now), Some(before)) => format!(
            "{:+.1} {} {}",
            100.0 * (now - before),
            lang.t("п.", "п.п.", "pp"),
            lang.t(
                "алдыңғымен салыстырғанда",
                "к прошлому периоду",
                "vs previous period"
            )
        ),
        _ => String::new(),
    }
}

/// One tile: `attribute` (`data-total` or `data-opt-in`) names it for tests and scripts.
fn tile(out: &mut String, attribute: &str, name: &str, label: &str, value: &str, change: &str) {
    let _ = write!(
        out,
        "<div class=\"total\" {attribute}=\"{}\">{}<b>{}</b>",
        escape(name),
        escape(label),
        escape(value)
    );
    if !change.is_empty() {
        let _ = write!(out, "<small>{}</small>", escape(change));
    }
    out.push_str("</div>");
}

/// The whole page.
pub fn render(lang: Lang, view: &View, sections: &Sections) -> String {
    let mut body = String::new();
    let query = format!(
        "site={}&range={}&from={}&to={}&",
        view.site,
        view.range.code(),
        view.filter.from,
        view.filter.to
    );
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
    if let Some(message) = &view.message {
        let _ = write!(
            body,
            "<p role=\"alert\" class=\"note\">{}</p>",
            escape(message)
        );
    }
    filters(&mut body, lang, view, sections);
    tiles(&mut body, lang, sections);
    let _ = write!(
        body,
        "<h2>{}</h2>",
        lang.t("Күн бойынша", "По дням", "By day")
    );
    body.push_str(&chart(&sections.by_day, lang));
    let _ = write!(
        body,
        "<h2>{}</h2>",
        lang.t("Нұсқалар (A/B)", "Варианты (A/B)", "Variants (A/B)")
    );
    body.push_str(&ab_verdicts(lang, &sections.by_variant));
    body.push_str(&table(
        lang,
        lang.t("Нұсқа", "Вариант", "Variant"),
        &sections.by_variant,
    ));
    for (heading, key_label, rows) in [
        (
            lang.t("Тіл бойынша", "По языкам", "By language"),
            lang.t("Тіл", "Язык", "Language"),
            &sections.by_language,
        ),
        (
            lang.t("Құрылғы бойынша", "По устройствам", "By device"),
            lang.t("Құрылғы", "Устройство", "Device"),
            &sections.by_device,
        ),
    ] {
        let _ = write!(body, "<h2>{heading}</h2>");
        body.push_str(&table(lang, key_label, rows));
    }
    let _ = write!(body, "<h2>{}</h2>", lang.t("Беттер", "Страницы", "Pages"));
    match &sections.by_page {
        Some(pages) => {
            let mut top = pages.clone();
            top.sort_by(|a, b| b.impressions.cmp(&a.impressions).then(a.key.cmp(&b.key)));
            top.truncate(20);
            body.push_str(&table(lang, lang.t("Бет", "Страница", "Page"), &top));
        }
        None => {
            let _ = write!(
                body,
                "<p class=\"note\">{}</p>",
                lang.t(
                    "Беттер тіл, нұсқа немесе құрылғы бойынша бөлінбейді: бұл сүзгілерді алып тастаңыз.",
                    "Страницы не делятся по языку, варианту или устройству: снимите эти фильтры.",
                    "Pages are not split by language, variant or device: clear those filters."
                )
            );
        }
    }
    let _ = write!(
        body,
        "<p><a href=\"/dashboard/export.csv?{}lang={}{}\" download>{}</a></p>",
        escape(&query),
        lang.code(),
        narrowing_query(view.filter),
        lang.t(
            "Көрсетілгенді CSV-ке жүктеу",
            "Скачать показанное в CSV",
            "Download what is shown as CSV"
        )
    );
    if let Some(scans) = view.scans {
        body.push_str(&crate::dashboard::scans_section(lang, scans));
    }
    body.push_str(&logout_form(lang));
    page(lang, "kelisim", &body)
}

/// `&language=…&variant=…&device=…` of the narrowing filters that are set.
fn narrowing_query(filter: &Filter) -> String {
    let mut out = String::new();
    for (name, value) in [
        ("language", &filter.language),
        ("variant", &filter.variant),
        ("device", &filter.device),
    ] {
        if let Some(value) = value {
            let _ = write!(out, "&{name}={}", escape(value));
        }
    }
    out
}

fn filters(body: &mut String, lang: Lang, view: &View, sections: &Sections) {
    let _ = write!(
        body,
        "<form class=\"filters\" method=\"get\" action=\"/dashboard\"><input type=\"hidden\" name=\"lang\" value=\"{}\">",
        lang.code()
    );
    let site_options: Vec<(String, String)> = view
        .sites
        .iter()
        .map(|site| (site.clone(), site.clone()))
        .collect();
    select(
        body,
        lang.t("Сайт", "Сайт", "Site"),
        "site",
        &site_options,
        Some(view.site),
        None,
    );
    let ranges: Vec<(String, String)> = Range::PRESETS
        .iter()
        .map(|range| (range.code().to_owned(), range.label(lang).to_owned()))
        .collect();
    select(
        body,
        lang.t("Кезең", "Период", "Period"),
        "range",
        &ranges,
        Some(view.range.code()),
        None,
    );
    for (name, label, value) in [
        ("from", lang.t("Басы", "С", "From"), &view.filter.from),
        ("to", lang.t("Соңы", "По", "To"), &view.filter.to),
    ] {
        let _ = write!(
            body,
            "<label>{label}<input type=\"date\" name=\"{name}\" value=\"{}\"></label>",
            escape(value)
        );
    }
    let all = lang.t("Барлығы", "Все", "All");
    let languages: Vec<(String, String)> =
        [("kk", "Қазақша"), ("ru", "Русский"), ("en", "English")]
            .iter()
            .map(|(code, name)| (code.to_string(), name.to_string()))
            .collect();
    select(
        body,
        lang.t("Баннер тілі", "Язык баннера", "Banner language"),
        "language",
        &languages,
        view.filter.language.as_deref(),
        Some(all),
    );
    let mut variants: Vec<(String, String)> = sections
        .by_variant
        .iter()
        .filter(|row| !row.key.is_empty())
        .map(|row| (row.key.clone(), row.key.clone()))
        .collect();
    if let Some(variant) = &view.filter.variant {
        if !variants.iter().any(|(key, _)| key == variant) {
            variants.push((variant.clone(), variant.clone()));
        }
    }
    select(
        body,
        lang.t("Нұсқа", "Вариант", "Variant"),
        "variant",
        &variants,
        view.filter.variant.as_deref(),
        Some(all),
    );
    let devices: Vec<(String, String)> = [
        ("mobile", lang.t("Смартфон", "Смартфон", "Phone")),
        ("tablet", lang.t("Планшет", "Планшет", "Tablet")),
        ("desktop", lang.t("Компьютер", "Компьютер", "Desktop")),
    ]
    .iter()
    .map(|(code, name)| (code.to_string(), name.to_string()))
    .collect();
    select(
        body,
        lang.t("Құрылғы", "Устройство", "Device"),
        "device",
        &devices,
        view.filter.device.as_deref(),
        Some(all),
    );
    let _ = write!(
        body,
        "<button type=\"submit\">{}</button></form>",
        lang.t("Көрсету", "Показать", "Show")
    );
}

fn select(
    body: &mut String,
    label: &str,
    name: &str,
    options: &[(String, String)],
    selected: Option<&str>,
    all: Option<&str>,
) {
    let _ = write!(body, "<label>{label}<select name=\"{name}\">");
    if let Some(all) = all {
        let _ = write!(
            body,
            "<option value=\"\"{}>{}</option>",
            if selected.is_none() { " selected" } else { "" },
            escape(all)
        );
    }
    for (value, text) in options {
        let chosen = if selected == Some(value.as_str()) {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            body,
            "<option value=\"{}\"{chosen}>{}</option>",
            escape(value),
            escape(text)
        );
    }
    body.push_str("</select></label>");
}

fn tiles(body: &mut String, lang: Lang, sections: &Sections) {
    let now = totals(&sections.by_day);
    let before = totals(&sections.previous_by_day);
    body.push_str("<h2>");
    body.push_str(lang.t("Жиынтық", "Итого", "Totals"));
    body.push_str("</h2><div class=\"totals\">");
    for (label, value, change) in [
        (
            lang.t("Көрсетілімдер", "Показы", "Impressions"),
            count(now.impressions),
            change_of_count(now.impressions, before.impressions, lang),
        ),
        (
            lang.t("Шешімдер", "Решения", "Decisions"),
            count(now.decisions),
            change_of_count(now.decisions, before.decisions, lang),
        ),
        (
            lang.t("Шешім үлесі", "Доля решений", "Decision rate"),
            percent(now.decision_rate),
            change_of_rate(now.decision_rate, before.decision_rate, lang),
        ),
    ] {
        tile(body, "data-total", label, label, &value, &change);
    }
    type Part = fn(&Row) -> i64;
    let shares: [(&str, &str, Part); 4] = [
        (
            "accept-all",
            lang.t("«Барлығын қабылдау»", "«Принять все»", "Accept all"),
            |t| t.accept_all,
        ),
        (
            "reject-all",
            lang.t("«Барлығынан бас тарту»", "«Отклонить все»", "Reject all"),
            |t| t.reject_all,
        ),
        (
            "custom",
            lang.t("Өз таңдауы", "Свой выбор", "Custom choice"),
            |t| t.custom,
        ),
        (
            "gpc",
            lang.t("GPC сигналы", "Сигнал GPC", "GPC signal"),
            |t| t.gpc,
        ),
    ];
    for (name, label, part) in shares {
        let rate = share(part(&now), now.decisions);
        let change = change_of_rate(rate, share(part(&before), before.decisions), lang);
        tile(body, "data-total", name, label, &percent(rate), &change);
    }
    for id in optional_categories(&sections.by_category) {
        let rate = opt_in_of(&sections.by_category, &id);
        let change = change_of_rate(rate, opt_in_of(&sections.previous_by_category, &id), lang);
        let label = format!(
            "{}: {}",
            lang.t("Келісім", "Согласие", "Opt-in"),
            category_title(&id, lang)
        );
        tile(body, "data-opt-in", &id, &label, &percent(rate), &change);
    }
    tile(
        body,
        "data-total",
        "changes",
        lang.t(
            "Өзгертілген шешімдер",
            "Изменённые решения",
            "Changed choices",
        ),
        &count(now.changes),
        "",
    );
    tile(
        body,
        "data-total",
        "withdrawals",
        lang.t(
            "Кері қайтарылған келісімдер",
            "Отозванные согласия",
            "Withdrawn consents",
        ),
        &count(now.withdrawals),
        "",
    );
    body.push_str("</div>");
}

/// One variant's lift against the control for one category: the difference of the opt-in
/// rates in points, with its 95% interval (Newcombe's method from the two Wilson intervals).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lift {
    pub points: f64,
    pub low: f64,
    pub high: f64,
    /// Decisions per variant still needed to tell a difference this large apart (95%
    /// confidence, 80% power), when the interval still holds zero.
    pub more_needed: Option<i64>,
}

pub fn lift(control: &Row, variant: &Row, category: &str) -> Option<Lift> {
    let p1 = *control.opt_in.get(category)?;
    let p2 = *variant.opt_in.get(category)?;
    let [l1, u1] = *control.opt_in_interval.get(category)?;
    let [l2, u2] = *variant.opt_in_interval.get(category)?;
    let difference = p2 - p1;
    let low = difference - ((p2 - l2).powi(2) + (u1 - p1).powi(2)).sqrt();
    let high = difference + ((u2 - p2).powi(2) + (p1 - l1).powi(2)).sqrt();
    let more_needed = (low <= 0.0 && high >= 0.0 && difference != 0.0).then(|| {
        const Z: f64 = 1.959_963_984_540_054 + 0.841_621_233_572_914;
        let needed = Z * Z * (p1 * (1.0 - p1) + p2 * (1.0 - p2)) / (difference * difference);
        (needed.ceil() as i64 - control.decisions.min(variant.decisions)).max(0)
    });
    Some(Lift {
        points: 100.0 * difference,
        low: 100.0 * low,
        high: 100.0 * high,
        more_needed,
    })
}

/// The A/B verdicts: each variant against the control (the first variant, in name order), per
/// optional category, in a sentence.
fn ab_verdicts(lang: Lang, variants: &[Row]) -> String {
    let named: Vec<&Row> = variants.iter().filter(|row| !row.key.is_empty()).collect();
    if named.len() < 2 {
        return format!(
            "<p class=\"note\">{}</p>",
            lang.t(
                "Салыстыруға кемінде екі нұсқа керек (конфигтегі ui.variant).",
                "Для сравнения нужны хотя бы два варианта (ui.variant в конфиге).",
                "A comparison needs at least two variants (ui.variant in the config)."
            )
        );
    }
    let control = named[0];
    let mut out = String::from("<ul class=\"verdicts\">");
    for variant in &named[1..] {
        for category in optional_categories(variants) {
            let Some(lift) = lift(control, variant, &category) else {
                continue;
            };
            let title = escape(&category_title(&category, lang));
            let name = escape(&variant.key);
            let control_name = escape(&control.key);
            let interval = format!(
                "{:+.1} {} (95%: {:+.1} … {:+.1})",
                lift.points,
                lang.t("пункт", "п.п.", "points"),
                lift.low,
                lift.high
            );
            let shown = lift.low > 0.0 || lift.high < 0.0;
            let better = lift.points > 0.0;
            let sentence = match (lang, shown, better) {
                (Lang::Kk, true, true) => format!("{name} «{title}» бойынша жақсырақ: {interval}"),
                (Lang::Kk, true, false) => {
                    format!("{name} «{title}» бойынша нашарырақ: {interval}")
                }
                (Lang::Ru, true, true) => format!("{name} лучше по «{title}»: {interval}"),
                (Lang::Ru, true, false) => format!("{name} хуже по «{title}»: {interval}"),
                (Lang::En, true, true) => format!("{name} is better for {title}: {interval}"),
                (Lang::En, true, false) => format!("{name} is worse for {title}: {interval}"),
                (Lang::Kk, false, _) => format!(
                    "{name} мен {control_name} «{title}» бойынша әлі ерекшеленбейді: {interval}"
                ),
                (Lang::Ru, false, _) => {
                    format!("{name} и {control_name} по «{title}» пока не различаются: {interval}")
                }
                (Lang::En, false, _) => format!(
                    "{name} and {control_name} are not yet different for {title}: {interval}"
                ),
            };
            let more = match (shown, lift.more_needed) {
                (false, Some(n)) => match lang {
                    Lang::Kk => format!("; әр нұсқаға шамамен тағы {n} шешім керек"),
                    Lang::Ru => format!("; нужно ещё около {n} решений на вариант"),
                    Lang::En => format!("; about {n} more decisions per variant needed"),
                },
                _ => String::new(),
            };
            let sentence = format!("{sentence}{more}");
            let _ = write!(
                out,
                "<li data-verdict=\"{}:{}\">{sentence}</li>",
                escape(&variant.key),
                escape(&category)
            );
        }
    }
    out.push_str("</ul>");
    out
}

/// A table that reads as a table on a wide screen and as one card per row on a phone (each
/// cell says its column: no sideways scrolling).
fn table(lang: Lang, key_label: &str, rows: &[Row]) -> String {
    let categories = optional_categories(rows);
    let mut headers: Vec<String> = vec![
        key_label.to_owned(),
        lang.t("Көрсетілімдер", "Показы", "Impressions").to_owned(),
        lang.t("Шешімдер", "Решения", "Decisions").to_owned(),
        lang.t("Шешім үлесі", "Доля решений", "Decision rate")
            .to_owned(),
    ];
    headers.extend(categories.iter().map(|id| category_title(id, lang)));
    let mut out = String::from("<table class=\"cards\"><thead><tr>");
    for header in &headers {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(header));
    }
    out.push_str("</tr></thead><tbody>");
    if rows.is_empty() {
        let _ = write!(
            out,
            "<tr><td colspan=\"{}\">{}</td></tr>",
            headers.len(),
            lang.t(
                "Бұл кезеңде дерек жоқ.",
                "За этот период данных нет.",
                "No data for this period."
            )
        );
    }
    for row in rows {
        let key = key_name(&row.key, lang);
        let _ = write!(
            out,
            "<tr data-key=\"{}\"><th scope=\"row\" data-label=\"{}\">{}</th><td data-label=\"{}\">{}</td><td data-label=\"{}\">{}</td><td data-label=\"{}\">{}</td>",
            escape(&row.key),
            escape(&headers[0]),
            escape(&key),
            escape(&headers[1]),
            count(row.impressions),
            escape(&headers[2]),
            count(row.decisions),
            escape(&headers[3]),
            percent(row.decision_rate),
        );
        for (index, category) in categories.iter().enumerate() {
            let label = escape(&headers[4 + index]);
            match (row.opt_in.get(category), row.opt_in_interval.get(category)) {
                (Some(rate), Some([low, high])) => {
                    let _ = write!(
                        out,
                        "<td data-label=\"{label}\"><span>{:.1}% <small>({:.0}–{:.0}%)</small></span></td>",
                        rate * 100.0,
                        low * 100.0,
                        high * 100.0
                    );
                }
                _ => {
                    let _ = write!(out, "<td data-label=\"{label}\">—</td>");
                }
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// The daily opt-in rate of each optional category: axes with dates and percentages,
/// gridlines, a point per day with its value in a `<title>` (shown on hover), a legend under
/// it; a sentence instead when there is nothing to draw.
fn chart(days: &[Row], lang: Lang) -> String {
    const WIDTH: f64 = 720.0;
    const HEIGHT: f64 = 260.0;
    const LEFT: f64 = 44.0;
    const RIGHT: f64 = 12.0;
    const TOP: f64 = 12.0;
    const BOTTOM: f64 = 30.0;
    const COLOURS: [&str; 6] = [
        "#0b57a4", "#a4000f", "#1a6e2e", "#7a4a00", "#5b2a86", "#00697a",
    ];
    let categories = optional_categories(days);
    let days: Vec<&Row> = days.iter().filter(|day| day.decisions > 0).collect();
    if days.is_empty() || categories.is_empty() {
        return format!(
            "<p class=\"note\">{}</p>",
            lang.t(
                "Бұл кезеңде шешім әлі жоқ: график шешімдер түскенде пайда болады.",
                "За этот период решений ещё нет: график появится, когда они будут.",
                "No decisions in this period yet: the chart appears once there are some."
            )
        );
    }
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let span = (days.len().max(2) - 1) as f64;
    let x = |i: usize| {
        if days.len() == 1 {
            LEFT + plot_width / 2.0
        } else {
            LEFT + plot_width * i as f64 / span
        }
    };
    let y = |rate: f64| TOP + plot_height * (1.0 - rate);
    let mut svg = format!(
        "<figure class=\"chart\"><div class=\"scroll\"><svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{}\">",
        escape(lang.t(
            "Күн бойынша келісім үлесі",
            "Доля согласий по дням",
            "Daily opt-in rate"
        ))
    );
    for percent in [0, 25, 50, 75, 100] {
        let at = y(f64::from(percent) / 100.0);
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" y1=\"{at:.1}\" x2=\"{:.1}\" y2=\"{at:.1}\" stroke=\"#d0d0d8\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\" fill=\"#3b3b45\">{percent}%</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            at + 4.0
        );
    }
    // Up to six dates along the bottom, the first and the last among them.
    let ticks = days.len().min(6);
    for tick in 0..ticks {
        let index = if ticks == 1 {
            0
        } else {
            tick * (days.len() - 1) / (ticks - 1)
        };
        // The first and last labels are anchored inward, so neither is cut at an edge.
        let anchor = match index {
            0 if days.len() > 1 => "start",
            last if last + 1 == days.len() && days.len() > 1 => "end",
            _ => "middle",
        };
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"{anchor}\" fill=\"#3b3b45\">{}</text>",
            x(index),
            HEIGHT - 10.0,
            escape(days[index].key.get(5..).unwrap_or(&days[index].key))
        );
    }
    for (index, category) in categories.iter().enumerate() {
        let colour = COLOURS[index % COLOURS.len()];
        let title = category_title(category, lang);
        let points: Vec<(usize, f64, i64)> = days
            .iter()
            .enumerate()
            .filter_map(|(i, day)| {
                day.opt_in
                    .get(category)
                    .map(|rate| (i, *rate, (rate * day.decisions as f64).round() as i64))
            })
            .collect();
        let line: Vec<String> = points
            .iter()
            .map(|(i, rate, _)| format!("{:.1},{:.1}", x(*i), y(*rate)))
            .collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>",
            line.join(" ")
        );
        for (i, rate, granted) in points {
            let _ = write!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"{colour}\"><title>{} — {}: {:.1}% ({granted} / {})</title></circle>",
                x(i),
                y(rate),
                escape(&days[i].key),
                escape(&title),
                rate * 100.0,
                days[i].decisions
            );
        }
    }
    svg.push_str("</svg></div><figcaption><ul class=\"legend\">");
    for (index, category) in categories.iter().enumerate() {
        let _ = write!(
            svg,
            "<li><span class=\"swatch\" style=\"background:{}\"></span>{}</li>",
            COLOURS[index % COLOURS.len()],
            escape(&category_title(category, lang))
        );
    }
    svg.push_str("</ul></figcaption></figure>");
    svg
}

/// What is on screen, as CSV: one record per row of every table (and the totals), with the
/// opt-in of each optional category. Cells are numbers or ids from the rollups; the section and
/// key columns go through the export's formula guard all the same.
pub fn csv(sections: &Sections) -> anyhow::Result<String> {
    let mut all: Vec<Row> = Vec::new();
    for rows in [
        &sections.by_day,
        &sections.by_category,
        &sections.by_language,
        &sections.by_variant,
        &sections.by_device,
    ] {
        all.extend(rows.iter().cloned());
    }
    let categories = optional_categories(&all);
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec![
        "section",
        "key",
        "impressions",
        "decisions",
        "decision_rate",
        "accept_all",
        "reject_all",
        "custom",
        "gpc",
        "changes",
        "withdrawals",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect::<Vec<_>>();
    header.extend(categories.iter().map(|id| format!("opt_in_{id}")));
    writer.write_record(&header)?;
    // The totals are a row like the others, with each category's rate from the per-category
    // rows (as the tiles show them).
    let mut total = totals(&sections.by_day);
    for id in &categories {
        if let Some(rate) = opt_in_of(&sections.by_category, id) {
            total.opt_in.insert(id.clone(), rate);
        }
    }
    let pages = sections.by_page.clone().unwrap_or_default();
    let rate = |value: Option<f64>| value.map_or(String::new(), |r| format!("{r:.4}"));
    for (section, rows) in [
        ("total", std::slice::from_ref(&total)),
        ("day", &sections.by_day[..]),
        ("language", &sections.by_language[..]),
        ("variant", &sections.by_variant[..]),
        ("device", &sections.by_device[..]),
        ("page", &pages[..]),
    ] {
        for row in rows {
            let mut record = vec![
                section.to_owned(),
                crate::export::defuse_formula(&row.key),
                row.impressions.to_string(),
                row.decisions.to_string(),
                rate(row.decision_rate),
                row.accept_all.to_string(),
                row.reject_all.to_string(),
                row.custom.to_string(),
                row.gpc.to_string(),
                row.changes.to_string(),
                row.withdrawals.to_string(),
            ];
            record.extend(
                categories
                    .iter()
                    .map(|id| rate(row.opt_in.get(id).copied())),
            );
            writer.write_record(&record)?;
        }
    }
    Ok(String::from_utf8(writer.into_inner()?)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn counts_have_narrow_spaces() {
        assert_eq!(count(16_800), "16\u{202f}800");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_234_567), "1\u{202f}234\u{202f}567");
        assert_eq!(count(0), "0");
    }

    #[test]
    fn presets_and_the_previous_period() {
        let today = date!(2026 - 03 - 15);
        assert_eq!(
            Range::Days(7).bounds(today),
            Some((date!(2026 - 03 - 09), today))
        );
        assert_eq!(
            Range::ThisMonth.bounds(today),
            Some((date!(2026 - 03 - 01), today))
        );
        assert_eq!(
            Range::LastMonth.bounds(today),
            Some((date!(2026 - 02 - 01), date!(2026 - 02 - 28)))
        );
        assert_eq!(Range::Custom.bounds(today), None);
        assert_eq!(
            previous_period(date!(2026 - 03 - 09), date!(2026 - 03 - 15)),
            (date!(2026 - 03 - 02), date!(2026 - 03 - 08))
        );
        for range in Range::PRESETS {
            assert_eq!(Range::parse(range.code()), Some(range));
        }
    }

    fn variant(key: &str, decisions: i64, granted: i64) -> Row {
        let rate = granted as f64 / decisions as f64;
        let mut row = Row::default();
        row.key = key.into();
        row.decisions = decisions;
        row.opt_in.insert("analytics".into(), rate);
        row.opt_in_interval.insert(
            "analytics".into(),
            crate::stats::wilson_interval(granted, decisions),
        );
        row
    }

    #[test]
    fn a_clear_lift_and_one_not_yet_shown() {
        let lift_of = |a: Row, b: Row| lift(&a, &b, "analytics").unwrap();
        let clear = lift_of(variant("a", 1000, 400), variant("b", 1000, 500));
        assert!((clear.points - 10.0).abs() < 1e-9);
        assert!(clear.low > 5.0 && clear.high < 15.0, "{clear:?}");
        assert_eq!(clear.more_needed, None);
        let unclear = lift_of(variant("a", 50, 20), variant("b", 50, 23));
        assert!(unclear.low < 0.0 && unclear.high > 0.0, "{unclear:?}");
        assert!(unclear.more_needed.unwrap() > 100, "{unclear:?}");
    }
}
