//! The connection's values as the engine hands them over (the WIT `connection` record: which
//! connection, its inputs by key, the access token), and what they choose: the cloud, the
//! API base, the secrets to keep out of every message.
//!
//! Every value is checked here before anything is sent: an unknown connection or cloud, an
//! API Base URL that is not https (or http to a loopback address), a sign-in URL on another
//! cloud's host are input errors naming the connection input.

use crate::definition::{API_BASE_URL, CLOUD, CLOUDS, CONNECTIONS, Cloud, Connection, InputType};
use crate::error::ActionError;

/// One connection's values.
#[derive(Clone)]
pub struct ConnectionValues<'a> {
    /// The connection definition they fill.
    pub definition: &'static Connection,
    values: &'a [(String, String)],
    /// The access token the engine holds (empty when none).
    pub access_token: &'a str,
}

impl std::fmt::Debug for ConnectionValues<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The keys only: values may be secrets.
        let keys: Vec<&str> = self.values.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("ConnectionValues")
            .field("connection", &self.definition.key)
            .field("keys", &keys)
            .finish_non_exhaustive()
    }
}

impl<'a> ConnectionValues<'a> {
    /// The values of the connection `key` (empty: the first, the documented one).
    pub fn new(
        key: &str,
        values: &'a [(String, String)],
        access_token: &'a str,
    ) -> Result<Self, ActionError> {
        let key = key.trim();
        let definition = if key.is_empty() {
            &CONNECTIONS[0]
        } else {
            CONNECTIONS.iter().find(|c| c.key == key).ok_or_else(|| {
                ActionError::invalid(
                    "connection",
                    format!("is not one of this component's connections (oauth, service-principal): {key:?}"),
                )
            })?
        };
        Ok(ConnectionValues {
            definition,
            values,
            access_token,
        })
    }

    /// The value of the input `key`, trimmed; empty or missing gives the input's default.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        let given = self
            .values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty());
        given.or_else(|| {
            self.definition
                .inputs
                .iter()
                .find(|i| i.key == key)
                .and_then(|i| i.default)
        })
    }

    /// The value of the input `key` exactly as given (secrets are not trimmed).
    pub fn raw(&self, key: &str) -> &'a str {
        self.values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// The secrets among the values (password inputs) and the access token, to scrub from
    /// every message.
    pub fn secrets(&self) -> Vec<&'a str> {
        let mut secrets: Vec<&str> = self
            .definition
            .inputs
            .iter()
            .filter(|i| i.ty == InputType::Password)
            .map(|i| self.raw(i.key))
            .collect();
        secrets.push(self.access_token);
        secrets.retain(|s| !s.is_empty());
        secrets
    }

    /// The chosen cloud.
    pub fn cloud(&self) -> Result<&'static Cloud, ActionError> {
        let value = self.get(CLOUD).unwrap_or("Public");
        CLOUDS
            .iter()
            .find(|c| c.key.eq_ignore_ascii_case(value))
            .ok_or_else(|| {
                ActionError::invalid(
                    CLOUD,
                    format!("must be Public, USGov, USGovHigh, USGovDoD or China; got {value:?}"),
                )
            })
    }

    /// The base of the API calls: the API Base URL when given (checked), else the cloud's.
    pub fn api_base(&self) -> Result<String, ActionError> {
        let cloud = self.cloud()?;
        match self.get(API_BASE_URL) {
            Some(given) => {
                checked_base(given).map_err(|why| ActionError::invalid(API_BASE_URL, why))
            }
            None => Ok(cloud.api_base.to_string()),
        }
    }

    /// Checks that a sign-in URL of the connection (input `key`) is on the cloud's sign-in
    /// host; a loopback address (a local test service) is allowed with any cloud.
    pub fn check_login_host(&self, key: &str, url: &url::Url) -> Result<(), ActionError> {
        let cloud = self.cloud()?;
        let host = url.host_str().unwrap_or_default();
        if host.eq_ignore_ascii_case(cloud.login_host) || is_loopback(host) {
            return Ok(());
        }
        Err(ActionError::invalid(
            key,
            format!(
                "is on {host}, but the {} cloud signs in on {}: use https://{}/... or choose the cloud of that host",
                cloud.key, cloud.login_host, cloud.login_host
            ),
        ))
    }
}

/// Whether `host` is a loopback address or `localhost`.
pub fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "[::1]") || host.starts_with("127.")
}

