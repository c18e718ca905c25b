//! Small helpers: time stamps, query strings, media types, ids.

use std::time::{SystemTime, UNIX_EPOCH};

use percent_encoding::percent_decode_str;
use uuid::Uuid;

/// A new id in the GUID form Power BI uses (lower case, hyphenated).
pub(crate) fn new_id() -> String {
    Uuid::new_v4().hyphenated().to_string()
}

/// Now in UTC as ISO 8601 with milliseconds, like `2018-05-08T14:56:18.477Z`.
pub(crate) fn now_iso8601() -> String {
    iso8601_at(SystemTime::now())
}

/// A moment in UTC as ISO 8601 with milliseconds.
pub(crate) fn iso8601_at(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm), so that
/// no date crate is needed for one time stamp.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// An opaque id like the ids of Export To File jobs (`Mi9C5419i....PS4=`): random bytes in
/// base64 with the URL-safe alphabet (`-`, `_`) and `=` padding, so that it needs no
/// escaping in a path and still shows a client that sends it as it came.
pub(crate) fn new_opaque_id() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(Uuid::new_v4().as_bytes());
    bytes.extend_from_slice(Uuid::new_v4().as_bytes());
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decoded `key=value` pairs of a raw query string. `+` is a space, as ASP.NET reads query
/// strings.
pub(crate) fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    let decode = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    raw.unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// The first value of a query parameter; names match ignoring case, as ASP.NET binds them.
pub(crate) fn query_param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The media type of a `Content-Type` value, lower case, without parameters.
pub(crate) fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Whether a `Content-Type` declares JSON (`application/json`, `text/json`, `...+json`).
pub(crate) fn is_json_media_type(content_type: &str) -> bool {
    let m = media_type(content_type);
    m == "application/json" || m == "text/json" || m.ends_with("+json")
}

/// A parameter of a `Content-Type` value (quotes removed), its name matched ignoring case.
pub(crate) fn media_type_param(content_type: &str, name: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        let now = now_iso8601();
        assert_eq!(now.len(), 24, "{now}");
        assert!(now.ends_with('Z'));
    }

    #[test]
    fn opaque_ids() {
        let id = new_opaque_id();
        assert_eq!(id.len(), 44, "{id}");
        assert!(id.ends_with('='));
        assert!(!id[..43].contains('='));
        assert!(
            id.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_=".contains(c))
        );
        assert_ne!(id, new_opaque_id());
        let later = iso8601_at(UNIX_EPOCH + std::time::Duration::from_millis(86_400_123));
        assert_eq!(later, "1970-01-02T00:00:00.123Z");
    }

    #[test]
    fn queries() {
        let p = query_pairs(Some("%24top=2&$filter=name+eq+%27a%20b%27&x"));
        assert_eq!(query_param(&p, "$TOP"), Some("2"));
        assert_eq!(query_param(&p, "$filter"), Some("name eq 'a b'"));
        assert_eq!(query_param(&p, "x"), Some(""));
        assert_eq!(query_param(&p, "y"), None);
    }

    #[test]
    fn media_types() {
        assert!(is_json_media_type("application/json; charset=utf-8"));
        assert!(!is_json_media_type("text/plain"));
        assert_eq!(
            media_type_param("multipart/form-data; boundary=\"abc\"", "BOUNDARY").as_deref(),
            Some("abc")
        );
    }
}
