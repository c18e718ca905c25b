//! The client credentials grant (service principals) at the v2 and v1 token endpoints, and
//! what a service principal's token may do on the API.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use pbi_service::{
    ClientAuthentication, ServiceConfig, ServiceHandle, ServicePrincipal, TokenEndpoint,
};
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{Value, json};

const SP_ID: &str = "pbi-local-sp";
const SP_SECRET: &str = "pbi-local-sp-secret";
const PBI_RESOURCE: &str = "https://analysis.windows.net/powerbi/api";
const PBI_DEFAULT: &str = "https://analysis.windows.net/powerbi/api/.default";
const DOMAIN: &str = "contoso.onmicrosoft.com";

struct Sp {
    svc: ServiceHandle,
    http: Client,
    /// Every answer body seen, to check that none holds a secret.
    answers: std::cell::RefCell<Vec<String>>,
}

impl Sp {
    fn new() -> Result<Self> {
        Self::with_config(ServiceConfig::default())
    }

    fn with_config(config: ServiceConfig) -> Result<Self> {
        Ok(Self {
            svc: ServiceHandle::spawn(config)?,
            http: Client::builder().no_proxy().build()?,
            answers: std::cell::RefCell::default(),
        })
    }

    /// `{login}/{tenant}/oauth2/v2.0/token`.
    fn v2(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.svc.login_base_url())
    }

    fn v1(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/token", self.svc.login_base_url())
    }

    fn send(&self, rb: RequestBuilder) -> Result<(u16, Value)> {
        let r = rb.send()?;
        let status = r.status().as_u16();
        let text = r.text()?;
        self.answers.borrow_mut().push(text.clone());
        let v = serde_json::from_str(&text).with_context(|| format!("not JSON: {text}"))?;
        Ok((status, v))
    }

    fn post(&self, url: &str, form: &[(&str, &str)]) -> Result<(u16, Value)> {
        self.send(self.http.post(url).form(form))
    }

    /// A v2 client credentials request with the secret in the body.
    fn client_credentials(
        &self,
        tenant: &str,
        client_id: &str,
        secret: &str,
        scope: &str,
    ) -> Result<(u16, Value)> {
        self.post(
            &self.v2(tenant),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", secret),
                ("scope", scope),
            ],
        )
    }

    /// A token of the default service principal, through the v2 endpoint.
    fn token(&self) -> Result<String> {
        let (status, body) =
            self.client_credentials(&self.svc.tenant_id(), SP_ID, SP_SECRET, PBI_DEFAULT)?;
        ensure!(status == 200, "{body}");
        Ok(str_field(&body, "access_token")?.to_owned())
    }

    fn api(&self, method: reqwest::Method, path: &str, token: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}/v1.0/myorg{path}", self.svc.base_url()))
            .bearer_auth(token)
    }

    fn get(&self, path: &str, token: &str) -> Result<(u16, Value)> {
        json_of(self.api(reqwest::Method::GET, path, token).send()?)
    }

    /// Refresh Dataset with `body` (`None`: no body); the status and the body's text.
    fn refresh(&self, path: &str, token: &str, body: Option<Value>) -> Result<(u16, String)> {
        let mut rb = self.api(reqwest::Method::POST, path, token);
        if let Some(body) = body {
            rb = rb.json(&body);
        }
        let r = rb.send()?;
        Ok((r.status().as_u16(), r.text()?))
    }

    /// No answer seen so far holds one of `secrets`.
    fn assert_no_secret_answered(&self, secrets: &[&str]) {
        for text in self.answers.borrow().iter() {
            for secret in secrets {
                assert!(!text.contains(secret), "an answer leaks {secret}: {text}");
            }
        }
    }
}

fn json_of(r: Response) -> Result<(u16, Value)> {
    let status = r.status().as_u16();
    let text = r.text()?;
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).with_context(|| format!("not JSON ({status}): {text}"))?
    };
    Ok((status, v))
}

fn str_field<'a>(v: &'a Value, name: &str) -> Result<&'a str> {
    v[name]
        .as_str()
        .with_context(|| format!("no string {name} in {v}"))
}

