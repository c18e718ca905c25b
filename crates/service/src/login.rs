//! Microsoft identity platform login endpoints (v1 and v2 authorization code flow, and the
//! client credentials grant of service principals), on the same server as the API. See the
//! crate documentation for the behaviour and error codes.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use axum::routing::get;
use percent_encoding::{
    AsciiSet, CONTROLS, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::errors::json_response;
use crate::grants::{
    self, Grant, Login, OAuthClient, Rejected, Version, has_offline_access, is_power_bi,
    resource_of_scopes,
};
use crate::pkce;
use crate::record::{ClientAuthentication, TokenEndpoint, TokenRequest, redact_fields};
use crate::state::Shared;
use crate::util::{media_type, new_id, now_iso8601, query_pairs};

type AppState = Arc<Shared>;

/// The four login routes; `{tenant}` is `common`, `organizations`, a GUID or a domain.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/{tenant}/oauth2/authorize", get(authorize_v1))
        .route("/{tenant}/oauth2/v2.0/authorize", get(authorize_v2))
        .route("/{tenant}/oauth2/token", get(token_get).post(token_v1))
        .route("/{tenant}/oauth2/v2.0/token", get(token_get).post(token_v2))
}

// ---- errors ----

/// Identifies one answer, as Microsoft's `Trace ID`, `Correlation ID` and `Timestamp` do.
struct Ids {
    trace: String,
    correlation: String,
    /// `2016-01-09 02:02:12Z`, Microsoft's format.
    timestamp: String,
}

impl Ids {
    fn new(headers: &HeaderMap) -> Self {
        // Microsoft reuses a caller's `client-request-id` as the correlation id, so a client
        // can find its request in the answer; anything but a GUID is ignored.
        let correlation = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Uuid::parse_str(v.trim()).ok())
            .map_or_else(new_id, |u| u.hyphenated().to_string());
        let iso = now_iso8601();
        Self {
            trace: new_id(),
            correlation,
            timestamp: format!("{} {}Z", &iso[..10], &iso[11..19]),
        }
    }
}

/// An OAuth error with Microsoft's `AADSTS` code. Messages name client ids, tenants and
/// redirect URIs at most: never a secret, a code, a verifier or a token.
#[derive(Debug)]
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    code: u32,
    message: String,
}

impl OAuthError {
    fn new(error: &'static str, code: u32, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            code,
            message: message.into(),
        }
    }

    fn unauthorized(code: u32, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            ..Self::new("invalid_client", code, message)
        }
    }

    fn missing(param: &str) -> Self {
        Self::new(
            "invalid_request",
            900_144,
            format!("The request body must contain the following parameter: '{param}'."),
        )
    }

    fn malformed(detail: &str) -> Self {
        Self::new(
            "invalid_request",
            9_002_313,
            format!("Invalid request. Request is malformed or invalid. {detail}"),
        )
    }

    fn resource_not_supported() -> Self {
        // FACTS.md: the v2 endpoints reject `resource` with AADSTS90100 (newer tenants say
        // AADSTS901002 with the same text).
        Self::new(
            "invalid_request",
            90_100,
            "The 'resource' request parameter is not supported.",
        )
    }

    fn unknown_client(client_id: &str, tenant: &str) -> Self {
        Self::new(
            "unauthorized_client",
            700_016,
            format!(
                "Application with identifier '{}' was not found in the directory '{}'. This \
                 can happen if the application has not been installed by the administrator of \
                 the tenant or consented to by any user in the tenant. You may have sent your \
                 authentication request to the wrong tenant.",
                clip(client_id),
                clip(tenant)
            ),
        )
    }

    fn description(&self, ids: &Ids) -> String {
        format!(
            "AADSTS{}: {}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {}",
            self.code, self.message, ids.trace, ids.correlation, ids.timestamp
        )
    }

    fn error_uri(&self) -> String {
        format!("https://login.microsoftonline.com/error?code={}", self.code)
    }

    /// The token endpoint's JSON error.
    fn json(&self, ids: &Ids) -> Response<Body> {
        let body = json!({
            "error": self.error,
            "error_description": self.description(ids),
            "error_codes": [self.code],
            "timestamp": ids.timestamp,
            "trace_id": ids.trace,
            "correlation_id": ids.correlation,
            "error_uri": self.error_uri(),
        });
        json_response(self.status, &body)
    }

    /// The page shown instead of redirecting, when the redirect URI cannot be trusted.
    fn page(&self, ids: &Ids) -> Response<Body> {
        let html = format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Sign in to your \
             account</title></head>\n<body><h1>Sorry, but we're having trouble signing you \
             in.</h1>\n<p id=\"error\">{error}: AADSTS{code}: {message}</p>\n<p>Request Id: \
             {trace}<br>Correlation Id: {correlation}<br>Timestamp: {timestamp}</p>\n\
             </body></html>\n",
            error = self.error,
            code = self.code,
            message = html_escape::encode_quoted_attribute(&self.message),
            trace = ids.trace,
            correlation = ids.correlation,
            timestamp = ids.timestamp,
        );
        let mut r = Response::new(Body::from(html));
        *r.status_mut() = self.status;
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        r
    }
}

