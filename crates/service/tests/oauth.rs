//! The Microsoft identity platform login endpoints: authorization code flow (v1 and v2),
//! PKCE, refresh tokens, client authentication, errors, and the redacted request log.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use pbi_service::{OAuthClient, ServiceConfig, ServiceHandle};
use reqwest::Url;
use reqwest::blocking::{Client, Response};
use serde_json::Value;

const CLIENT_ID: &str = "pbi-local-client";
const SECRET: &str = "pbi-local-secret";
/// Matches the default client's `http://localhost` by the loopback rule (any port).
const REDIRECT: &str = "http://localhost:53123/";
const PBI_RESOURCE: &str = "https://analysis.windows.net/powerbi/api";
const PBI_SCOPE: &str = "https://analysis.windows.net/powerbi/api/Dataset.ReadWrite.All";
/// RFC 7636 appendix B: this verifier's S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

const V1_AUTHORIZE: &str = "common/oauth2/authorize";
const V2_AUTHORIZE: &str = "common/oauth2/v2.0/authorize";
const V1_TOKEN: &str = "common/oauth2/token";
const V2_TOKEN: &str = "common/oauth2/v2.0/token";

struct Login {
    svc: ServiceHandle,
    http: Client,
}

/// The form of an authorization-code redemption for the test client, plus `extra` fields.
fn code_grant<'a>(code: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("client_id", CLIENT_ID),
        ("client_secret", SECRET),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ];
    form.extend_from_slice(extra);
    form
}

impl Login {
    fn new() -> Result<Self> {
        Self::with_config(ServiceConfig::default())
    }

    fn with_config(config: ServiceConfig) -> Result<Self> {
        let svc = ServiceHandle::spawn(config)?;
        // Redirects are what the test inspects, so they are never followed.
        let http = Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self { svc, http })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.svc.login_base_url())
    }

    fn authorize(&self, path: &str, params: &[(&str, &str)]) -> Result<Response> {
        let url = Url::parse_with_params(&self.url(path), params)?;
        Ok(self.http.get(url).send()?)
    }

    /// A v2 authorize request with PKCE S256 for `scope`; returns the code.
    fn code_v2(&self, scope: &str) -> Result<String> {
        let r = self.authorize(
            V2_AUTHORIZE,
            &[
                ("client_id", CLIENT_ID),
                ("response_type", "code"),
                ("redirect_uri", REDIRECT),
                ("scope", scope),
                ("state", "s"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ],
        )?;
        redirected_param(r, "code")
    }

    /// A v1 authorize request for the Power BI resource, without PKCE; returns the code.
    fn code_v1(&self) -> Result<String> {
        let r = self.authorize(
            V1_AUTHORIZE,
            &[
                ("client_id", CLIENT_ID),
                ("response_type", "code"),
                ("redirect_uri", REDIRECT),
                ("resource", PBI_RESOURCE),
                ("state", "s"),
            ],
        )?;
        redirected_param(r, "code")
    }

    fn token(&self, path: &str, form: &[(&str, &str)]) -> Result<(u16, Value)> {
        json_of(self.http.post(self.url(path)).form(form).send()?)
    }

    /// Redeems a v2 code (with the PKCE verifier) and checks the answer is 200.
    fn redeem_v2(&self, code: &str, scope: &str) -> Result<Value> {
        let (status, body) = self.token(
            V2_TOKEN,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", CLIENT_ID),
                ("client_secret", SECRET),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("scope", scope),
            ],
        )?;
        ensure!(status == 200, "token answer {status}: {body}");
        Ok(body)
    }

    fn refresh(&self, path: &str, refresh_token: &str) -> Result<(u16, Value)> {
        self.token(
            path,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", CLIENT_ID),
                ("client_secret", SECRET),
                ("refresh_token", refresh_token),
            ],
        )
    }

    /// The status of `GET /v1.0/myorg/datasets` with `token`, and the error code if any.
    fn api(&self, token: &str) -> Result<(u16, Value)> {
        let r = self
            .http
            .get(format!("{}/v1.0/myorg/datasets", self.svc.base_url()))
            .bearer_auth(token)
            .send()?;
        json_of(r)
    }
}

