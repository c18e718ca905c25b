//! Reading an action's `result<output, action-error>` from the [`Val`] its dynamic call
//! returns (the action functions are the component's own, so they are called dynamically),
//! into the typed [`ActionOutput`] and [`ActionError`]. No JSON in between: `data` moves
//! out as it came, and the error kind becomes the contract's [`ErrorKind`].

use crate::egress::scrub;
use crate::error::HostError;
use crate::invoke::{ActionError, ActionOutput, ErrorKind, HttpResponse, parse_json_text};
use wasmtime::component::Val;

/// The fields of a record, taken out by name.
struct Fields {
    function: String,
    record: &'static str,
    fields: Vec<(String, Val)>,
}

impl Fields {
    fn new(function: &str, record: &'static str, val: Val) -> Result<Self, HostError> {
        match val {
            Val::Record(fields) => Ok(Self {
                function: function.to_string(),
                record,
                fields,
            }),
            _ => Err(unexpected(function, format!("not an {record} record"))),
        }
    }

    fn error(&self, field: &str, what: &str) -> HostError {
        unexpected(
            &self.function,
            format!("the {} field `{field}` is not {what}", self.record),
        )
    }

    /// The field's value; a missing field reads as `none`.
    fn take(&mut self, field: &str) -> Val {
        match self.fields.iter().position(|(name, _)| name == field) {
            Some(at) => self.fields.swap_remove(at).1,
            None => Val::Option(None),
        }
    }

    fn string(&mut self, field: &str) -> Result<String, HostError> {
        match self.take(field) {
            Val::String(text) => Ok(text),
            _ => Err(self.error(field, "a string")),
        }
    }

    /// An `option<T>` field, its payload read by `read`.
    fn option<T>(
        &mut self,
        field: &str,
        what: &str,
        read: impl FnOnce(Val) -> Option<T>,
    ) -> Result<Option<T>, HostError> {
        match self.take(field) {
            Val::Option(None) => Ok(None),
            Val::Option(Some(value)) => read(*value)
                .map(Some)
                .ok_or_else(|| self.error(field, what)),
            _ => Err(self.error(field, "an option")),
        }
    }

    fn option_string(&mut self, field: &str) -> Result<Option<String>, HostError> {
        self.option(field, "a string", |v| match v {
            Val::String(text) => Some(text),
            _ => None,
        })
    }
}

fn unexpected(function: &str, message: String) -> HostError {
    HostError::UnexpectedResult {
        function: function.to_string(),
        message,
    }
}

/// Reads `result<output, action-error>`, scrubbing `secrets` from the error's message.
pub(crate) fn action_result(
    function: &str,
    result: Val,
    secrets: &[String],
) -> Result<Result<ActionOutput, ActionError>, HostError> {
    let Val::Result(result) = result else {
        return Err(unexpected(function, "not a result".into()));
    };
    match result {
        Ok(Some(output)) => output_record(function, *output).map(Ok),
        Err(Some(error)) => error_record(function, *error, secrets).map(Err),
        _ => Err(unexpected(function, "a result without a payload".into())),
    }
}

fn output_record(function: &str, val: Val) -> Result<ActionOutput, HostError> {
    let mut output = Fields::new(function, "output", val)?;
    // `data` (all of an answer's JSON) moves out of the record.
    let data = output.string("data")?;
    let http = match output.take("http") {
        Val::Option(None) => None,
        Val::Option(Some(http)) => Some(http_record(function, *http)?),
        _ => return Err(output.error("http", "an option")),
    };
    Ok(ActionOutput {
        data: parse_json_text(data),
        http,
    })
}

fn http_record(function: &str, val: Val) -> Result<HttpResponse, HostError> {
    let mut http = Fields::new(function, "http-response", val)?;
    let status = match http.take("status") {
        Val::U16(status) => status,
        _ => return Err(http.error("status", "a u16")),
    };
    let headers = match http.take("headers") {
        Val::List(items) => items
            .into_iter()
            .map(|item| match item {
                Val::Tuple(pair) => match <[Val; 2]>::try_from(pair) {
                    Ok([Val::String(name), Val::String(value)]) => Some((name, value)),
                    _ => None,
                },
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| http.error("headers", "a list of string pairs"))?,
        _ => return Err(http.error("headers", "a list")),
    };
    let content_type = http.option_string("content-type")?;
    let body = http.option("body", "a list of bytes", |v| match v {
        Val::List(bytes) => bytes
            .into_iter()
            .map(|b| match b {
                Val::U8(b) => Some(b),
                _ => None,
            })
            .collect(),
        _ => None,
    })?;
    Ok(HttpResponse {
        status,
        headers,
        content_type,
        body,
    })
}

fn error_record(function: &str, val: Val, secrets: &[String]) -> Result<ActionError, HostError> {
    let mut error = Fields::new(function, "action-error", val)?;
    let kind = match error.take("kind") {
        Val::Enum(case) => case.parse::<ErrorKind>().ok(),
        _ => None,
    }
    .ok_or_else(|| error.error("kind", "an error-kind"))?;
    Ok(ActionError {
        kind,
        // The component promises never to echo secrets; the host makes sure.
        message: scrub(&error.string("message")?, secrets),
        input: error.option_string("input")?,
        status: error.option("status", "a u16", |v| match v {
            Val::U16(n) => Some(n),
            _ => None,
        })?,
        code: error.option_string("code")?,
        retry_after_seconds: error.option("retry-after-seconds", "a u32", |v| match v {
            Val::U32(n) => Some(n),
            _ => None,
        })?,
        progress: error.option_string("progress")?.map(parse_json_text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(val: Val) -> Val {
        Val::Option(Some(Box::new(val)))
    }

    #[test]
    fn reads_an_error_and_scrubs_its_message() {
        let error = Val::Record(vec![
            ("kind".into(), Val::Enum("throttled".into())),
            ("message".into(), Val::String("slow down, s3cr3t".into())),
            ("input".into(), Val::Option(None)),
            ("status".into(), some(Val::U16(429))),
            ("code".into(), Val::Option(None)),
            ("retry-after-seconds".into(), some(Val::U32(7))),
            ("progress".into(), some(Val::String(r#"{"rows":3}"#.into()))),
        ]);
        let read = action_result(
            "f",
            Val::Result(Err(Some(Box::new(error)))),
            &["s3cr3t".into()],
        )
        .unwrap()
        .unwrap_err();
        assert_eq!(read.kind, ErrorKind::Throttled);
        assert!(!read.message.contains("s3cr3t"), "{}", read.message);
        assert_eq!(read.retry_after_seconds, Some(7));
        assert_eq!(read.progress, Some(serde_json::json!({"rows": 3})));
    }

    #[test]
    fn reads_an_output_and_refuses_other_shapes() {
        let output = Val::Record(vec![
            ("data".into(), Val::String("[1]".into())),
            ("http".into(), Val::Option(None)),
        ]);
        let read = action_result("f", Val::Result(Ok(Some(Box::new(output)))), &[])
            .unwrap()
            .unwrap();
        assert_eq!(read.data, serde_json::json!([1]));
        assert!(action_result("f", Val::String("x".into()), &[]).is_err());
        let bad_kind = Val::Record(vec![("kind".into(), Val::Enum("nope".into()))]);
        assert!(action_result("f", Val::Result(Err(Some(Box::new(bad_kind)))), &[]).is_err());
    }
}
