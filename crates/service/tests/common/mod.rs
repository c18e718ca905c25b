//! Helpers shared by the integration tests: a running service, a token and an HTTP client.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use anyhow::{Context, Result};
use pbi_service::{ServiceConfig, ServiceHandle};
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{Value, json};

/// A running service with a valid token.
pub struct Env {
    pub svc: ServiceHandle,
    pub token: String,
    pub http: Client,
}

impl Env {
    pub fn new() -> Result<Self> {
        Self::with_config(ServiceConfig::default())
    }

    pub fn with_config(config: ServiceConfig) -> Result<Self> {
        let svc = ServiceHandle::spawn(config).context("spawning the service")?;
        let token = svc.issue_token();
        // Proxies from the environment must not see loopback traffic.
        let http = Client::builder()
            .no_proxy()
            .build()
            .context("building the client")?;
        Ok(Self { svc, token, http })
    }

    /// `base/v1.0/myorg{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}/v1.0/myorg{path}", self.svc.base_url())
    }

    fn authed(&self, rb: RequestBuilder) -> RequestBuilder {
        rb.bearer_auth(&self.token)
    }

    pub fn get(&self, path: &str) -> Result<Response> {
        self.authed(self.http.get(self.url(path)))
            .send()
            .with_context(|| format!("GET {path}"))
    }

    pub fn delete(&self, path: &str) -> Result<Response> {
        self.authed(self.http.delete(self.url(path)))
            .send()
            .with_context(|| format!("DELETE {path}"))
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Result<Response> {
        self.authed(self.http.post(self.url(path)))
            .json(body)
            .send()
            .with_context(|| format!("POST {path}"))
    }

    /// A POST with a raw body and, if given, a `Content-Type`.
    pub fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::blocking::Body>,
    ) -> Result<Response> {
        let mut rb = self.authed(self.http.post(self.url(path))).body(body);
        if let Some(ct) = content_type {
            rb = rb.header(reqwest::header::CONTENT_TYPE, ct);
        }
        rb.send().with_context(|| format!("POST {path}"))
    }

    /// A GET of an absolute URL (e.g. a `Location` the service answered) with the token.
    pub fn get_url(&self, url: &str) -> Result<Response> {
        self.authed(self.http.get(url))
            .send()
            .with_context(|| format!("GET {url}"))
    }

    pub fn put_json(&self, path: &str, body: &Value) -> Result<Response> {
        self.authed(self.http.put(self.url(path)))
            .json(body)
            .send()
            .with_context(|| format!("PUT {path}"))
    }

    /// Creates a push dataset through the API and returns its id.
    pub fn create_dataset(&self, scope: &str, body: &Value) -> Result<String> {
        let r = self.post_json(&format!("{scope}/datasets"), body)?;
        let status = r.status().as_u16();
        let v: Value = r.json().context("create dataset answer")?;
        anyhow::ensure!(status == 201, "create dataset gave {status}: {v}");
        v["id"]
            .as_str()
            .map(str::to_owned)
            .context("dataset id missing")
    }

    /// A push dataset with one table `table` of columns `Id` (Int64) and `Name` (String).
    pub fn simple_dataset(&self, table: &str) -> Result<String> {
        self.create_dataset(
            "",
            &json!({"name": "Simple", "tables": [{"name": table, "columns": [
                {"name": "Id", "dataType": "Int64"},
                {"name": "Name", "dataType": "String"}
            ]}]}),
        )
    }
}

/// The status and JSON body of an answer.
pub fn status_json(r: Response) -> Result<(u16, Value)> {
    let status = r.status().as_u16();
    let text = r.text().context("reading the body")?;
    let v = serde_json::from_str(&text).with_context(|| format!("not JSON ({status}): {text}"))?;
    Ok((status, v))
}

/// Percent-encodes a path segment (everything but unreserved characters).
pub fn encode_segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The exact 404 body Power BI sends for an unknown dataset or table.
pub fn entity_not_found() -> Value {
    json!({"error": {"code": "PowerBIEntityNotFound", "pbi.error": {
        "code": "PowerBIEntityNotFound", "parameters": {}, "details": [], "exceptionCulprit": 1
    }}})
}

/// `n` rows `{Id, Name}` numbered from `start`.
pub fn rows(start: usize, n: usize) -> Vec<Value> {
    (start..start + n)
        .map(|i| json!({"Id": i, "Name": format!("row {i}")}))
        .collect()
}
