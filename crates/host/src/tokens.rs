//! The token store: one JSON file holding a connection's tokens, readable by its owner only.

use crate::egress::REDACTED;
use crate::oauth::TokenSet;
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The environment variable naming the token file.
pub const TOKEN_FILE_ENV: &str = "PBI_TOKEN_FILE";

/// The tokens of one signed-in connection, as saved on disk (JSON, mode 0600).
///
/// `Debug` hides both tokens.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenFile {
    /// The current access token. Secret.
    pub access_token: String,
    /// The current refresh token, if one was issued. Secret.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// When the access token expires, in seconds since the Unix epoch; none when the token
    /// endpoint did not say.
    #[serde(default)]
    pub expires_at_unix: Option<u64>,
    /// The scopes granted, space-separated.
    #[serde(default)]
    pub scope: Option<String>,
}

impl fmt::Debug for TokenFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenFile")
            .field("access_token", &REDACTED)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| REDACTED),
            )
            .field("expires_at_unix", &self.expires_at_unix)
            .field("scope", &self.scope)
            .finish()
    }
}

/// What can go wrong reading or writing the token file. Messages never quote its contents.
#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    /// There is no token file yet.
    #[error("no tokens are saved in {}: run `pbi login` first", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// Reading, writing or renaming failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// The file (or its directory).
        path: PathBuf,
        /// What was being done, such as `write`.
        action: &'static str,
        /// The operating system's error.
        source: io::Error,
    },
    /// The file is not a token file.
    #[error("{} is not a valid token file: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Where it went wrong (a line and column, never the contents).
        message: String,
    },
    /// No path was given and none could be found from the environment.
    #[error(
        "cannot tell where to keep the token file: set {TOKEN_FILE_ENV}, XDG_CONFIG_HOME or HOME"
    )]
    NoDefaultPath,
}

impl TokenFile {
    /// The tokens of a token endpoint's answer received at `now_unix`.
    pub fn from_tokens(tokens: &TokenSet, now_unix: u64) -> Self {
        Self {
            access_token: tokens.access_token.clone(),
            refresh_token: tokens.refresh_token.clone(),
            expires_at_unix: tokens
                .expires_in_seconds
                .map(|seconds| now_unix.saturating_add(seconds)),
            scope: tokens.scope.clone(),
        }
    }

    /// Takes in a refresh's answer received at `now_unix`: the new access token and expiry;
    /// a new refresh token replaces the old one, and without one the old one is kept (as
    /// it is with the scope).
    pub fn update(&mut self, tokens: &TokenSet, now_unix: u64) {
        self.access_token = tokens.access_token.clone();
        self.expires_at_unix = tokens
            .expires_in_seconds
            .map(|seconds| now_unix.saturating_add(seconds));
        if let Some(refresh_token) = tokens.refresh_token.as_ref().filter(|t| !t.is_empty()) {
            self.refresh_token = Some(refresh_token.clone());
        }
        if let Some(scope) = &tokens.scope {
            self.scope = Some(scope.clone());
        }
    }

    /// Seconds until the access token expires (0 once it has); none when unknown.
    pub fn expires_in(&self, now_unix: u64) -> Option<u64> {
        self.expires_at_unix
            .map(|expires_at| expires_at.saturating_sub(now_unix))
    }

    /// Whether the access token expires within `margin` of `now_unix` (or already has).
    /// A token without a known expiry never does.
    pub fn expires_within(&self, margin: Duration, now_unix: u64) -> bool {
        self.expires_at_unix
            .is_some_and(|expires_at| expires_at <= now_unix.saturating_add(margin.as_secs()))
    }

