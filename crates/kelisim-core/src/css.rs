//! The banner's stylesheet (`kelisim.css` beside this file), the forms' (`forms.css`) and their
//! minifier. The config compiler puts the minified banner sheet with the site's theme into each
//! compiled config; the forms module's build script minifies the forms' sheet into the module.
//! For the compiler it also drops the rules of layouts a config never shows (`without_classes`)
//! and splits off the preferences dialog's (`split_rules`, `styled_element`).
//!
//! Deliberately conservative: it drops comments, collapses whitespace, and removes spaces only
//! where CSS never needs them (around `{`, `}`, `;`, `,` and after `:`), copying quoted strings
//! untouched. It never touches `+`, `-`, `>` or `~`, whose spaces matter inside `calc()`.

pub fn minify_css(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut chars = css.chars().peekable();
    // A whitespace run waiting to be written as one space, unless the next or the previous
    // character makes it unnecessary.
    let mut pending_space = false;
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut previous = ' ';
                for c in chars.by_ref() {
                    if previous == '*' && c == '/' {
                        break;
                    }
                    previous = c;
                }
                pending_space = true;
            }
            c if c.is_whitespace() => pending_space = true,
            '"' | '\'' => {
                flush_space(&mut out, &mut pending_space);
                out.push(c);
                for inner in chars.by_ref() {
                    out.push(inner);
                    if inner == c {
                        break;
                    }
                }
            }
            '}' => {
                pending_space = false;
                if out.ends_with(';') {
                    out.pop();
                }
                out.push(c);
            }
            '{' | ';' | ',' => {
                pending_space = false;
                out.push(c);
                skip_whitespace(&mut chars);
            }
            ':' => {
                flush_space(&mut out, &mut pending_space);
                out.push(c);
                // `color: red` -> `color:red`; a selector never has a space after its colon.
                skip_whitespace(&mut chars);
            }
            c => {
                flush_space(&mut out, &mut pending_space);
                out.push(c);
            }
        }
    }
    out.trim().to_owned()
}

fn flush_space(out: &mut String, pending_space: &mut bool) {
    let previous = out.chars().last();
    if std::mem::take(pending_space) && !matches!(previous, None | Some('{' | '}' | ';' | ',')) {
        out.push(' ');
    }
}

fn skip_whitespace(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while chars.peek().is_some_and(|c| c.is_whitespace()) {
        chars.next();
    }
}

/// `css` (minified) without the selectors that name one of `classes` (`kelisim--box`): the
/// rules of layouts and positions a config never shows. A rule loses only those of its
/// selectors and goes when none is left; `@media` blocks are filtered inside and go when
/// empty; other at-rules (`@keyframes`) stay whole. The compiler's (it uses `format!`).
#[cfg(feature = "compile")]
pub fn without_classes(css: &str, classes: &[&str]) -> String {
    let mut out = String::with_capacity(css.len());
    let rest = for_each_block(css, |prelude, body, whole| {
        if prelude.starts_with("@media") {
            let inner = without_classes(body, classes);
            if !inner.is_empty() {
                out.push_str(&format!("{prelude}{{{inner}}}"));
            }
        } else if prelude.starts_with('@') {
            out.push_str(whole);
        } else {
            let kept: Vec<&str> = prelude
                .split(',')
                .filter(|selector| !classes.iter().any(|class| names_class(selector, class)))
                .collect();
            if !kept.is_empty() {
                out.push_str(&format!("{}{{{body}}}", kept.join(",")));
            }
        }
    });
    out.push_str(rest);
    out
}

/// Calls `each(prelude, body, whole)` for every top-level block of `css` (minified) in order,
/// and answers what follows the last one.
#[cfg(feature = "compile")]
fn for_each_block<'a>(css: &'a str, mut each: impl FnMut(&'a str, &'a str, &'a str)) -> &'a str {
    let mut rest = css;
    while let Some(open) = rest.find('{') {
        // The block's end: the brace that closes this one.
        let mut depth = 0;
        let mut close = open;
        for (at, byte) in rest.bytes().enumerate().skip(open) {
            match byte {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = at;
                        break;
                    }
                }
                _ => {}
            }
        }
        each(&rest[..open], &rest[open + 1..close], &rest[..=close]);
        rest = &rest[close + 1..];
    }
    rest
}

