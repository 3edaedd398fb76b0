//! What to delete when consent is revoked: which cookie names match a service's patterns, and
//! on which domains a cookie may have been set.
//!
//! Pure string logic; the SDK reads `document.cookie` and writes the expiring cookies.

use crate::strings::{has_byte, split_at, split_once_at};

/// Whether `name` matches `pattern`, where `*` stands for any run of characters
/// (`_ga_*` matches `_ga_X1Y2`, `*` matches everything, `_ym_uid` only itself).
pub fn matches_pattern(pattern: &str, name: &str) -> bool {
    let parts = split_at(pattern, b'*');
    let Some(mut rest) = name.strip_prefix(parts[0]) else {
        return false;
    };
    let Some((last, middle)) = parts[1..].split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        // The first place `part` starts (by hand rather than `str::find`, whose string
        // searcher is large in the wasm module).
        // (`get` is `None` inside a character, so only character boundaries are tried.)
        let found = (0..rest.len()).find_map(|index| rest.get(index..)?.strip_prefix(part));
        match found {
            Some(after) => rest = after,
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// `hostname` without the trailing dot of a fully qualified name (`shop.kz.`). Stripped by a
/// loop of string suffixes: a `char` pattern would bring the character searcher. Not
/// lowercased: `location.hostname` is lowercase already, cookie domains compare without case,
/// and [`consent_cookie_domain`] compares so too.
fn normal_host(hostname: &str) -> &str {
    let mut host = hostname;
    while let Some(rest) = host.strip_suffix(".") {
        host = rest;
    }
    host
}

/// The `Domain=` values a cookie of this page may carry: the host itself and each parent
/// domain with at least two labels (`www.shop.kz` gives `www.shop.kz`, `shop.kz`). Vendors such
/// as Google Analytics set their cookies on the parent domain, so clearing only the host would
/// leave them behind. IP addresses and single-label hosts (`localhost`) have none: their
/// cookies are host-only and are cleared without a `Domain`.
pub fn cookie_domains(hostname: &str) -> Vec<String> {
    let host = normal_host(hostname);
    // An IPv4 address is all digits and dots; an IPv6 one has colons (or brackets).
    let is_ip = host.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        || has_byte(host, b':')
        || host.starts_with("[");
    if is_ip || !has_byte(host, b'.') {
        return Vec::new();
    }
    // The host, then each parent that still has a dot: a.b.example.kz, b.example.kz, example.kz.
    let mut domains = vec![host.to_owned()];
    let mut rest = host;
    while let Some((_, parent)) = split_once_at(rest, b'.') {
        if has_byte(parent, b'.') {
            domains.push(parent.to_owned());
        }
        rest = parent;
    }
    domains
}

/// The `Domain=` of the consent cookie: the configured domain when the page's host is it or
/// one of its subdomains, `None` (host-only) otherwise.
pub fn consent_cookie_domain<'a>(hostname: &str, configured: Option<&'a str>) -> Option<&'a str> {
    let domain = configured?;
    let host = normal_host(hostname);
    // The host is the domain, or ends with "." and the domain (ASCII case ignored).
    let subdomain = host
        .len()
        .checked_sub(domain.len() + 1)
        .and_then(|start| host.get(start..))
        .is_some_and(|tail| tail.eq_ignore_ascii_case(&[".", domain].concat()));
    (host.eq_ignore_ascii_case(domain) || subdomain).then_some(domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pattern: &str, name: &str, expected: bool) {
        assert_eq!(
            matches_pattern(pattern, name),
            expected,
            "{pattern} vs {name}"
        );
    }

    #[test]
    fn patterns() {
        check("_ga", "_ga", true);
        check("_ga", "_gat", false);
        check("_ga_*", "_ga_X1Y2Z3", true);
        check("_ga_*", "_ga", false);
        check("_ym*", "_ym_uid", true);
        check("_ym*", "_ym", true);
        check("*", "anything", true);
        check("*_uid", "_ym_uid", true);
        check("*_uid", "_ym_uid2", false);
        check("a*b*c", "a-x-b-y-c", true);
        check("a*b*c", "a-x-c", false);
        check("tmr_*", "tmr_lvid", true);
    }

    #[test]
    fn consent_cookie_domain_only_for_its_own_subdomains() {
        assert_eq!(
            consent_cookie_domain("shop.example.kz", Some("example.kz")),
            Some("example.kz")
        );
        assert_eq!(
            consent_cookie_domain("example.kz", Some("example.kz")),
            Some("example.kz")
        );
        assert_eq!(
            consent_cookie_domain("PAY.Example.kz.", Some("example.kz")),
            Some("example.kz")
        );
        assert_eq!(
            consent_cookie_domain("badexample.kz", Some("example.kz")),
            None
        );
        assert_eq!(consent_cookie_domain("127.0.0.1", Some("example.kz")), None);
        assert_eq!(consent_cookie_domain("shop.example.kz", None), None);
    }

    #[test]
    fn domains() {
        assert_eq!(
            cookie_domains("www.glazik.kz"),
            ["www.glazik.kz", "glazik.kz"]
        );
        assert_eq!(
            cookie_domains("a.b.shop.kz"),
            ["a.b.shop.kz", "b.shop.kz", "shop.kz"]
        );
        assert_eq!(cookie_domains("nlg.kz"), ["nlg.kz"]);
        assert!(cookie_domains("localhost").is_empty());
        assert!(cookie_domains("127.0.0.1").is_empty());
        assert!(cookie_domains("[::1]").is_empty());
    }
}
