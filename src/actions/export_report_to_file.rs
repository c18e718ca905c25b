//! Export Report to File: starts an export (`POST /reports/{id}/ExportTo`), follows its
//! status (`GET /reports/{id}/exports/{exportId}`, honouring `Retry-After`) until it
//! succeeds, fails or the Wait Timeout runs out, then downloads the file
//! (`GET .../exports/{exportId}/file`).
//!
//! The file is fetched from the URL built here, under the API base, not from the status's
//! `resourceLocation`: the token is never sent to a host an answer names.

use std::time::Duration;

use serde_json::{Value, json};

use super::inputs::{REPORT_ID, WAIT_TIMEOUT, WORKSPACE};
use super::{Context, choice, guid, in_workspace, scoped_url, wait_timeout, workspace};
use crate::definition::{Action, Input, InputType};
use crate::error::{ActionError, ErrorKind};
use crate::exchange::Progress;
use crate::exchange::{Exchange, HttpDetails, Output, Step};
use crate::http::{Method, Request, Response};
use crate::poll::{Outcome, Polling};

/// How often the status is read when the service does not say (no `Retry-After`).
pub const POLL_EVERY: Duration = Duration::from_secs(5);

/// The action as the definition lists it: key, label, description and inputs.
pub const DEFINITION: Action = Action {
    key: "export-report-to-file",
    label: "Export Report to File",
    description: "Exports the specified report from 'My Workspace' to a PDF, PowerPoint or PNG file",
    inputs: &[
        WORKSPACE,
        REPORT_ID,
        Input::new(
            "format",
            "Format",
            InputType::Picklist,
            "The requested format for the exported file. Exporting needs the report's workspace on a Premium, Embedded or Fabric capacity.",
        )
        .required()
        .default("PDF")
        .choices(&[("PDF", "PDF"), ("PowerPoint", "PPTX"), ("PNG", "PNG")]),
        WAIT_TIMEOUT,
    ],
};

action_input! {
    /// The inputs (WIT `export-report-to-file-input`).
    #[derive(Debug, Clone, Default)]
    pub struct ExportReportToFileInput {
        /// Workspace: the workspace (group) ID; none or empty is My Workspace.
        pub workspace: Option<String>,
        /// Report ID.
        pub report_id: String,
        /// Format: `PDF` (default), `PPTX` or `PNG`.
        pub format: Option<String>,
        /// Wait Timeout (s) (default 240).
        pub wait_timeout: Option<i64>,
    }
}

/// Where the export is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    /// Asking for the export.
    Start,
    /// Reading the job's status.
    Status,
    /// Downloading the file.
    File,
}

/// An export in progress.
#[derive(Debug)]
pub struct ExportReport {
    workspace: Option<String>,
    report_id: String,
    format: &'static str,
    polling: Polling,
    stage: Stage,
    /// The job, as the service last described it.
    job: Value,
}

/// Checks the inputs and builds the exchange.
pub fn exchange(
    input: &ExportReportToFileInput,
    _context: &Context,
) -> Result<ExportReport, ActionError> {
    let workspace = workspace(input.workspace.as_deref())?;
    let id = guid("report-id", "report", &input.report_id)?;
    let format = choice(&DEFINITION, "format", input.format.as_deref())?;
    let limit = wait_timeout(&DEFINITION, input.wait_timeout)?;
    Ok(ExportReport {
        workspace: workspace.map(str::to_string),
        report_id: id.to_string(),
        format,
        polling: Polling::new(limit, POLL_EVERY),
        stage: Stage::Start,
        job: Value::Null,
    })
}

impl ExportReport {
    fn text(&self, key: &str) -> Option<&str> {
        self.job.get(key).and_then(Value::as_str)
    }

    fn request(&self) -> Request {
        let export_id = self.text("id").unwrap_or_default();
        let at = |tail: &[&str]| {
            let mut segments = vec!["reports", self.report_id.as_str()];
            segments.extend_from_slice(tail);
            scoped_url(self.workspace.as_deref(), &segments, &[])
        };
        match self.stage {
            Stage::Start => Request::new(Method::Post, at(&["ExportTo"]))
                .json_body(json!({"format": self.format}).to_string().into_bytes()),
            Stage::Status => Request::new(Method::Get, at(&["exports", export_id])),
            Stage::File => {
                let mut request = Request::new(Method::Get, at(&["exports", export_id, "file"]));
                request.headers = vec![("accept".into(), "*/*".into())];
                request
            }
        }
    }