/// `css` (minified) split in two: the rules whose every selector `moves`, and the rest, each
/// in the order written. `@media` blocks are split inside; other at-rules (`@keyframes`) stay
/// with the rest. Appended after the rest, the first part cascades as it did in place as long
/// as no rule of the rest that follows it matches the same elements, which holds for classes
/// and elements only one layer has. The compiler's.
#[cfg(feature = "compile")]
pub fn split_rules(css: &str, moves: &impl Fn(&str) -> bool) -> (String, String) {
    let (mut kept, mut moved) = (String::new(), String::new());
    let rest = for_each_block(css, |prelude, body, whole| {
        if prelude.starts_with("@media") {
            let (kept_inside, moved_inside) = split_rules(body, moves);
            for (out, inner) in [(&mut kept, kept_inside), (&mut moved, moved_inside)] {
                if !inner.is_empty() {
                    out.push_str(&format!("{prelude}{{{inner}}}"));
                }
            }
        } else if !prelude.starts_with('@') && prelude.split(',').all(moves) {
            moved.push_str(whole);
        } else {
            kept.push_str(whole);
        }
    });
    kept.push_str(rest);
    (kept, moved)
}

/// The element a selector styles, when its last compound names one (`dl` of `#kelisim dl`,
/// `ul` of `#kelisim p + ul`); `None` for a class, an id, an attribute or a pseudo-class
/// alone (`#kelisim :focus-visible`). Minified selectors without quoted spaces, as the
/// stylesheet's.
#[cfg(feature = "compile")]
pub fn styled_element(selector: &str) -> Option<&str> {
    let last = selector.rsplit([' ', '>', '+', '~']).next()?;
    let end = last
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(last.len());
    let name = &last[..end];
    name.starts_with(|c: char| c.is_ascii_lowercase())
        .then_some(name)
}

/// Whether `selector` has the class `class` (`.kelisim--bottom` is not `.kelisim--bottom-left`).
#[cfg(feature = "compile")]
pub fn names_class(selector: &str, class: &str) -> bool {
    let wanted = format!(".{class}");
    selector.match_indices(&wanted).any(|(at, _)| {
        !selector[at + wanted.len()..]
            .chars()
            .next()
            .is_some_and(|next| next.is_ascii_alphanumeric() || next == '-' || next == '_')
    })
}

/// The banner's stylesheet as written (scoped under `#kelisim`).
pub const STYLESHEET: &str = include_str!("kelisim.css");

/// The stylesheet of a form's consent block, as written: the forms module's own (its build
/// script minifies it), so a compiled config does not carry it.
pub const FORMS_STYLESHEET: &str = include_str!("forms.css");

#[cfg(all(test, feature = "compile"))]
mod tests {
    use super::*;

    #[test]
    fn rules_of_unused_classes_go_and_the_rest_stay() {
        let css = ".a{x:1}.k--box .b,.k--bar .b{y:2}.k--box .c{z:3}@media (max-width:480px){.k--box{w:4}}@media print{.a{v:5}}@keyframes f{from{o:0}}.k--bottom-left{p:6}";
        assert_eq!(
            without_classes(css, &["k--box", "k--bottom"]),
            ".a{x:1}.k--bar .b{y:2}@media print{.a{v:5}}@keyframes f{from{o:0}}.k--bottom-left{p:6}"
        );
        assert_eq!(without_classes(css, &[]), css);
    }

    #[test]
    fn rules_only_of_the_classes_split_off_in_order() {
        let css = ".a{x:1}.p .b,.p{y:2}.p,.a{z:3}@media (max-width:480px){.a{w:4}.p{v:5}}@keyframes f{from{o:0}}.pp{u:6}";
        assert_eq!(
            split_rules(css, &|selector| names_class(selector, "p")),
            (
                ".a{x:1}.p,.a{z:3}@media (max-width:480px){.a{w:4}}@keyframes f{from{o:0}}.pp{u:6}"
                    .to_owned(),
                ".p .b,.p{y:2}@media (max-width:480px){.p{v:5}}".to_owned()
            )
        );
    }

    #[test]
    fn the_styled_element_is_the_last_compounds() {
        for (selector, element) in [
            ("#kelisim dl", Some("dl")),
            ("#kelisim p + ul", Some("ul")),
            ("#kelisim>h3.kelisim-title", Some("h3")),
            ("#kelisim p~dd", Some("dd")),
            ("input[type=\"checkbox\"]:checked", Some("input")),
            (".kelisim-banner .kelisim-actions", None),
            ("#kelisim :focus-visible", None),
            ("#kelisim [hidden]", None),
            ("#kelisim *", None),
            ("#kelisim", None),
        ] {
            assert_eq!(styled_element(selector), element, "{selector}");
        }
    }
}