fn json_of(r: Response) -> Result<(u16, Value)> {
    let status = r.status().as_u16();
    let text = r.text()?;
    let v = serde_json::from_str(&text).with_context(|| format!("not JSON ({status}): {text}"))?;
    Ok((status, v))
}

/// The query parameters of a 302's `Location`, after checking it goes to `REDIRECT`.
fn redirected(r: Response) -> Result<HashMap<String, String>> {
    ensure!(
        r.status().as_u16() == 302,
        "expected 302, got {}",
        r.status()
    );
    let location = r
        .headers()
        .get("location")
        .context("no Location")?
        .to_str()?;
    let url = Url::parse(location)?;
    ensure!(
        location.starts_with(REDIRECT),
        "redirected elsewhere: {location}"
    );
    Ok(url.query_pairs().into_owned().collect())
}

fn redirected_param(r: Response, name: &str) -> Result<String> {
    let params = redirected(r)?;
    params
        .get(name)
        .cloned()
        .with_context(|| format!("no {name} in {params:?}"))
}

fn str_field<'a>(v: &'a Value, name: &str) -> Result<&'a str> {
    v[name]
        .as_str()
        .with_context(|| format!("no string {name} in {v}"))
}

/// Checks an error answer: status, `error`, and the AADSTS code in both places.
fn assert_error(answer: &(u16, Value), status: u16, error: &str, code: u64) {
    let (got, body) = answer;
    assert_eq!(*got, status, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], serde_json::json!([code]), "{body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{description}"
    );
}

#[test]
fn v2_flow_with_pkce_expiry_and_refresh() -> Result<()> {
    let login = Login::new()?;
    login
        .svc
        .set_access_token_lifetime(Duration::from_millis(900));
    let scope = format!("{PBI_SCOPE} offline_access");
    let r = login.authorize(
        V2_AUTHORIZE,
        &[
            ("client_id", CLIENT_ID),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", &scope),
            ("state", "state with spaces & more"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    )?;
    let params = redirected(r)?;
    assert_eq!(params["state"], "state with spaces & more");
    assert!(!params.contains_key("error"), "{params:?}");
    let code = params.get("code").context("code")?;

    let body = login.redeem_v2(code, &scope)?;
    assert_eq!(body["token_type"], "Bearer");
    // v2 answers numbers; 900 ms rounds up to 1 s.
    assert_eq!(body["expires_in"], 1);
    assert_eq!(body["ext_expires_in"], 1);
    assert_eq!(body["scope"], PBI_SCOPE);
    assert!(body.get("resource").is_none());
    let access = str_field(&body, "access_token")?.to_owned();
    let refresh = str_field(&body, "refresh_token")?.to_owned();

    assert_eq!(login.api(&access)?.0, 200);
    std::thread::sleep(Duration::from_millis(1100));
    let (status, err) = login.api(&access)?;
    assert_eq!(
        (status, &err["error"]["code"]),
        (403, &"TokenExpired".into())
    );

    login
        .svc
        .set_access_token_lifetime(Duration::from_secs(3600));
    let (status, body) = login.refresh(V2_TOKEN, &refresh)?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires_in"], 3600);
    let access2 = str_field(&body, "access_token")?;
    let refresh2 = str_field(&body, "refresh_token")?;
    assert_ne!(access2, access);
    assert_ne!(refresh2, refresh, "refresh tokens rotate");
    assert_eq!(login.api(access2)?.0, 200);
    // Like Microsoft, the rotated refresh token stays valid by default.
    assert_eq!(login.refresh(V2_TOKEN, &refresh)?.0, 200);
    assert_eq!(login.refresh(V2_TOKEN, refresh2)?.0, 200);
    Ok(())
}

#[test]
fn v1_flow_answers_strings_and_echoes_the_resource() -> Result<()> {
    let login = Login::new()?;
    let code = login.code_v1()?;
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", CLIENT_ID),
        ("client_secret", SECRET),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("resource", PBI_RESOURCE),
        // v1 ignores scope: this one would name another resource.
        ("scope", "User.Read"),
    ];
    let (status, body) = login.token(V1_TOKEN, &form)?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], "3600");
    assert_eq!(body["ext_expires_in"], "3600");
    assert_eq!(body["resource"], PBI_RESOURCE);
    let expires_on: u64 = str_field(&body, "expires_on")?.parse()?;
    let not_before: u64 = str_field(&body, "not_before")?.parse()?;
    assert_eq!(expires_on - not_before, 3600);
    let access = str_field(&body, "access_token")?;
    assert_eq!(login.api(access)?.0, 200);

    // v1 always returns a refresh token, and refreshing answers strings again.
    let refresh = str_field(&body, "refresh_token")?;
    let (status, body) = login.refresh(V1_TOKEN, refresh)?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires_in"], "3600");
    assert_eq!(body["resource"], PBI_RESOURCE);
    assert_eq!(login.api(str_field(&body, "access_token")?)?.0, 200);
    Ok(())
}

