//! What a receipt keeps of the visitor's user agent: the browser and its major version, the
//! operating system and its version, and the class of device (`Chrome 131; Android 14;
//! Mobile`). That is what a data-protection officer needs to recognise a visitor's device in a
//! dispute; the full string adds build numbers and device models that narrow a visitor down
//! without proving anything more. A site may keep the full string (`full_user_agent` in the
//! sites file).

use crate::stats::device_class;

/// The reduced form of `user_agent`, at most a few dozen bytes. Unknown browsers and systems
/// are `Other`; an empty user agent stays empty.
pub fn reduce(user_agent: &str) -> String {
    if user_agent.trim().is_empty() {
        return String::new();
    }
    let device = match device_class(user_agent) {
        "mobile" => "Mobile",
        "tablet" => "Tablet",
        _ => "Desktop",
    };
    format!("{}; {}; {device}", browser(user_agent), system(user_agent))
}

/// Browser and major version. Order matters: Chromium-based browsers also say `Chrome/` and
/// `Safari/`, so the more specific tokens are looked for first.
fn browser(user_agent: &str) -> String {
    const BROWSERS: [(&str, &str); 10] = [
        ("YaBrowser/", "Yandex Browser"),
        ("Edg/", "Edge"),
        ("EdgA/", "Edge"),
        ("OPR/", "Opera"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chrome/", "Chrome"),
        ("Version/", "Safari"),
    ];
    for (token, name) in BROWSERS {
        if let Some(version) = version_after(user_agent, token) {
            if token == "Version/" && !user_agent.contains("Safari/") {
                continue;
            }
            let major = version.split('.').next().unwrap_or_default();
            return format!("{name} {major}");
        }
    }
    "Other".to_owned()
}

/// Operating system and its version (major and minor where the string gives them).
fn system(user_agent: &str) -> String {
    if let Some(version) = version_after(user_agent, "Windows NT ") {
        // NT 10.0 is both Windows 10 and 11; browsers no longer tell them apart here.
        let name = match version.as_str() {
            "10.0" => "10",
            "6.3" => "8.1",
            "6.2" => "8",
            "6.1" => "7",
            other => other,
        };
        return format!("Windows {name}");
    }
    if let Some(version) = version_after(user_agent, "Android ") {
        return format!("Android {version}");
    }
    if user_agent.contains("Android") {
        return "Android".to_owned();
    }
    for (token, name) in [("iPhone OS ", "iOS"), ("iPad; CPU OS ", "iPadOS")] {
        if let Some(version) = version_after(user_agent, token) {
            return format!("{name} {}", major_minor(&version.replace('_', ".")));
        }
    }
    if user_agent.contains("Mac OS X") {
        // Browsers freeze the macOS version at 10.15.7; only the system is worth keeping.
        return "macOS".to_owned();
    }
    if user_agent.contains("CrOS") {
        return "ChromeOS".to_owned();
    }
    if user_agent.contains("Linux") {
        return "Linux".to_owned();
    }
    "Other".to_owned()
}

/// The version that follows `token`: digits, dots and underscores.
fn version_after(user_agent: &str, token: &str) -> Option<String> {
    let start = user_agent.find(token)? + token.len();
    let version: String = user_agent[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '_')
        .take(16)
        .collect();
    let version = version.trim_end_matches(['.', '_']).to_owned();
    (!version.is_empty()).then_some(version)
}

fn major_minor(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_user_agents_are_reduced_to_browser_system_and_device() {
        for (full, reduced) in [
            (
                "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.135 Mobile Safari/537.36",
                "Chrome 131; Android 14; Mobile",
            ),
            (
                "Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
                "Chrome 131; Android 13; Tablet",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
                "Safari 18; iOS 18.1; Mobile",
            ),
            (
                "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
                "Safari 17; iPadOS 17.0; Tablet",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
                "Edge 131; Windows 10; Desktop",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 YaBrowser/24.12.0.0 Safari/537.36",
                "Yandex Browser 24; Windows 10; Desktop",
            ),
            (
                "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
                "Firefox 133; Linux; Desktop",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.2 Safari/605.1.15",
                "Safari 18; macOS; Desktop",
            ),
            ("curl/8.5.0", "Other; Other; Desktop"),
            ("", ""),
        ] {
            assert_eq!(reduce(full), reduced, "{full}");
            // The device class the stats count is the same from either form.
            assert_eq!(device_class(&reduce(full)), device_class(full), "{full}");
        }
    }
}
