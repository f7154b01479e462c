//! State settings (`state`: what a damaged state file leads to) and the
//! checks of what makes deploy records durable: a usable `server.state_dir`
//! and a long enough `limits.idempotency_ttl`.

use std::{io, path::Path, time::Duration};

use serde::{Deserialize, Serialize};

use super::{Config, Problem};

/// Shortest `limits.idempotency_ttl`.
const MIN_IDEMPOTENCY_TTL: Duration = Duration::from_secs(3600);

/// What the gateway does with its state files.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StateConfig {
    /// A damaged deploy ledger or daily budget file: `fail` or `quarantine`.
    pub on_damage: OnDamage,
}

/// What a damaged state file (bad checksum, unreadable line) leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnDamage {
    /// `serve` refuses to start, naming the file and line.
    #[default]
    Fail,
    /// The file is set aside and the gateway starts with what could be
    /// read; deploys that may repeat a lost record, and budgeted calls of
    /// the day, are refused.
    Quarantine,
}

pub(super) fn check(cfg: &Config, out: &mut Vec<Problem>) {
    if cfg.limits.idempotency_ttl < MIN_IDEMPOTENCY_TTL {
        out.push(Problem {
            path: "limits.idempotency_ttl".into(),
            message: format!(
                "must be at least {}: a deploy retried after its record is forgotten would deploy again",
                humantime::format_duration(MIN_IDEMPOTENCY_TTL)
            ),
        });
    }
    if let Err(message) = usable_dir(&cfg.server.state_dir) {
        out.push(Problem { path: "server.state_dir".into(), message });
    }
}

/// Whether the process can keep files in `dir`: an existing directory it
/// can create files in, or a missing one under such a directory.
fn usable_dir(dir: &Path) -> Result<(), String> {
    let mut at = dir;
    loop {
        let here = if at.as_os_str().is_empty() { Path::new(".") } else { at };
        match std::fs::metadata(here) {
            Ok(m) if m.is_dir() => break,
            Ok(_) if at == dir => return Err(format!("{} exists and is not a directory", dir.display())),
            Ok(_) => return Err(format!("{} cannot be created: {} is not a directory", dir.display(), at.display())),
            Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => match at.parent() {
                Some(parent) => at = parent,
                None => return Err(format!("{} cannot be created: {e}", dir.display())),
            },
            Err(e) => return Err(format!("{} cannot be read: {e}", here.display())),
        }
    }
    let here = if at.as_os_str().is_empty() { Path::new(".") } else { at };
    // Created and removed at once: proof that files can be kept here.
    tempfile::Builder::new()
        .prefix(".dsgw-check-")
        .tempfile_in(here)
        .map(drop)
        .map_err(|e| format!("cannot create files in {}: {e}", here.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_dir_must_be_a_directory_the_process_can_write() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(usable_dir(d.path()), Ok(()));
        assert_eq!(usable_dir(&d.path().join("new/deeper")), Ok(()), "created later");
        let file = d.path().join("file");
        std::fs::write(&file, "").unwrap();
        assert!(usable_dir(&file).unwrap_err().ends_with("exists and is not a directory"));
        assert!(usable_dir(&file.join("sub")).unwrap_err().contains("is not a directory"));
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1, "the probe file is gone");
    }
}