#[test]
fn v1_authorize_pairs_with_v2_token() -> Result<()> {
    // The pairing of the seed's defaults: a v1 code redeemed at the v2 token endpoint.
    let login = Login::new()?;
    let code = login.code_v1()?;
    let scope = format!("{PBI_SCOPE} offline_access");
    let (status, body) = login.token(V2_TOKEN, &code_grant(&code, &[("scope", &scope)]))?;
    assert_eq!(status, 200, "{body}");
    assert!(body["expires_in"].is_u64(), "v2 answers a number: {body}");
    assert_eq!(body["scope"], PBI_SCOPE);
    assert_eq!(login.api(str_field(&body, "access_token")?)?.0, 200);
    let refresh = str_field(&body, "refresh_token")?;
    assert_eq!(login.refresh(V2_TOKEN, refresh)?.0, 200);

    // And the other way round: a v2 code at the v1 token endpoint.
    let code = login.code_v2(PBI_SCOPE)?;
    let (status, body) =
        login.token(V1_TOKEN, &code_grant(&code, &[("code_verifier", VERIFIER)]))?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["resource"], PBI_RESOURCE);
    assert_eq!(body["expires_in"], "3600");
    Ok(())
}

#[test]
fn v2_without_offline_access_gives_no_refresh_token() -> Result<()> {
    let login = Login::new()?;
    let code = login.code_v2(PBI_SCOPE)?;
    let body = login.redeem_v2(&code, PBI_SCOPE)?;
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert_eq!(login.api(str_field(&body, "access_token")?)?.0, 200);

    // offline_access asked at authorize only is enough.
    let code = login.code_v2(&format!("offline_access {PBI_SCOPE}"))?;
    let body = login.redeem_v2(&code, PBI_SCOPE)?;
    assert!(body["refresh_token"].is_string(), "{body}");
    Ok(())
}

#[test]
fn tokens_for_other_resources_do_not_open_the_api() -> Result<()> {
    // A bare permission means Microsoft Graph: Power BI rejects that audience with 401.
    let login = Login::new()?;
    let code = login.code_v2("User.Read")?;
    let body = login.redeem_v2(&code, "User.Read")?;
    let (status, err) = login.api(str_field(&body, "access_token")?)?;
    assert_eq!(status, 401, "{err}");
    Ok(())
}