/// At most 200 characters of a caller's value, so an error never echoes a huge input.
fn clip(value: &str) -> String {
    value.chars().take(200).collect()
}

// ---- parameters ----

/// The first value of a parameter, `None` when absent or empty (Microsoft treats an empty
/// parameter as a missing one). OAuth parameter names are case-sensitive.
fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// Space-separated scopes (Microsoft also accepts `+`, already decoded to spaces).
fn split_scopes(scope: Option<&str>) -> Option<Vec<String>> {
    let scopes: Vec<String> = scope?.split_whitespace().map(str::to_owned).collect();
    let mut unique: Vec<String> = Vec::with_capacity(scopes.len());
    for s in scopes {
        if !unique.iter().any(|u| u.eq_ignore_ascii_case(&s)) {
            unique.push(s);
        }
    }
    (!unique.is_empty()).then_some(unique)
}

/// `common`, `organizations`, a GUID, or a domain name such as `contoso.onmicrosoft.com`.
fn check_tenant(tenant: &str) -> Result<(), OAuthError> {
    let named = ["common", "organizations"]
        .iter()
        .any(|t| tenant.eq_ignore_ascii_case(t));
    if named || Uuid::parse_str(tenant).is_ok() || is_domain(tenant) {
        return Ok(());
    }
    // Personal accounts (`consumers`) are not emulated: Power BI serves work accounts only.
    Err(OAuthError::new(
        "invalid_request",
        900_023,
        format!(
            "Specified tenant identifier '{}' is neither a valid DNS name, nor a valid external \
             domain.",
            clip(tenant)
        ),
    ))
}

fn is_domain(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    name.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_alphabetic()))
}

// ---- authorize ----

/// How the authorize answer reaches the redirect URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

/// Where an authorize answer goes, once the client and its redirect URI are trusted.
struct Target {
    redirect_uri: String,
    mode: ResponseMode,
    state: Option<String>,
}

impl Target {
    /// Sends `params` (plus `state`) to the redirect URI.
    fn send(&self, params: Vec<(&str, String)>) -> Response<Body> {
        let mut params = params;
        if let Some(state) = &self.state {
            params.push(("state", state.clone()));
        }
        if self.mode == ResponseMode::FormPost {
            return self.form_post(&params);
        }
        let encoded: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, COMPONENT)))
            .collect();
        let separator = match self.mode {
            ResponseMode::Fragment => '#',
            _ if self.redirect_uri.contains('?') => '&',
            _ => '?',
        };
        let location = format!("{}{separator}{}", self.redirect_uri, encoded.join("&"));
        // A registered URI may hold characters a header cannot; percent-encode those.
        let location = utf8_percent_encode(&location, LOCATION).to_string();
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::FOUND;
        if let Ok(v) = HeaderValue::from_str(&location) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        r
    }

    /// `response_mode=form_post`: a page that posts the parameters to the redirect URI.
    fn form_post(&self, params: &[(&str, String)]) -> Response<Body> {
        let inputs: String = params
            .iter()
            .map(|(k, v)| {
                format!(
                    "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
                    html_escape::encode_quoted_attribute(v)
                )
            })
            .collect();
        let html = format!(
            "<!DOCTYPE html>\n<html><head><title>Working...</title></head>\n<body \
             onload=\"document.forms[0].submit()\"><form method=\"POST\" \
             action=\"{}\">{inputs}<noscript><input type=\"submit\" \
             value=\"Continue\"></noscript></form></body></html>\n",
            html_escape::encode_quoted_attribute(&self.redirect_uri)
        );
        let mut r = Response::new(Body::from(html));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        r
    }

    fn error(&self, e: &OAuthError, ids: &Ids) -> Response<Body> {
        self.send(vec![
            ("error", e.error.to_owned()),
            ("error_description", e.description(ids)),
            ("error_uri", e.error_uri()),
        ])
    }
}

/// Everything but RFC 3986's unreserved characters, for query and fragment values.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// What a `Location` header cannot carry as is.
const LOCATION: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'<').add(b'>');

