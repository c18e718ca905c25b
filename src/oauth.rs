//! OAuth 2.0 for the connection: the authorization-code grant with PKCE, code exchange and
//! refresh against the Microsoft identity platform, with the `oauth2` crate: its client,
//! PKCE and authorization URL, and its token and error response types. The token requests
//! themselves are built and read here, the way oauth2 builds and reads them (see
//! [`exchange_code`]), which keeps the `http` crate out of the component.
//!
//! Microsoft has two generations of endpoints and they understand different parameters:
//! v1 (`.../oauth2/authorize`, `.../oauth2/token`) names the API with
//! `resource=https://analysis.windows.net/powerbi/api` and ignores `scope`; v2
//! (`.../oauth2/v2.0/...`) takes `scope` and rejects `resource` (AADSTS90100). The version
//! of each endpoint is read from its path, so the documented default pairing (a v1 Authorize
//! URL with a v2 Token URL) sends each endpoint what it understands.
//!
//! HTTP goes through any [`Transport`]: the component's is wasi:http.

use std::fmt;
use std::time::Duration;

use oauth2::basic::{BasicErrorResponse, BasicErrorResponseType, BasicTokenType};
use oauth2::{
    AccessToken, AuthType, AuthUrl, Client, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, Scope,
    StandardRevocableToken, TokenUrl,
};
use serde::{Deserialize, Deserializer, Serialize};

use crate::connection::ConnectionValues;
use crate::definition::{AUTHORIZE_URL, CONNECTION, SCOPES, TENANT_ID, TOKEN_URL};
use crate::exchange::Transport;
use crate::http::{Method, Request};

/// The Power BI API, as v1 endpoints name it.
pub const POWER_BI_RESOURCE: &str = "https://analysis.windows.net/powerbi/api";

/// How long one token request may take.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(30);

/// Which generation of Microsoft's endpoints a URL is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointVersion {
    /// `.../oauth2/authorize`, `.../oauth2/token`: `resource`.
    V1,
    /// `.../oauth2/v2.0/authorize`, `.../oauth2/v2.0/token`: `scope`.
    V2,
}

/// Reads the version from the URL's path.
pub fn version_of(url: &url::Url) -> EndpointVersion {
    if url
        .path()
        .split('/')
        .any(|s| s.eq_ignore_ascii_case("v2.0"))
    {
        EndpointVersion::V2
    } else {
        EndpointVersion::V1
    }
}

contract_enum! {
    /// What kind of OAuth failure.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum OAuthErrorKind => crate::bindings::wo::OauthErrorKind {
        /// A connection value or argument is wrong; `input` names it. Nothing was sent.
        InvalidInput = "invalid-input",
        /// The grant is no longer good (`invalid_grant`): the user must authorize again.
        AuthorizeAgain = "authorize-again",
        /// The client ID or secret was refused (`invalid_client`, `unauthorized_client`).
        InvalidClient = "invalid-client",
        /// Any other refusal by the identity platform.
        Service = "service",
        /// The token endpoint could not be reached.
        Transport = "transport",
    }
}

/// An OAuth failure. Its message never holds a secret, token, code or verifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The kind.
    pub kind: OAuthErrorKind,
    /// A sentence for a person.
    pub message: String,
    /// The OAuth error code (`invalid_grant`, ...), when the endpoint gave one.
    pub code: Option<String>,
    /// The input at fault, for `invalid-input`.
    pub input: Option<String>,
}

impl OAuthError {
    fn invalid(input: &str, message: impl fmt::Display) -> Self {
        OAuthError {
            kind: OAuthErrorKind::InvalidInput,
            message: format!("{input}: {message}"),
            code: None,
            input: Some(input.into()),
        }
    }

    fn redact(mut self, secrets: &[&str]) -> Self {
        for secret in secrets.iter().filter(|s| s.len() >= 4) {
            self.message = self.message.replace(secret, "[redacted]");
        }
        self
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.kind.as_str())
    }
}

impl std::error::Error for OAuthError {}

/// The connection's OAuth values, defaults applied and checked.
#[derive(Clone)]
pub struct OAuthConfig {
    authorize_url: url::Url,
    token_url: url::Url,
    scopes: Vec<String>,
    client_id: String,
    client_secret: String,
    /// The resource tokens are for: the cloud's (v1 `resource`).
    resource: &'static str,
}

impl fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("authorize_url", &self.authorize_url.as_str())
            .field("token_url", &self.token_url.as_str())
            .field("scopes", &self.scopes)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

fn endpoint(key: &str, given: Option<&str>) -> Result<url::Url, OAuthError> {
    let default = CONNECTION
        .inputs
        .iter()
        .find(|i| i.key == key)
        .and_then(|i| i.default);
    let text = given
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .or(default)
        .unwrap_or_default();
    let url = url::Url::parse(text)
        .map_err(|e| OAuthError::invalid(key, format!("is not a URL ({e})")))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        return Err(OAuthError::invalid(key, "must be an https URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(OAuthError::invalid(
            key,
            "must not carry a user name or password",
        ));
    }
    Ok(url)
}

