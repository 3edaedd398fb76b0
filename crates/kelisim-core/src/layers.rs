//! The two layers a visitor sees, written by the compiler as node trees for one language: the
//! first-layer banner and the preferences dialog, and the consent block of each form, with
//! every text, name, country and term already in place. The browser modules build them with
//! one generic builder (`dom`) and only set what depends on the visit: the switches, the
//! Global Privacy Control note, the values of the visitor's own consent, a block's ids. A tree
//! is `[tag, {attribute: value, …}, child, …]`, a child being a tree or a text; texts become
//! text nodes, never markup, so a config text cannot inject HTML and the layers work on pages
//! that require Trusted Types.
//!
//! Native code only (feature `compile`). What the runtime accepts in a tree (tags, attributes,
//! link targets) is checked when it reads one (`compiled::is_layer_tag`, `is_layer_attribute`).

use crate::config::{
    Category, Config, Form, Layout, Service, FORM_ERROR_ID, FORM_OPERATOR_ID, FORM_PURPOSES_FIELD,
    FORM_RECEIPT_FIELD,
};
use crate::language::Language;
use crate::texts::{country_name, data_kind_names, fill, format_days};
use serde_json::{json, Map, Value};

/// An element: its tag, attributes in order, children.
fn element(tag: &str, attributes: &[(&str, &str)], children: Vec<Value>) -> Value {
    let mut map = Map::new();
    for (name, value) in attributes {
        map.insert((*name).to_owned(), Value::String((*value).to_owned()));
    }
    let mut node = vec![json!(tag), Value::Object(map)];
    node.extend(children);
    Value::Array(node)
}

fn text(text: &str) -> Value {
    Value::String(text.to_owned())
}

/// A button that carries the action the runtime's one click listener reads.
fn button(class: &str, action: &str, label: &str, more: &[(&str, &str)]) -> Value {
    let mut attributes = vec![
        ("class", class),
        ("type", "button"),
        ("data-kelisim-action", action),
    ];
    attributes.extend_from_slice(more);
    element("button", &attributes, vec![text(label)])
}

/// A `<dl>` of rows: a label, the class of its value (none when empty: the runtime fills a
/// value it finds by its class), and the value (an empty one leaves the `<dd>` empty).
fn facts(rows: &[(&str, &str, &str)]) -> Value {
    let mut children = Vec::new();
    for (label, class, value) in rows {
        children.push(element("dt", &[], vec![text(label)]));
        let attributes: &[(&str, &str)] = if class.is_empty() {
            &[]
        } else {
            &[("class", class)]
        };
        let value = if value.is_empty() {
            vec![]
        } else {
            vec![text(value)]
        };
        children.push(element("dd", attributes, value));
    }
    element("dl", &[], children)
}

/// The link to the operator's personal data policy, opening in a new tab.
fn policy_link(config: &Config, language: Language) -> Value {
    element(
        "a",
        &[
            ("class", "kelisim-policy"),
            ("href", config.policy_url(language)),
            ("target", "_blank"),
            ("rel", "noopener"),
        ],
        vec![text(config.texts(language).policy_link())],
    )
}

/// The language buttons, when the site has more than one language.
fn language_switch(config: &Config, language: Language) -> Option<Value> {
    if config.languages.len() < 2 {
        return None;
    }
    let buttons = config
        .languages
        .iter()
        .map(|&choice| {
            button(
                "kelisim-language",
                "language",
                choice.native_name(),
                &[
                    ("data-kelisim-language", choice.code()),
                    ("lang", choice.code()),
                    (
                        "aria-pressed",
                        if choice == language { "true" } else { "false" },
                    ),
                ],
            )
        })
        .collect();
    Some(element(
        "div",
        &[
            ("class", "kelisim-languages"),
            ("role", "group"),
            ("aria-label", config.texts(language).language_label()),
        ],
        buttons,
    ))
}