async fn authorize_v1(
    State(s): State<AppState>,
    Path(tenant): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response<Body> {
    authorize(&s, Version::V1, &tenant, query.as_deref(), &headers)
}

async fn authorize_v2(
    State(s): State<AppState>,
    Path(tenant): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response<Body> {
    authorize(&s, Version::V2, &tenant, query.as_deref(), &headers)
}

fn authorize(
    s: &Shared,
    version: Version,
    tenant: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Response<Body> {
    let ids = Ids::new(headers);
    let pairs = query_pairs(query);
    // Until the redirect URI is known to be the client's, errors are shown on a page: a
    // redirect to an unregistered URI would hand the answer to whoever named it.
    let target = match authorize_target(s, tenant, &pairs) {
        Ok(target) => target,
        Err(e) => return scrub_secrets(s, &e, headers, &[]).page(&ids),
    };
    match authorize_code(s, version, &pairs) {
        Ok(code) => target.send(vec![("code", code)]),
        Err(e) => target.error(&scrub_secrets(s, &e, headers, &[]), &ids),
    }
}

/// Checks the tenant, the client and the redirect URI.
fn authorize_target(
    s: &Shared,
    tenant: &str,
    pairs: &[(String, String)],
) -> Result<Target, OAuthError> {
    check_tenant(tenant)?;
    let client_id = param(pairs, "client_id").ok_or_else(|| OAuthError::missing("client_id"))?;
    let login = s.login();
    // An unknown client has no registered redirect URI to trust.
    let client = login
        .client(client_id)
        .ok_or_else(|| OAuthError::unknown_client(client_id, tenant))?;
    let redirect_uri = match param(pairs, "redirect_uri") {
        Some(uri) if client.allows_redirect(uri) => uri.to_owned(),
        Some(uri) => {
            return Err(OAuthError::new(
                "invalid_request",
                50_011,
                format!(
                    "The redirect URI '{}' specified in the request does not match the \
                     redirect URIs configured for the application '{}'. Make sure the redirect \
                     URI sent in the request matches one added to your application in the \
                     Azure portal.",
                    clip(uri),
                    clip(client_id)
                ),
            ));
        }
        // Microsoft falls back on the registered URI when there is exactly one.
        None => match client.redirect_uris.as_slice() {
            [only] => only.clone(),
            _ => return Err(OAuthError::missing("redirect_uri")),
        },
    };
    let mode = match param(pairs, "response_mode") {
        Some("fragment") => ResponseMode::Fragment,
        Some("form_post") => ResponseMode::FormPost,
        // An unknown mode is reported through the query, the default mode.
        _ => ResponseMode::Query,
    };
    Ok(Target {
        redirect_uri,
        mode,
        state: param(pairs, "state").map(str::to_owned),
    })
}

/// Checks the rest of an authorize request and issues a code (consent is immediate).
fn authorize_code(
    s: &Shared,
    version: Version,
    pairs: &[(String, String)],
) -> Result<String, OAuthError> {
    let client_id = param(pairs, "client_id").unwrap_or_default().to_owned();
    match param(pairs, "response_type") {
        None => return Err(OAuthError::missing("response_type")),
        Some("code") => {}
        Some(other) => {
            return Err(OAuthError::new(
                "unsupported_response_type",
                700_051,
                format!(
                    "response_type '{}' is not enabled for the application.",
                    clip(other)
                ),
            ));
        }
    }
    if let Some(mode) = param(pairs, "response_mode")
        && !matches!(mode, "query" | "fragment" | "form_post")
    {
        return Err(OAuthError::malformed(&format!(
            "The response_mode '{}' is not supported.",
            clip(mode)
        )));
    }
    let (scopes, resource) = match version {
        Version::V2 => {
            if param(pairs, "resource").is_some() {
                return Err(OAuthError::resource_not_supported());
            }
            let scopes =
                split_scopes(param(pairs, "scope")).ok_or_else(|| OAuthError::missing("scope"))?;
            (scopes, None)
        }
        // v1 names the API with `resource` and ignores `scope`.
        Version::V1 => (Vec::new(), param(pairs, "resource").map(str::to_owned)),
    };
    let challenge = match param(pairs, "code_challenge") {
        None => None,
        Some(challenge) => {
            // RFC 7636: without a method the challenge is `plain`.
            let method = match param(pairs, "code_challenge_method") {
                None => pkce::Method::Plain,
                Some(m) => pkce::Method::parse(m).ok_or_else(|| {
                    OAuthError::malformed(&format!(
                        "The code_challenge_method '{}' is not supported (S256, plain).",
                        clip(m)
                    ))
                })?,
            };
            if !(43..=128).contains(&challenge.len()) {
                return Err(OAuthError::new(
                    "invalid_request",
                    501_491,
                    "Invalid size of Code_Challenge parameter.",
                ));
            }
            if !pkce::well_formed(challenge) {
                return Err(OAuthError::malformed(
                    "The code_challenge holds characters other than A-Z a-z 0-9 - . _ ~.",
                ));
            }
            Some((challenge.to_owned(), method))
        }
    };
    let offline = match version {
        // v1 always issues refresh tokens.
        Version::V1 => true,
        Version::V2 => has_offline_access(&scopes),
    };
    let grant = Grant {
        client_id,
        scopes,
        resource,
        offline,
    };
    let redirect_uri = param(pairs, "redirect_uri").map(str::to_owned);
    Ok(s.login().issue_code(grant, redirect_uri, challenge))
}

// ---- token ----

async fn token_v1(
    State(s): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    token(&s, Version::V1, &tenant, &headers, &body)
}

async fn token_v2(
    State(s): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    token(&s, Version::V2, &tenant, &headers, &body)
}

async fn token_get(headers: HeaderMap) -> Response<Body> {
    OAuthError::new(
        "invalid_request",
        900_561,
        "The endpoint only accepts POST, OPTIONS requests. Received a GET request.",
    )
    .json(&Ids::new(&headers))
}

fn token(
    s: &Shared,
    version: Version,
    tenant: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response<Body> {
    let ids = Ids::new(headers);
    let answer = token_answer(s, version, tenant, headers, body);
    let mut r = match &answer {
        Ok(v) => json_response(StatusCode::OK, v),
        Err(e) => scrub_secrets(s, e, headers, body).json(&ids),
    };
    s.login()
        .record_token_request(token_request(version, tenant, headers, body, &answer, &r));
    // RFC 6749 §5.1: answers holding tokens must not be cached.
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&ids.trace) {
        h.insert("x-ms-request-id", v);
    }
    r
}

/// The form of a token request body, if it is declared as one.
fn form_fields(headers: &HeaderMap, body: &[u8]) -> Option<Vec<(String, String)>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(media_type);
    if content_type.as_deref() != Some("application/x-www-form-urlencoded") {
        return None;
    }
    let text = std::str::from_utf8(body).ok()?;
    Some(query_pairs(Some(text)))
}

/// What [`ServiceHandle::token_requests`](crate::ServiceHandle::token_requests) shows of a
/// token request: credentials redacted, the Basic secret dropped.
fn token_request(
    version: Version,
    tenant: &str,
    headers: &HeaderMap,
    body: &[u8],
    answer: &Result<Value, OAuthError>,
    response: &Response<Body>,
) -> TokenRequest {
    // Only a form body is read as fields: anything else might hold a secret under a name
    // the redaction does not know.
    let fields = form_fields(headers, body).unwrap_or_default();
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_whitespace().next())
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("basic"));
    let basic_client_id = basic_credentials(headers)
        .ok()
        .flatten()
        .map(|(id, _)| form_decode(&id));
    let body_secret = param(&fields, "client_secret").is_some();
    let client_authentication = match (basic, body_secret) {
        (false, false) => ClientAuthentication::None,
        (false, true) => ClientAuthentication::Body,
        (true, false) => ClientAuthentication::Basic,
        (true, true) => ClientAuthentication::Both,
    };
    let (error, error_code) = match answer {
        Ok(_) => (None, None),
        Err(e) => (Some(e.error.to_owned()), Some(e.code)),
    };
    TokenRequest {
        tenant: tenant.to_owned(),
        endpoint: match version {
            Version::V1 => TokenEndpoint::V1,
            Version::V2 => TokenEndpoint::V2,
        },
        content_type: headers
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        fields: redact_fields(&fields),
        client_authentication,
        basic_client_id,
        status: response.status().as_u16(),
        error,
        error_code,
    }
}