impl OAuthConfig {
    /// Reads the connection's values; empty ones take the documented defaults.
    pub fn new(
        authorize_url: Option<&str>,
        token_url: Option<&str>,
        scopes: Option<&str>,
        client_id: &str,
        client_secret: &str,
    ) -> Result<Self, OAuthError> {
        let authorize_url = endpoint(AUTHORIZE_URL, authorize_url)?;
        let token_url = endpoint(TOKEN_URL, token_url)?;
        let default_scopes = CONNECTION
            .inputs
            .iter()
            .find(|i| i.key == SCOPES)
            .and_then(|i| i.default);
        let scopes: Vec<String> = scopes
            .filter(|s| !s.trim().is_empty())
            .or(default_scopes)
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if client_id.trim().is_empty() {
            return Err(OAuthError::invalid("client-id", "is required"));
        }
        if client_secret.is_empty() {
            return Err(OAuthError::invalid("client-secret", "is required"));
        }
        Ok(OAuthConfig {
            authorize_url,
            token_url,
            scopes,
            client_id: client_id.trim().into(),
            client_secret: client_secret.into(),
            resource: POWER_BI_RESOURCE,
        })
    }

    /// The authorization-code connection's values: its URLs on the cloud's sign-in host, and
    /// scopes naming the Power BI API sent with the cloud's resource.
    pub fn from_connection(c: &ConnectionValues) -> Result<Self, OAuthError> {
        let mut config = OAuthConfig::new(
            c.get(AUTHORIZE_URL),
            c.get(TOKEN_URL),
            c.get(SCOPES),
            c.get("client-id").unwrap_or_default(),
            c.raw("client-secret"),
        )?;
        let cloud = c.cloud().map_err(invalid_input)?;
        c.check_login_host(AUTHORIZE_URL, &config.authorize_url)
            .map_err(invalid_input)?;
        c.check_login_host(TOKEN_URL, &config.token_url)
            .map_err(invalid_input)?;
        for scope in &mut config.scopes {
            if let Some(permission) = scope.strip_prefix(POWER_BI_RESOURCE) {
                *scope = format!("{}{permission}", cloud.resource);
            }
        }
        config.resource = cloud.resource;
        Ok(config)
    }

    /// The service principal connection's values: the client credentials grant on
    /// `https://<cloud sign-in host>/<tenant>/oauth2/v2.0/token` for `<resource>/.default`.
    pub fn client_credentials(c: &ConnectionValues) -> Result<Self, OAuthError> {
        let cloud = c.cloud().map_err(invalid_input)?;
        let tenant = c
            .get(TENANT_ID)
            .ok_or_else(|| OAuthError::invalid(TENANT_ID, "is required"))?;
        if ["common", "organizations", "consumers"]
            .iter()
            .any(|t| t.eq_ignore_ascii_case(tenant))
        {
            return Err(OAuthError::invalid(
                TENANT_ID,
                format!(
                    "must be your tenant's ID or domain name: a service principal cannot sign in on {tenant:?}"
                ),
            ));
        }
        if !tenant
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '.')
        {
            return Err(OAuthError::invalid(
                TENANT_ID,
                format!("must be a tenant ID (a GUID) or a domain name; got {tenant:?}"),
            ));
        }
        let token_url = format!("https://{}/{tenant}/oauth2/v2.0/token", cloud.login_host);
        let mut config = OAuthConfig::new(
            Some(&token_url),
            Some(&token_url),
            Some(&format!("{}/.default", cloud.resource)),
            c.get("client-id").unwrap_or_default(),
            c.raw("client-secret"),
        )?;
        config.resource = cloud.resource;
        Ok(config)
    }

    /// The version of the Authorize URL.
    pub fn authorize_version(&self) -> EndpointVersion {
        version_of(&self.authorize_url)
    }

    /// The version of the Token URL.
    pub fn token_version(&self) -> EndpointVersion {
        version_of(&self.token_url)
    }

    fn client(&self, redirect_uri: Option<&str>) -> Result<MsClient, OAuthError> {
        let mut client = Client::new(ClientId::new(self.client_id.clone()))
            .set_client_secret(ClientSecret::new(self.client_secret.clone()))
            .set_auth_uri(AuthUrl::from_url(self.authorize_url.clone()))
            .set_token_uri(TokenUrl::from_url(self.token_url.clone()))
            // Microsoft documents the client credentials in the form body.
            .set_auth_type(AuthType::RequestBody);
        if let Some(uri) = redirect_uri {
            client = client.set_redirect_uri(redirect_url(uri)?);
        }
        Ok(client)
    }
}

