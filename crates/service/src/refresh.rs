//! Dataset refresh: Refresh Dataset (`POST .../refreshes`), Get Refresh History
//! (`GET .../refreshes`) and, for enhanced refreshes, Get Refresh Execution Details
//! (`GET .../refreshes/{refreshId}`).
//!
//! A refresh stays `Unknown` until both [`ServiceConfig::refresh_duration`] has passed since
//! it started and a read (history or execution details) has shown it `Unknown`; it then
//! ends `Completed`, or `Failed` when the dataset was marked with
//! [`ServiceHandle::fail_refreshes`](crate::ServiceHandle::fail_refreshes).

use std::time::{Duration, Instant};

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::ServiceConfig;
use crate::api::{ApiResult, AppState, Params, json_body};
use crate::errors::{ApiError, json_response};
use crate::server::Caller;
use crate::util::{new_id, now_iso8601, query_pairs, query_param};
use crate::validate;

/// Entries of the history kept per dataset (Microsoft: "The most recent 60 are kept").
const HISTORY_KEPT: usize = 60;
/// Entries Get Refresh History answers without `$top`.
const DEFAULT_TOP: usize = 60;
/// The window of the daily limit.
const DAY: Duration = Duration::from_secs(86_400);

/// How a refresh stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RefreshStatus {
    /// In progress (Microsoft: "`Unknown` if ... a refresh is in progress").
    Unknown,
    Completed,
    /// Failed with this error code.
    Failed(String),
}

/// One refresh history entry.
#[derive(Debug, Clone)]
pub(crate) struct Refresh {
    pub id: u64,
    pub request_id: String,
    /// The enhanced-refresh properties of the request; empty for a plain refresh.
    pub enhanced: Map<String, Value>,
    pub started: Instant,
    pub start_time: String,
    pub end_time: Option<String>,
    pub status: RefreshStatus,
    /// Whether a read has shown it `Unknown`.
    pub seen: bool,
}

impl Refresh {
    /// Ends the refresh if its time is up and a read has seen it running. `failure` is the
    /// error code the dataset is marked to fail with, if any.
    fn advance(&mut self, now: Instant, duration: Duration, failure: Option<&str>) {
        if self.status == RefreshStatus::Unknown
            && self.seen
            && now.duration_since(self.started) >= duration
        {
            self.end_time = Some(now_iso8601());
            self.status = match failure {
                Some(code) => RefreshStatus::Failed(code.to_owned()),
                None => RefreshStatus::Completed,
            };
        }
    }

    fn status_name(&self) -> &'static str {
        match self.status {
            RefreshStatus::Unknown => "Unknown",
            RefreshStatus::Completed => "Completed",
            RefreshStatus::Failed(_) => "Failed",
        }
    }

    /// `serviceExceptionJson` of a failed refresh: a JSON object in a string.
    fn exception_json(&self) -> Option<String> {
        match &self.status {
            RefreshStatus::Failed(code) => Some(
                json!({"errorCode": code, "errorDescription": failure_description(code)})
                    .to_string(),
            ),
            _ => None,
        }
    }

    /// The entry as Get Refresh History lists it (Swagger's `Refresh`, plus the numeric `id`
    /// the live service sends).
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "requestId": self.request_id,
            "id": self.id,
            "refreshType": if self.enhanced.is_empty() { "ViaApi" } else { "ViaEnhancedApi" },
            "startTime": self.start_time,
        });
        if let Some(end) = &self.end_time {
            v["endTime"] = Value::String(end.clone());
        }
        v["status"] = Value::from(self.status_name());
        if let Some(e) = self.exception_json() {
            v["serviceExceptionJson"] = Value::String(e);
        }
        if let Some(end) = &self.end_time {
            let mut attempt = json!({
                "attemptId": 1,
                "startTime": self.start_time,
                "endTime": end,
                "type": "Data",
            });
            if let Some(e) = self.exception_json() {
                attempt["serviceExceptionJson"] = Value::String(e);
            }
            v["refreshAttempts"] = json!([attempt]);
        }
        v
    }

    /// The refresh as Get Refresh Execution Details answers it (Swagger's
    /// `DatasetRefreshDetail`).
    fn details_json(&self) -> Value {
        let kind = self.enhanced.get("type").cloned().unwrap_or(json!("Full"));
        let mut v = json!({
            "startTime": self.start_time,
        });
        if let Some(end) = &self.end_time {
            v["endTime"] = Value::String(end.clone());
        }
        v["type"] = kind.clone();
        v["commitMode"] = self
            .enhanced
            .get("commitMode")
            .cloned()
            .unwrap_or(json!("Transactional"));
        v["status"] = Value::from(self.status_name());
        v["extendedStatus"] = Value::from(match self.status {
            RefreshStatus::Unknown if self.seen => "InProgress",
            RefreshStatus::Unknown => "NotStarted",
            _ => self.status_name(),
        });
        v["currentRefreshType"] = kind;
        v["numberOfAttempts"] = json!(0);
        if let Some(objects) = self.enhanced.get("objects").and_then(Value::as_array) {
            let status = match self.status {
                RefreshStatus::Unknown => "InProgress",
                _ => self.status_name(),
            };
            let objects: Vec<Value> = objects
                .iter()
                .map(|o| {
                    let mut o = o.clone();
                    o["status"] = Value::from(status);
                    o
                })
                .collect();
            v["objects"] = Value::Array(objects);
        }
        if let Some(e) = self.exception_json() {
            v["messages"] =
                json!([{"message": failure_description(self.failure_code()), "type": "Error"}]);
            v["refreshAttempts"] = json!([{
                "attemptId": 1,
                "startTime": self.start_time,
                "endTime": self.end_time,
                "serviceExceptionJson": e,
                "type": "Data",
            }]);
        }
        v
    }

    fn failure_code(&self) -> &str {
        match &self.status {
            RefreshStatus::Failed(code) => code,
            _ => "",
        }
    }
}

