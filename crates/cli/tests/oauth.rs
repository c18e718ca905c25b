//! OAuth through the bundled component against the local service's login endpoints: sign-in,
//! code exchange and refresh, the token file, the session's refresh-and-retry, `pbi login`
//! and `pbi run --token-file`, and a scan of everything captured for secrets.
//!
//! The login host and the API host are both redirected to the service. The tests play the
//! browser themselves: they GET the authorization URL, read the 302's `Location` and, for
//! the CLI, follow it to the CLI's own listener.

#[path = "../../host/tests/support/mod.rs"]
mod support;

use anyhow::{Context, Result, anyhow, bail, ensure};
use pbi_host::{
    Authorization, Connector, HostConfig, OAuthErrorKind, Session, SessionError, TokenFile,
    TokenSet, unix_now,
};
use pbi_service::{OAuthClient, ServiceConfig, ServiceHandle};
use serde_json::{Value, json};
use std::fmt::Debug;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};
use support::{TempDir, http_get};
use url::Url;

const CLIENT_ID: &str = "pbi-oauth-test-client";
const CLIENT_SECRET: &str = "pbi-oauth-test-secret-7f3a9c";
/// The redirect URI of the library tests: nothing listens there, the tests read the code
/// from the 302 themselves.
const REDIRECT_URI: &str = "http://localhost:53682/callback";
const LOGIN_HOST: &str = "login.microsoftonline.com";
const API_HOST: &str = "api.powerbi.com";

/// The service with one confidential client whose redirect URI is the CLI's (loopback URIs
/// match any port).
fn service(config: ServiceConfig) -> Result<ServiceHandle> {
    ServiceHandle::spawn(ServiceConfig {
        oauth_clients: vec![OAuthClient::new(
            CLIENT_ID,
            CLIENT_SECRET,
            ["http://localhost/callback"],
        )],
        ..config
    })
}

/// The bundled component with the login and API hosts sent to `service`, nothing else
/// allowed.
fn connector(service: &ServiceHandle) -> Result<Connector> {
    let config = HostConfig {
        allow_hosts: Some(Vec::new()),
        ..HostConfig::default()
    }
    .redirect(LOGIN_HOST, Url::parse(&service.login_base_url())?)
    .redirect(API_HOST, Url::parse(&service.base_url())?);
    Ok(Connector::load(pbi_component::connector_wasm(), config)?)
}

/// The connection with the component's default endpoints (v1 authorize, v2 token).
fn default_connection() -> Value {
    json!({"client-id": CLIENT_ID, "client-secret": CLIENT_SECRET})
}

/// The connection with the matched v2 pair.
fn v2_connection() -> Value {
    json!({
        "authorize-url": format!("https://{LOGIN_HOST}/common/oauth2/v2.0/authorize"),
        "token-url": format!("https://{LOGIN_HOST}/common/oauth2/v2.0/token"),
        "client-id": CLIENT_ID,
        "client-secret": CLIENT_SECRET,
    })
}

fn with_secret(connection: &Value, secret: &str) -> Value {
    let mut connection = connection.clone();
    connection["client-secret"] = Value::String(secret.to_string());
    connection
}

/// `url`, on the login host, as the service serves it (a URL already on the service, as
/// `pbi login --service` prints it, as it is).
fn on_service(url: &str, service: &ServiceHandle) -> Result<Url> {
    let mut url = Url::parse(url)?;
    if url.as_str().starts_with(&service.login_base_url()) {
        return Ok(url);
    }
    ensure!(
        url.host_str() == Some(LOGIN_HOST),
        "the sign-in URL is not on the login host: {url}"
    );
    let base = Url::parse(&service.login_base_url())?;
    url.set_scheme(base.scheme())
        .map_err(|()| anyhow!("cannot set the scheme"))?;
    url.set_host(base.host_str())?;
    url.set_port(base.port())
        .map_err(|()| anyhow!("cannot set the port"))?;
    Ok(url)
}

fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// Plays the browser: GETs the authorization URL and returns the redirect's `Location`.
fn follow_authorize(url: &str, service: &ServiceHandle) -> Result<Url> {
    let answer = http_get(&on_service(url, service)?)?;
    ensure!(
        answer.status == 302,
        "authorize answered {}: {}",
        answer.status,
        answer.body
    );
    let location = Url::parse(answer.header("location").context("no Location")?)?;
    if let Some(error) = query_param(&location, "error") {
        bail!(
            "authorize refused: {error}: {:?}",
            query_param(&location, "error_description")
        );
    }
    Ok(location)
}

/// The code and state the redirect brought.
fn code_and_state(location: &Url) -> Result<(String, String)> {
    Ok((
        query_param(location, "code").context("no code")?,
        query_param(location, "state").context("no state")?,
    ))
}