/// The error with every secret the service knows of, and every secret the request
/// presented, replaced by `[redacted]`: a client that swaps its id and secret must not see
/// the secret echoed as an "application identifier".
fn scrub_secrets(s: &Shared, e: &OAuthError, headers: &HeaderMap, body: &[u8]) -> OAuthError {
    let mut secrets: Vec<String> = {
        let login = s.login();
        login
            .clients
            .iter()
            .map(|c| c.client_secret.clone())
            .chain(
                login
                    .service_principals
                    .iter()
                    .map(|p| p.client_secret.clone()),
            )
            .collect()
    };
    if let Some(fields) = form_fields(headers, body) {
        secrets.extend(
            fields
                .into_iter()
                .filter(|(k, _)| k == "client_secret")
                .map(|(_, v)| v),
        );
    }
    if let Ok(Some((_, secret))) = basic_credentials(headers) {
        secrets.push(form_decode(&secret));
        secrets.push(secret);
    }
    let mut message = e.message.clone();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        message = message.replace(secret.as_str(), "[redacted]");
    }
    OAuthError {
        status: e.status,
        error: e.error,
        code: e.code,
        message,
    }
}

fn token_answer(
    s: &Shared,
    version: Version,
    tenant: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, OAuthError> {
    check_tenant(tenant)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(media_type);
    if content_type.as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(OAuthError::malformed(
            "The request body must be application/x-www-form-urlencoded.",
        ));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| OAuthError::malformed("The request body is not valid UTF-8."))?;
    let pairs = query_pairs(Some(text));
    let grant_type =
        param(&pairs, "grant_type").ok_or_else(|| OAuthError::missing("grant_type"))?;
    if version == Version::V2 && param(&pairs, "resource").is_some() {
        return Err(OAuthError::resource_not_supported());
    }
    if !matches!(
        grant_type,
        "authorization_code" | "refresh_token" | "client_credentials"
    ) {
        return Err(OAuthError::new(
            "unsupported_grant_type",
            70_003,
            format!(
                "The app requested an unsupported grant type '{}'.",
                clip(grant_type)
            ),
        ));
    }
    let mut login = s.login();
    if grant_type == "client_credentials" {
        return client_credentials(s, &login, version, tenant, headers, &pairs);
    }
    let client = authenticate_client(&login, tenant, headers, &pairs)?;
    let client_id = client.client_id.clone();
    let requested_scopes = match version {
        Version::V2 => split_scopes(param(&pairs, "scope")),
        // v1 ignores `scope`.
        Version::V1 => None,
    };
    let requested_resource = match version {
        Version::V1 => param(&pairs, "resource"),
        Version::V2 => None,
    };

    if grant_type == "authorization_code" {
        let code = param(&pairs, "code").ok_or_else(|| OAuthError::missing("code"))?;
        let issued = login.code(code, &client_id).map_err(code_rejected)?.clone();
        check_redirect(&login, &client_id, &issued, param(&pairs, "redirect_uri"))?;
        if let Some((challenge, method)) = &issued.challenge {
            check_verifier(param(&pairs, "code_verifier"), challenge, *method)?;
        }
        let answer = issue(
            s,
            &mut login,
            version,
            &issued.grant,
            requested_scopes,
            requested_resource,
        )?;
        // Redeemed only once it succeeded, so a client may correct a bad request.
        login.redeem(code);
        Ok(answer)
    } else {
        let presented =
            param(&pairs, "refresh_token").ok_or_else(|| OAuthError::missing("refresh_token"))?;
        let grant = login
            .refresh_token(presented, &client_id)
            .map_err(refresh_rejected)?
            .grant
            .clone();
        let answer = issue(
            s,
            &mut login,
            version,
            &grant,
            requested_scopes,
            requested_resource,
        )?;
        // Microsoft keeps the old refresh token valid after rotation; the option emulates
        // servers that do not.
        if login.revoke_rotated {
            login.revoke_refresh_token(presented);
        }
        Ok(answer)
    }
}