/// Checks an error answer: status, `error`, the AADSTS code in both places, and every field
/// of the identity platform's error shape.
fn assert_error(answer: &(u16, Value), status: u16, error: &str, code: u64) {
    let (got, body) = answer;
    assert_eq!(*got, status, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], json!([code]), "{body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{description}"
    );
    assert!(
        description.contains("\r\nTrace ID: ") && description.contains("\r\nCorrelation ID: "),
        "{description}"
    );
    for field in ["timestamp", "trace_id", "correlation_id", "error_uri"] {
        assert!(body[field].is_string(), "{field}: {body}");
    }
}

fn is_pbi_not_authorized(answer: &(u16, Value)) -> bool {
    answer.0 == 401 && answer.1["error"]["code"] == "PowerBINotAuthorizedException"
}

#[test]
fn v2_secret_in_the_body() -> Result<()> {
    let sp = Sp::new()?;
    let tenant = sp.svc.tenant_id();
    for t in [
        tenant.as_str(),
        &tenant.to_uppercase(),
        DOMAIN,
        "Contoso.OnMicrosoft.com",
    ] {
        let (status, body) = sp.client_credentials(t, SP_ID, SP_SECRET, PBI_DEFAULT)?;
        assert_eq!(status, 200, "{t}: {body}");
        // Exactly Microsoft's documented answer: no scope, no refresh token.
        let mut keys: Vec<&str> = body
            .as_object()
            .context("an object")?
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["access_token", "expires_in", "ext_expires_in", "token_type"]
        );
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        assert_eq!(body["ext_expires_in"], 3600);
        let token = str_field(&body, "access_token")?;
        assert_eq!(
            sp.svc.token_store().service_principal(token).as_deref(),
            Some(SP_ID)
        );
    }
    // The Power BI app id names the same resource.
    let (status, body) = sp.client_credentials(
        &tenant,
        SP_ID,
        SP_SECRET,
        "00000009-0000-0000-c000-000000000000/.default",
    )?;
    assert_eq!(status, 200, "{body}");

    // The lifetime is the configured one.
    sp.svc.set_access_token_lifetime(Duration::from_secs(120));
    let (_, body) = sp.client_credentials(&tenant, SP_ID, SP_SECRET, PBI_DEFAULT)?;
    assert_eq!(body["expires_in"], 120, "{body}");

    let log = sp.svc.token_requests();
    let last = log.last().context("a token request")?;
    assert_eq!(last.endpoint, TokenEndpoint::V2);
    assert_eq!(last.tenant, tenant);
    assert_eq!(last.client_authentication, ClientAuthentication::Body);
    assert_eq!(last.field("grant_type"), Some("client_credentials"));
    assert_eq!(last.field("scope"), Some(PBI_DEFAULT));
    assert_eq!(last.field("client_secret"), Some("[redacted]"));
    assert_eq!(last.client_id(), Some(SP_ID));
    assert_eq!((last.status, last.error_code), (200, None));
    Ok(())
}

#[test]
fn v2_secret_by_http_basic() -> Result<()> {
    let sp = Sp::new()?;
    let url = sp.v2(&sp.svc.tenant_id());
    let form = [("grant_type", "client_credentials"), ("scope", PBI_DEFAULT)];
    let basic = |secret: &str| {
        sp.send(
            sp.http
                .post(&url)
                .basic_auth(SP_ID, Some(secret))
                .form(&form),
        )
    };
    let (status, body) = basic(SP_SECRET)?;
    assert_eq!(status, 200, "{body}");
    let token = str_field(&body, "access_token")?;
    let group = sp.svc.add_group("Team");
    assert_eq!(sp.get(&format!("/groups/{group}/datasets"), token)?.0, 200);
    assert_error(&basic("wrong-secret-42")?, 401, "invalid_client", 7_000_215);

    // Basic plus a body secret is two methods at once.
    let answer = sp.send(
        sp.http
            .post(&url)
            .basic_auth(SP_ID, Some(SP_SECRET))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_secret", SP_SECRET),
                ("scope", PBI_DEFAULT),
            ]),
    )?;
    assert_error(&answer, 400, "invalid_request", 9_002_313);

    let log = sp.svc.token_requests();
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].client_authentication, ClientAuthentication::Basic);
    assert_eq!(log[0].basic_client_id.as_deref(), Some(SP_ID));
    assert_eq!(log[0].field("client_id"), None);
    assert_eq!(log[0].field("client_secret"), None);
    assert_eq!(log[0].field("scope"), Some(PBI_DEFAULT));
    assert_eq!(
        (log[1].status, log[1].error.as_deref(), log[1].error_code),
        (401, Some("invalid_client"), Some(7_000_215))
    );
    assert_eq!(log[2].client_authentication, ClientAuthentication::Both);
    sp.svc.clear_requests();
    assert!(sp.svc.token_requests().is_empty());
    sp.assert_no_secret_answered(&[SP_SECRET, "wrong-secret-42"]);
    Ok(())
}

