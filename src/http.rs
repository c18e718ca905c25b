//! Request and response values, and the URL rules of the Power BI API.
//!
//! A [`Request`] never carries the `Authorization` header: the transport adds it at the last
//! moment, so nothing built here (snapshots, debug text, errors) can hold a token.

use std::fmt;

use percent_encoding::{AsciiSet, CONTROLS, percent_encode, utf8_percent_encode};

/// The API base of "My workspace".
pub const API_BASE: &str = "https://api.powerbi.com/v1.0/myorg";

/// HTTP methods the connector sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
    /// HEAD
    Head,
    /// OPTIONS
    Options,
}

impl Method {
    /// Every method, in the order a form offers them.
    pub const ALL: [Method; 7] = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
        Method::Head,
        Method::Options,
    ];

    /// The method's name as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
        }
    }

    /// Parses a method name, in any case.
    pub fn parse(name: &str) -> Option<Method> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(name.trim()))
    }

    /// Whether repeating the request cannot do more than doing it once (RFC 9110 §9.2.2).
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Method::Post | Method::Patch)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An HTTP request, ready for a transport (which adds `Authorization`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The absolute URL, under [`API_BASE`].
    pub url: String,
    /// Headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body; empty for none.
    pub body: Vec<u8>,
}

impl Request {
    /// A request without headers or body.
    pub fn new(method: Method, url: String) -> Self {
        Request {
            method,
            url,
            headers: vec![("accept".into(), "application/json".into())],
            body: Vec::new(),
        }
    }

    /// Sets a JSON body and its Content-Type.
    pub fn json_body(mut self, body: Vec<u8>) -> Self {
        self.headers.push((
            "content-type".into(),
            "application/json; charset=utf-8".into(),
        ));
        self.body = body;
        self
    }

    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// An HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `Retry-After` in seconds, when it is given as a number of seconds.
    pub fn retry_after_seconds(&self) -> Option<u32> {
        self.header("retry-after")?.trim().parse().ok()
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Characters a path segment must not carry raw: everything but RFC 3986 unreserved
/// characters. Table names may hold spaces, `#`, `@`, `^`, `~`; dataset ids are GUIDs.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'$')
    .add(b'%')
    .add(b'&')
    .add(b'\'')
    .add(b'(')
    .add(b')')
    .add(b'*')
    .add(b'+')
    .add(b',')
    .add(b'/')
    .add(b':')
    .add(b';')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'?')
    .add(b'@')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Characters a query name or value must not carry raw. `$` stays as it is, so `$top` reads
/// as Microsoft documents it.
const QUERY: &AsciiSet = &SEGMENT.remove(b'$');

/// Percent-encodes one path segment.
pub fn encode_segment(segment: &str) -> String {
    utf8_percent_encode(segment, SEGMENT).to_string()
}

/// Percent-encodes raw bytes as one query component.
pub fn encode_query_component(value: &str) -> String {
    percent_encode(value.as_bytes(), QUERY).to_string()
}

thread_local! {
    // The base of this call's requests: the connection's cloud or API Base URL. A call runs on
    // one thread in a fresh instance, so the glue sets it once before the action builds any
    // request; native tests that do not set it get the commercial cloud's.
    static BASE: std::cell::RefCell<String> = std::cell::RefCell::new(API_BASE.to_string());
}

/// Sets the API base of the requests built from now on, on this thread (the glue does, from
/// the connection: [`crate::connection::ConnectionValues::api_base`]).
pub fn set_api_base(base: &str) {
    BASE.with(|b| *b.borrow_mut() = base.trim_end_matches('/').to_string());
}

/// The API base requests are built under: [`API_BASE`] unless [`set_api_base`] chose another.
pub fn api_base() -> String {
    BASE.with(|b| b.borrow().clone())
}

/// Builds `<api base>/seg1/seg2?k=v`, encoding every segment and query part.
pub fn api_url(segments: &[&str], query: &[(&str, String)]) -> String {
    let mut url = api_base();
    for segment in segments {
        url.push('/');
        url.push_str(&encode_segment(segment));
    }
    append_query(&mut url, query.iter().map(|(k, v)| (*k, v.as_str())));
    url
}

/// Appends `k=v` pairs to a URL, with `?` or `&` as needed.
pub fn append_query<'a>(url: &mut String, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) {
    for (name, value) in pairs {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&encode_query_component(name));
        url.push('=');
        url.push_str(&encode_query_component(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded() {
        assert_eq!(encode_segment("Sales #1 @x^~"), "Sales%20%231%20%40x%5E~");
        assert_eq!(encode_segment("a/b?c"), "a%2Fb%3Fc");
        assert_eq!(encode_segment("Größe"), "Gr%C3%B6%C3%9Fe");
    }

    #[test]
    fn query_keeps_dollar_names() {
        let url = api_url(
            &["groups"],
            &[("$top", "5".into()), ("$skip", "a b&c".into())],
        );
        assert_eq!(url, format!("{API_BASE}/groups?$top=5&$skip=a%20b%26c"));
    }

    #[test]
    fn methods_parse_in_any_case() {
        assert_eq!(Method::parse(" patch "), Some(Method::Patch));
        assert_eq!(Method::parse("TRACE"), None);
        assert!(Method::Put.is_idempotent());
        assert!(!Method::Post.is_idempotent());
    }
}