/// The client ids and secrets a token request presents: `client_id` + `client_secret` in
/// the body, or HTTP Basic (RFC 6749 §2.3.1), never both. Each may come in two spellings:
/// RFC 6749 wants Basic's id and secret form-urlencoded first, but many clients send them
/// raw, so both are candidates.
struct Presented {
    client_ids: Vec<String>,
    secrets: Vec<String>,
}

fn presented_credentials(
    headers: &HeaderMap,
    pairs: &[(String, String)],
) -> Result<Presented, OAuthError> {
    let basic = basic_credentials(headers)?;
    let body_id = param(pairs, "client_id");
    let body_secret = param(pairs, "client_secret");
    let (client_ids, secrets) = match basic {
        Some((id, secret)) => {
            if body_secret.is_some() {
                return Err(OAuthError::malformed(
                    "The client used more than one authentication method (Basic and \
                     client_secret).",
                ));
            }
            let ids = vec![form_decode(&id), id];
            if body_id.is_some_and(|b| !ids.iter().any(|i| i == b)) {
                return Err(OAuthError::malformed(
                    "The client_id in the body differs from the one in the Authorization header.",
                ));
            }
            (ids, vec![form_decode(&secret), secret])
        }
        None => (
            vec![
                body_id
                    .ok_or_else(|| OAuthError::missing("client_id"))?
                    .to_owned(),
            ],
            body_secret.map(str::to_owned).into_iter().collect(),
        ),
    };
    Ok(Presented {
        client_ids,
        secrets,
    })
}

/// Checks the presented secrets against a registered one. An empty registered secret is a
/// public client, which must present none (`public_allowed`), or else one that can never
/// authenticate.
fn check_secret(
    registered: &str,
    client_id: &str,
    secrets: &[String],
    public_allowed: bool,
) -> Result<(), OAuthError> {
    let presented = secrets.iter().any(|s| !s.is_empty());
    match (registered.is_empty() && public_allowed, presented) {
        (true, false) => Ok(()),
        (true, true) => Err(OAuthError::unauthorized(
            700_025,
            "Client is public so neither 'client_assertion' nor 'client_secret' should be \
             presented.",
        )),
        (false, false) => Err(OAuthError::unauthorized(
            7_000_218,
            "The request body must contain the following parameter: 'client_assertion' or \
             'client_secret'.",
        )),
        (false, true) if !registered.is_empty() && secrets.iter().any(|s| s == registered) => {
            Ok(())
        }
        (false, true) => Err(OAuthError::unauthorized(
            7_000_215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request \
                 is the client secret value, not the client secret ID, for a secret added to \
                 app '{}'.",
                clip(client_id)
            ),
        )),
    }
}

/// The client, authenticated by `client_secret` in the body or by HTTP Basic (RFC 6749
/// §2.3.1); a public client (no registered secret) must send no secret.
fn authenticate_client<'a>(
    login: &'a Login,
    tenant: &str,
    headers: &HeaderMap,
    pairs: &[(String, String)],
) -> Result<&'a OAuthClient, OAuthError> {
    let presented = presented_credentials(headers, pairs)?;
    let client = presented
        .client_ids
        .iter()
        .find_map(|id| login.client(id))
        .ok_or_else(|| OAuthError::unknown_client(&presented.client_ids[0], tenant))?;
    check_secret(
        &client.client_secret,
        &client.client_id,
        &presented.secrets,
        true,
    )?;
    Ok(client)
}

// ---- client credentials ----

