//! The floating "Cookie settings" button a visitor finds after a choice (`ui.reopen: "button"`,
//! the default): withdrawing must be as easy as consenting, whatever the store's markup.
//!
//! Owns its one `<button>` (the last child of `<body>`, so it comes last in the tab order)
//! and its click listener; dropping the handle removes both. It lives outside `#kelisim`,
//! whose layers come and go, and carries the theme's colours itself.

use crate::browser::document;
use crate::dom::{self, set_attr};
use gloo_events::EventListener;
use kelisim_core::{Config, Language, Position};
use web_sys::Element;

pub struct ReopenButton {
    element: Element,
    _click: EventListener,
}

impl ReopenButton {
    /// Adds the button to `<body>` (none yet: `None`); `on_click` opens the preferences.
    pub fn mount(
        config: &Config,
        language: Language,
        on_click: impl Fn() + 'static,
    ) -> Option<ReopenButton> {
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
        let click = EventListener::new(&element, "click", move |_| on_click());
        let button = ReopenButton {
            element,
            _click: click,
        };
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