/// The first layer: title, description with the policy link, the notes Law 94-V Art. 8 p.4
/// wants before the consent (the Global Privacy Control note first, hidden until a visit
/// honours the signal), and the three equal choices.
pub fn banner(config: &Config, language: Language) -> Value {
    let texts = config.texts(language);
    let modal = config.ui.layout == Layout::Modal;
    let mut head = vec![element(
        "h2",
        &[("class", "kelisim-title"), ("id", "kelisim-title")],
        vec![text(texts.title())],
    )];
    head.extend(language_switch(config, language));
    let mut notes = Vec::new();
    if config.gpc {
        notes.push(element(
            "p",
            &[("class", "kelisim-gpc"), ("hidden", "")],
            vec![text(texts.gpc_notice())],
        ));
    }
    for (class, note) in config.first_layer_notes(language) {
        notes.push(element("p", &[("class", class)], vec![text(&note)]));
    }
    element(
        "div",
        &[
            ("class", "kelisim-banner"),
            ("role", "dialog"),
            ("aria-modal", if modal { "true" } else { "false" }),
            ("aria-labelledby", "kelisim-title"),
            ("aria-describedby", "kelisim-description"),
        ],
        vec![element(
            "div",
            &[("class", "kelisim-banner__inner")],
            vec![
                element("div", &[("class", "kelisim-head")], head),
                element(
                    "p",
                    &[
                        ("class", "kelisim-description"),
                        ("id", "kelisim-description"),
                    ],
                    vec![
                        text(&format!("{} ", texts.description())),
                        policy_link(config, language),
                    ],
                ),
                element("div", &[("class", "kelisim-notes")], notes),
                element(
                    "div",
                    &[("class", "kelisim-actions")],
                    vec![
                        button("kelisim-button", "accept-all", texts.accept_all(), &[]),
                        button("kelisim-button", "reject-all", texts.reject_all(), &[]),
                        button("kelisim-button", "preferences", texts.preferences(), &[]),
                    ],
                ),
            ],
        )],
    )
}

/// A switch (a checkbox with `role="switch"`); `locked` for a required category's. The
/// runtime sets whether it is on.
fn switch(locked: bool, more: &[(&str, &str)]) -> Value {
    let mut attributes = vec![
        ("class", "kelisim-switch"),
        ("type", "checkbox"),
        ("role", "switch"),
    ];
    if locked {
        attributes.push(("disabled", ""));
    }
    attributes.extend_from_slice(more);
    element("input", &attributes, Vec::new())
}

fn service_item(
    config: &Config,
    language: Language,
    category: &Category,
    service: &Service,
) -> Value {
    let texts = config.texts(language);
    let name_id = format!("kelisim-service-{}", service.id);
    let mut name = vec![element(
        "span",
        &[("class", "kelisim-service__name"), ("id", &name_id)],
        vec![text(&service.name)],
    )];
    if service.is_cross_border() {
        name.push(element(
            "span",
            &[("class", "kelisim-badge")],
            vec![text(texts.cross_border_badge())],
        ));
    }
    let country = country_name(&service.country, language);
    let kinds = data_kind_names(&service.data, language);
    let cookies = service.cookies.join(", ");
    let mut rows = vec![(texts.country_label(), "", country.as_str())];
    if !service.data.is_empty() {
        rows.push((texts.data_label(), "", &kinds));
    }
    if !service.cookies.is_empty() {
        rows.push((texts.cookies_label(), "", &cookies));
    }
    element(
        "li",
        &[("class", "kelisim-service")],
        vec![
            element(
                "div",
                &[("class", "kelisim-service__head")],
                vec![
                    element("span", &[], name),
                    switch(
                        category.required,
                        &[
                            ("data-kelisim-service", &service.id),
                            ("data-kelisim-service-category", &category.id),
                            ("aria-labelledby", &name_id),
                        ],
                    ),
                ],
            ),
            facts(&rows),
        ],
    )
}