/// Microsoft Graph, the other resource the emulated directory knows.
fn is_graph(resource: &str) -> bool {
    let r = resource.trim_end_matches('/');
    r.eq_ignore_ascii_case(grants::GRAPH_RESOURCE)
        || r.eq_ignore_ascii_case("00000003-0000-0000-c000-000000000000")
}

/// `grant_type=client_credentials`: a service principal signs in as itself.
fn client_credentials(
    s: &Shared,
    login: &Login,
    version: Version,
    tenant: &str,
    headers: &HeaderMap,
    pairs: &[(String, String)],
) -> Result<Value, OAuthError> {
    // No user signs in, so nothing else could tell which tenant is meant.
    if ["common", "organizations"]
        .iter()
        .any(|t| tenant.eq_ignore_ascii_case(t))
    {
        return Err(OAuthError::new(
            "invalid_request",
            50_059,
            "No tenant-identifying information found in either the request or implied by any \
             provided credentials.",
        ));
    }
    if !login.is_own_tenant(tenant) {
        return Err(OAuthError::new(
            "invalid_tenant",
            90_002,
            format!(
                "Tenant '{}' not found. Check to make sure you have the correct tenant ID and \
                 are signing into the correct cloud. Check with your subscription \
                 administrator, this may happen if there are no active subscriptions for the \
                 tenant.",
                clip(tenant)
            ),
        ));
    }
    let presented = presented_credentials(headers, pairs)?;
    let principal = presented
        .client_ids
        .iter()
        .find_map(|id| login.service_principal(id))
        .ok_or_else(|| OAuthError::unknown_client(&presented.client_ids[0], tenant))?;
    check_secret(
        &principal.client_secret,
        &principal.client_id,
        &presented.secrets,
        false,
    )?;
    if !principal.consented {
        return Err(OAuthError::unauthorized(
            7_000_229,
            format!(
                "The client application {} is missing service principal in the tenant {}. See \
                 instructions here: https://go.microsoft.com/fwlink/?linkid=2225119",
                clip(&principal.client_id),
                login.tenant_id
            ),
        ));
    }
    let resource = match version {
        Version::V2 => default_scope_resource(split_scopes(param(pairs, "scope")))?,
        // v1 names the resource and ignores `scope`.
        Version::V1 => param(pairs, "resource")
            .ok_or_else(|| {
                OAuthError::new(
                    "invalid_request",
                    500_013,
                    "Resource identifier is not provided.",
                )
            })?
            .to_owned(),
    };
    let lifetime = login.access_token_lifetime;
    let access_token = if is_power_bi(&resource) {
        s.tokens
            .issue_service_principal(&principal.client_id, lifetime)
    } else if is_graph(&resource) {
        crate::tokens::new_token()
    } else {
        return Err(OAuthError::new(
            "invalid_resource",
            500_011,
            format!(
                "The resource principal named {} was not found in the tenant named {}. This \
                 can happen if the application has not been installed by the administrator of \
                 the tenant or consented to by any user in the tenant. You might have sent \
                 your authentication request to the wrong tenant.",
                clip(&resource),
                clip(tenant)
            ),
        ));
    };
    let secs = whole_seconds(lifetime);
    Ok(match version {
        // No `scope`, no `refresh_token`: Microsoft's documented answer.
        Version::V2 => json!({
            "token_type": "Bearer",
            "expires_in": secs,
            "ext_expires_in": secs,
            "access_token": access_token,
        }),
        Version::V1 => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            json!({
                "token_type": "Bearer",
                "expires_in": secs.to_string(),
                "ext_expires_in": secs.to_string(),
                "expires_on": now.saturating_add(secs).to_string(),
                "not_before": now.to_string(),
                "resource": resource,
                "access_token": access_token,
            })
        }
    })
}

/// The resource of a client credentials `scope`: exactly one `{resource}/.default`.
fn default_scope_resource(scopes: Option<Vec<String>>) -> Result<String, OAuthError> {
    let scopes = scopes.ok_or_else(|| OAuthError::missing("scope"))?;
    if let [scope] = scopes.as_slice() {
        return match scope.strip_suffix("/.default") {
            Some(resource) if !resource.is_empty() => Ok(resource.to_owned()),
            _ => Err(OAuthError::new(
                "invalid_scope",
                1_002_012,
                format!(
                    "The provided value for scope {} is not valid. Client credential flows must \
                     have a scope value with /.default suffixed to the resource identifier \
                     (application ID URI).",
                    clip(scope)
                ),
            )),
        };
    }
    let combined = if scopes.iter().any(|s| s.ends_with("/.default")) {
        " .default scope can't be combined with resource-specific scopes."
    } else {
        ""
    };
    Err(OAuthError::new(
        "invalid_scope",
        70_011,
        format!(
            "The provided request must include a 'scope' input parameter. The provided value for \
             the input parameter 'scope' is not valid. The scope {} is not valid.{combined}",
            clip(&scopes.join(" "))
        ),
    ))
}

