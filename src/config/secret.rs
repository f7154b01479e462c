//! Secret references (`{env: VAR}` / `{file: PATH}`) and the redacted values
//! they resolve to. Files are re-read when they change, so a rotated
//! Kubernetes Secret is picked up without a restart.

use std::{
    fmt,
    path::PathBuf,
    sync::Mutex,
    time::{Duration, Instant, SystemTime},
};

use serde::{Deserialize, Deserializer, Serialize};

/// Where a secret comes from. Inline values are refused on purpose.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretRef {
    /// An environment variable holding the value.
    Env(String),
    /// A file holding the value (surrounding whitespace is trimmed).
    File(PathBuf),
    /// A plain string in the config: a mistake that `check-config` reports.
    #[serde(skip)]
    Inline,
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(v) => write!(f, "env:{v}"),
            SecretRef::File(p) => write!(f, "file:{}", p.display()),
            SecretRef::Inline => f.write_str("inline:<redacted>"),
        }
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            env: Option<String>,
            file: Option<PathBuf>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Map(Raw),
            // A plain value must never be echoed back in an error message.
            Plain(serde::de::IgnoredAny),
        }
        match Either::deserialize(d)? {
            Either::Map(Raw { env: Some(e), file: None }) => Ok(SecretRef::Env(e)),
            Either::Map(Raw { env: None, file: Some(p) }) => Ok(SecretRef::File(p)),
            Either::Map(_) => Err(serde::de::Error::custom("a secret reference needs exactly one of `env` or `file`")),
            Either::Plain(_) => Ok(SecretRef::Inline),
        }
    }
}

/// Why a secret could not be read. Never contains the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The environment variable is unset.
    #[error("env var {0} is not set")]
    EnvUnset(String),
    /// The environment variable is set but empty.
    #[error("env var {0} is empty")]
    EnvEmpty(String),
    /// The file cannot be read.
    #[error("file {0} cannot be read: {1}")]
    FileUnreadable(String, String),
    /// The file is empty.
    #[error("file {0} is empty")]
    FileEmpty(String),
    /// The config holds the secret inline.
    #[error("inline secrets are not allowed; use {{env: VAR}} or {{file: PATH}}")]
    Inline,
}

impl SecretRef {
    /// Reads the current value.
    pub(crate) fn read(&self) -> Result<Secret, SecretError> {
        match self {
            SecretRef::Env(name) => match std::env::var(name) {
                Ok(v) if v.trim().is_empty() => Err(SecretError::EnvEmpty(name.clone())),
                Ok(v) => Ok(Secret(v.trim().to_owned())),
                Err(_) => Err(SecretError::EnvUnset(name.clone())),
            },
            SecretRef::File(p) => match std::fs::read_to_string(p) {
                Ok(v) if v.trim().is_empty() => Err(SecretError::FileEmpty(p.display().to_string())),
                Ok(v) => Ok(Secret(v.trim().to_owned())),
                Err(e) => Err(SecretError::FileUnreadable(p.display().to_string(), e.kind().to_string())),
            },
            SecretRef::Inline => Err(SecretError::Inline),
        }
    }
}

/// A secret value: redacted in Debug and Display, compared in constant time.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value (for tests and emulators).
    pub fn new(v: impl Into<String>) -> Self {
        Secret(v.into())
    }
    /// The value, for signing only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A secret that follows its source: env values are read once, files are
/// re-read when their modification time or length changes (checked at most
/// once per `recheck`).
pub struct LiveSecret {
    source: SecretRef,
    recheck: Duration,
    state: Mutex<LiveState>,
}

struct LiveState {
    value: Option<Secret>,
    stamp: Option<(SystemTime, u64)>,
    checked: Option<Instant>,
}

impl fmt::Debug for LiveSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveSecret").field("source", &self.source).finish_non_exhaustive()
    }
}

impl LiveSecret {
    /// Follows `source`, checking files for changes at most every `recheck`.
    pub(crate) fn new(source: SecretRef, recheck: Duration) -> Self {
        LiveSecret { source, recheck, state: Mutex::new(LiveState { value: None, stamp: None, checked: None }) }
    }

    /// A fixed value (tests, emulators, demo).
    pub fn fixed(value: Secret) -> Self {
        LiveSecret {
            source: SecretRef::Inline,
            recheck: Duration::MAX,
            state: Mutex::new(LiveState { value: Some(value), stamp: None, checked: None }),
        }
    }

    /// The current value.
    pub(crate) fn get(&self) -> Result<Secret, SecretError> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(self.source, SecretRef::Inline) {
            return st.value.clone().ok_or(SecretError::Inline);
        }
        let due = st.checked.is_none_or(|t| t.elapsed() >= self.recheck);
        if st.value.is_some() && !due {
            return Ok(st.value.clone().expect("checked above"));
        }
        st.checked = Some(Instant::now());
        if let SecretRef::File(p) = &self.source {
            let stamp = std::fs::metadata(p).ok().and_then(|m| Some((m.modified().ok()?, m.len())));
            if st.value.is_some() && stamp.is_some() && stamp == st.stamp {
                return Ok(st.value.clone().expect("checked above"));
            }
            st.stamp = stamp;
        } else if let Some(v) = &st.value {
            return Ok(v.clone());
        }
        match self.source.read() {
            Ok(v) => {
                st.value = Some(v.clone());
                Ok(v)
            }
            // Keep serving the last good value if a rotation is half-written.
            Err(e) => st.value.clone().ok_or(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_values() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "Secret(<redacted>) <redacted>");
    }

    #[test]
    fn file_secret_follows_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sk");
        std::fs::write(&p, "one\n").unwrap();
        let live = LiveSecret::new(SecretRef::File(p.clone()), Duration::ZERO);
        assert_eq!(live.get().unwrap().expose(), "one");
        std::fs::write(&p, "second-value").unwrap();
        assert_eq!(live.get().unwrap().expose(), "second-value");
    }

    #[test]
    fn inline_and_partial_refs_are_refused() {
        let r: SecretRef = serde_json::from_str("\"plain\"").unwrap();
        assert_eq!(r, SecretRef::Inline);
        assert!(serde_json::from_str::<SecretRef>(r#"{"env":"A","file":"/x"}"#).is_err());
        let r: SecretRef = serde_json::from_str(r#"{"env":"A"}"#).unwrap();
        assert_eq!(r, SecretRef::Env("A".into()));
    }
}