fn authorize(connector: &Connector, connection: &Value) -> Result<Authorization> {
    connector
        .oauth_authorize(connection, REDIRECT_URI)?
        .map_err(|e| anyhow!("authorize: {e}"))
}

/// Authorizes and follows the redirect: the flow's start and the code.
fn code_for(
    connector: &Connector,
    service: &ServiceHandle,
    connection: &Value,
) -> Result<(Authorization, String)> {
    let authorization = authorize(connector, connection)?;
    let location = follow_authorize(&authorization.url, service)?;
    ensure!(
        location.as_str().starts_with(REDIRECT_URI),
        "redirected to {location}"
    );
    let (code, state) = code_and_state(&location)?;
    ensure!(state == authorization.state, "the state came back changed");
    Ok((authorization, code))
}

/// Signs in: authorize, follow the redirect, check the state, exchange the code.
fn sign_in(connector: &Connector, service: &ServiceHandle, connection: &Value) -> Result<TokenSet> {
    let (authorization, code) = code_for(connector, service, connection)?;
    connector
        .oauth_exchange_code(
            connection,
            REDIRECT_URI,
            &code,
            &authorization.code_verifier,
        )?
        .map_err(|e| anyhow!("exchange: {e}"))
}

/// Signs in and saves the tokens to `path`.
fn sign_in_to(
    connector: &Connector,
    service: &ServiceHandle,
    connection: &Value,
    path: &Path,
) -> Result<TokenSet> {
    let tokens = sign_in(connector, service, connection)?;
    TokenFile::from_tokens(&tokens, unix_now()).save(path)?;
    Ok(tokens)
}

fn mode(path: &Path) -> Result<u32> {
    Ok(std::fs::metadata(path)?.permissions().mode() & 0o777)
}

/// Everything a test saw (Debug output, messages, process output), to scan for secrets.
#[derive(Default)]
struct Captured(String);

impl Captured {
    fn debug(&mut self, value: &impl Debug) {
        self.0.push_str(&format!("{value:?}\n"));
    }

    fn text(&mut self, text: &str) {
        self.0.push_str(text);
        self.0.push('\n');
    }

    fn assert_clean(&self, secrets: &[String]) -> Result<()> {
        ensure!(!self.0.is_empty(), "nothing was captured");
        for secret in secrets {
            ensure!(secret.len() >= 8, "too short to scan for: {}", secret.len());
            ensure!(
                !self.0.contains(secret.as_str()),
                "a secret ({} characters) leaked into the captured output",
                secret.len()
            );
        }
        Ok(())
    }
}

/// API requests to `…/datasets` the service answered with `status`.
fn dataset_requests(service: &ServiceHandle, status: u16) -> usize {
    service
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/v1.0/myorg/datasets") && r.status == status)
        .count()
}

fn is_token_request(path: &str) -> bool {
    path.ends_with("/oauth2/token") || path.ends_with("/oauth2/v2.0/token")
}