#[test]
fn tenants() -> Result<()> {
    let sp = Sp::new()?;
    // Not tenant-specific: nothing tells which tenant the application means.
    for t in ["common", "organizations", "Common"] {
        let answer = sp.client_credentials(t, SP_ID, SP_SECRET, PBI_DEFAULT)?;
        assert_error(&answer, 400, "invalid_request", 50_059);
    }
    let answer = sp.client_credentials("consumers", SP_ID, SP_SECRET, PBI_DEFAULT)?;
    assert_error(&answer, 400, "invalid_request", 900_023);
    for t in [
        "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "fabrikam.onmicrosoft.com",
    ] {
        let answer = sp.client_credentials(t, SP_ID, SP_SECRET, PBI_DEFAULT)?;
        assert_error(&answer, 400, "invalid_tenant", 90_002);
        let description = answer.1["error_description"].as_str().unwrap_or_default();
        assert!(
            description.contains(&format!("Tenant '{t}' not found")),
            "{description}"
        );
    }
    // Another configured directory.
    let other = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9";
    let sp = Sp::with_config(ServiceConfig {
        tenant_id: other.to_owned(),
        tenant_domain: "fabrikam.example".to_owned(),
        ..ServiceConfig::default()
    })?;
    assert_eq!(sp.svc.tenant_id(), other);
    for t in [other, "fabrikam.example"] {
        assert_eq!(
            sp.client_credentials(t, SP_ID, SP_SECRET, PBI_DEFAULT)?.0,
            200
        );
    }
    let answer = sp.client_credentials(DOMAIN, SP_ID, SP_SECRET, PBI_DEFAULT)?;
    assert_error(&answer, 400, "invalid_tenant", 90_002);
    Ok(())
}

#[test]
fn client_errors() -> Result<()> {
    let sp = Sp::new()?;
    let tenant = sp.svc.tenant_id();
    let answer = sp.client_credentials(&tenant, "nobody", SP_SECRET, PBI_DEFAULT)?;
    assert_error(&answer, 400, "unauthorized_client", 700_016);
    // The authorization-code client is not a service principal.
    let answer =
        sp.client_credentials(&tenant, "pbi-local-client", "pbi-local-secret", PBI_DEFAULT)?;
    assert_error(&answer, 400, "unauthorized_client", 700_016);
    // A wrong secret, with Microsoft's words.
    let answer = sp.client_credentials(&tenant, SP_ID, "not-the-secret-Xy9", PBI_DEFAULT)?;
    assert_error(&answer, 401, "invalid_client", 7_000_215);
    let description = answer.1["error_description"].as_str().unwrap_or_default();
    assert!(
        description.contains(
            "Invalid client secret provided. Ensure the secret being sent in the request is \
             the client secret value, not the client secret ID"
        ),
        "{description}"
    );
    // No secret, or an empty one.
    for form in [
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", SP_ID),
            ("scope", PBI_DEFAULT),
        ],
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", SP_ID),
            ("client_secret", ""),
            ("scope", PBI_DEFAULT),
        ],
    ] {
        assert_error(
            &sp.post(&sp.v2(&tenant), &form)?,
            401,
            "invalid_client",
            7_000_218,
        );
    }
    // No client id.
    let answer = sp.post(
        &sp.v2(&tenant),
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", SP_SECRET),
            ("scope", PBI_DEFAULT),
        ],
    )?;
    assert_error(&answer, 400, "invalid_request", 900_144);
    // Id and secret swapped: the secret is not echoed as an application id.
    let answer = sp.client_credentials(&tenant, SP_SECRET, SP_ID, PBI_DEFAULT)?;
    assert_error(&answer, 400, "unauthorized_client", 700_016);
    sp.assert_no_secret_answered(&[SP_SECRET, "not-the-secret-Xy9"]);
    Ok(())
}