/// A description for the error codes Microsoft's examples and users show; others get a
/// generic one.
fn failure_description(code: &str) -> String {
    match code {
        "ModelRefreshFailed_CredentialsNotSpecified" => {
            "The credentials provided for the data source are invalid or missing.".to_owned()
        }
        "ModelRefresh_ShortMessage_ProcessingError" => {
            "An error occurred while processing the semantic model.".to_owned()
        }
        "DM_GWPipeline_Gateway_DataSourceAccessError" => {
            "The gateway could not access the data source.".to_owned()
        }
        other => format!("The refresh failed with error {other}."),
    }
}

/// Ends the refreshes whose time is up and that a read has seen.
fn advance_all(refreshes: &mut [Refresh], config: &ServiceConfig, failure: Option<&str>) {
    let now = Instant::now();
    for r in refreshes {
        r.advance(now, config.refresh_duration, failure);
    }
}

/// Adds `Retry-After` to an answer when configured.
pub(crate) fn with_retry_after(mut response: Response, config: &ServiceConfig) -> Response {
    if let Some(secs) = config.poll_retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// Refresh Dataset (`Datasets_RefreshDataset[InGroup]`).
pub(crate) async fn post_refresh(
    State(s): State<AppState>,
    p: Params,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    // The body is optional: none (or only white space) is a plain refresh.
    let parsed = if body.iter().all(u8::is_ascii_whitespace) {
        Ok(None)
    } else {
        json_body(&headers, &body, "datasetRefreshRequest").map(Some)
    };
    let config = &s.config;
    let mut st = s.lock();
    let group = st.resolve_group(p.group())?;
    let dedicated = st.dedicated(&group);
    let next_id = st.next_refresh_id + 1;
    let dataset = st.dataset_mut(&group, p.get("datasetId"))?;
    let spec = validate::refresh_request(parsed?.as_ref()).map_err(ApiError::bad_request)?;
    // Swagger: `notifyOption` "is not applicable to ... API operations with a service
    // principal"; only `NoNotification` (which asks for nothing) is let through.
    if caller.is_some_and(|Extension(c)| c.service_principal.is_some())
        && let Some(option) = spec.notify_option.as_deref()
        && option != "NoNotification"
    {
        return Err(ApiError::invalid_request(format!(
            "Invalid dataset refresh request. notifyOption '{option}' is not applicable to API operations with a service principal: no mail can be sent to an application. Leave notifyOption out or use NoNotification."
        )));
    }
    if !spec.enhanced.is_empty() && !dedicated {
        return Err(ApiError::invalid_request(format!(
            "Invalid dataset refresh request. Enhanced refresh is not supported for shared capacities: only notifyOption may be given, not {}.",
            spec.enhanced
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if dataset.push {
        return Err(ApiError::invalid_request(format!(
            "Invalid dataset refresh request. The dataset '{}' is a push dataset and cannot be refreshed.",
            dataset.name
        )));
    }
    // Only reads move a refresh on: one that no read has seen end is still executing.
    if dataset
        .refreshes
        .iter()
        .any(|r| r.status == RefreshStatus::Unknown)
    {
        return Err(ApiError::invalid_request(
            "Invalid dataset refresh request. Another refresh request is already executing",
        ));
    }
    let now = Instant::now();
    if !dedicated && config.refreshes_per_day > 0 {
        while dataset
            .refresh_times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= DAY)
        {
            dataset.refresh_times.pop_front();
        }
        if dataset.refresh_times.len() >= config.refreshes_per_day as usize {
            return Err(ApiError::invalid_request(format!(
                "Invalid dataset refresh request. The number of refreshes exceeded the daily limit of {} for a dataset on shared capacity.",
                config.refreshes_per_day
            )));
        }
        dataset.refresh_times.push_back(now);
    }
    let refresh = Refresh {
        id: next_id,
        request_id: new_id(),
        enhanced: spec.enhanced,
        started: now,
        start_time: now_iso8601(),
        end_time: None,
        status: RefreshStatus::Unknown,
        seen: false,
    };
    let request_id = refresh.request_id.clone();
    let enhanced = !refresh.enhanced.is_empty();
    let dataset_id = dataset.id.clone();
    dataset.refreshes.push(refresh);
    if dataset.refreshes.len() > HISTORY_KEPT {
        let excess = dataset.refreshes.len() - HISTORY_KEPT;
        dataset.refreshes.drain(..excess);
    }
    st.next_refresh_id = next_id;
    drop(st);
    let mut response = StatusCode::ACCEPTED.into_response();
    // The answer's RequestId is the history entry's `requestId`, which is how clients find
    // their refresh in the history (unverified: Microsoft documents neither way).
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("requestid", v);
    }
    // Swagger: both headers "would be returned only if any request payload except
    // `notifyOption` is set".
    if enhanced {
        let location = format!(
            "{}/datasets/{dataset_id}/refreshes/{request_id}",
            s.scope_url(group.as_deref())
        );
        let h = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            h.insert("x-ms-request-id", v);
        }
        if let Ok(v) = HeaderValue::from_str(&location) {
            h.insert(header::LOCATION, v);
        }
    }
    Ok(response)
}

/// Get Refresh History (`Datasets_GetRefreshHistory[InGroup]`): newest first.
pub(crate) async fn list_refreshes(
    State(s): State<AppState>,
    p: Params,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let config = &s.config;
    let mut st = s.lock();
    let group = st.resolve_group(p.group())?;
    let failure = st
        .refresh_failures
        .get(&p.get("datasetId").to_ascii_lowercase())
        .cloned();
    let dataset = st.dataset_mut(&group, p.get("datasetId"))?;
    let pairs = query_pairs(query.as_deref());
    let top = match query_param(&pairs, "$top") {
        None => DEFAULT_TOP,
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if n >= 1 => n,
            _ => {
                return Err(ApiError::bad(
                    "$top",
                    format!("$top must be an integer of at least 1, not '{v}'."),
                ));
            }
        },
    };
    advance_all(&mut dataset.refreshes, config, failure.as_deref());
    let mut value = Vec::new();
    for r in dataset.refreshes.iter_mut().rev().take(top) {
        value.push(r.to_json());
        if r.status == RefreshStatus::Unknown {
            r.seen = true;
        }
    }
    let running = dataset
        .refreshes
        .iter()
        .any(|r| r.status == RefreshStatus::Unknown);
    drop(st);
    let response = json_response(
        StatusCode::OK,
        &s.envelope(group.as_deref(), "refreshes", value),
    );
    Ok(if running {
        with_retry_after(response, config)
    } else {
        response
    })
}

/// Get Refresh Execution Details (`Datasets_GetRefreshExecutionDetails[InGroup]`) of an
/// enhanced refresh: 202 while it runs, 200 once it ended. A plain refresh's request id is
/// 404, as it has no execution details.
pub(crate) async fn get_refresh_details(State(s): State<AppState>, p: Params) -> ApiResult {
    let config = &s.config;
    let mut st = s.lock();
    let group = st.resolve_group(p.group())?;
    let failure = st
        .refresh_failures
        .get(&p.get("datasetId").to_ascii_lowercase())
        .cloned();
    let dataset = st.dataset_mut(&group, p.get("datasetId"))?;
    advance_all(&mut dataset.refreshes, config, failure.as_deref());
    let refresh = dataset
        .refreshes
        .iter_mut()
        .find(|r| !r.enhanced.is_empty() && r.request_id.eq_ignore_ascii_case(p.get("refreshId")))
        .ok_or_else(ApiError::entity_not_found)?;
    let body = refresh.details_json();
    let running = refresh.status == RefreshStatus::Unknown;
    refresh.seen = true;
    drop(st);
    Ok(if running {
        with_retry_after(json_response(StatusCode::ACCEPTED, &body), config)
    } else {
        json_response(StatusCode::OK, &body)
    })
}

/// The refresh history of a dataset, newest first, without counting as a read.
pub(crate) fn history(refreshes: &[Refresh]) -> Vec<Value> {
    refreshes.iter().rev().map(Refresh::to_json).collect()
}
