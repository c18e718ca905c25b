//! Error answers in the shapes Power BI uses.

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

/// The JSON content type of every JSON answer.
pub(crate) const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// One problem in a request, reported in `error.details`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Detail {
    pub message: String,
    pub target: String,
}

impl Detail {
    pub fn new(target: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            target: target.into(),
        }
    }
}

/// An error answer: status, JSON body and extra headers.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub body: Value,
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body,
            retry_after: None,
        }
    }

    /// 404 in the message-less shape Power BI uses for unknown datasets, tables, groups.
    pub fn entity_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, pbi_error("PowerBIEntityNotFound"))
    }

    /// 400 `PowerBIEntityAlreadyExists`, as Power BI refuses a workspace name already in
    /// use. The status and body are those the live service sent, recorded in the test
    /// stubs of a public client (piloos/power-bi, `test/test_workspace.rb`, "raise an error
    /// when creating an already existing workspace"); Microsoft's reference documents no
    /// error answer for Create Group.
    pub fn already_exists() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            json!({"error": {
                "code": "PowerBIEntityAlreadyExists",
                "pbi.error": {"code": "PowerBIEntityAlreadyExists", "parameters": {}, "details": []},
            }}),
        )
    }

    /// 400 `BadRequest` listing every problem found; the first one is the message.
    pub fn bad_request(details: Vec<Detail>) -> Self {
        let message = details
            .first()
            .map_or_else(|| "Bad Request".to_owned(), |d| d.message.clone());
        let details: Vec<Value> = details
            .into_iter()
            .map(|d| json!({"message": d.message, "target": d.target}))
            .collect();
        Self::new(
            StatusCode::BAD_REQUEST,
            json!({"error": {"code": "BadRequest", "message": message, "details": details}}),
        )
    }

    /// 400 with one problem.
    pub fn bad(target: impl Into<String>, message: impl Into<String>) -> Self {
        Self::bad_request(vec![Detail::new(target, message)])
    }

    /// 401 for a missing, malformed or unknown token.
    pub fn not_authorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            pbi_error("PowerBINotAuthorizedException"),
        )
    }

    /// 403 for an expired token: Power BI answers 403, not 401.
    pub fn token_expired() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            json!({"error": {
                "code": "TokenExpired",
                "message": "Access token has expired, resubmit with a new access token",
            }}),
        )
    }

    /// 429 with `Retry-After`.
    pub fn throttled(retry_after: u64, message: String) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"error": {"code": "TooManyRequests", "message": message}}),
        );
        e.retry_after = Some(retry_after);
        e
    }

    /// 400 `InvalidRequest`: a well-formed request the resource cannot take now (a push
    /// dataset refreshed, a refresh already running, the daily refresh limit).
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            json!({"error": {"code": "InvalidRequest", "message": message.into()}}),
        )
    }

    /// 403 `FeatureNotAvailableError`: the workspace's capacity lacks the feature.
    pub fn feature_not_available(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            json!({"error": {"code": "FeatureNotAvailableError", "message": message.into()}}),
        )
    }

    /// 400 `DatasetExecuteQueriesError` for a DAX error, in the message-less shape the live
    /// service answers: the human message (`Query (line, column) ...`) is the value of the
    /// `DetailsMessage` detail, beside the Analysis Services error code.
    pub fn dax(message: String, as_error_code: &str) -> Self {
        const CODE: &str = "DatasetExecuteQueriesError";
        Self::new(
            StatusCode::BAD_REQUEST,
            json!({"error": {
                "code": CODE,
                "pbi.error": {
                    "code": CODE,
                    "parameters": {},
                    "details": [
                        {"code": "DetailsMessage", "detail": {"type": 1, "value": message}},
                        {"code": "AnalysisServicesErrorCode", "detail": {"type": 1, "value": as_error_code}},
                    ],
                    "exceptionCulprit": 1,
                },
            }}),
        )
    }

    /// 415 for a body that is not declared as the expected media type.
    pub fn unsupported_media_type(expected: &str, got: Option<&str>) -> Self {
        let got = got.unwrap_or("(none)");
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            json!({"error": {
                "code": "UnsupportedMediaType",
                "message": format!("The request entity's media type '{got}' is not supported; expected {expected}."),
            }}),
        )
    }

    /// 404 for a path no operation serves.
    pub fn no_route(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            json!({"error": {
                "code": "NotFound",
                "message": format!("No HTTP resource was found that matches the request URI '{path}'."),
            }}),
        )
    }

    /// 405 for a known path with a method it does not serve.
    pub fn method_not_allowed(method: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"error": {
                "code": "MethodNotAllowed",
                "message": format!("The requested resource does not support http method '{method}'."),
            }}),
        )
    }

    /// 413 for a body over the configured maximum.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"error": {
                "code": "RequestEntityTooLarge",
                "message": format!("The request body is larger than {limit} bytes."),
            }}),
        )
    }
}

fn pbi_error(code: &str) -> Value {
    json!({"error": {
        "code": code,
        "pbi.error": {"code": code, "parameters": {}, "details": [], "exceptionCulprit": 1},
    }})
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response<Body> {
        let mut r = json_response(self.status, &self.body);
        if let Some(secs) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        r
    }
}

/// A JSON answer.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    r
}
