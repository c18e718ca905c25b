//! Top and Page Offset.
//!
//! Only `GET /groups` pages on the server (`$top`, `$skip`). The datasets, reports and
//! tables lists come whole in one answer with no `@odata.nextLink`, so for them the
//! component applies Page Offset, then Top, to the list it received. Sending `$skip` or
//! `$skipToken` there would be ignored by the API and page nothing.

use crate::definition::Action;
use crate::error::ActionError;
use crate::exchange::Output;
use crate::http::Response;

/// A checked Top and Page Offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Page {
    /// At most this many results; `None` = all.
    pub top: Option<u64>,
    /// Skip this many first.
    pub offset: u64,
}

/// Checks Top and Page Offset against the bounds in the action's definition.
pub fn page(action: &Action, top: Option<i64>, offset: Option<i64>) -> Result<Page, ActionError> {
    let top = top.map(|v| bounded(action, "top", v)).transpose()?;
    let offset = offset
        .map(|v| bounded(action, "page-offset", v))
        .transpose()?;
    Ok(Page {
        top,
        offset: offset.unwrap_or(0),
    })
}

/// `value` of the integer input `key` of `action`, checked against its bounds.
pub(crate) fn bounded(action: &Action, key: &str, value: i64) -> Result<u64, ActionError> {
    let input = action.input(key);
    let low = input.minimum.unwrap_or(i64::MIN);
    let high = input.maximum.unwrap_or(i64::MAX);
    if value < low || value > high {
        let range = match input.maximum {
            Some(high) => format!("between {low} and {high}"),
            None => format!("at least {low}"),
        };
        return Err(ActionError::invalid(
            key,
            format!("must be {range}, got {value}"),
        ));
    }
    Ok(value as u64)
}

/// Reads a list answer (`{"@odata.context"?, "value": [...]}`), applies the page to `value`
/// and keeps the rest of the envelope as the API gave it. Entries are copied as the raw text
/// they came as: nothing is re-serialized, so numbers and strings arrive exactly as sent.
pub fn apply(page: Page, response: &Response) -> Result<Output, ActionError> {
    let not_object = || ActionError::unexpected_body(response, "a body that is not a JSON object");
    let text = std::str::from_utf8(&response.body).map_err(|_| not_object())?;
    let members = pbi_scan::members(text).map_err(|_| not_object())?;
    let mut data = String::with_capacity(text.len());
    data.push('{');
    let mut found = false;
    for (i, (key, value)) in members.iter().enumerate() {
        if i > 0 {
            data.push(',');
        }
        data.push_str(&serde_json::to_string(key).expect("a string serializes"));
        data.push(':');
        if key != "value" {
            data.push_str(value);
            continue;
        }
        // No page asked for: the list goes on as it came (already checked as JSON above),
        // without reading its entries apart.
        if page == Page::default() && value.starts_with('[') {
            data.push_str(value);
            found = true;
            continue;
        }
        let list = pbi_scan::elements(value).map_err(|_| {
            ActionError::unexpected_body(response, "a \"value\" that is not a list")
        })?;
        let offset = usize::try_from(page.offset)
            .unwrap_or(usize::MAX)
            .min(list.len());
        let top = page
            .top
            .map_or(usize::MAX, |t| usize::try_from(t).unwrap_or(usize::MAX));
        data.push('[');
        for (j, item) in list[offset..].iter().take(top).enumerate() {
            if j > 0 {
                data.push(',');
            }
            data.push_str(item);
        }
        data.push(']');
        found = true;
    }
    data.push('}');
    if !found {
        return Err(ActionError::unexpected_body(response, "no \"value\" list"));
    }
    Ok(Output { data, http: None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::list_datasets::DEFINITION as LIST_DATASETS;

    fn list(n: usize) -> Response {
        let value: Vec<_> = (0..n).map(|i| serde_json::json!({ "id": i })).collect();
        Response {
            status: 200,
            headers: vec![],
            body: serde_json::to_vec(&serde_json::json!({"@odata.context": "ctx", "value": value}))
                .unwrap(),
        }
    }

    #[test]
    fn offset_then_top() {
        let out = apply(
            Page {
                top: Some(2),
                offset: 3,
            },
            &list(10),
        )
        .unwrap();
        assert_eq!(
            out.data,
            r#"{"@odata.context":"ctx","value":[{"id":3},{"id":4}]}"#
        );
        let out = apply(
            Page {
                top: None,
                offset: 20,
            },
            &list(10),
        )
        .unwrap();
        assert_eq!(out.data, r#"{"@odata.context":"ctx","value":[]}"#);
    }

    #[test]
    fn bounds() {
        assert!(
            page(&LIST_DATASETS, Some(0), None)
                .unwrap_err()
                .message
                .contains("between 1 and 1000")
        );
        assert!(page(&LIST_DATASETS, Some(1001), None).is_err());
        assert_eq!(
            page(&LIST_DATASETS, None, Some(-1))
                .unwrap_err()
                .input
                .as_deref(),
            Some("page-offset")
        );
        assert_eq!(
            page(&LIST_DATASETS, Some(1000), Some(5)).unwrap(),
            Page {
                top: Some(1000),
                offset: 5
            }
        );
    }

    #[test]
    fn entries_stay_as_sent() {
        let r = Response {
            status: 200,
            headers: vec![],
            body: br#"{"value":[{"n":1.50,"big":12345678901234567890}],"@odata.context":"c"}"#
                .to_vec(),
        };
        let out = apply(Page::default(), &r).unwrap();
        assert_eq!(
            out.data,
            r#"{"value":[{"n":1.50,"big":12345678901234567890}],"@odata.context":"c"}"#
        );
    }

    #[test]
    fn without_a_page_the_list_is_copied_whole_and_still_checked() {
        let r = Response {
            status: 200,
            headers: vec![],
            body: br#"{"value":[ {"a":1} , 2 ],"n":1}"#.to_vec(),
        };
        let out = apply(Page::default(), &r).unwrap();
        assert_eq!(out.data, r#"{"value":[ {"a":1} , 2 ],"n":1}"#);
        for body in [
            &br#"{"value":{"a":1}}"#[..],
            br#"{"value":[1,}"#,
            br#"{"n":1}"#,
        ] {
            let r = Response {
                status: 200,
                headers: vec![],
                body: body.to_vec(),
            };
            assert!(apply(Page::default(), &r).is_err(), "{body:?}");
        }
    }

    #[test]
    fn not_a_list() {
        let r = Response {
            status: 200,
            headers: vec![],
            body: b"[]".to_vec(),
        };
        assert!(apply(Page::default(), &r).is_err());
    }
}