fn redirect_url(uri: &str) -> Result<RedirectUrl, OAuthError> {
    RedirectUrl::new(uri.trim().to_string())
        .map_err(|e| OAuthError::invalid("redirect-uri", format!("is not a URL ({e})")))
}

/// The token answer of either endpoint generation: v1 sends `expires_in` as a string, v2 as
/// a number.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MicrosoftTokenResponse {
    access_token: AccessToken,
    #[serde(deserialize_with = "token_type")]
    token_type: BasicTokenType,
    #[serde(default, deserialize_with = "number_or_string")]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<RefreshToken>,
    #[serde(
        default,
        deserialize_with = "oauth2::helpers::deserialize_space_delimited_vec"
    )]
    scope: Option<Vec<Scope>>,
}

/// `Bearer` in any case. (oauth2's own helper lower-cases with full Unicode tables, which
/// a token type never needs.)
fn token_type<'de, D: Deserializer<'de>>(d: D) -> Result<BasicTokenType, D::Error> {
    let name = String::deserialize(d)?;
    Ok(if name.eq_ignore_ascii_case("bearer") {
        BasicTokenType::Bearer
    } else if name.eq_ignore_ascii_case("mac") {
        BasicTokenType::Mac
    } else {
        BasicTokenType::Extension(name)
    })
}

fn number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumberOrString {
        Number(u64),
        Text(String),
    }
    match Option::<NumberOrString>::deserialize(d)? {
        None => Ok(None),
        Some(NumberOrString::Number(n)) => Ok(Some(n)),
        Some(NumberOrString::Text(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom("expires_in is not a number")),
    }
}

impl oauth2::TokenResponse for MicrosoftTokenResponse {
    type TokenType = BasicTokenType;
    fn access_token(&self) -> &AccessToken {
        &self.access_token
    }
    fn token_type(&self) -> &BasicTokenType {
        &self.token_type
    }
    fn expires_in(&self) -> Option<Duration> {
        self.expires_in.map(Duration::from_secs)
    }
    fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }
    fn scopes(&self) -> Option<&Vec<Scope>> {
        self.scope.as_ref()
    }
}

type MsClient<HasAuth = EndpointSet, HasToken = EndpointSet> = Client<
    BasicErrorResponse,
    MicrosoftTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    HasAuth,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    HasToken,
>;

/// The start of an authorization-code flow.
#[derive(Clone, PartialEq, Eq)]
pub struct Authorization {
    /// Where to send the user's browser.
    pub url: String,
    /// The state value the redirect must bring back.
    pub state: String,
    /// The PKCE verifier to hand to [`exchange_code`]. Secret.
    pub code_verifier: String,
}

impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorization")
            .field("url", &self.url)
            .field("state", &self.state)
            .field("code_verifier", &"[redacted]")
            .finish()
    }
}

/// Tokens from the token endpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSet {
    /// The access token. Secret.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in_seconds: Option<u64>,
    /// A refresh token, when one was issued (it replaces the old one). Secret.
    pub refresh_token: Option<String>,
    /// The scopes granted, space-separated.
    pub scope: Option<String>,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("expires_in_seconds", &self.expires_in_seconds)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("scope", &self.scope)
            .finish()
    }
}

/// `bytes` random bytes as unpadded base64url: 32 bytes give the 43 characters RFC 7636
/// asks of a code verifier, from the platform's secure randomness (wasi:random).
fn random_token(bytes: usize) -> Result<String, OAuthError> {
    use base64::Engine;
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| OAuthError {
        kind: OAuthErrorKind::Service,
        message: format!("no secure randomness for PKCE: {e}"),
        code: None,
        input: None,
    })?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf))
}

/// Builds the authorization URL: PKCE S256, a random state, and `resource` (v1) or `scope`
/// (v2) as the Authorize URL's version understands.
pub fn authorize(config: &OAuthConfig, redirect_uri: &str) -> Result<Authorization, OAuthError> {
    let client = config.client(Some(redirect_uri))?;
    let verifier = PkceCodeVerifier::new(random_token(32)?);
    let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
    let state = CsrfToken::new(random_token(16)?);
    let mut request = client
        .authorize_url(move || state)
        .set_pkce_challenge(challenge);
    match config.authorize_version() {
        EndpointVersion::V1 => request = request.add_extra_param("resource", config.resource),
        EndpointVersion::V2 => {
            request = request.add_scopes(config.scopes.iter().cloned().map(Scope::new));
        }
    }
    let (url, state) = request.url();
    Ok(Authorization {
        url: url.to_string(),
        state: state.secret().clone(),
        code_verifier: verifier.secret().clone(),
    })
}

/// The media type oauth2 asks token endpoints for, and the one it accepts back.
const CONTENT_TYPE_JSON: &str = "application/json";

