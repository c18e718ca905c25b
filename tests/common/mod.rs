//! The end-to-end harness: the real component, in the real host, against the local Power BI
//! service on loopback. The host redirects the API and login hosts to the service, exactly as
//! `pbi --service URL` does.

#![allow(dead_code)]

use std::path::Path;

use anyhow::{Context, Result, bail};
use pbi_host::{Connector, HostConfig, Invocation};
use pbi_service::{ServiceConfig, ServiceHandle};
use serde_json::{Value, json};

/// A client secret that must never show up anywhere.
pub const CLIENT_SECRET: &str = "e2e-client-secret-Zq8~xY";

/// The service's defaults, with its long-running operations (refreshes, exports) made
/// short and its `Retry-After` zero: tests never wait, and the component never sleeps for
/// them.
pub fn fast_service() -> ServiceConfig {
    ServiceConfig {
        refresh_duration: std::time::Duration::ZERO,
        export_step: std::time::Duration::ZERO,
        poll_retry_after: Some(0),
        ..ServiceConfig::default()
    }
}

/// One service, one loaded component, one valid token.
pub struct Harness {
    /// The local Power BI service.
    pub service: ServiceHandle,
    /// The component in the host.
    pub connector: Connector,
    /// The bearer token the connection carries.
    pub token: String,
}

impl Harness {
    /// A harness on a fresh service with the default configuration.
    pub fn new() -> Result<Self> {
        Self::with_config(fast_service())
    }

    /// A harness on a fresh service configured so.
    pub fn with_config(config: ServiceConfig) -> Result<Self> {
        let service = ServiceHandle::spawn(config).context("starting the local service")?;
        let base: url::Url = service.base_url().parse().context("service URL")?;
        let host = HostConfig::default()
            .redirect("api.powerbi.com", base.clone())
            .redirect("login.microsoftonline.com", base);
        let connector = Connector::load(pbi_component::connector_wasm(), host)
            .context("loading the component")?;
        let token = service.issue_token();
        Ok(Harness {
            service,
            connector,
            token,
        })
    }

    /// The connection values an engine would pass.
    pub fn connection(&self) -> Value {
        json!({
            "client-id": "e2e-client",
            "client-secret": CLIENT_SECRET,
            "access-token": self.token,
        })
    }

    /// Invokes an action; host errors fail the test.
    pub fn run(&self, action: &str, inputs: Value) -> Result<Invocation> {
        let invocation = self
            .connector
            .invoke(action, &self.connection(), &inputs)
            .with_context(|| format!("invoking {action}"))?;
        self.assert_no_secret(&invocation)?;
        Ok(invocation)
    }

    /// Invokes an action that must succeed, and returns its output data.
    pub fn ok(&self, action: &str, inputs: Value) -> Result<Value> {
        let invocation = self.run(action, inputs)?;
        match invocation.result {
            Ok(output) => Ok(output.data),
            Err(e) => bail!("{action} failed: {e:?}\nlogs:\n{}", invocation.logs),
        }
    }

    /// Invokes an action that must fail, and returns its error.
    pub fn err(&self, action: &str, inputs: Value) -> Result<pbi_host::ActionError> {
        match self.run(action, inputs)?.result {
            Ok(output) => bail!("{action} should have failed, gave {:?}", output.data),
            Err(e) => Ok(e),
        }
    }

    /// The action's sample inputs (`crates/component/fixtures`) for the dataset `id`.
    pub fn sample(&self, action: &str, id: &str) -> Result<Value> {
        self.sample_in(action, id, None)
    }