/// `Authorization: Basic base64(id:secret)` as sent (not yet form-decoded). `None` without
/// an `Authorization` header.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || OAuthError::malformed("The Basic Authorization header cannot be decoded.");
    let value = value.to_str().map_err(|_| bad())?.trim();
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(bad());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::malformed(
            "Only Basic client authentication is accepted in the Authorization header.",
        ));
    }
    let decoded = pkce::base64_decode(encoded.trim()).ok_or_else(bad)?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    Ok(Some((id.to_owned(), secret.to_owned())))
}

/// `application/x-www-form-urlencoded` decoding of one value.
fn form_decode(value: &str) -> String {
    percent_decode_str(&value.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

fn code_rejected(why: Rejected) -> OAuthError {
    match why {
        Rejected::Redeemed => OAuthError::new(
            "invalid_grant",
            54_005,
            "OAuth2 Authorization code was already redeemed, please retry with a new valid \
             code or use an existing refresh token.",
        ),
        Rejected::Expired => OAuthError::new(
            "invalid_grant",
            70_008,
            "The provided authorization code or refresh token has expired due to inactivity. \
             Send a new interactive authorization request for this user and resource.",
        ),
        Rejected::Unknown | Rejected::Revoked => OAuthError::new(
            "invalid_grant",
            70_000,
            "The provided value for the 'code' parameter is not valid.",
        ),
    }
}

fn refresh_rejected(why: Rejected) -> OAuthError {
    match why {
        Rejected::Expired => OAuthError::new(
            "invalid_grant",
            700_082,
            "The refresh token has expired due to inactivity. Send a new interactive \
             authorization request for this user and resource.",
        ),
        Rejected::Revoked => OAuthError::new(
            "invalid_grant",
            50_173,
            "The provided grant has expired due to it being revoked, a fresh auth token is \
             needed.",
        ),
        Rejected::Unknown | Rejected::Redeemed => OAuthError::new(
            "invalid_grant",
            70_000,
            "Provided grant is invalid or malformed.",
        ),
    }
}

/// The token request's `redirect_uri` must be the authorize request's (RFC 6749 §4.1.3).
fn check_redirect(
    login: &Login,
    client_id: &str,
    code: &grants::AuthCode,
    given: Option<&str>,
) -> Result<(), OAuthError> {
    let expected = match &code.redirect_uri {
        Some(uri) => uri.clone(),
        // The authorize request named none and got the client's only registered URI.
        None => match (given, login.client(client_id)) {
            (None, _) => return Ok(()),
            (Some(_), Some(c)) => c.redirect_uris.first().cloned().unwrap_or_default(),
            (Some(_), None) => String::new(),
        },
    };
    match given {
        None => Err(OAuthError::missing("redirect_uri")),
        Some(uri) if uri == expected => Ok(()),
        Some(uri) => Err(OAuthError::new(
            "invalid_grant",
            500_112,
            format!(
                "The reply address '{}' does not match the reply address '{}' provided when \
                 requesting Authorization code.",
                clip(uri),
                clip(&expected)
            ),
        )),
    }
}

fn check_verifier(
    verifier: Option<&str>,
    challenge: &str,
    method: pkce::Method,
) -> Result<(), OAuthError> {
    match verifier {
        None => Err(OAuthError::new(
            "invalid_grant",
            50_148,
            "The code_verifier does not match the code_challenge supplied in the authorization \
             request for PKCE. The request holds no code_verifier.",
        )),
        Some(v) if pkce::verify(v, challenge, method) => Ok(()),
        Some(_) => Err(OAuthError::new(
            "invalid_grant",
            501_481,
            "The Code_Verifier does not match the code_challenge supplied in the authorization \
             request.",
        )),
    }
}

/// Issues an access token (and a refresh token when the grant allows) for `base`, narrowed
/// or redirected by the token request's own `scope` (v2) or `resource` (v1).
fn issue(
    s: &Shared,
    login: &mut Login,
    version: Version,
    base: &Grant,
    requested_scopes: Option<Vec<String>>,
    requested_resource: Option<&str>,
) -> Result<Value, OAuthError> {
    let lifetime = login.access_token_lifetime;
    match version {
        Version::V2 => {
            let scopes = requested_scopes
                .or_else(|| (!base.scopes.is_empty()).then(|| base.scopes.clone()))
                // A v1 grant redeemed at v2 without `scope`: its resource's permission.
                .or_else(|| {
                    base.resource
                        .as_ref()
                        .map(|r| vec![format!("{}/user_impersonation", r.trim_end_matches('/'))])
                })
                .ok_or_else(|| OAuthError::missing("scope"))?;
            let offline = base.offline || has_offline_access(&scopes);
            // Only OpenID Connect scopes: Microsoft issues a token for Graph's userinfo.
            let resource =
                resource_of_scopes(&scopes).unwrap_or_else(|| grants::GRAPH_RESOURCE.to_owned());
            let access_token = access_token(s, &resource, lifetime);
            let secs = whole_seconds(lifetime);
            // Microsoft leaves `offline_access` out of the granted scopes it reports.
            let granted: Vec<&str> = scopes
                .iter()
                .map(String::as_str)
                .filter(|s| !s.eq_ignore_ascii_case("offline_access"))
                .collect();
            let mut answer = json!({
                "token_type": "Bearer",
                "scope": granted.join(" "),
                "expires_in": secs,
                "ext_expires_in": secs,
                "access_token": access_token,
            });
            if offline {
                let grant = Grant {
                    client_id: base.client_id.clone(),
                    scopes,
                    resource: Some(resource),
                    offline,
                };
                answer["refresh_token"] = Value::String(login.issue_refresh_token(grant));
            }
            Ok(answer)
        }
        Version::V1 => {
            let resource = requested_resource
                .map(str::to_owned)
                .or_else(|| base.resource.clone())
                .or_else(|| resource_of_scopes(&base.scopes))
                .ok_or_else(|| {
                    OAuthError::new(
                        "invalid_request",
                        500_013,
                        "Resource identifier is not provided.",
                    )
                })?;
            let access_token = access_token(s, &resource, lifetime);
            let secs = whole_seconds(lifetime);
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            let grant = Grant {
                client_id: base.client_id.clone(),
                scopes: base.scopes.clone(),
                resource: Some(resource.clone()),
                offline: true,
            };
            // v1 answers every number as a string.
            Ok(json!({
                "token_type": "Bearer",
                "scope": "user_impersonation",
                "expires_in": secs.to_string(),
                "ext_expires_in": secs.to_string(),
                "expires_on": now.saturating_add(secs).to_string(),
                "not_before": now.to_string(),
                "resource": resource,
                "access_token": access_token,
                "refresh_token": login.issue_refresh_token(grant),
            }))
        }
    }
}

/// A Power BI token goes into the store the API checks; a token for another resource is
/// only a random string the API does not know (401), as Power BI rejects other audiences.
fn access_token(s: &Shared, resource: &str, lifetime: Duration) -> String {
    if is_power_bi(resource) {
        s.tokens.issue(lifetime)
    } else {
        crate::tokens::new_token()
    }
}

/// `expires_in`: whole seconds, rounded up so a short lifetime is never announced as 0.
fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants() {
        for ok in [
            "common",
            "Organizations",
            "contoso.onmicrosoft.com",
            "72f988bf-86f1-41af-91ab-2d7cd011db47",
        ] {
            assert!(check_tenant(ok).is_ok(), "{ok}");
        }
        for bad in ["consumers", "nodot", "a..b", "-a.com", "v1.0", ""] {
            assert!(check_tenant(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scopes_split_and_dedupe() {
        assert_eq!(split_scopes(Some("  ")), None);
        assert_eq!(
            split_scopes(Some("a  B b offline_access")),
            Some(vec!["a".into(), "B".into(), "offline_access".into()])
        );
    }

    #[test]
    fn basic_credentials_decode() -> Result<(), String> {
        let mut h = HeaderMap::new();
        assert!(basic_credentials(&h).map_err(|e| e.message)?.is_none());
        // The secret holds an encoded `:` and a raw `=`; only the first `:` separates.
        let encoded = pkce_b64("my%20id:s%3Ac=t:u");
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {encoded}")).map_err(|e| e.to_string())?,
        );
        assert_eq!(
            basic_credentials(&h).map_err(|e| e.message)?,
            Some(("my%20id".to_owned(), "s%3Ac=t:u".to_owned()))
        );
        assert_eq!(form_decode("my%20id+x"), "my id x");
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!"));
        assert!(basic_credentials(&h).is_err());
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert!(basic_credentials(&h).is_err());
        Ok(())
    }

    /// Standard base64 with padding, for the test above.
    fn pkce_b64(text: &str) -> String {
        let url = pkce::base64url(text.as_bytes());
        let padded = format!("{url}{}", "=".repeat((4 - url.len() % 4) % 4));
        padded.replace('-', "+").replace('_', "/")
    }

    #[test]
    fn seconds_round_up() {
        assert_eq!(whole_seconds(Duration::from_millis(300)), 1);
        assert_eq!(whole_seconds(Duration::from_secs(3600)), 3600);
        assert_eq!(whole_seconds(Duration::ZERO), 0);
    }

    #[test]
    fn errors_carry_ids_and_never_html() {
        let ids = Ids {
            trace: "t".into(),
            correlation: "c".into(),
            timestamp: "2016-01-09 02:02:12Z".into(),
        };
        let e = OAuthError::missing("code");
        assert_eq!(
            e.description(&ids),
            "AADSTS900144: The request body must contain the following parameter: 'code'.\r\n\
             Trace ID: t\r\nCorrelation ID: c\r\nTimestamp: 2016-01-09 02:02:12Z"
        );
        assert_eq!(
            html_escape::encode_quoted_attribute("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#x27;"
        );
        let real = Ids::new(&HeaderMap::new());
        assert_eq!(real.timestamp.len(), 20, "{}", real.timestamp);
        assert!(real.timestamp.ends_with('Z') && real.timestamp.contains(' '));
    }
}