/// The whole flow with `connection`: sign in, list, the token expires, the session
/// refreshes and retries, rotated tokens are saved, nothing leaks.
fn whole_flow(connection: Value, authorize_path: &str) -> Result<()> {
    let service = service(ServiceConfig::default())?;
    service.add_dataset(None, "Sales", false, Value::Null);
    let connector = connector(&service)?;
    let dir = TempDir::new()?;
    let path = dir.path().join("config").join("pbi").join("tokens.json");
    let mut captured = Captured::default();
    let mut secrets = vec![CLIENT_SECRET.to_string()];

    let (authorization, code) = code_for(&connector, &service, &connection)?;
    captured.debug(&authorization);
    secrets.extend([code.clone(), authorization.code_verifier.clone()]);
    let url = Url::parse(&authorization.url)?;
    ensure!(url.path() == authorize_path, "authorize at {}", url.path());
    ensure!(
        query_param(&url, "code_challenge_method").as_deref() == Some("S256"),
        "{url}"
    );
    let tokens = connector
        .oauth_exchange_code(
            &connection,
            REDIRECT_URI,
            &code,
            &authorization.code_verifier,
        )?
        .map_err(|e| anyhow!("exchange: {e}"))?;
    captured.debug(&tokens);
    ensure!(tokens.token_type.eq_ignore_ascii_case("bearer"));
    ensure!(tokens.expires_in_seconds == Some(3600), "{tokens:?}");
    let first_refresh = tokens.refresh_token.clone().context("no refresh token")?;
    secrets.extend([tokens.access_token.clone(), first_refresh.clone()]);

    TokenFile::from_tokens(&tokens, unix_now()).save(&path)?;
    ensure!(mode(&path)? == 0o600, "token file mode {:o}", mode(&path)?);
    let parent = path.parent().context("a parent")?;
    ensure!(mode(parent)? == 0o700, "directory mode {:o}", mode(parent)?);

    let mut session = Session::new(&connector, connection.clone(), &path)?;
    let listed = session.invoke("list-datasets", &json!({}))?;
    captured.debug(&listed);
    let data = &listed.result.as_ref().map_err(|e| anyhow!("{e}"))?.data;
    ensure!(data["value"][0]["name"] == "Sales", "{data}");
    ensure!(session.refreshes() == 0);

    // The token expires on the service's side: a plain invocation sees 403 TokenExpired.
    service.expire_token(&tokens.access_token);
    let direct = connector.invoke("list-datasets", &session.connection(), &json!({}))?;
    captured.debug(&direct);
    let error = direct
        .result
        .as_ref()
        .err()
        .context("the expired token worked")?;
    ensure!(error.kind == pbi_host::ErrorKind::TokenExpired, "{error}");
    ensure!(error.status == Some(403), "{error}");
    ensure!(dataset_requests(&service, 403) == 1);

    // The session refreshes and retries.
    let retried = session.invoke("list-datasets", &json!({}))?;
    captured.debug(&retried);
    let data = &retried.result.as_ref().map_err(|e| anyhow!("{e}"))?.data;
    ensure!(data["value"][0]["name"] == "Sales", "{data}");
    ensure!(
        session.refreshes() == 1,
        "{} refreshes",
        session.refreshes()
    );
    ensure!(
        dataset_requests(&service, 403) == 2,
        "the first attempt was not refused"
    );
    ensure!(dataset_requests(&service, 200) == 2);

    // The rotated tokens are on disk, still owner-only.
    let saved = TokenFile::load(&path)?;
    ensure!(saved == *session.tokens());
    ensure!(saved.access_token != tokens.access_token);
    let rotated = saved
        .refresh_token
        .clone()
        .context("no refresh token saved")?;
    ensure!(
        rotated != first_refresh,
        "the refresh token was not rotated"
    );
    ensure!(
        saved
            .expires_at_unix
            .is_some_and(|at| at > unix_now() + 3000)
    );
    ensure!(
        mode(&path)? == 0o600,
        "mode after refresh {:o}",
        mode(&path)?
    );
    secrets.extend([saved.access_token.clone(), rotated]);

    captured.debug(&session);
    captured.debug(&saved);
    captured.debug(&connector);
    captured.debug(&service.requests());
    captured.assert_clean(&secrets)
}

#[test]
fn whole_flow_with_the_default_urls() -> Result<()> {
    whole_flow(default_connection(), "/common/oauth2/authorize")
}

#[test]
fn whole_flow_with_the_v2_pair() -> Result<()> {
    whole_flow(v2_connection(), "/common/oauth2/v2.0/authorize")
}

#[test]
fn refreshes_before_a_token_near_expiry_is_used() -> Result<()> {
    let service = service(ServiceConfig::default())?;
    // Inside the default five-minute margin from the start.
    service.set_access_token_lifetime(Duration::from_secs(60));
    let connector = connector(&service)?;
    let dir = TempDir::new()?;
    let path = dir.path().join("tokens.json");
    let tokens = sign_in_to(&connector, &service, &v2_connection(), &path)?;
    ensure!(tokens.expires_in_seconds == Some(60), "{tokens:?}");

    // With no margin the token is used as it is.
    let mut session =
        Session::new(&connector, v2_connection(), &path)?.with_refresh_margin(Duration::ZERO);
    let listed = session.invoke("list-datasets", &json!({}))?;
    ensure!(listed.result.is_ok(), "{:?}", listed.result);
    ensure!(session.refreshes() == 0);
    ensure!(TokenFile::load(&path)?.access_token == tokens.access_token);

    // With the default margin it is refreshed first: no request is refused.
    service.clear_requests();
    let mut session = Session::new(&connector, v2_connection(), &path)?;
    let listed = session.invoke("list-datasets", &json!({}))?;
    ensure!(listed.result.is_ok(), "{:?}", listed.result);
    ensure!(session.refreshes() == 1);
    let requests = service.requests();
    let token_at = requests
        .iter()
        .position(|r| is_token_request(&r.path))
        .context("no token request")?;
    let api_at = requests
        .iter()
        .position(|r| r.path.ends_with("/datasets"))
        .context("no API request")?;
    ensure!(token_at < api_at, "the refresh came after the call");
    ensure!(dataset_requests(&service, 403) == 0 && dataset_requests(&service, 401) == 0);
    let saved = TokenFile::load(&path)?;
    ensure!(saved.access_token != tokens.access_token);
    ensure!(
        saved
            .expires_in(unix_now())
            .is_some_and(|left| (50..=60).contains(&left))
    );
    Ok(())
}

