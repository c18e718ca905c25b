//! What the login endpoints remember: registered clients, authorization codes and refresh
//! tokens, and the lifetimes they hand out.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::ServiceConfig;
use crate::pkce;
use crate::record::TokenRequest;

/// The resource URI of the Power BI REST API (v1 `resource`, prefix of v2 scopes).
pub(crate) const POWER_BI_RESOURCE: &str = "https://analysis.windows.net/powerbi/api";
/// The application id of the Power BI service, which Microsoft accepts in place of its URI.
const POWER_BI_APP_ID: &str = "00000009-0000-0000-c000-000000000000";
/// The resource Microsoft assumes for scopes that name none (`User.Read`, `openid`).
pub(crate) const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";

/// An application registered with the emulated directory.
///
/// A client with an empty `client_secret` is a *public* client (a desktop or mobile app):
/// it authenticates with PKCE only and must not send a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthClient {
    /// The application (client) id.
    pub client_id: String,
    /// The client secret; empty for a public client.
    pub client_secret: String,
    /// The registered redirect URIs. `http://localhost` and `http://127.0.0.1` URIs match
    /// a requested URI with any port (Microsoft's loopback rule); others must match exactly.
    pub redirect_uris: Vec<String>,
}

impl OAuthClient {
    /// A client with these credentials and redirect URIs.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        redirect_uris: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            redirect_uris: redirect_uris.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether `uri` is one of the registered redirect URIs.
    pub(crate) fn allows_redirect(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| redirect_matches(r, uri))
    }
}

// Hand-written so that printing a configuration never shows a secret.
impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = if self.client_secret.is_empty() {
            ""
        } else {
            "[redacted]"
        };
        f.debug_struct("OAuthClient")
            .field("client_id", &self.client_id)
            .field("client_secret", &secret)
            .field("redirect_uris", &self.redirect_uris)
            .finish()
    }
}

/// A service principal: an application that signs in as itself with the OAuth 2.0 client
/// credentials grant (`grant_type=client_credentials`), with no user.
///
/// Power BI calls made with its tokens have no My workspace. `consented: false` emulates an
/// application registered elsewhere that has no service principal in the emulated tenant
/// (no admin consent): its token requests fail with AADSTS7000229 once its secret is
/// checked.
#[derive(Clone, PartialEq, Eq)]
pub struct ServicePrincipal {
    /// The application (client) id.
    pub client_id: String,
    /// The client secret (its value, not its id).
    pub client_secret: String,
    /// The application's display name. The emulator shows it nowhere (Microsoft's token
    /// errors name the application by id); it is kept for tests and tools.
    pub display_name: String,
    /// Whether the application has a service principal in the emulated tenant (admin
    /// consent given); default `true`.
    pub consented: bool,
}

impl ServicePrincipal {
    /// A consented service principal with these credentials.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        display_name: impl Into<String>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            display_name: display_name.into(),
            consented: true,
        }
    }

    /// The same principal with `consented` set.
    #[must_use]
    pub fn with_consent(mut self, consented: bool) -> Self {
        self.consented = consented;
        self
    }
}

// Hand-written so that printing a configuration never shows a secret.
impl std::fmt::Debug for ServicePrincipal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServicePrincipal")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("display_name", &self.display_name)
            .field("consented", &self.consented)
            .finish()
    }
}

/// Whether a requested redirect URI matches a registered one: exactly, or by the loopback
/// rule (same host and path, any port; an empty path equals `/`).
fn redirect_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    match (loopback_parts(registered), loopback_parts(requested)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// `(host, rest)` of an `http://localhost[:port]...` or `http://127.0.0.1[:port]...` URI, the
/// host lower-cased and the port dropped; `None` for any other URI.
fn loopback_parts(uri: &str) -> Option<(String, String)> {
    let scheme = uri.get(..7)?;
    if !scheme.eq_ignore_ascii_case("http://") {
        return None;
    }
    let after = &uri[7..];
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        Some(_) => return None,
        None => authority,
    };
    let host = host.to_ascii_lowercase();
    // Userinfo (`user@localhost`) and every other host fall outside the rule.
    if host != "localhost" && host != "127.0.0.1" {
        return None;
    }
    let rest = if rest.is_empty() { "/" } else { rest };
    Some((host, rest.to_owned()))
}

/// Which generation of Microsoft's endpoints served a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    /// `/oauth2/authorize`, `/oauth2/token`: `resource`, no `scope`.
    V1,
    /// `/oauth2/v2.0/authorize`, `/oauth2/v2.0/token`: `scope`, no `resource`.
    V2,
}

