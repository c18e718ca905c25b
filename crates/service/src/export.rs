//! Export To File: Export To File (`POST .../reports/{reportId}/ExportTo`), Get Export To
//! File Status (`GET .../exports/{exportId}`) and Get File Of Export To File
//! (`GET .../exports/{exportId}/file`).
//!
//! A job moves `NotStarted` → `Running` → `Succeeded` (or `Failed` when the report was
//! marked with [`ServiceHandle::fail_exports`](crate::ServiceHandle::fail_exports)), each
//! move once [`ServiceConfig::export_step`](crate::ServiceConfig::export_step) has passed in
//! the state and a status read has shown the state.

use std::time::{Duration, Instant, SystemTime};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

use crate::api::{ApiResult, AppState, Params, json_body};
use crate::errors::{ApiError, json_response};
use crate::files::{self, ExportContent, FileFormat};
use crate::refresh::with_retry_after;
use crate::state::Shared;
use crate::util::{iso8601_at, new_opaque_id, now_iso8601};
use crate::validate;

/// How long the file of a finished export can be fetched (the live service's example
/// shows a day).
const FILE_LIFETIME: Duration = Duration::from_secs(86_400);

/// The state of an export job (Swagger's `ExportState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExportState {
    NotStarted,
    Running,
    Succeeded,
    Failed,
}

impl ExportState {
    fn name(self) -> &'static str {
        match self {
            Self::NotStarted => "NotStarted",
            Self::Running => "Running",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
        }
    }

    fn done(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

/// An export to file job.
#[derive(Debug, Clone)]
pub(crate) struct Export {
    pub id: String,
    pub group: Option<String>,
    pub report_id: String,
    pub report_name: String,
    pub format: FileFormat,
    pub pages: Vec<String>,
    pub created: String,
    pub last_action: String,
    pub state: ExportState,
    /// When the job entered its state, and whether a status read has shown that state.
    pub entered: Instant,
    pub seen: bool,
    pub expiration: Option<String>,
}

impl Export {
    /// Moves on one state if the step's time is up and a read has seen the state.
    fn advance(&mut self, now: Instant, step: Duration, fail: bool) {
        if self.state.done() || !self.seen || now.duration_since(self.entered) < step {
            return;
        }
        self.state = match self.state {
            ExportState::NotStarted => ExportState::Running,
            _ if fail => ExportState::Failed,
            _ => ExportState::Succeeded,
        };
        self.entered = now;
        self.seen = false;
        self.last_action = now_iso8601();
        if self.state == ExportState::Succeeded {
            self.expiration = Some(iso8601_at(SystemTime::now() + FILE_LIFETIME));
        }
    }

    /// The job as Swagger's `Export`.
    fn to_json(&self, s: &Shared) -> Value {
        let mut v = json!({
            "id": self.id,
            "createdDateTime": self.created,
            "lastActionDateTime": self.last_action,
            "reportId": self.report_id,
            "reportName": self.report_name,
            "status": self.state.name(),
            "percentComplete": match self.state {
                ExportState::NotStarted => 0,
                ExportState::Running => 50,
                ExportState::Succeeded | ExportState::Failed => 100,
            },
        });
        if self.state == ExportState::Succeeded {
            v["resourceLocation"] = Value::String(format!(
                "{}/reports/{}/exports/{}/file",
                s.scope_url(self.group.as_deref()),
                self.report_id,
                self.id
            ));
            // Swagger's definition spells it with a capital R (its example does not).
            v["ResourceFileExtension"] = Value::from(self.format.extension());
            v["expirationTime"] = Value::from(self.expiration.clone());
        }
        v
    }
}

/// Export To File (`Reports_ExportToFile[InGroup]`).
pub(crate) async fn export_to(
    State(s): State<AppState>,
    p: Params,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let parsed = json_body(&headers, &body, "requestParameters");
    let mut st = s.lock();
    let group = st.resolve_group(p.group())?;
    let report = st.report(&group, p.get("reportId"))?.clone();
    if !st.dedicated(&group) {
        return Err(ApiError::feature_not_available(
            "Export to file is not available for this workspace: it requires a Premium, Embedded or Fabric capacity.",
        ));
    }
    let spec = validate::export_request(&parsed?).map_err(ApiError::bad_request)?;
    let format = spec.format.as_str();
    let format = if report.paginated {
        match format {
            "PDF" | "ACCESSIBLEPDF" => FileFormat::Pdf,
            "PPTX" => FileFormat::Pptx,
            "PNG" => {
                return Err(ApiError::bad(
                    "requestParameters.format",
                    "The format PNG is only supported for Power BI reports.",
                ));
            }
            other => {
                return Err(ApiError::bad(
                    "requestParameters.format",
                    format!(
                        "The emulator does not produce {other} files; use PDF, ACCESSIBLEPDF or PPTX."
                    ),
                ));
            }
        }
    } else {
        if spec.paginated_configuration {
            return Err(ApiError::bad(
                "requestParameters.paginatedReportConfiguration",
                "paginatedReportConfiguration applies to paginated reports only.",
            ));
        }
        FileFormat::parse(format).ok_or_else(|| {
            ApiError::bad(
                "requestParameters.format",
                format!("The format {format} is only supported for paginated reports."),
            )
        })?
    };
    let now = now_iso8601();
    let export = Export {
        id: new_opaque_id(),
        group,
        report_id: report.id.clone(),
        report_name: report.name.clone(),
        format,
        pages: spec.pages,
        created: now.clone(),
        last_action: now,
        state: ExportState::NotStarted,
        entered: Instant::now(),
        seen: false,
        expiration: None,
    };
    let body = export.to_json(&s);
    st.exports.push(export);
    drop(st);
    Ok(with_retry_after(
        json_response(StatusCode::ACCEPTED, &body),
        &s.config,
    ))
}

/// Finds a job of a report of the scope (404 for an unknown report or job).
fn find_export<'a>(
    st: &'a mut crate::state::State,
    p: &Params,
) -> Result<(&'a mut Export, bool), ApiError> {
    let group = st.resolve_group(p.group())?;
    let report_id = st.report(&group, p.get("reportId"))?.id.clone();
    let fail = st.export_failures.contains(&report_id.to_ascii_lowercase());
    let export = st
        .exports
        .iter_mut()
        .find(|e| e.report_id == report_id && e.id == p.get("exportId"))
        .ok_or_else(ApiError::entity_not_found)?;
    Ok((export, fail))
}

