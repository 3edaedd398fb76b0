//! `IdSet`: the set of granted category or service ids, kept as a sorted `Vec`.
//!
//! A consent holds a handful of ids; a sorted vector with binary search does everything a
//! `BTreeSet` would, and costs the browser module a fraction of the code (no B-tree, no stable
//! sort). Iteration is in sorted order, which the cookie encoding relies on.

/// Whether `id` is a valid category, service or site id: 1 to `max_length` bytes of `a-z`,
/// `A-Z`, `0-9`, `-`, `_` (and `.` when `allow_dot`, for site ids that are domain names). Ids
/// appear in cookies, markup, receipts and SQL, so the same rule holds everywhere. Capitals
/// are allowed because pages written for vanilla-cookieconsent name services in camelCase
/// (`data-service="yandexMetrika"`) and should keep their markup.
pub fn is_valid_id(id: &str, max_length: usize, allow_dot: bool) -> bool {
    !id.is_empty()
        && id.len() <= max_length
        && id.bytes().all(|b| {
            b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (allow_dot && b == b'.')
        })
}

/// A version-4 UUID (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`, lowercase) from 16 random bytes:
/// consent and receipt ids, made by the browser SDK and the server alike.
pub fn uuid_v4(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (index, byte) in bytes.iter().enumerate() {
        if matches!(index, 4 | 6 | 8 | 10) {
            out.push_str("-");
        }
        push_hex(&mut out, *byte);
    }
    out
}

/// Lowercase hex of `bytes` (a SHA-256 digest), without `format!`'s machinery.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        push_hex(&mut out, *byte);
    }
    out
}

fn push_hex(out: &mut String, byte: u8) {
    for nibble in [byte >> 4, byte & 0x0f] {
        out.push_str(crate::strings::digit(usize::from(nibble)));
    }
}

/// Inserts `item` into the sorted `list` unless it is there: lists of country codes and the
/// like, sorted and each once, without a sort and a dedup pass over a `Vec` each time.
pub fn insert_sorted<'a>(list: &mut Vec<&'a str>, item: &'a str) {
    if let Err(index) = list.binary_search(&item) {
        list.insert(index, item);
    }
}

/// A sorted set of ids without duplicates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdSet(Vec<String>);

impl IdSet {
    pub fn new() -> IdSet {
        IdSet(Vec::new())
    }

    /// Adds `id`; `false` when it was already there.
    pub fn insert(&mut self, id: String) -> bool {
        match self.position(&id) {
            Ok(_) => false,
            Err(index) => {
                self.0.insert(index, id);
                true
            }
        }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.position(id).is_ok()
    }

    /// The ids in sorted order, as a slice.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// The ids in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn position(&self, id: &str) -> Result<usize, usize> {
        self.0
            .binary_search_by(|existing| existing.as_str().cmp(id))
    }
}

impl Extend<String> for IdSet {
    fn extend<I: IntoIterator<Item = String>>(&mut self, ids: I) {
        for id in ids {
            self.insert(id);
        }
    }
}

impl FromIterator<String> for IdSet {
    fn from_iter<I: IntoIterator<Item = String>>(ids: I) -> IdSet {
        let mut set = IdSet::new();
        set.extend(ids);
        set
    }
}

impl<'a> FromIterator<&'a str> for IdSet {
    fn from_iter<I: IntoIterator<Item = &'a str>>(ids: I) -> IdSet {
        ids.into_iter().map(str::to_owned).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4() {
        let id = uuid_v4([0xff; 16]);
        assert_eq!(id, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert!(crate::cookie::is_consent_id(&id));
        assert!(crate::cookie::is_consent_id(&uuid_v4([0; 16])));
    }

    #[test]
    fn insert_sorted_keeps_order_and_drops_repeats() {
        let mut countries = Vec::new();
        for code in ["US", "IE", "US", "AE", "IE"] {
            insert_sorted(&mut countries, code);
        }
        assert_eq!(countries, ["AE", "IE", "US"]);
    }

    #[test]
    fn sorted_without_duplicates() {
        let mut set: IdSet = ["marketing", "analytics", "necessary", "analytics"]
            .into_iter()
            .collect();
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            ["analytics", "marketing", "necessary"]
        );
        assert!(set.contains("marketing") && !set.contains("market"));
        assert!(!set.insert("necessary".into()));
        assert!(set.insert("functional".into()));
        assert_eq!(set.len(), 4);
        assert!(IdSet::new().is_empty());
    }
}