#[test]
fn applications_without_consent() -> Result<()> {
    let sp = Sp::new()?;
    let tenant = sp.svc.tenant_id();
    sp.svc.register_service_principal(
        ServicePrincipal::new("other-app", "other-secret-1", "Other App").with_consent(false),
    );
    let answer = sp.client_credentials(&tenant, "other-app", "other-secret-1", PBI_DEFAULT)?;
    assert_error(&answer, 401, "invalid_client", 7_000_229);
    let description = answer.1["error_description"].as_str().unwrap_or_default();
    assert!(
        description.contains(&format!(
            "The client application other-app is missing service principal in the tenant {tenant}"
        )),
        "{description}"
    );
    // The secret is checked first.
    let answer = sp.client_credentials(&tenant, "other-app", "wrong", PBI_DEFAULT)?;
    assert_error(&answer, 401, "invalid_client", 7_000_215);
    // Consent given (registering again replaces).
    sp.svc.register_service_principal(ServicePrincipal::new(
        "other-app",
        "other-secret-1",
        "Other App",
    ));
    let (status, body) =
        sp.client_credentials(&tenant, "other-app", "other-secret-1", PBI_DEFAULT)?;
    assert_eq!(status, 200, "{body}");
    let token = str_field(&body, "access_token")?;
    assert_eq!(
        sp.svc.token_store().service_principal(token).as_deref(),
        Some("other-app")
    );
    sp.assert_no_secret_answered(&["other-secret-1", SP_SECRET]);
    Ok(())
}

#[test]
fn scopes() -> Result<()> {
    let sp = Sp::new()?;
    let tenant = sp.svc.tenant_id();
    let cc = |scope: &str| sp.client_credentials(&tenant, SP_ID, SP_SECRET, scope);
    // A delegated permission, a bare `.default`, a bare permission.
    for scope in [
        "https://analysis.windows.net/powerbi/api/Dataset.ReadWrite.All",
        ".default",
        "Dataset.ReadWrite.All",
    ] {
        assert_error(&cc(scope)?, 400, "invalid_scope", 1_002_012);
    }
    // More than one scope, or resource.
    for scope in [
        &format!("{PBI_DEFAULT} offline_access"),
        &format!("{PBI_DEFAULT} https://graph.microsoft.com/.default"),
        &format!("{PBI_DEFAULT} {PBI_RESOURCE}/Dataset.Read.All"),
    ] {
        assert_error(&cc(scope)?, 400, "invalid_scope", 70_011);
    }
    // Missing (or blank) scope.
    for form in [
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", SP_ID),
            ("client_secret", SP_SECRET),
        ],
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", SP_ID),
            ("client_secret", SP_SECRET),
            ("scope", "  "),
        ],
    ] {
        assert_error(
            &sp.post(&sp.v2(&tenant), &form)?,
            400,
            "invalid_request",
            900_144,
        );
    }
    // A resource the directory does not know.
    assert_error(
        &cc("https://example.com/api/.default")?,
        400,
        "invalid_resource",
        500_011,
    );
    // v2 refuses `resource`.
    let answer = sp.post(
        &sp.v2(&tenant),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", SP_ID),
            ("client_secret", SP_SECRET),
            ("resource", PBI_RESOURCE),
        ],
    )?;
    assert_error(&answer, 400, "invalid_request", 90_100);
    // Microsoft Graph is known, but its tokens do not open the Power BI API.
    let (status, body) = cc("https://graph.microsoft.com/.default")?;
    assert_eq!(status, 200, "{body}");
    let graph = str_field(&body, "access_token")?;
    let group = sp.svc.add_group("Team");
    assert!(is_pbi_not_authorized(
        &sp.get(&format!("/groups/{group}/datasets"), graph)?
    ));
    sp.assert_no_secret_answered(&[SP_SECRET]);
    Ok(())
}