#[test]
fn v2_rejects_resource() -> Result<()> {
    let login = Login::new()?;
    let r = login.authorize(
        V2_AUTHORIZE,
        &[
            ("client_id", CLIENT_ID),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", PBI_SCOPE),
            ("resource", PBI_RESOURCE),
            ("state", "st"),
        ],
    )?;
    let params = redirected(r)?;
    assert_eq!(params["error"], "invalid_request");
    assert!(params["error_description"].starts_with("AADSTS90100: "));
    assert_eq!(params["state"], "st");
    assert!(!params.contains_key("code"));

    let code = login.code_v2(PBI_SCOPE)?;
    let answer = login.token(
        V2_TOKEN,
        &code_grant(
            &code,
            &[("code_verifier", VERIFIER), ("resource", PBI_RESOURCE)],
        ),
    )?;
    assert_error(&answer, 400, "invalid_request", 90100);
    Ok(())
}

#[test]
fn wrong_client_secret_is_401_invalid_client() -> Result<()> {
    let login = Login::new()?;
    let code = login.code_v2(PBI_SCOPE)?;
    let wrong = "not-the-secret-Xy9";
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", CLIENT_ID),
        ("client_secret", wrong),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let answer = login.token(V2_TOKEN, &form)?;
    assert_error(&answer, 401, "invalid_client", 7_000_215);
    let text = answer.1.to_string();
    assert!(!text.contains(wrong) && !text.contains(SECRET) && !text.contains(&code));
    // The error fields Microsoft sends.
    for field in ["timestamp", "trace_id", "correlation_id"] {
        assert!(answer.1[field].is_string(), "{field}: {text}");
    }
    assert!(text.contains("Trace ID: ") && text.contains("Correlation ID: "));

    // No secret at all, and an unknown client.
    let answer = login.token(
        V2_TOKEN,
        &form[..1]
            .iter()
            .chain(&form[3..])
            .copied()
            .collect::<Vec<_>>(),
    )?;
    assert_error(&answer, 400, "invalid_request", 900_144);
    let answer = login.token(
        V2_TOKEN,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT_ID),
            ("code", &code),
        ],
    )?;
    assert_error(&answer, 401, "invalid_client", 7_000_218);
    let answer = login.token(
        V2_TOKEN,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "nobody"),
            ("client_secret", SECRET),
            ("code", &code),
        ],
    )?;
    assert_error(&answer, 400, "unauthorized_client", 700_016);

    // Failed attempts do not use the code up.
    login.redeem_v2(&code, PBI_SCOPE)?;
    Ok(())
}

#[test]
fn reused_code_is_invalid_grant() -> Result<()> {
    let login = Login::new()?;
    let code = login.code_v2(PBI_SCOPE)?;
    login.redeem_v2(&code, PBI_SCOPE)?;
    let answer = login.token(V2_TOKEN, &code_grant(&code, &[("code_verifier", VERIFIER)]))?;
    assert_error(&answer, 400, "invalid_grant", 54005);
    assert!(
        answer.1["error_description"]
            .as_str()
            .unwrap_or_default()
            .contains("OAuth2 Authorization code was already redeemed")
    );
    // A code never issued.
    let answer = login.token(
        V2_TOKEN,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
            ("code", "made-up"),
            ("redirect_uri", REDIRECT),
        ],
    )?;
    assert_error(&answer, 400, "invalid_grant", 70000);
    Ok(())
}

