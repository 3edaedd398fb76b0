//! The banner's stylesheet (`kelisim.css` beside this file), the forms' (`forms.css`) and their
//! minifier. The config compiler puts the minified banner sheet with the site's theme into each
//! compiled config; the forms module's build script minifies the forms' sheet into the module.
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

/// The banner's stylesheet as written (scoped under `#kelisim`).
pub const STYLESHEET: &str = include_str!("kelisim.css");

/// The stylesheet of a form's consent block, as written: the forms module's own (its build
/// script minifies it), so a compiled config does not carry it.
pub const FORMS_STYLESHEET: &str = include_str!("forms.css");