fn category_section(config: &Config, language: Language, category: &Category) -> Value {
    let texts = config.texts(language);
    let category_texts = category.texts(language);
    let heading_id = format!("kelisim-category-{}", category.id);
    let mut head = vec![element(
        "h3",
        &[("id", &heading_id)],
        vec![text(&category_texts.title)],
    )];
    if category.required {
        head.push(element(
            "span",
            &[("class", "kelisim-always-on")],
            vec![text(texts.always_on())],
        ));
    }
    head.push(switch(
        category.required,
        &[
            ("data-kelisim-category", &category.id),
            ("aria-labelledby", &heading_id),
        ],
    ));
    let mut children = vec![
        element("div", &[("class", "kelisim-category__head")], head),
        element("p", &[], vec![text(&category_texts.description)]),
    ];
    if let Some(refusal) = &category_texts.refusal {
        children.push(element(
            "p",
            &[("class", "kelisim-refusal")],
            vec![
                element(
                    "strong",
                    &[],
                    vec![text(&format!("{}: ", texts.refusal_label()))],
                ),
                element("span", &[], vec![text(refusal)]),
            ],
        ));
    }
    if !category.services.is_empty() {
        let items = category
            .services
            .iter()
            .map(|service| service_item(config, language, category, service))
            .collect();
        children.push(element(
            "details",
            &[("class", "kelisim-services")],
            vec![
                element(
                    "summary",
                    &[],
                    vec![text(&format!(
                        "{} ({})",
                        texts.services_label(),
                        category.services.len()
                    ))],
                ),
                element("ul", &[], items),
            ],
        ));
    }
    element(
        "section",
        &[
            ("class", "kelisim-category"),
            ("aria-labelledby", &heading_id),
        ],
        children,
    )
}

/// "Your consent", last in the preferences' body: when the standing choice was made, what it
/// grants, its receipt (pending until the server acknowledged one), a link to download the
/// receipt (hidden until there is one) and the button to withdraw. The runtime fills the three
/// values, shows the link, and removes the section while there is no choice.
fn your_consent(config: &Config, language: Language) -> Value {
    let texts = config.texts(language);
    element(
        "section",
        &[
            ("class", "kelisim-your-consent"),
            ("aria-labelledby", "kelisim-your-consent"),
        ],
        vec![
            element(
                "h3",
                &[("id", "kelisim-your-consent")],
                vec![text(texts.your_consent())],
            ),
            facts(&[
                (texts.decided_label(), "kelisim-decided", ""),
                (texts.granted_label(), "kelisim-granted", ""),
                (
                    texts.receipt_label(),
                    "kelisim-receipt",
                    texts.receipt_pending(),
                ),
            ]),
            element(
                "a",
                &[
                    ("class", "kelisim-link-button kelisim-download"),
                    ("hidden", ""),
                ],
                vec![text(texts.download_receipt())],
            ),
            button("kelisim-link-button", "withdraw", texts.withdraw(), &[]),
        ],
    )
}

/// The preferences dialog: head with the close button, the legal details, a section per
/// category with its switch and its services' facts, the visitor's own consent, and the three
/// actions.
pub fn preferences(config: &Config, language: Language) -> Value {
    let texts = config.texts(language);
    let mut head = vec![element(
        "h2",
        &[("id", "kelisim-preferences-title")],
        vec![text(texts.preferences_title())],
    )];
    head.extend(language_switch(config, language));
    head.push(button(
        "kelisim-close",
        "close",
        "×",
        &[("aria-label", texts.close())],
    ));
    let mut body = vec![
        element(
            "p",
            &[],
            vec![
                text(&format!("{} ", texts.preferences_description())),
                policy_link(config, language),
            ],
        ),
        element(
            "p",
            &[("class", "kelisim-expiry")],
            vec![text(&fill(
                texts.expiry(),
                "days",
                &format_days(language, config.expiry_days),
            ))],
        ),
        element(
            "p",
            &[("class", "kelisim-operator")],
            vec![text(&config.operator_line(language, true))],
        ),
    ];
    for category in &config.categories {
        body.push(category_section(config, language, category));
    }
    body.push(your_consent(config, language));
    element(
        "div",
        &[("class", "kelisim-overlay")],
        vec![element(
            "div",
            &[
                ("class", "kelisim-preferences"),
                ("role", "dialog"),
                ("aria-modal", "true"),
                ("aria-labelledby", "kelisim-preferences-title"),
                ("tabindex", "-1"),
            ],
            vec![
                element(
                    "div",
                    &[("class", "kelisim-preferences__head kelisim-head")],
                    head,
                ),
                element("div", &[("class", "kelisim-preferences__body")], body),
                element(
                    "div",
                    &[("class", "kelisim-preferences__foot")],
                    vec![element(
                        "div",
                        &[("class", "kelisim-actions")],
                        vec![
                            button("kelisim-button", "reject-all", texts.reject_all(), &[]),
                            button("kelisim-button", "save", texts.save(), &[]),
                            button("kelisim-button", "accept-all", texts.accept_all(), &[]),
                        ],
                    )],
                ),
            ],
        )],
    )
}