#[test]
fn pkce_and_redirect_uri_must_match() -> Result<()> {
    let login = Login::new()?;
    let code = login.code_v2(PBI_SCOPE)?;
    let with = |verifier: Option<&str>, redirect: &str| {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT_ID),
            ("client_secret", SECRET),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v));
        }
        login.token(V2_TOKEN, &form)
    };
    // The challenge itself is not the verifier under S256.
    let answer = with(Some(CHALLENGE), REDIRECT)?;
    assert_error(&answer, 400, "invalid_grant", 501_481);
    assert!(!answer.1.to_string().contains(CHALLENGE));
    assert_error(&with(None, REDIRECT)?, 400, "invalid_grant", 50148);
    // Another loopback port is a different redirect URI at the token endpoint.
    assert_error(
        &with(Some(VERIFIER), "http://localhost:1/")?,
        400,
        "invalid_grant",
        500_112,
    );
    let (status, body) = with(Some(VERIFIER), REDIRECT)?;
    assert_eq!(status, 200, "{body}");

    // The plain method compares the verifier as is.
    let r = login.authorize(
        V2_AUTHORIZE,
        &[
            ("client_id", CLIENT_ID),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", PBI_SCOPE),
            ("code_challenge", VERIFIER),
            ("code_challenge_method", "plain"),
        ],
    )?;
    let code = redirected_param(r, "code")?;
    login.redeem_v2(&code, PBI_SCOPE)?;

    // A challenge of the wrong size never becomes a code.
    let r = login.authorize(
        V2_AUTHORIZE,
        &[
            ("client_id", CLIENT_ID),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", PBI_SCOPE),
            ("code_challenge", "short"),
            ("code_challenge_method", "S256"),
        ],
    )?;
    let params = redirected(r)?;
    assert_eq!(params["error"], "invalid_request");
    assert!(params["error_description"].starts_with("AADSTS501491: "));
    Ok(())
}

#[test]
fn expired_code_is_invalid_grant() -> Result<()> {
    let login = Login::with_config(ServiceConfig {
        code_lifetime: Duration::from_millis(200),
        ..ServiceConfig::default()
    })?;
    let code = login.code_v2(PBI_SCOPE)?;
    std::thread::sleep(Duration::from_millis(400));
    let answer = login.token(V2_TOKEN, &code_grant(&code, &[("code_verifier", VERIFIER)]))?;
    assert_error(&answer, 400, "invalid_grant", 70008);
    Ok(())
}

#[test]
fn revoked_refresh_tokens_are_invalid_grant() -> Result<()> {
    let login = Login::new()?;
    let code = login.code_v1()?;
    let (_, body) = login.token(V1_TOKEN, &code_grant(&code, &[]))?;
    let first = str_field(&body, "refresh_token")?.to_owned();
    let (status, body) = login.refresh(V2_TOKEN, &first)?;
    assert_eq!(status, 200, "{body}");
    let second = str_field(&body, "refresh_token")?.to_owned();

    login.svc.revoke_refresh_token(&first);
    assert_error(
        &login.refresh(V2_TOKEN, &first)?,
        400,
        "invalid_grant",
        50173,
    );
    assert_eq!(
        login.refresh(V2_TOKEN, &second)?.0,
        200,
        "only one was revoked"
    );

    login.svc.revoke_all_refresh_tokens();
    assert_error(
        &login.refresh(V1_TOKEN, &second)?,
        400,
        "invalid_grant",
        50173,
    );
    assert_error(
        &login.refresh(V2_TOKEN, "made-up")?,
        400,
        "invalid_grant",
        70000,
    );
    Ok(())
}

#[test]
fn rotation_can_revoke_the_old_refresh_token() -> Result<()> {
    let login = Login::with_config(ServiceConfig {
        revoke_rotated_refresh_tokens: true,
        ..ServiceConfig::default()
    })?;
    let code = login.code_v2(&format!("{PBI_SCOPE} offline_access"))?;
    let body = login.redeem_v2(&code, PBI_SCOPE)?;
    let first = str_field(&body, "refresh_token")?.to_owned();
    let (status, body) = login.refresh(V2_TOKEN, &first)?;
    assert_eq!(status, 200, "{body}");
    let second = str_field(&body, "refresh_token")?;
    assert_error(
        &login.refresh(V2_TOKEN, &first)?,
        400,
        "invalid_grant",
        50173,
    );
    assert_eq!(login.refresh(V2_TOKEN, second)?.0, 200);
    Ok(())
}