/// What a user consented to for a client.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub client_id: String,
    /// v2 scopes, as requested (may hold `offline_access`, `openid`, ...).
    pub scopes: Vec<String>,
    /// The v1 resource, or the resource a v1 token was last issued for.
    pub resource: Option<String>,
    /// Whether refresh tokens may be issued: v1 always; v2 when `offline_access` was asked.
    pub offline: bool,
}

/// An issued authorization code.
#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub grant: Grant,
    /// The `redirect_uri` the authorize request named; `None` when it named none and the
    /// client's only registered URI was used.
    pub redirect_uri: Option<String>,
    pub challenge: Option<(String, pkce::Method)>,
    pub expires_at: Instant,
    pub redeemed: bool,
}

/// An issued refresh token.
#[derive(Debug, Clone)]
pub(crate) struct RefreshToken {
    pub grant: Grant,
    pub expires_at: Instant,
    pub revoked: bool,
}

/// Why a presented code or refresh token cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejected {
    /// Never issued, or issued to another client.
    Unknown,
    /// A code already exchanged.
    Redeemed,
    /// Past its lifetime.
    Expired,
    /// Revoked by hand or by rotation.
    Revoked,
}

/// The login endpoints' state, behind its own lock.
#[derive(Debug)]
pub(crate) struct Login {
    pub clients: Vec<OAuthClient>,
    pub service_principals: Vec<ServicePrincipal>,
    /// The emulated directory's tenant id (a GUID) and its domain name.
    pub tenant_id: String,
    pub tenant_domain: String,
    /// The token requests received, oldest first, at most `max_token_requests`.
    pub token_requests: std::collections::VecDeque<TokenRequest>,
    pub max_token_requests: usize,
    pub access_token_lifetime: Duration,
    pub code_lifetime: Duration,
    pub refresh_token_lifetime: Duration,
    pub revoke_rotated: bool,
    codes: HashMap<String, AuthCode>,
    refresh_tokens: HashMap<String, RefreshToken>,
}

/// Codes are kept this long past their expiry, so that a late reuse is still reported as
/// redeemed or expired rather than unknown; after that they are forgotten.
const CODE_GRACE: Duration = Duration::from_secs(3600);

impl Login {
    pub fn new(config: &ServiceConfig) -> Self {
        Self {
            clients: config.oauth_clients.clone(),
            service_principals: config.service_principals.clone(),
            tenant_id: config.tenant_id.clone(),
            tenant_domain: config.tenant_domain.clone(),
            token_requests: std::collections::VecDeque::new(),
            max_token_requests: config.max_recorded_requests,
            access_token_lifetime: config.access_token_lifetime,
            code_lifetime: config.code_lifetime,
            refresh_token_lifetime: config.refresh_token_lifetime,
            revoke_rotated: config.revoke_rotated_refresh_tokens,
            codes: HashMap::new(),
            refresh_tokens: HashMap::new(),
        }
    }

    pub fn client(&self, client_id: &str) -> Option<&OAuthClient> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    /// Adds a client, replacing one with the same id.
    pub fn register(&mut self, client: OAuthClient) {
        self.clients.retain(|c| c.client_id != client.client_id);
        self.clients.push(client);
    }

    pub fn service_principal(&self, client_id: &str) -> Option<&ServicePrincipal> {
        self.service_principals
            .iter()
            .find(|p| p.client_id == client_id)
    }

    /// Adds a service principal, replacing one with the same client id.
    pub fn register_service_principal(&mut self, principal: ServicePrincipal) {
        self.service_principals
            .retain(|p| p.client_id != principal.client_id);
        self.service_principals.push(principal);
    }

    /// Whether `tenant` names the emulated directory: its id (any case) or its domain
    /// (any case, as DNS names compare).
    pub fn is_own_tenant(&self, tenant: &str) -> bool {
        tenant.eq_ignore_ascii_case(&self.tenant_id)
            || tenant.eq_ignore_ascii_case(&self.tenant_domain)
    }

    /// Logs a token request, dropping the oldest beyond the maximum.
    pub fn record_token_request(&mut self, request: TokenRequest) {
        if self.max_token_requests == 0 {
            return;
        }
        while self.token_requests.len() >= self.max_token_requests {
            self.token_requests.pop_front();
        }
        self.token_requests.push_back(request);
    }

