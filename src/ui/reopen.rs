//! The floating "Cookie settings" button a visitor finds after a choice (`ui.reopen: "button"`,
//! the default): withdrawing must be as easy as consenting, whatever the store's markup.
//!
//! Owns its one `<button>` (the last child of `<body>`, so it comes last in the tab order);
//! dropping the handle removes it. It is a `data-kelisim="open"` element like the site's own
//! links, so the SDK's one click listener on the document serves it. It lives outside
//! `#kelisim`, whose layers come and go, and carries the theme's colours itself.

use crate::browser::document;
use crate::dom::{self, set_attr};
use kelisim_core::{Config, Language, Position};
use web_sys::Element;

pub struct ReopenButton {
    element: Element,
}

impl ReopenButton {
    /// Adds the button to `<body>` (none yet: `None`).
    pub fn mount(config: &Config, language: Language) -> Option<ReopenButton> {
        super::install_styles(config);
        let body = document().body()?;
        let element = dom::element(
            "button",
            if config.ui.reopen_position == Position::BottomRight {
                "kelisim-reopen kelisim-reopen--right"
            } else {
                "kelisim-reopen"
            },
        );
        set_attr(&element, "type", "button");
        set_attr(&element, "id", "kelisim-reopen");
        set_attr(&element, "data-kelisim", "open");
        let button = ReopenButton { element };
        button.set_language(config, language);
        dom::append_node(&body, &button.element);
        Some(button)
    }

    /// Says "Cookie settings" in `language` (the words the consent texts point to).
    pub fn set_language(&self, config: &Config, language: Language) {
        self.element
            .set_text_content(Some(config.texts(language).preferences_title()));
        set_attr(&self.element, "lang", language.code());
    }
}

impl Drop for ReopenButton {
    fn drop(&mut self) {
        self.element.remove();
    }
}