#[test]
fn expired_refresh_token_is_invalid_grant() -> Result<()> {
    let login = Login::with_config(ServiceConfig {
        refresh_token_lifetime: Duration::from_millis(200),
        ..ServiceConfig::default()
    })?;
    let code = login.code_v2(&format!("{PBI_SCOPE} offline_access"))?;
    let body = login.redeem_v2(&code, PBI_SCOPE)?;
    let refresh = str_field(&body, "refresh_token")?;
    std::thread::sleep(Duration::from_millis(400));
    assert_error(
        &login.refresh(V2_TOKEN, refresh)?,
        400,
        "invalid_grant",
        700_082,
    );
    Ok(())
}

#[test]
fn basic_client_authentication() -> Result<()> {
    let login = Login::new()?;
    let code = login.code_v2(PBI_SCOPE)?;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let send = |secret: &str| {
        json_of(
            login
                .http
                .post(login.url(V2_TOKEN))
                .basic_auth(CLIENT_ID, Some(secret))
                .form(&form)
                .send()?,
        )
    };
    assert_error(&send("wrong")?, 401, "invalid_client", 7_000_215);
    let (status, body) = send(SECRET)?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(login.api(str_field(&body, "access_token")?)?.0, 200);

    // Basic and a body secret together are two methods at once.
    let code = login.code_v2(PBI_SCOPE)?;
    let r = login
        .http
        .post(login.url(V2_TOKEN))
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_secret", SECRET),
            ("code", &code),
        ])
        .send()?;
    assert_error(&json_of(r)?, 400, "invalid_request", 9_002_313);
    Ok(())
}

#[test]
fn public_clients_use_pkce_without_a_secret() -> Result<()> {
    let login = Login::new()?;
    login.svc.register_client(OAuthClient::new(
        "desktop-app",
        "",
        ["https://login.microsoftonline.com/common/oauth2/nativeclient"],
    ));
    // With a single registered URI, the authorize request may omit it.
    let r = login.authorize(
        V2_AUTHORIZE,
        &[
            ("client_id", "desktop-app"),
            ("response_type", "code"),
            ("scope", PBI_SCOPE),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    )?;
    assert_eq!(r.status().as_u16(), 302);
    let location = r.headers().get("location").context("Location")?.to_str()?;
    ensure!(
        location.starts_with("https://login.microsoftonline.com/common/oauth2/nativeclient?code="),
        "{location}"
    );
    let code = Url::parse(location)?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .context("code")?;
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", "desktop-app"),
        ("code", code.as_str()),
        ("code_verifier", VERIFIER),
    ];
    let mut with_secret = form.to_vec();
    with_secret.push(("client_secret", "anything"));
    assert_error(
        &login.token(V2_TOKEN, &with_secret)?,
        401,
        "invalid_client",
        700_025,
    );
    let (status, body) = login.token(V2_TOKEN, &form)?;
    assert_eq!(status, 200, "{body}");
    Ok(())
}

#[test]
fn unregistered_redirect_uris_get_a_page_not_a_redirect() -> Result<()> {
    let login = Login::new()?;
    let page = |client: &str, redirect: &str| -> Result<(u16, bool, String)> {
        let r = login.authorize(
            V2_AUTHORIZE,
            &[
                ("client_id", client),
                ("response_type", "code"),
                ("redirect_uri", redirect),
                ("scope", PBI_SCOPE),
                ("state", "s"),
            ],
        )?;
        let status = r.status().as_u16();
        let has_location = r.headers().contains_key("location");
        Ok((status, has_location, r.text()?))
    };
    let (status, has_location, text) = page(CLIENT_ID, "https://evil.example/cb")?;
    assert_eq!((status, has_location), (400, false));
    assert!(text.contains("AADSTS50011"), "{text}");
    // The echoed URI is escaped in the page.
    let (status, has_location, text) = page(CLIENT_ID, "https://x/<script>")?;
    assert_eq!((status, has_location), (400, false));
    assert!(!text.contains("<script>") && text.contains("&lt;script&gt;"));
    // An unknown client has no registered URI at all.
    let (status, has_location, text) = page("nobody", REDIRECT)?;
    assert_eq!((status, has_location), (400, false));
    assert!(text.contains("AADSTS700016"), "{text}");
    // Loopback: another port is fine, another host or path is not.
    assert_eq!(page(CLIENT_ID, "http://localhost:9/")?.0, 302);
    assert_eq!(page(CLIENT_ID, "http://localhost:9/other")?.0, 400);
    assert_eq!(page(CLIENT_ID, "http://127.0.0.1:9/")?.0, 400);

    login.svc.register_client(OAuthClient::new(
        "web-app",
        "web-secret",
        ["https://app.example/signin", "http://127.0.0.1/cb"],
    ));
    assert_eq!(page("web-app", "https://app.example/signin")?.0, 302);
    assert_eq!(page("web-app", "https://app.example/signin/")?.0, 400);
    assert_eq!(page("web-app", "http://127.0.0.1:4321/cb")?.0, 302);
    Ok(())
}