    /// Stores a new authorization code and returns it.
    pub fn issue_code(
        &mut self,
        grant: Grant,
        redirect_uri: Option<String>,
        challenge: Option<(String, pkce::Method)>,
    ) -> String {
        let now = Instant::now();
        self.codes.retain(|_, c| {
            c.expires_at
                .checked_add(CODE_GRACE)
                .is_none_or(|end| end > now)
        });
        let code = secret("pbi-code-");
        self.codes.insert(
            code.clone(),
            AuthCode {
                grant,
                redirect_uri,
                challenge,
                expires_at: later(now, self.code_lifetime),
                redeemed: false,
            },
        );
        code
    }

    /// The code a client presents, if it may still be redeemed. Does not consume it.
    pub fn code(&self, code: &str, client_id: &str) -> Result<&AuthCode, Rejected> {
        let c = self
            .codes
            .get(code)
            .filter(|c| c.grant.client_id == client_id)
            .ok_or(Rejected::Unknown)?;
        if c.redeemed {
            Err(Rejected::Redeemed)
        } else if Instant::now() >= c.expires_at {
            Err(Rejected::Expired)
        } else {
            Ok(c)
        }
    }

    /// Marks a code as used: codes are single-use.
    pub fn redeem(&mut self, code: &str) {
        if let Some(c) = self.codes.get_mut(code) {
            c.redeemed = true;
        }
    }

    /// Stores a new refresh token for `grant` and returns it.
    pub fn issue_refresh_token(&mut self, grant: Grant) -> String {
        let now = Instant::now();
        // Expired tokens can never be used again; forgetting them bounds the map.
        self.refresh_tokens.retain(|_, t| t.expires_at > now);
        let token = secret("pbi-rt-");
        self.refresh_tokens.insert(
            token.clone(),
            RefreshToken {
                grant,
                expires_at: later(now, self.refresh_token_lifetime),
                revoked: false,
            },
        );
        token
    }

    /// The refresh token a client presents, if it is still usable.
    pub fn refresh_token(&self, token: &str, client_id: &str) -> Result<&RefreshToken, Rejected> {
        let t = self
            .refresh_tokens
            .get(token)
            .filter(|t| t.grant.client_id == client_id)
            .ok_or(Rejected::Unknown)?;
        if t.revoked {
            Err(Rejected::Revoked)
        } else if Instant::now() >= t.expires_at {
            Err(Rejected::Expired)
        } else {
            Ok(t)
        }
    }

    /// Revokes one refresh token; returns whether it was known.
    pub fn revoke_refresh_token(&mut self, token: &str) -> bool {
        match self.refresh_tokens.get_mut(token) {
            Some(t) => {
                t.revoked = true;
                true
            }
            None => false,
        }
    }

    /// Revokes every refresh token issued so far.
    pub fn revoke_all_refresh_tokens(&mut self) {
        for t in self.refresh_tokens.values_mut() {
            t.revoked = true;
        }
    }
}

/// `now + lifetime`, or far in the future when that overflows `Instant`.
fn later(now: Instant, lifetime: Duration) -> Instant {
    now.checked_add(lifetime)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(now)
}

/// A random credential: the prefix makes leaks easy to spot, 244 random bits follow.
fn secret(prefix: &str) -> String {
    format!(
        "{prefix}{}{}",
        Uuid::new_v4().simple(),
        Uuid::new_v4().simple()
    )
}

/// Whether a resource names the Power BI API (its URI, with or without a trailing slash and
/// in any case, or its application id).
pub(crate) fn is_power_bi(resource: &str) -> bool {
    let r = resource.trim_end_matches('/');
    r.eq_ignore_ascii_case(POWER_BI_RESOURCE) || r.eq_ignore_ascii_case(POWER_BI_APP_ID)
}

/// The OpenID Connect scopes, which name no resource.
pub(crate) fn is_oidc_scope(scope: &str) -> bool {
    ["openid", "profile", "email", "offline_access"]
        .iter()
        .any(|s| scope.eq_ignore_ascii_case(s))
}

/// The resource a v2 token for `scopes` is issued for: that of the first scope naming one
/// (`https://host/path/Permission` → `https://host/path`; `{app id}/Permission` → the app
/// id); a bare permission such as `User.Read` means Microsoft Graph. `None` when only
/// OpenID Connect scopes were asked.
pub(crate) fn resource_of_scopes(scopes: &[String]) -> Option<String> {
    scopes
        .iter()
        .filter(|s| !is_oidc_scope(s))
        .map(|s| match s.rsplit_once('/') {
            Some((resource, _)) if s.contains("://") || Uuid::parse_str(resource).is_ok() => {
                resource.to_owned()
            }
            _ => GRAPH_RESOURCE.to_owned(),
        })
        .next()
}