#[test]
fn a_session_lists_choices_refreshing_an_expired_token() -> Result<()> {
    let service = service(ServiceConfig::default())?;
    let team = service.add_group("Team");
    let connector = connector(&service)?;
    let dir = TempDir::new()?;
    let path = dir.path().join("tokens.json");
    let tokens = sign_in_to(&connector, &service, &v2_connection(), &path)?;

    // The token expires on the service's side: the picker's request is refused, and the
    // session refreshes and asks again.
    service.expire_token(&tokens.access_token);
    let mut session = Session::new(&connector, v2_connection(), &path)?;
    let page = session
        .list_choices("list-datasets", "workspace", &json!({}), None, 0, 5)?
        .map_err(|e| anyhow!("{e}"))?;
    let choices: Vec<(&str, &str)> = page
        .choices
        .iter()
        .map(|c| (c.label.as_str(), c.value.as_str()))
        .collect();
    ensure!(choices == [("Team", team.as_str())], "{page:?}");
    ensure!(
        session.refreshes() == 1,
        "{} refreshes",
        session.refreshes()
    );
    ensure!(TokenFile::load(&path)?.access_token != tokens.access_token);
    Ok(())
}

#[test]
fn a_wrong_client_secret_is_invalid_client() -> Result<()> {
    let service = service(ServiceConfig::default())?;
    let connector = connector(&service)?;
    const WRONG: &str = "wrong-client-secret-1234";
    let wrong = with_secret(&v2_connection(), WRONG);
    let mut captured = Captured::default();

    // The authorize step does not use the secret; the token endpoint refuses it.
    let (authorization, code) = code_for(&connector, &service, &wrong)?;
    let exchanged =
        connector.oauth_exchange_code(&wrong, REDIRECT_URI, &code, &authorization.code_verifier)?;
    let error = exchanged.err().context("a wrong secret was accepted")?;
    captured.debug(&error);
    captured.text(&error.to_string());
    ensure!(error.kind == OAuthErrorKind::InvalidClient, "{error}");
    ensure!(error.code.as_deref() == Some("invalid_client"), "{error}");

    // Refreshing with it through a session is an error, not a retry loop.
    let dir = TempDir::new()?;
    let path = dir.path().join("tokens.json");
    let tokens = sign_in_to(&connector, &service, &v2_connection(), &path)?;
    let mut session = Session::new(&connector, wrong.clone(), &path)?;
    let refreshed = session.refresh();
    match &refreshed {
        Err(SessionError::Refresh(error)) => {
            ensure!(error.kind == OAuthErrorKind::InvalidClient, "{error}");
        }
        other => bail!("expected an invalid-client refresh error, got {other:?}"),
    }
    captured.debug(&refreshed);
    if let Err(error) = &refreshed {
        captured.text(&error.to_string());
    }
    ensure!(TokenFile::load(&path)?.access_token == tokens.access_token);

    let mut secrets = vec![
        WRONG.to_string(),
        CLIENT_SECRET.to_string(),
        code,
        authorization.code_verifier,
        tokens.access_token,
    ];
    secrets.extend(tokens.refresh_token);
    captured.assert_clean(&secrets)
}

#[test]
fn a_reused_code_must_authorize_again() -> Result<()> {
    let service = service(ServiceConfig::default())?;
    let connector = connector(&service)?;
    let connection = default_connection();
    let (authorization, code) = code_for(&connector, &service, &connection)?;
    let first = connector.oauth_exchange_code(
        &connection,
        REDIRECT_URI,
        &code,
        &authorization.code_verifier,
    )?;
    ensure!(first.is_ok(), "{first:?}");
    let second = connector.oauth_exchange_code(
        &connection,
        REDIRECT_URI,
        &code,
        &authorization.code_verifier,
    )?;
    let error = second.err().context("a code was redeemed twice")?;
    ensure!(error.kind == OAuthErrorKind::AuthorizeAgain, "{error}");
    ensure!(error.code.as_deref() == Some("invalid_grant"), "{error}");
    ensure!(!error.message.contains(&code), "{error}");
    Ok(())
}

#[test]
fn a_pkce_mismatch_must_authorize_again() -> Result<()> {
    let service = service(ServiceConfig::default())?;
    let connector = connector(&service)?;
    let connection = v2_connection();
    let (authorization, code) = code_for(&connector, &service, &connection)?;

    // An empty verifier never leaves the component.
    let empty = connector.oauth_exchange_code(&connection, REDIRECT_URI, &code, "")?;
    let error = empty.err().context("an empty verifier was accepted")?;
    ensure!(error.kind == OAuthErrorKind::InvalidInput, "{error}");
    ensure!(error.input.as_deref() == Some("code-verifier"), "{error}");

    let wrong_verifier = "W".repeat(43);
    ensure!(wrong_verifier != authorization.code_verifier);
    let wrong = connector.oauth_exchange_code(&connection, REDIRECT_URI, &code, &wrong_verifier)?;
    let error = wrong.err().context("a wrong verifier was accepted")?;
    ensure!(error.kind == OAuthErrorKind::AuthorizeAgain, "{error}");
    ensure!(!error.message.contains(&wrong_verifier), "{error}");
    Ok(())
}