#[test]
fn v1_endpoint() -> Result<()> {
    let sp = Sp::new()?;
    let tenant = sp.svc.tenant_id();
    let (status, body) = sp.post(
        &sp.v1(&tenant),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", SP_ID),
            ("client_secret", SP_SECRET),
            ("resource", PBI_RESOURCE),
        ],
    )?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], "3600");
    assert_eq!(body["ext_expires_in"], "3600");
    assert_eq!(body["resource"], PBI_RESOURCE);
    for field in ["expires_on", "not_before"] {
        let value = str_field(&body, field)?;
        assert!(value.parse::<u64>().is_ok(), "{field}: {value}");
    }
    assert!(body.get("refresh_token").is_none() && body.get("scope").is_none());
    let token = str_field(&body, "access_token")?;
    let group = sp.svc.add_group("Team");
    assert_eq!(sp.get(&format!("/groups/{group}/datasets"), token)?.0, 200);
    assert!(is_pbi_not_authorized(&sp.get("/datasets", token)?));

    // By Basic, and without a resource (v1 ignores `scope`).
    let (status, body) = sp.send(
        sp.http
            .post(sp.v1(DOMAIN))
            .basic_auth(SP_ID, Some(SP_SECRET))
            .form(&[
                ("grant_type", "client_credentials"),
                ("resource", PBI_RESOURCE),
            ]),
    )?;
    assert_eq!(status, 200, "{body}");
    let answer = sp.post(
        &sp.v1(&tenant),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", SP_ID),
            ("client_secret", SP_SECRET),
            ("scope", PBI_DEFAULT),
        ],
    )?;
    assert_error(&answer, 400, "invalid_request", 500_013);
    let answer = sp.post(
        &sp.v1("common"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", SP_ID),
            ("client_secret", "nope-nope"),
            ("resource", PBI_RESOURCE),
        ],
    )?;
    assert_error(&answer, 400, "invalid_request", 50_059);
    let answer = sp.post(
        &sp.v1(&tenant),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", SP_ID),
            ("client_secret", "nope-nope"),
            ("resource", PBI_RESOURCE),
        ],
    )?;
    assert_error(&answer, 401, "invalid_client", 7_000_215);
    let log = sp.svc.token_requests();
    assert_eq!(log[0].endpoint, TokenEndpoint::V1);
    assert_eq!(log[0].field("resource"), Some(PBI_RESOURCE));
    sp.assert_no_secret_answered(&[SP_SECRET, "nope-nope"]);
    Ok(())
}

#[test]
fn no_my_workspace_for_a_service_principal() -> Result<()> {
    let sp = Sp::new()?;
    let token = sp.token()?;
    let group = sp.svc.add_group("Team");
    let hidden = sp.svc.add_hidden_group("Not mine");
    let dataset = sp.svc.add_dataset(None, "Mine", true, Value::Null);
    sp.svc
        .add_dataset(Some(&group), "Shared", true, Value::Null);

    for path in [
        "/datasets".to_owned(),
        format!("/datasets/{dataset}"),
        format!("/datasets/{dataset}/tables"),
        "/datasets/00000000-0000-0000-0000-000000000000".to_owned(),
        "/reports".to_owned(),
        "/dashboards".to_owned(),
        "/imports".to_owned(),
    ] {
        let answer = sp.get(&path, &token)?;
        assert!(is_pbi_not_authorized(&answer), "{path}: {answer:?}");
    }
    let r = sp
        .api(reqwest::Method::POST, "/datasets", &token)
        .json(&json!({"name": "x", "tables": [{"name": "T", "columns": [{"name": "A", "dataType": "Int64"}]}]}))
        .send()?;
    assert_eq!(r.status().as_u16(), 401);

    // Workspaces work as for a user.
    let (status, body) = sp.get(&format!("/groups/{group}/datasets"), &token)?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["value"][0]["name"], "Shared");
    let (status, body) = sp.get("/groups", &token)?;
    assert_eq!(
        (status, body["value"].as_array().map(Vec::len)),
        (200, Some(1))
    );
    assert_eq!(sp.get(&format!("/groups/{group}/reports"), &token)?.0, 200);
    assert_eq!(
        sp.get(&format!("/groups/{hidden}/datasets"), &token)?.0,
        404
    );
    // Unknown paths stay 404.
    assert_eq!(sp.get("/nothing", &token)?.0, 404);

    // An expired token is 403 first, as for a user.
    sp.svc.expire_token(&token);
    let (status, body) = sp.get("/datasets", &token)?;
    assert_eq!(
        (status, &body["error"]["code"]),
        (403, &json!("TokenExpired"))
    );

    // The test helper's token behaves the same; a user's token is unchanged.
    let helper = sp.svc.issue_service_principal_token();
    assert_eq!(
        sp.svc.token_store().service_principal(&helper).as_deref(),
        Some(SP_ID)
    );
    assert!(is_pbi_not_authorized(&sp.get("/datasets", &helper)?));
    assert_eq!(
        sp.get(&format!("/groups/{group}/datasets"), &helper)?.0,
        200
    );
    let user = sp.svc.issue_token();
    assert_eq!(sp.get("/datasets", &user)?.0, 200);
    Ok(())
}