/// The consent block of purpose set `form` in a sign-up, checkout or loyalty form: the
/// operator's line (which the block's `aria-describedby` names), one unticked checkbox per
/// purpose (a required one with its error, hidden until a submission misses it), the details
/// of every Law 94-V Art. 8 p.4 item per purpose, how to withdraw, and the hidden field for the
/// receipt id. The forms module builds it as written, numbering its ids per block (a page may
/// have the same purpose set twice), and adds the SMS or signing step of a confirmed form.
pub fn form_block(config: &Config, form: &Form, language: Language) -> Value {
    let texts = config.texts(language);
    let mut children = vec![element(
        "p",
        &[("class", "kelisim-form-operator"), ("id", FORM_OPERATOR_ID)],
        vec![text(&config.operator_line(language, false))],
    )];
    for purpose in &form.purposes {
        let title = purpose.title.get(language).map_or("", String::as_str);
        // Each required purpose has its own error, named by its checkbox.
        let error_id = format!("{FORM_ERROR_ID}-{}", purpose.id);
        let mut checkbox = vec![
            ("type", "checkbox"),
            ("name", FORM_PURPOSES_FIELD),
            ("value", purpose.id.as_str()),
        ];
        if purpose.required {
            checkbox.extend_from_slice(&[
                ("data-kelisim-required", ""),
                ("aria-required", "true"),
                ("aria-describedby", &error_id),
            ]);
        }
        children.push(element(
            "label",
            &[("class", "kelisim-form-purpose")],
            vec![
                element("input", &checkbox, vec![]),
                element(
                    "span",
                    &[],
                    vec![text(&format!(
                        " {}",
                        fill(texts.form_consent(), "purpose", title)
                    ))],
                ),
            ],
        ));
        if purpose.required {
            children.push(element(
                "p",
                &[
                    ("class", "kelisim-form-error"),
                    ("id", &error_id),
                    ("role", "alert"),
                    ("hidden", ""),
                ],
                vec![text(texts.form_required_error())],
            ));
        }
    }
    let mut details = vec![element("summary", &[], vec![text(texts.form_details())])];
    for purpose in &form.purposes {
        let title = purpose.title.get(language).map_or("", String::as_str);
        let abroad: Vec<String> = purpose
            .countries
            .iter()
            .filter(|code| code.as_str() != "KZ")
            .map(|code| country_name(code, language))
            .collect();
        let none_or = |list: String| {
            if list.is_empty() {
                texts.no().to_owned()
            } else {
                list
            }
        };
        let publication = if purpose.publication {
            texts.yes()
        } else {
            texts.no()
        };
        details.push(facts(&[
            (texts.purpose_label(), "", title),
            (
                texts.data_label(),
                "",
                &data_kind_names(&purpose.data, language),
            ),
            (
                texts.term_label(),
                "",
                &format_days(language, purpose.term_days),
            ),
            (
                texts.recipients_label(),
                "",
                &none_or(purpose.recipients.join("; ")),
            ),
            (texts.cross_border_badge(), "", &none_or(abroad.join(", "))),
            (texts.publication_label(), "", publication),
        ]));
    }
    details.push(element(
        "p",
        &[],
        vec![text(&config.operator_line(language, true))],
    ));
    details.push(policy_link(config, language));
    children.push(element(
        "details",
        &[("class", "kelisim-form-details")],
        details,
    ));
    // Withdrawing must be as easy as consenting: said under the boxes, not inside the details.
    children.push(element(
        "p",
        &[("class", "kelisim-form-withdrawal")],
        vec![text(&fill(
            texts.form_withdrawal(),
            "email",
            &config.operator.email,
        ))],
    ));
    children.push(element(
        "input",
        &[("type", "hidden"), ("name", FORM_RECEIPT_FIELD)],
        vec![],
    ));
    element(
        "div",
        &[
            ("class", "kelisim-form-consent"),
            ("role", "group"),
            ("lang", language.code()),
            ("aria-describedby", FORM_OPERATOR_ID),
        ],
        children,
    )
}