#[test]
fn a_revoked_refresh_token_asks_to_sign_in_again() -> Result<()> {
    let service = service(ServiceConfig::default())?;
    let connector = connector(&service)?;
    let dir = TempDir::new()?;
    let path = dir.path().join("tokens.json");
    let mut captured = Captured::default();

    let tokens = sign_in_to(&connector, &service, &default_connection(), &path)?;
    let refresh_token = tokens.refresh_token.clone().context("no refresh token")?;
    let mut session = Session::new(&connector, default_connection(), &path)?;
    service.revoke_refresh_token(&refresh_token);
    service.expire_token(&tokens.access_token);
    let outcome = session.invoke("list-datasets", &json!({}));
    let message = match &outcome {
        Err(error @ SessionError::AuthorizeAgain { .. }) => error.to_string(),
        other => bail!("expected the authorize-again error, got {other:?}"),
    };
    ensure!(message.contains("run `pbi login` again"), "{message}");
    ensure!(message.contains(&path.display().to_string()), "{message}");
    captured.debug(&outcome);
    captured.text(&message);
    // Nothing was saved over the old tokens.
    ensure!(TokenFile::load(&path)?.access_token == tokens.access_token);

    // The same after a password reset (every refresh token revoked), on an explicit refresh.
    let again = sign_in_to(&connector, &service, &default_connection(), &path)?;
    let mut session = Session::new(&connector, default_connection(), &path)?;
    service.revoke_all_refresh_tokens();
    let refreshed = session.refresh();
    ensure!(
        matches!(refreshed, Err(SessionError::AuthorizeAgain { .. })),
        "{refreshed:?}"
    );
    captured.debug(&refreshed);

    let mut secrets = vec![
        CLIENT_SECRET.to_string(),
        tokens.access_token,
        refresh_token,
        again.access_token,
    ];
    secrets.extend(again.refresh_token);
    captured.assert_clean(&secrets)
}

/// A service that revokes rotated refresh tokens, a connector on it, and a user signed in
/// through the v2 pair with the tokens saved to `tokens.json` in the returned folder.
fn signed_in_to_a_rotating_server() -> Result<(ServiceHandle, Connector, TempDir, TokenSet)> {
    let service = service(ServiceConfig {
        revoke_rotated_refresh_tokens: true,
        ..ServiceConfig::default()
    })?;
    let connector = connector(&service)?;
    let dir = TempDir::new()?;
    let tokens = sign_in_to(
        &connector,
        &service,
        &v2_connection(),
        &dir.path().join("tokens.json"),
    )?;
    Ok((service, connector, dir, tokens))
}

/// How many requests reached the token endpoints so far.
fn token_requests(service: &ServiceHandle) -> usize {
    service
        .requests()
        .iter()
        .filter(|r| is_token_request(&r.path))
        .count()
}

#[test]
fn rotated_refresh_tokens_are_saved_and_shared_through_the_file() -> Result<()> {
    // A server that revokes a refresh token once used: only the newest one works.
    let (service, connector, dir, tokens) = signed_in_to_a_rotating_server()?;
    let path = dir.path().join("tokens.json");
    let first = tokens.refresh_token.clone().context("no refresh token")?;

    let mut one = Session::new(&connector, v2_connection(), &path)?;
    let mut two = Session::new(&connector, v2_connection(), &path)?;
    one.refresh()?;
    let saved = TokenFile::load(&path)?;
    let second = saved
        .refresh_token
        .clone()
        .context("no refresh token saved")?;
    ensure!(second != first, "the refresh token was not rotated");
    ensure!(saved == *one.tokens());
    ensure!(mode(&path)? == 0o600);

    // The first refresh token is dead now.
    let stale = connector.oauth_refresh(&v2_connection(), &first)?;
    ensure!(
        stale
            .as_ref()
            .is_err_and(|e| e.kind == OAuthErrorKind::AuthorizeAgain),
        "{stale:?}"
    );

    // The second session still holds the old tokens; its token is refused, it reads the
    // file again and uses the other session's tokens instead of the dead refresh token.
    service.expire_token(&tokens.access_token);
    let listed = two.invoke("list-datasets", &json!({}))?;
    ensure!(listed.result.is_ok(), "{:?}", listed.result);
    ensure!(two.refreshes() == 0);
    ensure!(two.tokens() == one.tokens());

    // Refreshing again rotates again, and the newest refresh token is the one on disk.
    two.refresh()?;
    let third = TokenFile::load(&path)?
        .refresh_token
        .context("no refresh token saved")?;
    ensure!(third != second && third != first);
    ensure!(two.refreshes() == 1);
    Ok(())
}

