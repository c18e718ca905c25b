//! The nine actions, one module each. Every module has an input struct mirroring its WIT
//! record, validates it completely before building any request, and interprets answers.

use crate::error::ActionError;
use crate::exchange::{Exchange, Output, Step};
use crate::http::{Request, Response};
use crate::retry::RetryPolicy;

pub mod create_dataset;
pub mod create_rows;
pub mod delete_rows;
pub mod list_datasets;
pub mod list_groups;
pub mod list_reports;
pub mod list_tables;
pub mod raw_request;
pub mod update_table;

/// Interprets a successful answer.
type Interpret = Box<dyn FnMut(Response) -> Result<Output, ActionError>>;

/// An action of one request: send it, map a 2xx answer with `interpret`, any other answer
/// into an [`ActionError`].
pub struct Single {
    request: Option<Request>,
    interpret: Interpret,
    policy: RetryPolicy,
    debug: bool,
}

impl std::fmt::Debug for Single {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Single")
            .field("request", &self.request)
            .field("policy", &self.policy)
            .field("debug", &self.debug)
            .finish_non_exhaustive()
    }
}

impl Single {
    /// One request with the default retry policy.
    pub fn new(
        request: Request,
        interpret: impl FnMut(Response) -> Result<Output, ActionError> + 'static,
    ) -> Self {
        Single {
            request: Some(request),
            interpret: Box::new(interpret),
            policy: RetryPolicy::DEFAULT,
            debug: false,
        }
    }

    /// The same, with this retry policy.
    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The same, writing request and answer to the log when `debug` is set.
    pub fn with_debug(mut self, debug: bool) -> Self {
        self.debug = debug;
        self
    }

    /// The request it will send.
    pub fn request(&self) -> Option<&Request> {
        self.request.as_ref()
    }
}

impl Exchange for Single {
    fn step(&mut self, outcome: Option<Result<Response, ActionError>>) -> Step {
        match outcome {
            None => match self.request.take() {
                Some(request) => Step::Send(request),
                None => Step::Done(Err(ActionError::transport("request already sent"))),
            },
            Some(Ok(response)) if response.status < 400 => Step::Done((self.interpret)(response)),
            Some(Ok(response)) => Step::Done(Err(ActionError::from_response(&response))),
            Some(Err(e)) => Step::Done(Err(e)),
        }
    }

    fn policy(&self) -> RetryPolicy {
        self.policy.clone()
    }

    fn debug(&self) -> bool {
        self.debug
    }
}

/// A required text input: trimmed, not empty.
pub fn required<'a>(key: &str, value: &'a str) -> Result<&'a str, ActionError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ActionError::invalid(
            key,
            "is required and must not be empty",
        ));
    }
    Ok(value)
}

/// A dataset ID: a GUID (`8-4-4-4-12` hex digits).
pub fn dataset_id(value: &str) -> Result<&str, ActionError> {
    let id = required("dataset-id", value)?;
    let groups: Vec<&str> = id.split('-').collect();
    let shape = groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()));
    if !shape {
        return Err(ActionError::invalid(
            "dataset-id",
            format!(
                "must be a dataset ID, a GUID such as cfafbeb1-8037-4d0c-896e-a46fb27ff229; got {id:?}"
            ),
        ));
    }
    Ok(id)
}

/// The body of a JSON answer, as JSON text: `null` for an empty body. The text is checked to
/// be JSON and handed on as it came, not re-serialized.
pub fn json_body(response: &Response) -> Result<Output, ActionError> {
    match json_text(&response.body) {
        Some(data) => Ok(Output { data, http: None }),
        None => Err(ActionError::unexpected_body(
            response,
            "a body that is not JSON",
        )),
    }
}

/// The body as JSON text if it is JSON (`null` when empty), trimmed.
pub fn json_text(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?.trim();
    if text.is_empty() {
        return Some("null".into());
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(text.as_bytes()).ok()?;
    Some(text.to_string())
}

/// A list the API gives whole: `GET` it, then apply Page Offset and Top locally.
fn paged_list(
    action: &crate::definition::Action,
    segments: &[&str],
    top: Option<i64>,
    page_offset: Option<i64>,
) -> Result<Single, ActionError> {
    let page = crate::paging::page(action, top, page_offset)?;
    let request = Request::new(
        crate::http::Method::Get,
        crate::http::api_url(segments, &[]),
    );
    Ok(Single::new(request, move |r| {
        crate::paging::apply(page, &r)
    }))
}

/// Drives a list exchange against an answer of three items `a`, `b`, `c`; returns the data.
#[cfg(test)]
pub(crate) fn list_of_three(mut exchange: Single) -> String {
    use crate::exchange::{drive, scripted::Scripted};
    let mut t = Scripted::new([Scripted::answer(
        200,
        r#"{"@odata.context":"ctx","value":[{"id":"a"},{"id":"b"},{"id":"c"}]}"#,
    )]);
    drive(&mut exchange, &mut t).expect("a list").data
}

/// A request as a JSON value, for snapshots: method, url, headers, body (parsed when JSON).
#[cfg(test)]
pub(crate) fn snapshot(request: &Request) -> serde_json::Value {
    let body = match serde_json::from_slice::<serde_json::Value>(&request.body) {
        _ if request.body.is_empty() => serde_json::Value::Null,
        Ok(v) => v,
        Err(_) => String::from_utf8_lossy(&request.body).into_owned().into(),
    };
    serde_json::json!({
        "method": request.method.as_str(),
        "url": request.url,
        "headers": request.headers,
        "body": body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_ids() {
        assert_eq!(
            dataset_id(" cfafbeb1-8037-4d0c-896e-a46fb27ff229 ").unwrap(),
            "cfafbeb1-8037-4d0c-896e-a46fb27ff229"
        );
        for bad in [
            "",
            "abc",
            "cfafbeb1-8037-4d0c-896e-a46fb27ff22",
            "cfafbeb1x8037-4d0c-896e-a46fb27ff229",
            "../../x",
        ] {
            let e = dataset_id(bad).unwrap_err();
            assert_eq!(e.input.as_deref(), Some("dataset-id"), "{bad}");
        }
    }
}