    /// Reads the token file at `path`.
    pub fn load(path: &Path) -> Result<Self, TokenFileError> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(TokenFileError::Missing {
                    path: path.to_path_buf(),
                });
            }
            Err(source) => {
                return Err(TokenFileError::Io {
                    path: path.to_path_buf(),
                    action: "read",
                    source,
                });
            }
        };
        // serde's messages may quote a value (a token): keep only the position.
        serde_json::from_str(&text).map_err(|error| TokenFileError::Invalid {
            path: path.to_path_buf(),
            message: format!(
                "{} at line {}, column {}",
                match error.classify() {
                    serde_json::error::Category::Data => "unexpected contents",
                    serde_json::error::Category::Eof => "the file ends early",
                    _ => "not JSON",
                },
                error.line(),
                error.column()
            ),
        })
    }

    /// Saves the tokens to `path`, readable and writable by the owner only (mode 0600).
    ///
    /// The JSON goes to a new file created with mode 0600 in the same directory, which then
    /// replaces `path` by a rename: the tokens are never readable by others, not even
    /// briefly, and a reader never sees half a file. A missing directory is created with
    /// mode 0700.
    pub fn save(&self, path: &Path) -> Result<(), TokenFileError> {
        let io_error = |action: &'static str, at: &Path| {
            let at = at.to_path_buf();
            move |source| TokenFileError::Io {
                path: at,
                action,
                source,
            }
        };
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(io_error("create the directory", &dir))?;
        }
        let file_name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "tokens.json".to_string());
        let temp = dir.join(temp_name(&file_name));
        let mut json = serde_json::to_vec_pretty(self).map_err(|e| TokenFileError::Invalid {
            path: path.to_path_buf(),
            message: format!("cannot be written as JSON ({:?})", e.classify()),
        })?;
        json.push(b'\n');

        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temp)?;
            // The mode above is masked by the umask; a umask can only take bits away, but
            // make sure of 0600 anyway before any token is written.
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
            file.write_all(&json)?;
            file.sync_all()
        })();
        if let Err(source) = written {
            let _ = fs::remove_file(&temp);
            return Err(TokenFileError::Io {
                path: temp,
                action: "write",
                source,
            });
        }
        if let Err(source) = fs::rename(&temp, path) {
            let _ = fs::remove_file(&temp);
            return Err(TokenFileError::Io {
                path: path.to_path_buf(),
                action: "replace",
                source,
            });
        }
        // Best effort: makes the rename itself durable.
        if let Ok(dir) = fs::File::open(&dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// The lock file of the token file at `path`: `<file>.lock` beside it.
    pub fn lock_path(path: &Path) -> PathBuf {
        let mut name = path
            .file_name()
            .map(|name| name.to_os_string())
            .unwrap_or_else(|| "tokens.json".into());
        name.push(".lock");
        path.with_file_name(name)
    }

    /// Takes the exclusive refresh lock of the token file at `path`: an advisory lock on
    /// `<file>.lock` beside it (mode 0600), held until the returned file is dropped. It
    /// waits while another process (or session) holds it.
    ///
    /// A refresh is read-refresh-write: two processes doing it at once would both redeem
    /// the same refresh token, and with a service that revokes rotated refresh tokens the
    /// second would be told to sign in again. Under the lock, the second one reads the
    /// file after the first has written it and finds fresh tokens instead. The lock is on
    /// a file of its own because saving replaces the token file by a rename.
    pub fn lock_for_refresh(path: &Path) -> Result<fs::File, TokenFileError> {
        let lock_path = Self::lock_path(path);
        let io_error = |action: &'static str| {
            let at = lock_path.clone();
            move |source| TokenFileError::Io {
                path: at,
                action,
                source,
            }
        };
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(io_error("open the lock file"))?;
        file.lock().map_err(io_error("lock"))?;
        Ok(file)
    }

    /// The default token file: `$PBI_TOKEN_FILE`, else `$XDG_CONFIG_HOME/pbi/tokens.json`,
    /// else `~/.config/pbi/tokens.json`.
    pub fn default_path() -> Result<PathBuf, TokenFileError> {
        default_path_from(|name| std::env::var_os(name))
    }
}

/// [`TokenFile::default_path`] with the environment read through `var`.
pub(crate) fn default_path_from(
    var: impl Fn(&str) -> Option<OsString>,
) -> Result<PathBuf, TokenFileError> {
    let set = |name: &str| var(name).filter(|value| !value.is_empty());
    if let Some(file) = set(TOKEN_FILE_ENV) {
        return Ok(PathBuf::from(file));
    }
    // The XDG spec says to ignore a relative XDG_CONFIG_HOME.
    if let Some(config) = set("XDG_CONFIG_HOME").map(PathBuf::from)
        && config.is_absolute()
    {
        return Ok(config.join("pbi").join("tokens.json"));
    }
    set("HOME")
        .map(|home| {
            PathBuf::from(home)
                .join(".config")
                .join("pbi")
                .join("tokens.json")
        })
        .ok_or(TokenFileError::NoDefaultPath)
}