#[test]
fn sessions_refreshing_at_the_same_moment_redeem_the_refresh_token_once() -> Result<()> {
    // A server that revokes a refresh token once used: a second redemption of the same one
    // would be told to sign in again.
    let (service, connector, dir, _) = signed_in_to_a_rotating_server()?;
    let path = dir.path().join("tokens.json");
    let token_requests_before = token_requests(&service);

    // Four sessions on the same file (as four processes would be), all refreshing at once.
    let sessions = 4;
    let barrier = std::sync::Barrier::new(sessions);
    let outcomes: Vec<(Result<(), String>, usize, TokenFile)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..sessions)
            .map(|_| {
                scope.spawn(|| {
                    let mut session = Session::new(&connector, v2_connection(), &path)
                        .expect("a session on the saved tokens");
                    barrier.wait();
                    let outcome = session.refresh().map_err(|e| e.to_string());
                    (outcome, session.refreshes(), session.tokens().clone())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("a session thread panicked"))
            .collect()
    });

    for (outcome, _, _) in &outcomes {
        ensure!(outcome.is_ok(), "a concurrent refresh failed: {outcome:?}");
    }
    let refreshes: usize = outcomes.iter().map(|(_, count, _)| count).sum();
    assert_eq!(
        refreshes, 1,
        "exactly one session should have redeemed the token"
    );
    assert_eq!(token_requests(&service) - token_requests_before, 1);
    let saved = TokenFile::load(&path)?;
    ensure!(outcomes.iter().all(|(_, _, tokens)| *tokens == saved));
    ensure!(mode(&TokenFile::lock_path(&path))? == 0o600);
    Ok(())
}

#[test]
fn the_token_file_is_owner_only() -> Result<()> {
    let dir = TempDir::new()?;
    let path = dir.path().join("tokens.json");
    // A file left readable by others is replaced by an owner-only one.
    std::fs::write(&path, "{}")?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
    let file = TokenFile {
        access_token: "access-token-for-the-mode-test".into(),
        refresh_token: Some("refresh-token-for-the-mode-test".into()),
        expires_at_unix: Some(unix_now() + 100),
        scope: Some("a b".into()),
    };
    file.save(&path)?;
    ensure!(mode(&path)? == 0o600, "mode {:o}", mode(&path)?);
    ensure!(TokenFile::load(&path)? == file);
    // Only the token file is left: no temporary file.
    let names: Vec<String> = std::fs::read_dir(dir.path())?
        .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    ensure!(names == ["tokens.json"], "{names:?}");
    // The JSON holds the four fields.
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    ensure!(
        json["expires_at_unix"].is_u64() && json["scope"] == "a b",
        "{json}"
    );

    let missing = TokenFile::load(&dir.path().join("none.json"));
    let message = missing.err().context("a missing file loaded")?.to_string();
    ensure!(message.contains("pbi login"), "{message}");
    Ok(())
}

// ---- the CLI ----

/// The `pbi` binary with none of the user's settings.
fn pbi(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pbi"));
    command
        .env_remove("PBI_ACCESS_TOKEN")
        .env_remove("PBI_CLIENT_ID")
        .env_remove("PBI_CLIENT_SECRET")
        .env_remove("PBI_COMPONENT")
        .env_remove("PBI_TOKEN_FILE")
        .env("XDG_CONFIG_HOME", home)
        .env("HOME", home)
        .stdin(Stdio::null());
    command
}

/// A running `pbi login`: its stdout lines as they come, its stderr at the end; killed if
/// the test fails before it exits.
struct Login {
    child: Child,
    lines: Receiver<String>,
    stdout: Vec<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Login {
    fn start(command: &mut Command) -> Result<Self> {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting pbi login")?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut stderr = child.stderr.take().context("stderr")?;
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Ok(Self {
            child,
            lines,
            stdout: Vec::new(),
            stderr: Some(stderr),
        })
    }

    /// The sign-in URL the CLI printed.
    fn url(&mut self) -> Result<String> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .map_err(|_| anyhow!("no URL printed; output so far: {:?}", self.stdout))?;
            self.stdout.push(line.clone());
            if line.starts_with("https://") || line.starts_with("http://") {
                return Ok(line);
            }
        }
    }

    /// Waits for the CLI to exit: its success, stdout and stderr.
    fn finish(mut self) -> Result<(bool, String, String)> {
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(status) = self.child.try_wait()? {
                break status;
            }
            ensure!(Instant::now() < deadline, "pbi login did not exit");
            std::thread::sleep(Duration::from_millis(50));
        };
        // The reader thread ends at EOF.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(10)) {
            self.stdout.push(line);
        }
        let stderr = self
            .stderr
            .take()
            .map(|handle| handle.join().unwrap_or_default())
            .unwrap_or_default();
        Ok((status.success(), self.stdout.join("\n"), stderr))
    }
}

