//! "Did you mean": the known name closest to a misspelt one, for config errors.
//!
//! Owns the edit distance and when a name is close enough to suggest. A suggestion must be
//! right when it is given, so it is given only for one edit (two for names of six letters or
//! more), and only when exactly one known name is that close.
//!
//! Only with feature `compile`: lowercasing and edit distances bring Unicode tables into the
//! browser module, which reports the first problem of a config without suggestions.

/// Without the compiler, no suggestions (see the module doc).
#[cfg(not(feature = "compile"))]
pub fn closest<'a>(_name: &str, _known: &[&'a str]) -> Option<&'a str> {
    None
}

/// The one name of `known` within reach of `name`, if there is exactly one.
#[cfg(feature = "compile")]
pub fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let reach = if name.chars().count() >= 6 { 2 } else { 1 };
    let lower = name.to_lowercase();
    let mut best: Option<(usize, &'a str)> = None;
    let mut tied = false;
    for &candidate in known {
        let distance = edit_distance(&lower, &candidate.to_lowercase());
        if distance > reach || distance == 0 && candidate == name {
            continue;
        }
        match best {
            Some((best_distance, _)) if distance > best_distance => {}
            Some((best_distance, _)) if distance == best_distance => tied = true,
            _ => {
                best = Some((distance, candidate));
                tied = false;
            }
        }
    }
    if tied {
        None
    } else {
        best.map(|(_, candidate)| candidate)
    }
}

#[cfg(feature = "compile")]
/// Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`: the optimal
/// string alignment distance, counted in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows: two back for the swap, one back for the rest.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            current[j] = best;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(all(test, feature = "compile"))]
mod tests {
    use super::{closest, edit_distance};

    #[test]
    fn distances() {
        assert_eq!(edit_distance("country", "country"), 0);
        assert_eq!(edit_distance("contry", "country"), 1);
        assert_eq!(edit_distance("cuontry", "country"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("қазақ", "казак"), 2);
    }

    #[test]
    fn suggests_only_a_single_close_name() {
        let fields = [
            "id",
            "name",
            "cookies",
            "local_storage",
            "country",
            "vendor",
        ];
        assert_eq!(closest("contry", &fields), Some("country"));
        assert_eq!(closest("Cookies", &fields), Some("cookies"));
        assert_eq!(closest("localStorage", &fields), Some("local_storage"));
        assert_eq!(closest("local_storag", &fields), Some("local_storage"));
        assert_eq!(closest("ix", &fields), Some("id"));
        assert_eq!(closest("qq", &fields), None);
        assert_eq!(closest("xyz", &fields), None);
        // "ab" is one edit from both: no guess.
        assert_eq!(closest("ab", &["abc", "abd"]), None);
    }
}