    fn error(&self, response: &Response) -> ActionError {
        let mut e = in_workspace(
            ActionError::from_response(response),
            self.workspace.as_deref(),
        );
        if self.stage == Stage::Start && e.kind == ErrorKind::Forbidden {
            // Export to file is a capacity feature (Microsoft's "Export Power BI report to
            // file": Premium, Embedded or Fabric); shared capacity refuses it.
            e.message = format!(
                "the report cannot be exported: exporting to a file needs its workspace on a \
                 Premium, Embedded or Fabric capacity, and the user needs export rights on it ({})",
                e.message
            );
        }
        e
    }

    /// The job was described (on start or when asked): fetch the file, or wait.
    fn described(&mut self, response: Response) -> Step {
        match serde_json::from_slice::<Value>(&response.body) {
            Ok(job) if job.get("id").and_then(Value::as_str).is_some() => self.job = job,
            _ => {
                return Step::Done(Err(ActionError::unexpected_body(
                    &response,
                    "an export job without an id",
                )));
            }
        }
        let status = self.text("status").unwrap_or("Undefined");
        self.polling.report(Progress {
            done: self
                .job
                .get("percentComplete")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            total: Some(100),
            status: format!("export {status}"),
        });
        match self.text("status").unwrap_or("Undefined") {
            "Succeeded" => {
                self.stage = Stage::File;
                Step::Send(self.request())
            }
            "Failed" => {
                let mut e = ActionError::service(format!(
                    "Power BI could not export the report {:?} to {}",
                    self.text("reportName").unwrap_or(&self.report_id),
                    self.format
                ));
                e.progress = Some(self.job.to_string());
                Step::Done(Err(e))
            }
            _ => {
                self.stage = Stage::Status;
                self.polling.wait(&response).unwrap_or_else(|| {
                    let mut e = ActionError::timeout(format!(
                        "the export was not finished after the Wait Timeout of {} s",
                        self.polling.elapsed_s()
                    ));
                    e.progress = Some(self.job.to_string());
                    Step::Done(Err(e))
                })
            }
        }
    }

    /// The file arrived.
    fn downloaded(&self, response: Response) -> Output {
        let content_type = response.header("content-type").map(str::to_string);
        let extension = self
            .text("ResourceFileExtension")
            .or(self.text("resourceFileExtension"))
            .map(str::to_string)
            .unwrap_or_else(|| format!(".{}", self.format.to_ascii_lowercase()));
        let file_name = response
            .header("content-disposition")
            .and_then(disposition_file_name)
            .unwrap_or_else(|| {
                format!("{}{extension}", self.text("reportName").unwrap_or("report"))
            });
        let data = json!({
            "reportId": self.report_id,
            "exportId": self.text("id"),
            "reportName": self.text("reportName"),
            "format": self.format,
            "fileName": file_name,
            "contentType": content_type,
            "size": response.body.len(),
        });
        Output {
            data: data.to_string(),
            http: Some(HttpDetails {
                status: response.status,
                headers: response.headers,
                content_type,
                body: Some(response.body),
            }),
        }
    }
}

/// The `filename` of a `Content-Disposition` header (quoted or not).
fn disposition_file_name(header: &str) -> Option<String> {
    let at = header.find("filename=")? + "filename=".len();
    let rest = header[at..].trim_start();
    let name = match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next()?,
        None => rest.split(';').next()?.trim(),
    };
    Some(name.to_string()).filter(|n| !n.is_empty())
}

impl Exchange for ExportReport {
    fn step(&mut self, outcome: Option<Result<Response, ActionError>>) -> Step {
        let response = match self.polling.outcome(outcome) {
            Outcome::Ask => return Step::Send(self.request()),
            Outcome::Answer(response) => response,
            Outcome::Over(e) => return Step::Done(Err(e)),
        };
        if !response.is_success() {
            return Step::Done(Err(self.error(&response)));
        }
        match self.stage {
            Stage::Start | Stage::Status => self.described(response),
            Stage::File => Step::Done(Ok(self.downloaded(response))),
        }
    }

    fn clock(&mut self, now_ms: u64) {
        self.polling.clock(now_ms);
    }