/// Whether `offline_access` is among `scopes`.
pub(crate) fn has_offline_access(scopes: &[String]) -> bool {
    scopes
        .iter()
        .any(|s| s.eq_ignore_ascii_case("offline_access"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn loopback_rule() {
        assert!(redirect_matches(
            "http://localhost",
            "http://localhost:5173"
        ));
        assert!(redirect_matches("http://localhost", "http://localhost/"));
        assert!(redirect_matches(
            "http://localhost:1/cb",
            "http://LOCALHOST:2/cb"
        ));
        assert!(redirect_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:9/cb"
        ));
        assert!(!redirect_matches(
            "http://localhost/cb",
            "http://localhost:9/other"
        ));
        assert!(!redirect_matches("http://localhost", "http://127.0.0.1:9"));
        assert!(!redirect_matches("http://localhost", "https://localhost:9"));
        assert!(!redirect_matches(
            "http://localhost",
            "http://evil@localhost:9"
        ));
        assert!(!redirect_matches(
            "http://localhost",
            "http://localhost.evil.com"
        ));
        assert!(!redirect_matches("http://localhost", "http://localhost:x"));
        assert!(redirect_matches("https://app/cb", "https://app/cb"));
        assert!(!redirect_matches("https://app/cb", "https://app/cb/"));
        assert!(!redirect_matches("https://app:1/cb", "https://app:2/cb"));
    }

    #[test]
    fn resources_of_scopes() {
        let pbi = "https://analysis.windows.net/powerbi/api";
        assert_eq!(
            resource_of_scopes(&strings(&[
                "offline_access",
                "https://analysis.windows.net/powerbi/api/Dataset.ReadWrite.All",
                "User.Read"
            ]))
            .as_deref(),
            Some(pbi)
        );
        assert_eq!(
            resource_of_scopes(&strings(&["User.Read"])).as_deref(),
            Some(GRAPH_RESOURCE)
        );
        assert_eq!(
            resource_of_scopes(&strings(&["00000009-0000-0000-c000-000000000000/.default"]))
                .as_deref(),
            Some(POWER_BI_APP_ID)
        );
        assert_eq!(resource_of_scopes(&strings(&["openid", "profile"])), None);
        assert!(is_power_bi("https://analysis.windows.net/powerbi/api/"));
        assert!(is_power_bi(POWER_BI_APP_ID));
        assert!(!is_power_bi(GRAPH_RESOURCE));
        assert!(has_offline_access(&strings(&["a", "OFFLINE_ACCESS"])));
    }

    #[test]
    fn codes_and_refresh_tokens() {
        let mut login = Login::new(&ServiceConfig::default());
        let grant = Grant {
            client_id: "c".to_owned(),
            scopes: Vec::new(),
            resource: None,
            offline: true,
        };
        let code = login.issue_code(grant.clone(), None, None);
        assert!(login.code(&code, "c").is_ok());
        assert_eq!(login.code(&code, "other").err(), Some(Rejected::Unknown));
        login.redeem(&code);
        assert_eq!(login.code(&code, "c").err(), Some(Rejected::Redeemed));

        login.code_lifetime = Duration::ZERO;
        let expired = login.issue_code(grant.clone(), None, None);
        assert_eq!(login.code(&expired, "c").err(), Some(Rejected::Expired));

        let rt = login.issue_refresh_token(grant.clone());
        assert!(login.refresh_token(&rt, "c").is_ok());
        assert!(login.revoke_refresh_token(&rt));
        assert_eq!(login.refresh_token(&rt, "c").err(), Some(Rejected::Revoked));
        assert!(!login.revoke_refresh_token("nope"));
        let rt2 = login.issue_refresh_token(grant);
        login.revoke_all_refresh_tokens();
        assert_eq!(
            login.refresh_token(&rt2, "c").err(),
            Some(Rejected::Revoked)
        );
        let config = format!("{:?}", ServiceConfig::default());
        assert!(config.contains("[redacted]"));
        assert!(!config.contains("pbi-local-secret"), "{config}");
        assert!(!config.contains("pbi-local-sp-secret"), "{config}");
        assert!(config.contains("pbi-local-sp"), "{config}");
    }
}