/// Get Export To File Status (`Reports_GetExportToFileStatus[InGroup]`): 202 while the job
/// runs, 200 once it succeeded or failed.
pub(crate) async fn export_status(State(s): State<AppState>, p: Params) -> ApiResult {
    let mut st = s.lock();
    let (export, fail) = find_export(&mut st, &p)?;
    // Only status reads move a job on.
    export.advance(Instant::now(), s.config.export_step, fail);
    export.seen = true;
    let body = export.to_json(&s);
    let done = export.state.done();
    drop(st);
    Ok(if done {
        json_response(StatusCode::OK, &body)
    } else {
        with_retry_after(json_response(StatusCode::ACCEPTED, &body), &s.config)
    })
}

/// `Content-Disposition` naming the file after the report: an ASCII `filename` (other
/// characters as `_`) and, when the name is not plain ASCII, an RFC 5987 `filename*`.
fn content_disposition(name: &str, extension: &str) -> String {
    let file = format!("{name}{extension}");
    let ascii: String = file
        .chars()
        .map(|c| match c {
            '"' | '\\' => '_',
            c if c.is_ascii_graphic() || c == ' ' => c,
            _ => '_',
        })
        .collect();
    if ascii == file {
        format!("attachment; filename=\"{ascii}\"")
    } else {
        format!(
            "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
            utf8_percent_encode(&file, NON_ALPHANUMERIC)
        )
    }
}

/// Get File Of Export To File (`Reports_GetFileOfExportToFile[InGroup]`): the file once the
/// job succeeded; 404 `PowerBIEntityNotFound` before (and for a failed job).
pub(crate) async fn export_file(State(s): State<AppState>, p: Params) -> ApiResult {
    let mut st = s.lock();
    let (export, _) = find_export(&mut st, &p)?;
    if export.state != ExportState::Succeeded {
        return Err(ApiError::entity_not_found());
    }
    let export = export.clone();
    drop(st);
    let bytes = files::render(
        export.format,
        &ExportContent {
            report_name: export.report_name.clone(),
            pages: export.pages.clone(),
            created: export.created.clone(),
        },
    );
    let mut response = Response::new(Body::from(bytes));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(export.format.content_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&content_disposition(
        &export.report_name,
        export.format.extension(),
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions() {
        assert_eq!(
            content_disposition("Sales Overview", ".pdf"),
            "attachment; filename=\"Sales Overview.pdf\""
        );
        assert_eq!(
            content_disposition("Ventes \"Été\"", ".png"),
            "attachment; filename=\"Ventes __t__.png\"; filename*=UTF-8''Ventes%20%22%C3%89t%C3%A9%22%2Epng"
        );
    }
}
