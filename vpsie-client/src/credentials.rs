//! Credentials and where they come from: fixed values, a JSON file, or a directory of files (a
//! mounted Kubernetes Secret), re-read when the files change so rotated secrets take effect.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use crate::secret::Secret;

/// How the client authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A static API access token.
    StaticToken(Secret),
    /// Client credentials exchanged for session tokens at the login endpoint.
    ClientCredentials {
        client_id: String,
        client_secret: Secret,
    },
}

/// Credentials that cannot be loaded; never contains secret values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("{path}: cannot read: {message}")]
    Read { path: String, message: String },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Debug)]
enum Origin {
    Fixed,
    /// A JSON file `{"token": ...}` or `{"clientId": ..., "clientSecret": ...}`.
    File(PathBuf),
    /// A directory with files `token`, or `clientId` and `clientSecret` (also `client_id`,
    /// `client_secret`), as a mounted Secret provides.
    Directory(PathBuf),
}

#[derive(Debug)]
struct Loaded {
    credentials: Credentials,
    /// Modification times and lengths of the files read, to notice a rotation cheaply.
    fingerprint: Vec<(PathBuf, Option<SystemTime>, u64)>,
}

/// Where credentials come from; [`CredentialSource::current`] re-reads them when changed.
#[derive(Debug)]
pub struct CredentialSource {
    origin: Origin,
    loaded: Mutex<Option<Loaded>>,
}

const DIR_FILES: [&str; 5] = [
    "token",
    "clientId",
    "clientSecret",
    "client_id",
    "client_secret",
];

fn fingerprint_of(paths: &[PathBuf]) -> Vec<(PathBuf, Option<SystemTime>, u64)> {
    paths
        .iter()
        .map(|p| match std::fs::metadata(p) {
            Ok(m) => (p.clone(), m.modified().ok(), m.len()),
            Err(_) => (p.clone(), None, 0),
        })
        .collect()
}

fn read_trimmed(path: &Path) -> Result<Option<String>, CredentialsError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text.trim().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CredentialsError::Read {
            path: path.display().to_string(),
            message: e.kind().to_string(),
        }),
    }
}

impl CredentialSource {
    pub fn fixed(credentials: Credentials) -> Self {
        let loaded = Loaded {
            credentials,
            fingerprint: Vec::new(),
        };
        CredentialSource {
            origin: Origin::Fixed,
            loaded: Mutex::new(Some(loaded)),
        }
    }

    pub fn file(path: impl Into<PathBuf>) -> Self {
        CredentialSource {
            origin: Origin::File(path.into()),
            loaded: Mutex::new(None),
        }
    }

    pub fn directory(path: impl Into<PathBuf>) -> Self {
        CredentialSource {
            origin: Origin::Directory(path.into()),
            loaded: Mutex::new(None),
        }
    }

    fn watched(&self) -> Vec<PathBuf> {
        match &self.origin {
            Origin::Fixed => Vec::new(),
            Origin::File(p) => vec![p.clone()],
            Origin::Directory(d) => {
                // Kubernetes swaps the `..data` symlink on rotation; watch it and the files.
                let mut paths = vec![d.join("..data")];
                paths.extend(DIR_FILES.iter().map(|f| d.join(f)));
                paths
            }
        }
    }

    /// The current credentials, re-read if the files changed since the last read. Returns
    /// whether they changed.
    pub fn current(&self) -> Result<(Credentials, bool), CredentialsError> {
        let mut guard = self
            .loaded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let watched = self.watched();
        let fingerprint = fingerprint_of(&watched);
        if let Some(loaded) = guard.as_ref()
            && (matches!(self.origin, Origin::Fixed) || loaded.fingerprint == fingerprint)
        {
            return Ok((loaded.credentials.clone(), false));
        }
        let credentials = self.load()?;
        let changed = guard
            .as_ref()
            .is_some_and(|old| old.credentials != credentials);
        *guard = Some(Loaded {
            credentials: credentials.clone(),
            fingerprint,
        });
        Ok((credentials, changed))
    }

    fn load(&self) -> Result<Credentials, CredentialsError> {
        match &self.origin {
            Origin::Fixed => Err(CredentialsError::Invalid {
                path: "<fixed>".to_string(),
                message: "no credentials".to_string(),
            }),
            Origin::File(path) => {
                let shown = path.display().to_string();
                let text = read_trimmed(path)?.ok_or_else(|| CredentialsError::Read {
                    path: shown.clone(),
                    message: "file not found".to_string(),
                })?;
                let value: serde_json::Value =
                    serde_json::from_str(&text).map_err(|e| CredentialsError::Invalid {
                        path: shown.clone(),
                        // serde's message may quote the input: keep only the position.
                        message: format!(
                            "not valid JSON (line {}, column {})",
                            e.line(),
                            e.column()
                        ),
                    })?;
                let field = |names: &[&str]| {
                    names
                        .iter()
                        .find_map(|n| value.get(*n).and_then(|v| v.as_str()))
                        .map(str::to_string)
                };
                from_parts(
                    &shown,
                    field(&["token"]),
                    field(&["clientId", "client_id"]),
                    field(&["clientSecret", "client_secret"]),
                )
            }
            Origin::Directory(dir) => {
                let shown = dir.display().to_string();
                let token = read_trimmed(&dir.join("token"))?;
                let id = match read_trimmed(&dir.join("clientId"))? {
                    Some(v) => Some(v),
                    None => read_trimmed(&dir.join("client_id"))?,
                };
                let secret = match read_trimmed(&dir.join("clientSecret"))? {
                    Some(v) => Some(v),
                    None => read_trimmed(&dir.join("client_secret"))?,
                };
                from_parts(&shown, token, id, secret)
            }
        }
    }
}

fn from_parts(
    path: &str,
    token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
) -> Result<Credentials, CredentialsError> {
    let token = token.filter(|t| !t.is_empty());
    let client_id = client_id.filter(|t| !t.is_empty());
    let client_secret = client_secret.filter(|t| !t.is_empty());
    match (token, client_id, client_secret) {
        (_, Some(client_id), Some(secret)) => Ok(Credentials::ClientCredentials {
            client_id,
            client_secret: Secret::new(secret),
        }),
        (Some(token), None, None) => Ok(Credentials::StaticToken(Secret::new(token))),
        (_, Some(_), None) => Err(CredentialsError::Invalid {
            path: path.to_string(),
            message: "clientId without clientSecret".to_string(),
        }),
        (_, None, Some(_)) => Err(CredentialsError::Invalid {
            path: path.to_string(),
            message: "clientSecret without clientId".to_string(),
        }),
        (None, None, None) => Err(CredentialsError::Invalid {
            path: path.to_string(),
            message: "neither `token` nor `clientId`/`clientSecret`".to_string(),
        }),
    }
}