/// A token request as the `oauth2` crate builds one: a form POST to the Token URL with the
/// client credentials in the body (`AuthType::RequestBody`) between the grant's parameters
/// (`before`) and the extra ones (`after`), as oauth2 orders them. It is written here rather
/// than by oauth2 because oauth2's request path brings the `http` crate,
/// `serde_path_to_error` and the Unicode lower-case tables into the component: 73 KB of it
/// (see docs/performance.md, "Component size").
fn token_request(config: &OAuthConfig, before: &[(&str, &str)], after: &[(&str, &str)]) -> Request {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(before)
        .append_pair("client_id", &config.client_id)
        .append_pair("client_secret", &config.client_secret)
        .extend_pairs(after)
        .finish()
        .into_bytes();
    Request {
        method: Method::Post,
        url: config.token_url.as_str().to_string(),
        headers: vec![
            ("accept".into(), CONTENT_TYPE_JSON.into()),
            (
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
        ],
        body,
    }
}

/// Why a token request failed, before it is worded: the cases of oauth2's
/// `RequestTokenError`.
enum TokenFailure {
    /// The endpoint answered with an OAuth error.
    Refused(BasicErrorResponse),
    /// The endpoint could not be reached.
    Unreachable(String),
    /// The answer is not the JSON expected.
    Unreadable(serde_json::Error),
    /// Any other unusable answer.
    Other(String),
}

/// Sends a token request and reads the answer as oauth2 does: any status but 200 is an
/// OAuth error answer, a 200 must be JSON (when it says what it is) and not empty.
fn request_token(
    transport: &mut dyn Transport,
    request: &Request,
) -> Result<MicrosoftTokenResponse, TokenFailure> {
    let response = transport
        .send(request, Some(TOKEN_TIMEOUT))
        .map_err(|e| TokenFailure::Unreachable(e.message))?;
    let body = response.body.as_slice();
    if response.status != 200 {
        if body.is_empty() {
            return Err(TokenFailure::Other(
                "server returned empty error response".into(),
            ));
        }
        return Err(serde_json::from_slice(body)
            .map_or_else(TokenFailure::Unreadable, TokenFailure::Refused));
    }
    if let Some(content_type) = response.header("content-type") {
        // oauth2 lower-cases the value with full Unicode tables; no character outside ASCII
        // lower-cases into `application/json`, so comparing ASCII only is the same test.
        let json = content_type
            .get(..CONTENT_TYPE_JSON.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(CONTENT_TYPE_JSON));
        if !json {
            return Err(TokenFailure::Other(format!(
                "unexpected response Content-Type: {content_type:?}, should be `{CONTENT_TYPE_JSON}`"
            )));
        }
    }
    if body.is_empty() {
        return Err(TokenFailure::Other(
            "server returned empty response body".into(),
        ));
    }
    serde_json::from_slice(body).map_err(TokenFailure::Unreadable)
}

fn token_set(response: MicrosoftTokenResponse) -> TokenSet {
    TokenSet {
        access_token: response.access_token.secret().clone(),
        token_type: response.token_type.as_ref().to_string(),
        expires_in_seconds: response.expires_in,
        refresh_token: response.refresh_token.map(|t| t.secret().clone()),
        scope: response
            .scope
            .map(|s| s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")),
    }
}

fn token_error(error: TokenFailure) -> OAuthError {
    let (kind, code, message) = match error {
        TokenFailure::Refused(answer) => {
            let code = answer.error().as_ref().to_string();
            let kind = match answer.error() {
                BasicErrorResponseType::InvalidGrant => OAuthErrorKind::AuthorizeAgain,
                BasicErrorResponseType::InvalidClient
                | BasicErrorResponseType::UnauthorizedClient => OAuthErrorKind::InvalidClient,
                _ => OAuthErrorKind::Service,
            };
            // Microsoft's descriptions run on with trace and correlation ids: the first line
            // is the part a person needs.
            let description = answer
                .error_description()
                .map(|d| d.lines().next().unwrap_or_default().trim().to_string())
                .unwrap_or_default();
            let lead = match (aadsts_hint(&description), kind) {
                (Some(hint), _) => hint,
                (None, OAuthErrorKind::AuthorizeAgain) => {
                    "the authorization is no longer valid; the user must authorize again"
                }
                (None, OAuthErrorKind::InvalidClient) => {
                    "the client ID or client secret was refused"
                }
                (None, _) => "the token endpoint refused the request",
            };
            let message = if description.is_empty() {
                format!("{lead} ({code})")
            } else {
                format!("{lead} ({code}: {description})")
            };
            (kind, Some(code), message)
        }
        TokenFailure::Unreachable(e) => (
            OAuthErrorKind::Transport,
            None,
            format!("the token endpoint could not be reached: {e}"),
        ),
        // The parse error's own text may quote the body, which may hold a token: only its
        // location is kept.
        TokenFailure::Unreadable(e) => (
            OAuthErrorKind::Service,
            None,
            format!(
                "the token answer could not be read (at line {}, column {})",
                e.line(),
                e.column()
            ),
        ),
        TokenFailure::Other(e) => (
            OAuthErrorKind::Service,
            None,
            format!("the token endpoint gave an unexpected answer: {e}"),
        ),
    };
    OAuthError {
        kind,
        message,
        code,
        input: None,
    }
}

/// Exchanges an authorization code for tokens, over a transport that adds no bearer token.
pub fn exchange_code(
    config: &OAuthConfig,
    redirect_uri: &str,
    code: &str,
    code_verifier: &str,
    transport: &mut dyn Transport,
) -> Result<TokenSet, OAuthError> {
    if code.trim().is_empty() {
        return Err(OAuthError::invalid("code", "is required"));
    }
    if code_verifier.is_empty() {
        return Err(OAuthError::invalid("code-verifier", "is required"));
    }
    let redirect_uri = redirect_url(redirect_uri)?;
    let scopes = config.scopes.join(" ");
    let extra = match config.token_version() {
        EndpointVersion::V1 => ("resource", config.resource),
        EndpointVersion::V2 => ("scope", scopes.as_str()),
    };
    let request = token_request(
        config,
        &[
            ("grant_type", "authorization_code"),
            ("code", code.trim()),
            ("code_verifier", code_verifier),
        ],
        &[("redirect_uri", redirect_uri.as_str()), extra],
    );
    request_token(transport, &request)
        .map(token_set)
        // The trimmed code is what was sent, so that is what an answer may echo.
        .map_err(|e| {
            token_error(e).redact(&[&config.client_secret, code, code.trim(), code_verifier])
        })
}

/// Trades a refresh token for new tokens, over a transport that adds no bearer token.
pub fn refresh(
    config: &OAuthConfig,
    refresh_token: &str,
    transport: &mut dyn Transport,
) -> Result<TokenSet, OAuthError> {
    if refresh_token.trim().is_empty() {
        return Err(OAuthError::invalid("refresh-token", "is required"));
    }
    let scopes = config.scopes.join(" ");
    let mut before = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.trim()),
    ];
    let mut after = vec![];
    match config.token_version() {
        EndpointVersion::V1 => after.push(("resource", config.resource)),
        // oauth2 sends the scopes with the grant's parameters, and none when there are none.
        EndpointVersion::V2 if !scopes.is_empty() => before.push(("scope", &scopes)),
        EndpointVersion::V2 => {}
    }
    request_token(transport, &token_request(config, &before, &after))
        .map(token_set)
        .map_err(|e| {
            token_error(e).redact(&[&config.client_secret, refresh_token, refresh_token.trim()])
        })
}

