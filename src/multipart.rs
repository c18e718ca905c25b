//! `multipart/form-data` bodies (RFC 7578) for Raw Request's Form Data and File Data.
//!
//! The body is built once, as bytes, so a retry replays exactly the same upload.

/// One part of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part<'a> {
    /// A text field.
    Text {
        /// The field name.
        name: &'a str,
        /// Its value.
        value: &'a str,
    },
    /// A file.
    File {
        /// The field name.
        name: &'a str,
        /// The file name sent with it.
        file_name: &'a str,
        /// Its content.
        content: &'a [u8],
    },
}

/// A built body and the boundary it uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// The boundary, for the Content-Type.
    pub boundary: String,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Form {
    /// `multipart/form-data; boundary=...`
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }
}

/// Quotes a name for a Content-Disposition parameter: `"` and `\` escaped, line breaks
/// replaced (they would end the header).
fn quoted(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        match c {
            '"' => out.push_str("%22"),
            '\\' => out.push_str("\\\\"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Builds the body with a boundary that occurs in no part. `seed` varies the boundary
/// (any number; a clock reading will do).
pub fn build(parts: &[Part<'_>], seed: u64) -> Form {
    let mut n = seed;
    let boundary = loop {
        let candidate = format!("----PowerBIConnectorBoundary{n:016x}");
        let clash = parts.iter().any(|p| match p {
            Part::Text { name, value } => {
                contains(value.as_bytes(), candidate.as_bytes()) || name.contains(&candidate)
            }
            Part::File {
                name,
                file_name,
                content,
            } => {
                contains(content, candidate.as_bytes())
                    || name.contains(&candidate)
                    || file_name.contains(&candidate)
            }
        });
        if !clash {
            break candidate;
        }
        n = n
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
    };
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(b"--");
        body.extend_from_slice(boundary.as_bytes());
        body.extend_from_slice(b"\r\n");
        match part {
            Part::Text { name, value } => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name={}\r\n\r\n",
                        quoted(name)
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(value.as_bytes());
            }
            Part::File {
                name,
                file_name,
                content,
            } => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name={}; filename={}\r\nContent-Type: application/octet-stream\r\n\r\n",
                        quoted(name),
                        quoted(file_name)
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(content);
            }
        }
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--");
    body.extend_from_slice(boundary.as_bytes());
    body.extend_from_slice(b"--\r\n");
    Form { boundary, body }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_layout() {
        let form = build(
            &[
                Part::Text {
                    name: "a",
                    value: "1",
                },
                Part::File {
                    name: "f",
                    file_name: "x \"y\".pbix",
                    content: b"\x00\x01",
                },
            ],
            1,
        );
        let b = &form.boundary;
        let expected = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--{b}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x %22y%22.pbix\"\r\nContent-Type: application/octet-stream\r\n\r\n\x00\x01\r\n--{b}--\r\n"
        );
        assert_eq!(String::from_utf8_lossy(&form.body), expected);
        assert_eq!(
            form.content_type(),
            format!("multipart/form-data; boundary={b}")
        );
    }

    #[test]
    fn boundary_avoids_content() {
        let first = build(&[], 7).boundary;
        let form = build(
            &[Part::Text {
                name: "a",
                value: &first,
            }],
            7,
        );
        assert_ne!(form.boundary, first);
    }
}