#[test]
fn request_errors() -> Result<()> {
    let login = Login::new()?;
    // JSON instead of a form.
    let r = login
        .http
        .post(login.url(V2_TOKEN))
        .json(&serde_json::json!({"grant_type": "refresh_token"}))
        .send()?;
    assert_error(&json_of(r)?, 400, "invalid_request", 9_002_313);
    assert_error(
        &login.token(
            V2_TOKEN,
            &[
                // A misspelt grant (`client_credentials` is supported: tests/service_principals.rs).
                ("grant_type", "client_credential"),
                ("client_id", CLIENT_ID),
            ],
        )?,
        400,
        "unsupported_grant_type",
        70003,
    );
    assert_error(
        &login.token(V1_TOKEN, &[("client_id", CLIENT_ID)])?,
        400,
        "invalid_request",
        900_144,
    );
    assert_error(
        &json_of(login.http.get(login.url(V2_TOKEN)).send()?)?,
        400,
        "invalid_request",
        900_561,
    );
    assert_error(
        &login.token(
            "consumers/oauth2/v2.0/token",
            &[("grant_type", "refresh_token")],
        )?,
        400,
        "invalid_request",
        900_023,
    );

    // Tenants by GUID and by domain work like `common`.
    for tenant in [
        "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "contoso.onmicrosoft.com",
        "organizations",
    ] {
        let r = login.authorize(
            &format!("{tenant}/oauth2/v2.0/authorize"),
            &[
                ("client_id", CLIENT_ID),
                ("response_type", "code"),
                ("redirect_uri", REDIRECT),
                ("scope", PBI_SCOPE),
            ],
        )?;
        let code = redirected_param(r, "code")?;
        let (status, body) = login.token(
            &format!("{tenant}/oauth2/v2.0/token"),
            &code_grant(&code, &[]),
        )?;
        assert_eq!(status, 200, "{tenant}: {body}");
    }

    // Authorize errors after the redirect URI is trusted go back to it.
    let r = login.authorize(
        V2_AUTHORIZE,
        &[
            ("client_id", CLIENT_ID),
            ("response_type", "token"),
            ("redirect_uri", REDIRECT),
            ("scope", PBI_SCOPE),
        ],
    )?;
    assert_eq!(redirected_param(r, "error")?, "unsupported_response_type");
    let r = login.authorize(
        V2_AUTHORIZE,
        &[
            ("client_id", CLIENT_ID),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
        ],
    )?;
    let params = redirected(r)?;
    assert_eq!(params["error"], "invalid_request");
    assert!(
        params["error_description"].starts_with("AADSTS900144: "),
        "{params:?}"
    );
    assert!(!params.contains_key("state"), "no state was sent");
    Ok(())
}