/// Requests a token with the client credentials grant (a service principal), over a
/// transport that adds no bearer token. No refresh token comes back.
pub fn request_client_token(
    config: &OAuthConfig,
    transport: &mut dyn Transport,
) -> Result<TokenSet, OAuthError> {
    let scopes = config.scopes.join(" ");
    let request = token_request(
        config,
        &[("grant_type", "client_credentials")],
        &[("scope", &scopes)],
    );
    request_token(transport, &request)
        .map(token_set)
        .map_err(|e| token_error(e).redact(&[&config.client_secret]))
}

/// A connection value's error as an OAuth input error.
fn invalid_input(e: crate::error::ActionError) -> OAuthError {
    OAuthError {
        kind: OAuthErrorKind::InvalidInput,
        message: e.message,
        code: None,
        input: e.input,
    }
}

/// What to do about the identity platform's errors a service principal meets most, by their
/// `AADSTS` number (Microsoft's "Microsoft Entra authentication and authorization error
/// codes").
fn aadsts_hint(description: &str) -> Option<&'static str> {
    let number = description
        .strip_prefix("AADSTS")?
        .split(|c: char| !c.is_ascii_digit())
        .next()?;
    Some(match number {
        "7000215" => {
            "the client secret is wrong: use the secret's Value from Certificates & secrets, not its Secret ID"
        }
        "7000222" => "the client secret has expired: create a new one for the app",
        "90002" => "the tenant was not found: check the Tenant ID",
        "700016" => {
            "the application was not found in the tenant: check the Client ID and the Tenant ID"
        }
        "7000229" | "65001" => {
            "the app is not enabled in this tenant: an administrator must consent to it (or create its service principal)"
        }
        "70011" | "1002012" => {
            "the scope was refused: a service principal asks for the resource's /.default scope"
        }
        "50059" | "90014" => "the request named no usable tenant: check the Tenant ID",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::scripted::Scripted;

    /// The Tenant ID's declared pattern takes exactly what the client credentials grant
    /// takes (a form that checks it refuses nothing the component would send).
    #[test]
    fn the_tenant_pattern_is_the_check() {
        use crate::definition::{SERVICE_PRINCIPAL, TENANT_ID_PATTERN, TENANT_ID_RULE};
        assert_eq!(
            SERVICE_PRINCIPAL
                .inputs
                .iter()
                .find(|i| i.key == TENANT_ID)
                .and_then(|i| i.rule),
            Some(&TENANT_ID_RULE)
        );
        let schema = serde_json::json!({"type": "string", "pattern": TENANT_ID_PATTERN});
        let pattern = jsonschema::draft7::new(&schema).expect("an ECMA-262 pattern");
        let mut refused = 0;
        for tenant in [
            "f089354e-8366-4e18-aea3-4cb4a3a50b48",
            " contoso.onmicrosoft.com ",
            "Contoso-2.example",
            "common2",
            "mycommon",
            "common",
            " Organizations ",
            "CONSUMERS",
            "contoso/oauth2",
            "contoso onmicrosoft.com",
            "été.example",
            "a_b",
            "?",
        ] {
            let pairs = [
                (TENANT_ID.to_string(), tenant.to_string()),
                ("client-id".to_string(), "c".to_string()),
                ("client-secret".to_string(), "s".to_string()),
            ];
            let values = ConnectionValues::new("service-principal", &pairs, "").unwrap();
            let checked = OAuthConfig::client_credentials(&values);
            if let Err(e) = &checked {
                assert_eq!(e.input.as_deref(), Some(TENANT_ID), "{tenant:?}: {e:?}");
                refused += 1;
            }
            assert_eq!(
                pattern.is_valid(&serde_json::json!(tenant)),
                checked.is_ok(),
                "{tenant:?}"
            );
        }
        assert_eq!(refused, 8);
    }

    #[test]
    fn aadsts_numbers_are_explained() {
        for (description, hint) in [
            (
                "AADSTS7000215: Invalid client secret provided.",
                "not its Secret ID",
            ),
            ("AADSTS90002: Tenant 'x' not found.", "tenant was not found"),
            (
                "AADSTS700016: Application with identifier",
                "application was not found",
            ),
            (
                "AADSTS7000229: The client application is missing",
                "administrator must consent",
            ),
            (
                "AADSTS1002012: The provided value for scope",
                "/.default scope",
            ),
        ] {
            let got = aadsts_hint(description).unwrap_or_default();
            assert!(got.contains(hint), "{description}: {got}");
        }
        assert_eq!(aadsts_hint("AADSTS1: other"), None);
        assert_eq!(aadsts_hint("no number"), None);
    }
    use crate::http::Response;

    const SECRET: &str = "s3cret-value";

    fn config(authorize: Option<&str>, token: Option<&str>) -> OAuthConfig {
        OAuthConfig::new(authorize, token, None, "client-1", SECRET).unwrap()
    }

    fn form(request: &Request) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect()
    }

    #[test]
    fn defaults_pair_v1_authorize_with_v2_token() {
        let c = config(None, None);
        assert_eq!(c.authorize_version(), EndpointVersion::V1);
        assert_eq!(c.token_version(), EndpointVersion::V2);
        let a = authorize(&c, "http://localhost:8400/callback").unwrap();
        let url = url::Url::parse(&a.url).unwrap();
        assert!(
            a.url
                .starts_with("https://login.microsoftonline.com/common/oauth2/authorize?"),
            "{}",
            a.url
        );
        let q: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("resource"), Some(POWER_BI_RESOURCE));
        assert_eq!(get("scope"), None, "v1 is not sent scope");
        assert_eq!(get("code_challenge_method"), Some("S256"));
        assert_eq!(get("state"), Some(a.state.as_str()));
        assert_eq!(get("client_id"), Some("client-1"));
        assert!(!a.url.contains(SECRET));
        assert!(!a.url.contains(&a.code_verifier));
        assert_eq!(a.code_verifier.len(), 43, "RFC 7636 length");
        let expected = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            a.code_verifier.clone(),
        ));
        assert_eq!(get("code_challenge"), Some(expected.as_str()));
        let again = authorize(&c, "http://localhost:8400/callback").unwrap();
        assert_ne!(
            again.code_verifier, a.code_verifier,
            "a fresh verifier each time"
        );
        assert_ne!(again.state, a.state);
        assert_eq!(a.code_verifier.len(), 43, "RFC 7636 length");
        let challenge = get("code_challenge").unwrap();
        let expected = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            a.code_verifier.clone(),
        ));
        assert_eq!(challenge, expected.as_str());
        let again = authorize(&c, "http://localhost:8400/callback").unwrap();
        assert_ne!(
            again.code_verifier, a.code_verifier,
            "a fresh verifier each time"
        );
        assert_ne!(again.state, a.state);
    }

    #[test]
    fn v2_authorize_sends_scope_not_resource() {
        let c = config(
            Some("https://login.microsoftonline.com/t/oauth2/v2.0/authorize"),
            Some("https://login.microsoftonline.com/t/oauth2/v2.0/token"),
        );
        let a = authorize(&c, "http://localhost/cb").unwrap();
        assert!(a.url.contains("scope=https%3A%2F%2Fanalysis.windows.net%2Fpowerbi%2Fapi%2FDataset.ReadWrite.All+offline_access"), "{}", a.url);
        assert!(!a.url.contains("resource="));
    }

    #[test]
    fn exchange_v2_with_numeric_expiry() {
        let c = config(None, None);
        let mut t = Scripted::new([Scripted::answer(
            200,
            r#"{"token_type":"Bearer","access_token":"at-1","expires_in":3599,"refresh_token":"rt-1","scope":"a b"}"#,
        )]);
        let tokens =
            exchange_code(&c, "http://localhost/cb", "code-1", "verifier-1", &mut t).unwrap();
        assert_eq!(tokens.access_token, "at-1");
        assert_eq!(tokens.expires_in_seconds, Some(3599));
        assert_eq!(tokens.refresh_token.as_deref(), Some("rt-1"));
        assert_eq!(tokens.scope.as_deref(), Some("a b"));
        let sent = &t.sent[0].0;
        assert_eq!(
            sent.url,
            "https://login.microsoftonline.com/common/oauth2/v2.0/token"
        );
        let f = form(sent);
        let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("grant_type"), Some("authorization_code"));
        assert_eq!(get("code_verifier"), Some("verifier-1"));
        assert_eq!(get("client_secret"), Some(SECRET));
        assert_eq!(get("resource"), None, "v2 rejects resource");
        assert!(get("scope").unwrap().contains("offline_access"));
        assert!(
            !format!("{tokens:?}").contains("at-1"),
            "Debug hides tokens"
        );
    }

    #[test]
    fn refresh_v1_with_string_expiry_and_no_refresh_token() {
        let c = config(
            None,
            Some("https://login.microsoftonline.com/common/oauth2/token"),
        );
        let mut t = Scripted::new([Scripted::answer(
            200,
            r#"{"token_type":"Bearer","access_token":"at-2","expires_in":"3600","expires_on":"1700000000","resource":"x"}"#,
        )]);
        let tokens = refresh(&c, "rt-old", &mut t).unwrap();
        assert_eq!(tokens.expires_in_seconds, Some(3600));
        assert_eq!(tokens.refresh_token, None);
        let f = form(&t.sent[0].0);
        assert!(f.contains(&("resource".into(), POWER_BI_RESOURCE.into())));
        assert!(f.contains(&("grant_type".into(), "refresh_token".into())));
        assert!(!f.iter().any(|(k, _)| k == "scope"));
    }

    #[test]
    fn echoed_trimmed_values_are_redacted() {
        let c = config(None, None);
        let body = r#"{"error":"invalid_grant","error_description":"AADSTS70000: token rt-spaced-token or code code-spaced-value is bad"}"#;
        let mut t = Scripted::new([Scripted::answer(400, body)]);
        let e = refresh(&c, "  rt-spaced-token\n", &mut t).unwrap_err();
        assert!(!e.message.contains("rt-spaced-token"), "{}", e.message);
        let mut t = Scripted::new([Scripted::answer(400, body)]);
        let e = exchange_code(
            &c,
            "http://localhost/cb",
            " code-spaced-value ",
            "v",
            &mut t,
        )
        .unwrap_err();
        assert!(!e.message.contains("code-spaced-value"), "{}", e.message);
    }

    #[test]
    fn token_errors_are_mapped_and_carry_no_secret() {
        let c = config(None, None);
        let body = r#"{"error":"invalid_grant","error_description":"AADSTS70000: The refresh token rt-old was revoked.\r\nTrace ID: 1","error_codes":[70000]}"#;
        let mut t = Scripted::new([Scripted::answer(400, body)]);
        let e = refresh(&c, "rt-old", &mut t).unwrap_err();
        assert_eq!(e.kind, OAuthErrorKind::AuthorizeAgain);
        assert_eq!(e.code.as_deref(), Some("invalid_grant"));
        assert!(e.message.contains("AADSTS70000"), "{}", e.message);
        assert!(!e.message.contains("rt-old"), "{}", e.message);
        assert!(!e.message.contains("Trace ID"));
        let mut t = Scripted::new([Scripted::answer(
            401,
            &format!(
                r#"{{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret {SECRET}"}}"#
            ),
        )]);
        let e = exchange_code(&c, "http://localhost/cb", "code", "v", &mut t).unwrap_err();
        assert_eq!(e.kind, OAuthErrorKind::InvalidClient);
        assert!(!e.message.contains(SECRET), "{}", e.message);
        let mut t = Scripted::new([Scripted::answer(
            200,
            r#"{"access_token":"at-secret","token_type":7}"#,
        )]);
        let e = refresh(&c, "rt", &mut t).unwrap_err();
        assert!(!e.message.contains("at-secret"), "{}", e.message);
    }

    /// The token requests are those the `oauth2` crate built (captured from its request
    /// path before the component built them itself): same headers, parameters and order.
    #[test]
    fn token_requests_are_those_oauth2_built() {
        let v2 = "https://login.microsoftonline.com/common/oauth2/v2.0/token";
        let v1 = "https://login.microsoftonline.com/common/oauth2/token";
        let secret = "client_id=client-1&client_secret=s3cret%26%3D%2B+%C3%A9";
        let redirect = "redirect_uri=http%3A%2F%2Flocalhost%3A8400%2Fcb%3Fx%3D1";
        let resource = "resource=https%3A%2F%2Fanalysis.windows.net%2Fpowerbi%2Fapi";
        let code = "grant_type=authorization_code&code=co+de&code_verifier=ver+ifier";
        let refreshing = "grant_type=refresh_token&refresh_token=rt%2F%2B%3D";
        let scope = "scope=x+y+offline_access";
        for (token_url, expected) in [
            (
                v2,
                [
                    format!("{code}&{secret}&{redirect}&{scope}"),
                    format!("{refreshing}&{scope}&{secret}"),
                ],
            ),
            (
                v1,
                [
                    format!("{code}&{secret}&{redirect}&{resource}"),
                    format!("{refreshing}&{secret}&{resource}"),
                ],
            ),
        ] {
            let c = OAuthConfig::new(
                None,
                Some(token_url),
                Some("x y  offline_access"),
                " client-1 ",
                "s3cret&=+ é",
            )
            .unwrap();
            let ok = r#"{"token_type":"Bearer","access_token":"a"}"#;
            let mut t = Scripted::new([Scripted::answer(200, ok), Scripted::answer(200, ok)]);
            let redirect_uri = " http://localhost:8400/cb?x=1 ";
            exchange_code(&c, redirect_uri, " co de ", "ver ifier", &mut t).unwrap();
            refresh(&c, " rt/+= ", &mut t).unwrap();
            for ((request, timeout), body) in t.sent.iter().zip(expected) {
                assert_eq!(request.method, Method::Post);
                assert_eq!(request.url, token_url);
                assert_eq!(
                    request.headers,
                    [
                        ("accept".into(), "application/json".into()),
                        (
                            "content-type".into(),
                            "application/x-www-form-urlencoded".into()
                        ),
                    ]
                );
                assert_eq!(*timeout, Some(TOKEN_TIMEOUT));
                assert_eq!(String::from_utf8_lossy(&request.body), body);
            }
        }
    }

    /// Answers oauth2 refused are refused the same way, with its words.
    #[test]
    fn unusable_token_answers() {
        let c = config(None, None);
        let answer = |status: u16, content_type: &str, body: &str| {
            let mut t = Scripted::new([Ok(Response {
                status,
                headers: vec![("content-type".into(), content_type.into())],
                body: body.as_bytes().to_vec(),
            })]);
            refresh(&c, "rt", &mut t).unwrap_err()
        };
        let e = answer(400, "application/json", "");
        assert_eq!(e.kind, OAuthErrorKind::Service);
        assert!(
            e.message.ends_with("server returned empty error response"),
            "{}",
            e.message
        );
        let e = answer(200, "text/html", "{}");
        assert!(
            e.message.ends_with(
                "unexpected response Content-Type: \"text/html\", should be `application/json`"
            ),
            "{}",
            e.message
        );
        let e = answer(200, "Application/JSON; charset=utf-8", "");
        assert!(
            e.message.ends_with("server returned empty response body"),
            "{}",
            e.message
        );
        let e = answer(200, "application/json", r#"{"access_token":"at-secret"}"#);
        assert_eq!(
            e.message,
            "the token answer could not be read (at line 1, column 28)"
        );
        let e = answer(201, "application/json", "not json at-secret");
        assert_eq!(e.kind, OAuthErrorKind::Service);
        assert!(!e.message.contains("at-secret"), "{}", e.message);
    }

    #[test]
    fn bad_configuration_names_the_input() {
        let e = OAuthConfig::new(Some("ftp://x"), None, None, "c", "s").unwrap_err();
        assert_eq!(e.input.as_deref(), Some("authorize-url"));
        let e =
            OAuthConfig::new(None, Some("http://evil.example/token"), None, "c", "s").unwrap_err();
        assert_eq!(e.input.as_deref(), Some("token-url"));
        let e = OAuthConfig::new(None, None, None, " ", "s").unwrap_err();
        assert_eq!(e.input.as_deref(), Some("client-id"));
        let e = authorize(&config(None, None), "not a url").unwrap_err();
        assert_eq!(e.input.as_deref(), Some("redirect-uri"));
        assert!(
            OAuthConfig::new(
                None,
                Some("http://127.0.0.1:9/t/oauth2/v2.0/token"),
                None,
                "c",
                "s"
            )
            .is_ok()
        );
    }
}