impl Drop for Login {
    fn drop(&mut self) {
        // Only this test's own child, by its handle.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn cli_login_then_run_with_the_token_file() -> Result<()> {
    let service = service(ServiceConfig::default())?;
    service.add_dataset(None, "Inventory", false, Value::Null);
    let dir = TempDir::new()?;
    let connection_file = dir.path().join("connection.json");
    std::fs::write(&connection_file, default_connection().to_string())?;
    let token_file = dir.path().join("state").join("tokens.json");
    let base = service.base_url();
    let mut captured = Captured::default();
    let mut secrets = vec![CLIENT_SECRET.to_string()];

    let mut login = Login::start(pbi(dir.path()).args([
        "login",
        "--no-browser",
        "--service",
        &base,
        "--connection",
        &connection_file.to_string_lossy(),
        "--token-file",
        &token_file.to_string_lossy(),
        "--timeout",
        "120",
    ]))?;
    let url = login.url()?;
    let printed = Url::parse(&url)?;
    ensure!(printed.path() == "/common/oauth2/authorize", "{url}");
    // The URL a browser can open: the service's own sign-in page.
    ensure!(url.starts_with(&service.login_base_url()), "{url}");
    let redirect_uri = query_param(&printed, "redirect_uri").context("no redirect_uri")?;
    let redirect = Url::parse(&redirect_uri)?;
    ensure!(redirect.host_str() == Some("localhost") && redirect.path() == "/callback");

    // The identity platform sends the browser back to the CLI's listener.
    let location = follow_authorize(&url, &service)?;
    ensure!(location.port() == redirect.port(), "{location}");
    let (code, _) = code_and_state(&location)?;
    secrets.push(code);
    let page = http_get(&location)?;
    ensure!(page.status == 200, "{}: {}", page.status, page.body);
    ensure!(page.body.contains("Signed in"), "{}", page.body);
    captured.text(&page.body);

    let (success, stdout, stderr) = login.finish()?;
    captured.text(&stdout);
    captured.text(&stderr);
    ensure!(success, "pbi login failed:\n{stdout}\n{stderr}");
    let expected = format!(
        "Signed in; tokens saved to {} (expires in 3600 s)",
        token_file.display()
    );
    ensure!(stdout.contains(&expected), "{stdout}");
    ensure!(mode(&token_file)? == 0o600, "mode {:o}", mode(&token_file)?);
    let signed_in = TokenFile::load(&token_file)?;
    let first_refresh = signed_in
        .refresh_token
        .clone()
        .context("no refresh token")?;
    secrets.extend([signed_in.access_token.clone(), first_refresh.clone()]);

    let run = |verbose: bool| -> Result<std::process::Output> {
        let mut command = pbi(dir.path());
        command.args([
            "run",
            "list-datasets",
            "--service",
            &base,
            "--connection",
            &connection_file.to_string_lossy(),
            "--token-file",
            &token_file.to_string_lossy(),
        ]);
        if verbose {
            command.arg("--verbose");
        }
        Ok(command.output()?)
    };
    let first = run(false)?;
    let stdout = String::from_utf8_lossy(&first.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&first.stderr).into_owned();
    captured.text(&stdout);
    captured.text(&stderr);
    ensure!(
        first.status.success(),
        "pbi run failed:\n{stdout}\n{stderr}"
    );
    let listed: Value = serde_json::from_str(&stdout)?;
    ensure!(listed["value"][0]["name"] == "Inventory", "{listed}");

    // The token expires: `pbi run` refreshes, retries and saves the rotated tokens.
    service.expire_token(&signed_in.access_token);
    let second = run(true)?;
    let stdout = String::from_utf8_lossy(&second.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&second.stderr).into_owned();
    captured.text(&stdout);
    captured.text(&stderr);
    ensure!(
        second.status.success(),
        "pbi run failed:\n{stdout}\n{stderr}"
    );
    ensure!(stderr.contains("refreshed the access token"), "{stderr}");
    ensure!(dataset_requests(&service, 403) == 1);
    let refreshed = TokenFile::load(&token_file)?;
    ensure!(refreshed.access_token != signed_in.access_token);
    ensure!(refreshed.refresh_token.as_ref() != Some(&first_refresh));
    ensure!(mode(&token_file)? == 0o600);
    secrets.push(refreshed.access_token.clone());
    secrets.extend(refreshed.refresh_token.clone());

    // A revoked sign-in: the CLI says to log in again, and exits 1.
    service.revoke_all_refresh_tokens();
    service.expire_token(&refreshed.access_token);
    let third = run(false)?;
    let stderr = String::from_utf8_lossy(&third.stderr).into_owned();
    captured.text(&String::from_utf8_lossy(&third.stdout));
    captured.text(&stderr);
    ensure!(third.status.code() == Some(1), "{third:?}");
    ensure!(stderr.contains("run `pbi login` again"), "{stderr}");

    captured.debug(&service.requests());
    captured.assert_clean(&secrets)
}

#[test]
fn cli_login_reports_a_refused_sign_in() -> Result<()> {
    let service = service(ServiceConfig::default())?;
    let dir = TempDir::new()?;
    let connection_file = dir.path().join("connection.json");
    std::fs::write(&connection_file, v2_connection().to_string())?;
    let token_file = dir.path().join("tokens.json");

    let mut login = Login::start(pbi(dir.path()).args([
        "login",
        "--no-browser",
        "--service",
        &service.base_url(),
        "--connection",
        &connection_file.to_string_lossy(),
        "--token-file",
        &token_file.to_string_lossy(),
    ]))?;
    let url = Url::parse(&login.url()?)?;
    ensure!(url.path() == "/common/oauth2/v2.0/authorize", "{url}");
    let state = query_param(&url, "state").context("no state")?;
    let mut callback = Url::parse(&query_param(&url, "redirect_uri").context("no redirect")?)?;

    // A stray request with another state is turned away and the CLI keeps waiting.
    callback.set_query(Some("code=stolen-code-123&state=not-the-state"));
    let stray = http_get(&callback)?;
    ensure!(stray.status == 400, "{stray:?}");

    callback
        .query_pairs_mut()
        .clear()
        .append_pair("error", "access_denied")
        .append_pair(
            "error_description",
            "AADSTS65004: User declined to consent.\r\nTrace ID: 1",
        )
        .append_pair("state", &state);
    let page = http_get(&callback)?;
    ensure!(
        page.status == 400 && page.body.contains("access_denied"),
        "{page:?}"
    );

    let (success, stdout, stderr) = login.finish()?;
    ensure!(!success, "pbi login succeeded:\n{stdout}");
    ensure!(
        stderr.contains("access_denied") && stderr.contains("User declined to consent"),
        "{stderr}"
    );
    ensure!(!token_file.exists(), "a token file was written");
    ensure!(!stdout.contains("Signed in"), "{stdout}");
    Ok(())
}

#[test]
fn cli_login_against_the_emulator_prints_its_url_and_completes_headless() -> Result<()> {
    // The emulator as `pbi emulator` runs it: its default client, seeded.
    let service = ServiceHandle::spawn(ServiceConfig::seeded())?;
    let dir = TempDir::new()?;
    let connection_file = dir.path().join("connection.json");
    std::fs::write(
        &connection_file,
        json!({"client-id": "pbi-local-client", "client-secret": "pbi-local-secret"}).to_string(),
    )?;
    let token_file = dir.path().join("tokens.json");
    let mut login = Login::start(pbi(dir.path()).args([
        "login",
        "--no-browser",
        "--service",
        // HOST:PORT, as `pbi emulator` prints it without the scheme.
        service.base_url().trim_start_matches("http://"),
        "--connection",
        &connection_file.to_string_lossy(),
        "--token-file",
        &token_file.to_string_lossy(),
        "--timeout",
        "120",
    ]))?;
    let url = Url::parse(&login.url()?)?;
    ensure!(
        url.as_str().starts_with(&service.base_url()),
        "not the emulator's URL: {url}"
    );

    // A browser: GET the printed URL; the emulator signs in at once and redirects to the
    // CLI's listener, which the browser follows.
    let answer = http_get(&url)?;
    ensure!(answer.status == 302, "{}: {}", answer.status, answer.body);
    let location = Url::parse(answer.header("location").context("no Location")?)?;
    ensure!(location.path() == "/callback", "{location}");
    let page = http_get(&location)?;
    ensure!(
        page.status == 200 && page.body.contains("Signed in"),
        "{page:?}"
    );

    let (success, stdout, stderr) = login.finish()?;
    ensure!(success, "pbi login failed:\n{stdout}\n{stderr}");
    ensure!(stdout.contains("Signed in; tokens saved to"), "{stdout}");
    let saved = TokenFile::load(&token_file)?;
    ensure!(!stdout.contains(&saved.access_token) && !stderr.contains(&saved.access_token));
    ensure!(
        !stdout.contains("pbi-local-secret"),
        "the secret was printed"
    );
    Ok(())
}
