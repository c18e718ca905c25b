//! Just enough `multipart/form-data` parsing to accept an import upload.

use crate::util::media_type_param;

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    pub name: Option<String>,
    pub filename: Option<String>,
    pub len: usize,
}

/// Splits a `multipart/form-data` body into parts. Lines may end in CRLF (as RFC 7578 says)
/// or a bare LF (lenient, as most servers are).
pub(crate) fn parse(content_type: &str, body: &[u8]) -> Result<Vec<Part>, String> {
    let boundary = media_type_param(content_type, "boundary")
        .filter(|b| !b.is_empty())
        .ok_or("the Content-Type has no boundary parameter")?;
    let delim = format!("--{boundary}").into_bytes();

    // The first delimiter starts the body or a line (a preamble may come before it).
    let mut pos = if body.starts_with(&delim) {
        0
    } else {
        find(body, &[b"\n".as_slice(), &delim].concat(), 0)
            .ok_or("the body does not contain the boundary")?
            + 1
    };
    let mut parts = Vec::new();
    loop {
        pos += delim.len();
        if body[pos..].starts_with(b"--") {
            break;
        }
        // Transport padding (spaces, tabs) may follow a delimiter before its line break.
        while matches!(body.get(pos), Some(b' ' | b'\t')) {
            pos += 1;
        }
        pos = skip_newline(body, pos).ok_or("a boundary line does not end with a newline")?;
        let next = find(body, &[b"\n".as_slice(), &delim].concat(), pos)
            .ok_or("the body has no closing boundary")?;
        let mut content = &body[pos..next];
        if content.ends_with(b"\r") {
            content = &content[..content.len() - 1];
        }
        parts.push(parse_part(content)?);
        pos = next + 1;
    }
    if parts.is_empty() {
        return Err("the body has no parts".to_owned());
    }
    Ok(parts)
}

fn parse_part(content: &[u8]) -> Result<Part, String> {
    let (head, data) = if let Some(i) = find(content, b"\r\n\r\n", 0) {
        (&content[..i], &content[i + 4..])
    } else if let Some(i) = find(content, b"\n\n", 0) {
        (&content[..i], &content[i + 2..])
    } else if content.starts_with(b"\r\n") || content.starts_with(b"\n") {
        (
            &content[..0],
            content.strip_prefix(b"\r\n").unwrap_or(&content[1..]),
        )
    } else {
        return Err("a part has no blank line after its headers".to_owned());
    };
    let head = String::from_utf8_lossy(head);
    let disposition = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-disposition"))
        .map(|(_, v)| v.trim().to_owned())
        .ok_or("a part has no Content-Disposition header")?;
    if !disposition
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("form-data"))
    {
        return Err(format!(
            "a part's Content-Disposition is not form-data: {disposition}"
        ));
    }
    // Reuse the media-type parameter reader: the disposition type plays the media type.
    Ok(Part {
        name: media_type_param(&disposition, "name"),
        filename: media_type_param(&disposition, "filename"),
        len: data.len(),
    })
}

fn skip_newline(body: &[u8], pos: usize) -> Option<usize> {
    if body[pos..].starts_with(b"\r\n") {
        Some(pos + 2)
    } else if body[pos..].starts_with(b"\n") {
        Some(pos + 1)
    } else {
        None
    }
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/form-data; boundary=XyZ";

    #[test]
    fn parses_crlf_and_lf() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pbix\"\r\nContent-Type: application/octet-stream\r\n\r\nPK\x03\x04data\r\n--XyZ--\r\n";
        let parts = parse(CT, body).unwrap();
        assert_eq!(
            parts,
            vec![Part {
                name: Some("file".into()),
                filename: Some("a.pbix".into()),
                len: 8
            }]
        );
        let body = b"preamble\n--XyZ\nContent-Disposition: form-data; name=a\n\nx\n--XyZ\nContent-Disposition: form-data; name=b\n\nyy\n--XyZ--";
        let parts = parse(CT, body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1].len, 2);
    }

    #[test]
    fn rejects_bad_bodies() {
        assert!(parse("multipart/form-data", b"--x\r\n").is_err());
        assert!(parse(CT, b"{\"json\":true}").is_err());
        assert!(parse(CT, b"--XyZ\r\nContent-Disposition: form-data\r\n\r\nabc").is_err());
        assert!(parse(CT, b"--XyZ--\r\n").is_err());
        assert!(parse(CT, b"--XyZ\r\nX-Other: 1\r\n\r\nabc\r\n--XyZ--").is_err());
    }
}