    fn progress(&mut self) -> Option<Progress> {
        self.polling.progress()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::{drive, scripted::Scripted};

    const REPORT: &str = "5b218778-e7a5-4d73-8187-f10824047715";

    fn input() -> ExportReportToFileInput {
        ExportReportToFileInput {
            workspace: Some("f089354e-8366-4e18-aea3-4cb4a3a50b48".into()),
            report_id: REPORT.into(),
            format: Some("pptx".into()),
            wait_timeout: Some(30),
        }
    }

    fn job(status: &str, retry_after: Option<&str>) -> Result<Response, ActionError> {
        let body = format!(
            r#"{{"id":"job-1","reportId":"{REPORT}","reportName":"Sales Overview","status":"{status}","ResourceFileExtension":".pptx"}}"#
        );
        Ok(Response {
            status: if status == "Succeeded" { 200 } else { 202 },
            headers: retry_after
                .map(|v| vec![("retry-after".to_string(), v.to_string())])
                .unwrap_or_default(),
            body: body.into_bytes(),
        })
    }

    fn file(disposition: Option<&str>) -> Result<Response, ActionError> {
        let mut headers = vec![(
            "content-type".to_string(),
            "application/vnd.openxmlformats-officedocument.presentationml.presentation".to_string(),
        )];
        if let Some(d) = disposition {
            headers.push(("content-disposition".into(), d.into()));
        }
        Ok(Response {
            status: 200,
            headers,
            body: b"PK\x03\x04 slides".to_vec(),
        })
    }

    #[test]
    fn starts_polls_and_downloads() {
        let mut ex = exchange(&input(), &Context::default()).unwrap();
        let mut t = Scripted::new([
            job("NotStarted", Some("1")),
            job("Running", None),
            job("Succeeded", None),
            file(Some(r#"attachment; filename="Sales Overview.pptx""#)),
        ]);
        let out = drive(&mut ex, &mut t).unwrap();
        let data: Value = serde_json::from_str(&out.data).unwrap();
        assert_eq!(data["fileName"], "Sales Overview.pptx");
        assert_eq!(data["size"], 11);
        assert_eq!(data["format"], "PPTX");
        let http = out.http.unwrap();
        assert_eq!(http.body.as_deref(), Some(&b"PK\x03\x04 slides"[..]));
        assert_eq!(t.sleeps, vec![Duration::from_secs(1), POLL_EVERY]);
        let sent: Vec<_> = t
            .sent
            .iter()
            .map(|(r, _)| super::super::snapshot(r))
            .collect();
        insta::assert_json_snapshot!(sent);
    }

    #[test]
    fn names_the_file_without_a_disposition() {
        let mut ex = exchange(&input(), &Context::default()).unwrap();
        let mut t = Scripted::new([job("Succeeded", None), file(None)]);
        let data: Value = serde_json::from_str(&drive(&mut ex, &mut t).unwrap().data).unwrap();
        assert_eq!(data["fileName"], "Sales Overview.pptx");
        assert_eq!(
            disposition_file_name("attachment; filename=a.pdf; x=y").as_deref(),
            Some("a.pdf")
        );
    }

    #[test]
    fn failures_capacity_and_timeout() {
        let mut ex = exchange(&input(), &Context::default()).unwrap();
        let mut t = Scripted::new([job("Running", None), job("Failed", None)]);
        let e = drive(&mut ex, &mut t).unwrap_err();
        assert!(e.message.contains("could not export"), "{}", e.message);
        assert!(e.progress.unwrap().contains("job-1"));

        let mut ex = exchange(&input(), &Context::default()).unwrap();
        let mut t = Scripted::new([Scripted::answer(
            403,
            r#"{"error":{"code":"FeatureNotAvailableError","message":"Export is not available"}}"#,
        )]);
        let e = drive(&mut ex, &mut t).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Forbidden);
        assert!(
            e.message.contains("Premium, Embedded or Fabric capacity"),
            "{}",
            e.message
        );

        let mut ex = exchange(&input(), &Context::default()).unwrap();
        let mut t = Scripted::new((0..20).map(|_| job("Running", None)));
        let e = drive(&mut ex, &mut t).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Timeout);
        assert_eq!(t.sleeps.len(), 6, "30 s at 5 s a wait");

        for (key, bad) in [
            (
                "format",
                ExportReportToFileInput {
                    format: Some("XLSX".into()),
                    ..input()
                },
            ),
            (
                "report-id",
                ExportReportToFileInput {
                    report_id: "Sales".into(),
                    ..input()
                },
            ),
            (
                "wait-timeout",
                ExportReportToFileInput {
                    wait_timeout: Some(3601),
                    ..input()
                },
            ),
        ] {
            let e = exchange(&bad, &Context::default()).unwrap_err();
            assert_eq!(e.input.as_deref(), Some(key));
        }
    }
}