#[test]
fn the_request_log_holds_no_secrets() -> Result<()> {
    let login = Login::new()?;
    login.svc.clear_requests();
    let scope = format!("{PBI_SCOPE} offline_access");
    let code = login.code_v2(&scope)?;
    let body = login.redeem_v2(&code, &scope)?;
    let access = str_field(&body, "access_token")?.to_owned();
    let refresh = str_field(&body, "refresh_token")?.to_owned();
    let r = login
        .http
        .post(login.url(V2_TOKEN))
        .basic_auth(CLIENT_ID, Some(SECRET))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ])
        .send()?;
    let (status, body) = json_of(r)?;
    assert_eq!(status, 200, "{body}");
    let refresh2 = str_field(&body, "refresh_token")?.to_owned();
    // A misplaced secret in a query and a JSON body are redacted too.
    login
        .http
        .get(login.url(&format!("{V2_AUTHORIZE}?client_secret={SECRET}")))
        .send()?;
    login
        .http
        .post(login.url(V2_TOKEN))
        .json(&serde_json::json!({"client_secret": SECRET, "refresh_token": refresh}))
        .send()?;
    assert_eq!(login.api(&access)?.0, 200);

    let log = login.svc.requests();
    assert_eq!(log.len(), 6);
    let secrets = [SECRET, &code, VERIFIER, &access, &refresh, &refresh2];
    for request in &log {
        let mut texts = vec![
            request.body_text(),
            request.query.clone().unwrap_or_default(),
        ];
        texts.extend(request.headers.iter().map(|(_, v)| v.clone()));
        for text in &texts {
            for secret in secrets {
                assert!(
                    !text.contains(secret),
                    "{} leaks a secret: {text}",
                    request.path
                );
            }
        }
    }
    // The log still shows what was asked, and how it was answered.
    let redeem = &log[1];
    assert_eq!(
        (redeem.path.as_str(), redeem.status),
        ("/common/oauth2/v2.0/token", 200)
    );
    let text = redeem.body_text();
    assert!(text.contains("grant_type=authorization_code"), "{text}");
    assert!(text.contains("client_secret=[redacted]") && text.contains("code=[redacted]"));
    assert!(text.contains("code_verifier=[redacted]"), "{text}");
    assert_eq!(log[0].status, 302);
    assert!(
        log[0]
            .query
            .as_deref()
            .unwrap_or_default()
            .contains(CHALLENGE)
    );
    assert_eq!(log[2].header("authorization"), Some("Basic [redacted]"));
    assert_eq!(log[3].query.as_deref(), Some("client_secret=[redacted]"));
    Ok(())
}

#[test]
fn fragment_and_form_post_response_modes() -> Result<()> {
    let login = Login::new()?;
    let ask = |mode: &str| {
        login.authorize(
            V2_AUTHORIZE,
            &[
                ("client_id", CLIENT_ID),
                ("response_type", "code"),
                ("redirect_uri", REDIRECT),
                ("scope", PBI_SCOPE),
                ("state", "s&t"),
                ("response_mode", mode),
            ],
        )
    };
    let r = ask("fragment")?;
    assert_eq!(r.status().as_u16(), 302);
    let location = r.headers().get("location").context("Location")?.to_str()?;
    let fragment = location
        .strip_prefix(&format!("{REDIRECT}#"))
        .with_context(|| format!("no fragment: {location}"))?;
    assert!(fragment.starts_with("code=pbi-code-") && fragment.ends_with("&state=s%26t"));

    let r = ask("form_post")?;
    assert_eq!(r.status().as_u16(), 200);
    let page = r.text()?;
    assert!(page.contains(&format!("action=\"{REDIRECT}\"")), "{page}");
    assert!(page.contains("name=\"code\" value=\"pbi-code-"), "{page}");
    assert!(page.contains("name=\"state\" value=\"s&amp;t\""), "{page}");

    let params = redirected(ask("web_message")?)?;
    assert_eq!(params["error"], "invalid_request");
    assert_eq!(params["state"], "s&t");
    Ok(())
}