    /// The action's sample inputs for the dataset `id`, in `workspace` (My Workspace for
    /// `None`): what else a fixture names is made in the service for it (a non-push dataset,
    /// a report, a workspace on dedicated capacity), and `workspace` is set when given.
    pub fn sample_in(&self, action: &str, id: &str, workspace: Option<&str>) -> Result<Value> {
        use pbi_component::{
            CAPACITY_WORKSPACE_PLACEHOLDER, MODEL_DATASET_ID_PLACEHOLDER, REPORT_ID_PLACEHOLDER,
            fill,
        };
        let mut inputs = pbi_component::sample_inputs(action, id)
            .with_context(|| format!("no fixture for {action}"))?;
        let mut workspace = workspace.map(str::to_string);
        if inputs.get("workspace").and_then(Value::as_str) == Some(CAPACITY_WORKSPACE_PLACEHOLDER) {
            let group = match &workspace {
                Some(group) => group.clone(),
                None => self
                    .service
                    .add_group(&format!("Capacity {}", &id[..id.len().min(8)])),
            };
            self.service.set_dedicated_capacity(&group, true);
            workspace = Some(group);
        }
        if let Some(group) = &workspace {
            inputs["workspace"] = json!(group);
        }
        let group = workspace.as_deref();
        if inputs.get("dataset-id").and_then(Value::as_str) == Some(MODEL_DATASET_ID_PLACEHOLDER) {
            let model = self.service.add_dataset(
                group,
                "Sales Model",
                false,
                json!([{"name": "Sales", "columns": [{"name": "Id", "dataType": "Int64"}]}]),
            );
            fill(&mut inputs, MODEL_DATASET_ID_PLACEHOLDER, &model);
        }
        if inputs.get("report-id").and_then(Value::as_str) == Some(REPORT_ID_PLACEHOLDER) {
            let report = self.service.add_report(group, "Sales Overview", None);
            fill(&mut inputs, REPORT_ID_PLACEHOLDER, &report);
        }
        Ok(inputs)
    }

    /// Creates a dataset with one table through the component; returns its id.
    pub fn create_dataset(&self, table: &str, columns: Value) -> Result<String> {
        let out = self.ok(
            "create-dataset",
            json!({"dataset-name": "E2E", "table-name": table, "columns": columns}),
        )?;
        out["id"]
            .as_str()
            .map(str::to_string)
            .context("dataset id in the output")
    }

    /// Fails if the token or the client secret appears in anything the invocation returned.
    pub fn assert_no_secret(&self, invocation: &Invocation) -> Result<()> {
        let text = format!("{invocation:?}");
        for secret in [self.token.as_str(), CLIENT_SECRET] {
            if text.contains(secret) {
                bail!("a secret leaked into the invocation: {text}");
            }
        }
        Ok(())
    }

    /// Validates every request the service received against Microsoft's swagger; says plainly
    /// when the swagger is not there.
    pub fn check_swagger(&self) -> Result<()> {
        let Some(path) = swagger_check::locate(Path::new(env!("CARGO_MANIFEST_DIR"))) else {
            eprintln!(
                "skipped: swagger.json not found (set POWERBI_SWAGGER or provide ../shared/powerbi-api/swagger.json)"
            );
            return Ok(());
        };
        let swagger = swagger_check::Swagger::load(&path).map_err(anyhow::Error::msg)?;
        let mut problems = Vec::new();
        // The API's requests: the identity platform's endpoints are not in the swagger.
        for r in self.service.requests() {
            if !r.path.starts_with("/v1.0/") {
                continue;
            }
            let target = match &r.query {
                Some(q) => format!("{}?{q}", r.path),
                None => r.path.clone(),
            };
            let content_type = r
                .headers
                .iter()
                .find(|(k, _)| k == "content-type")
                .map(|(_, v)| v.as_str());
            if let Err(errors) = swagger.validate(&r.method, &target, content_type, &r.body) {
                problems.push(format!("{} {target}: {}", r.method, errors.join("; ")));
            }
        }
        if !problems.is_empty() {
            bail!(
                "requests that do not validate against swagger.json:\n{}",
                problems.join("\n")
            );
        }
        Ok(())
    }
}

/// The columns most tests use.
pub fn sales_columns() -> Value {
    json!([
        {"name": "Id", "dataType": "Int64"},
        {"name": "Region", "dataType": "string"},
        {"name": "Amount", "dataType": "Double"},
    ])
}

/// `n` rows for [`sales_columns`].
pub fn sales_rows(n: usize) -> Value {
    Value::Array(
        (0..n)
            .map(|i| {
                let region = if i % 2 == 0 { "West" } else { "East" };
                json!({"Id": i, "Region": region, "Amount": i as f64 * 1.5})
            })
            .collect(),
    )
}