#[test]
fn refresh_notifications_are_not_for_service_principals() -> Result<()> {
    let sp = Sp::new()?;
    let token = sp.svc.issue_service_principal_token();
    let group = sp.svc.add_group("Team");
    let model = |name: &str| sp.svc.add_dataset(Some(&group), name, false, Value::Null);
    let path = |id: &str| format!("/groups/{group}/datasets/{id}/refreshes");

    let dataset = model("Model");
    for option in ["MailOnFailure", "MailOnCompletion"] {
        let (status, text) = sp.refresh(
            &path(&dataset),
            &token,
            Some(json!({"notifyOption": option})),
        )?;
        assert_eq!(status, 400, "{text}");
        let v: Value = serde_json::from_str(&text)?;
        assert_eq!(v["error"]["code"], "InvalidRequest", "{text}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("service principal")),
            "{text}"
        );
    }
    // Nothing was started.
    assert!(sp.svc.refreshes(&dataset).is_empty());
    // An invalid value is still 400 BadRequest, as for a user.
    let (status, text) = sp.refresh(
        &path(&dataset),
        &token,
        Some(json!({"notifyOption": "Mail"})),
    )?;
    assert!(status == 400 && text.contains("BadRequest"), "{text}");

    let (status, text) = sp.refresh(
        &path(&dataset),
        &token,
        Some(json!({"notifyOption": "NoNotification"})),
    )?;
    assert_eq!(status, 202, "{text}");
    let (status, text) = sp.refresh(&path(&model("Other")), &token, None)?;
    assert_eq!(status, 202, "{text}");
    let (status, text) = sp.refresh(&path(&model("Empty body")), &token, Some(json!({})))?;
    assert_eq!(status, 202, "{text}");

    // A user may still ask for mail.
    let user = sp.svc.issue_token();
    let (status, text) = sp.refresh(
        &path(&model("User's")),
        &user,
        Some(json!({"notifyOption": "MailOnFailure"})),
    )?;
    assert_eq!(status, 202, "{text}");
    Ok(())
}

#[test]
fn the_secret_is_never_kept_in_clear() -> Result<()> {
    let sp = Sp::new()?;
    let tenant = sp.svc.tenant_id();
    sp.token()?;
    sp.client_credentials(&tenant, SP_ID, "a-wrong-secret-7", PBI_DEFAULT)?;
    sp.send(
        sp.http
            .post(sp.v2(&tenant))
            .basic_auth(SP_ID, Some(SP_SECRET))
            .form(&[("grant_type", "client_credentials"), ("scope", PBI_DEFAULT)]),
    )?;
    // A misplaced secret in a JSON body (refused: not a form).
    sp.send(
        sp.http
            .post(sp.v2(&tenant))
            .json(&json!({"grant_type": "client_credentials", "client_id": SP_ID, "client_secret": SP_SECRET})),
    )?;
    let secrets = [SP_SECRET, "a-wrong-secret-7"];
    sp.assert_no_secret_answered(&secrets);
    let tokens = sp.svc.token_requests();
    assert_eq!(tokens.len(), 4);
    assert!(tokens[3].fields.is_empty(), "{:?}", tokens[3]);
    let printed = format!("{tokens:?}");
    for request in sp.svc.requests() {
        let mut texts = vec![
            request.body_text(),
            request.query.clone().unwrap_or_default(),
        ];
        texts.extend(request.headers.iter().map(|(_, v)| v.clone()));
        texts.push(printed.clone());
        for text in texts {
            for secret in secrets {
                assert!(
                    !text.contains(secret),
                    "{} leaks a secret: {text}",
                    request.path
                );
            }
        }
    }
    let config = format!("{:?}", ServiceConfig::default());
    assert!(!config.contains(SP_SECRET), "{config}");
    Ok(())
}