/// An API Base URL: https, or http to a loopback address; no user, query or fragment; the
/// trailing slash dropped.
fn checked_base(given: &str) -> Result<String, String> {
    let url = url::Url::parse(given).map_err(|e| format!("is not a URL ({e}): {given:?}"))?;
    let host = url.host_str().unwrap_or_default();
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => {
            return Err(format!(
                "must be https (http only to a loopback address such as 127.0.0.1); got {given:?}"
            ));
        }
        other => return Err(format!("must be an https URL, not {other}:; got {given:?}")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("must not have a query or fragment; got {given:?}"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn clouds_choose_the_api_base() {
        let none = values(&[]);
        let c = ConnectionValues::new("", &none, "").unwrap();
        assert_eq!(c.definition.key, "oauth");
        assert_eq!(c.api_base().unwrap(), "https://api.powerbi.com/v1.0/myorg");
        for (cloud, base, resource) in [
            (
                "USGov",
                "https://api.powerbigov.us/v1.0/myorg",
                "https://analysis.usgovcloudapi.net/powerbi/api",
            ),
            (
                "usgovhigh",
                "https://api.high.powerbigov.us/v1.0/myorg",
                "https://high.analysis.usgovcloudapi.net/powerbi/api",
            ),
            (
                "USGovDoD",
                "https://api.mil.powerbigov.us/v1.0/myorg",
                "https://mil.analysis.usgovcloudapi.net/powerbi/api",
            ),
            (
                "China",
                "https://api.powerbi.cn/v1.0/myorg",
                "https://analysis.chinacloudapi.cn/powerbi/api",
            ),
        ] {
            let v = values(&[("cloud", cloud)]);
            let c = ConnectionValues::new("service-principal", &v, "").unwrap();
            assert_eq!(c.api_base().unwrap(), base);
            assert_eq!(c.cloud().unwrap().resource, resource);
        }
        let v = values(&[("cloud", "Mars")]);
        let e = ConnectionValues::new("", &v, "")
            .unwrap()
            .api_base()
            .unwrap_err();
        assert_eq!(e.input.as_deref(), Some("cloud"));
        let e = ConnectionValues::new("basic", &v, "").unwrap_err();
        assert_eq!(e.input.as_deref(), Some("connection"));
    }

    #[test]
    fn api_base_url_rules() {
        for (given, expected) in [
            (
                "https://pbi.contoso.com/v1.0/myorg/",
                Ok("https://pbi.contoso.com/v1.0/myorg"),
            ),
            (
                "http://127.0.0.1:8310/v1.0/myorg",
                Ok("http://127.0.0.1:8310/v1.0/myorg"),
            ),
            (
                "http://localhost:1/v1.0/myorg",
                Ok("http://localhost:1/v1.0/myorg"),
            ),
            ("http://pbi.contoso.com/v1.0/myorg", Err("must be https")),
            ("ftp://pbi.contoso.com/", Err("must be an https URL")),
            ("https://user:pw@pbi.contoso.com/", Err("user name")),
            ("https://pbi.contoso.com/?x=1", Err("query")),
            ("not a url", Err("is not a URL")),
        ] {
            let v = values(&[("api-base-url", given)]);
            let got = ConnectionValues::new("", &v, "").unwrap().api_base();
            match (got, expected) {
                (Ok(base), Ok(want)) => assert_eq!(base, want),
                (Err(e), Err(why)) => {
                    assert_eq!(e.input.as_deref(), Some("api-base-url"));
                    assert!(e.message.contains(why), "{given}: {}", e.message);
                }
                (got, want) => panic!("{given}: {got:?}, wanted {want:?}"),
            }
        }
    }

    #[test]
    fn login_hosts_belong_to_the_cloud_and_secrets_are_known() {
        let v = values(&[("cloud", "USGovHigh"), ("client-secret", " s3cret ")]);
        let c = ConnectionValues::new("oauth", &v, "tok").unwrap();
        let public =
            url::Url::parse("https://login.microsoftonline.com/x/oauth2/v2.0/token").unwrap();
        let e = c.check_login_host("token-url", &public).unwrap_err();
        assert_eq!(e.input.as_deref(), Some("token-url"));
        assert!(
            e.message.contains("login.microsoftonline.us"),
            "{}",
            e.message
        );
        let us = url::Url::parse("https://login.microsoftonline.us/x/oauth2/v2.0/token").unwrap();
        assert!(c.check_login_host("token-url", &us).is_ok());
        let local = url::Url::parse("http://127.0.0.1:9/x/oauth2/token").unwrap();
        assert!(c.check_login_host("token-url", &local).is_ok());
        assert_eq!(c.secrets(), [" s3cret ", "tok"]);
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