/// A name for the temporary file, unique in this process and unlikely to clash with another.
fn temp_name(file_name: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        ".{file_name}.{}.{}.{nanos}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(access: &str, refresh: Option<&str>, expires_in: Option<u64>) -> TokenSet {
        TokenSet {
            access_token: access.into(),
            token_type: "Bearer".into(),
            expires_in_seconds: expires_in,
            refresh_token: refresh.map(str::to_string),
            scope: Some("scope-a".into()),
        }
    }

    #[test]
    fn rotation_keeps_the_old_refresh_token_when_none_comes() {
        let mut file = TokenFile::from_tokens(&tokens("a1", Some("r1"), Some(60)), 1000);
        assert_eq!(file.expires_at_unix, Some(1060));
        file.update(&tokens("a2", Some("r2"), Some(60)), 2000);
        assert_eq!(file.refresh_token.as_deref(), Some("r2"));
        assert_eq!(file.expires_at_unix, Some(2060));
        file.update(&tokens("a3", None, None), 3000);
        assert_eq!(file.access_token, "a3");
        assert_eq!(file.refresh_token.as_deref(), Some("r2"));
        assert_eq!(file.expires_at_unix, None);
    }

    #[test]
    fn expiry_margin() {
        let file = TokenFile::from_tokens(&tokens("a", None, Some(600)), 1000);
        assert!(!file.expires_within(Duration::from_secs(300), 1000));
        assert!(file.expires_within(Duration::from_secs(300), 1300));
        assert!(file.expires_within(Duration::ZERO, 1600));
        assert_eq!(file.expires_in(1500), Some(100));
        assert_eq!(file.expires_in(9999), Some(0));
        let unknown = TokenFile::from_tokens(&tokens("a", None, None), 1000);
        assert!(!unknown.expires_within(Duration::from_secs(300), u64::MAX / 2));
    }

    #[test]
    fn default_path_order() -> anyhow::Result<()> {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        let all = env(&[
            ("PBI_TOKEN_FILE", "/x/t.json"),
            ("XDG_CONFIG_HOME", "/cfg"),
            ("HOME", "/home/u"),
        ]);
        assert_eq!(default_path_from(all)?, PathBuf::from("/x/t.json"));
        let xdg = env(&[
            ("PBI_TOKEN_FILE", ""),
            ("XDG_CONFIG_HOME", "/cfg"),
            ("HOME", "/home/u"),
        ]);
        assert_eq!(
            default_path_from(xdg)?,
            PathBuf::from("/cfg/pbi/tokens.json")
        );
        let home = env(&[("XDG_CONFIG_HOME", "relative"), ("HOME", "/home/u")]);
        assert_eq!(
            default_path_from(home)?,
            PathBuf::from("/home/u/.config/pbi/tokens.json")
        );
        assert!(matches!(
            default_path_from(env(&[])),
            Err(TokenFileError::NoDefaultPath)
        ));
        Ok(())
    }

    #[test]
    fn debug_and_errors_hide_tokens() {
        let file = TokenFile::from_tokens(&tokens("access-xyz1", Some("refresh-xyz1"), None), 0);
        let debug = format!("{file:?}");
        assert!(!debug.contains("access-xyz1") && !debug.contains("refresh-xyz1"));

        let dir = std::env::temp_dir().join(format!("pbi-host-unit-{}", std::process::id()));
        let _ = fs::create_dir_all(&dir);
        let path = dir.join("bad.json");
        let _ = fs::write(
            &path,
            r#"{"access_token": 5, "refresh_token": "refresh-xyz1"}"#,
        );
        let error = TokenFile::load(&path).err().map(|e| e.to_string());
        let _ = fs::remove_dir_all(&dir);
        let error = error.unwrap_or_default();
        assert!(error.contains("not a valid token file"), "{error}");
        assert!(!error.contains("refresh-xyz1"), "{error}");
    }
}
