//! State files that tell when they are damaged: a checksummed append-only
//! [`Journal`] (one JSON record a line; the deploy ledger) and a checksummed
//! [`Snapshot`] (one JSON record, replaced whole; daily budget counts), and
//! what a damaged one leads to (`state.on_damage`).
//!
//! Every record is written as one line `{"sum":"<16 hex>","rec":<record>}`:
//! the sum is the first 8 bytes of the SHA-256 of the record's JSON exactly
//! as written. A line that is not UTF-8, does not parse, or whose sum does
//! not match is damage, reported with the file and line number. The one
//! exception is a journal's last line without its newline (a crash in the
//! middle of an append leaves it): it is dropped with a warning and the
//! lines before it are kept. Files of the previous format (records without
//! a sum) are still read: in a journal until its first summed line, and are
//! written summed from then on (the ledger rewrites its journal on open).

use std::{
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
};

use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};

use crate::config::OnDamage;

const HEAD: &str = r#"{"sum":""#;
const MID: &str = r#"","rec":"#;
const SUM_LEN: usize = 16;

/// A state file that cannot be trusted: which one, its first damaged line
/// and why, and how many more lines are damaged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "state file {} is damaged at line {line}: {why}{}",
    path.display(),
    if *others > 0 { format!(" (and {others} more damaged line(s))") } else { String::new() }
)]
pub(crate) struct Damage {
    /// The file.
    pub(crate) path: PathBuf,
    /// Its first damaged line, from 1.
    pub(crate) line: usize,
    /// What is wrong with that line.
    pub(crate) why: String,
    /// Damaged lines after it.
    pub(crate) others: usize,
}

/// Why a state file cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StateError {
    /// The file system refused.
    #[error("cannot use the state file {}: {error}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What failed.
        error: io::Error,
    },
    /// The file is damaged and `state.on_damage` is `fail`.
    #[error(
        "{0}; repair or remove it, or set state.on_damage: quarantine to set it aside and go on with what can be read"
    )]
    Damaged(#[from] Damage),
}

impl StateError {
    /// An I/O failure on `path`.
    pub(crate) fn io(path: &Path) -> impl FnOnce(io::Error) -> StateError + '_ {
        move |error| StateError::Io { path: path.to_owned(), error }
    }
}

/// `record` as one summed line, without its newline.
fn encode<T: Serialize>(record: &T) -> io::Result<String> {
    let json = serde_json::to_string(record)?;
    Ok(format!("{HEAD}{}{MID}{json}}}", sum(&json)))
}

fn sum(json: &str) -> String {
    hex::encode(&Sha256::digest(json.as_bytes())[..SUM_LEN / 2])
}

/// A line's record, and whether it carried a sum (false: the old format).
fn decode<T: DeserializeOwned>(line: &[u8]) -> Result<(T, bool), String> {
    let text = std::str::from_utf8(line).map_err(|_| "it is not UTF-8 text".to_owned())?;
    let Some(rest) = text.strip_prefix(HEAD) else {
        return serde_json::from_str(text)
            .map(|r| (r, false))
            .map_err(|e| format!("it is not a record ({})", json_error(&e)));
    };
    let json = rest
        .get(SUM_LEN..)
        .and_then(|r| r.strip_prefix(MID))
        .and_then(|r| r.strip_suffix('}'))
        .ok_or("its checksum envelope is malformed")?;
    if sum(json) != rest[..SUM_LEN] {
        return Err("its checksum does not match (the line changed after it was written)".into());
    }
    serde_json::from_str(json).map(|r| (r, true)).map_err(|e| format!("its record cannot be read ({})", json_error(&e)))
}

/// What serde_json says, with the position in the line as a column (its
/// own "line 1" would read as the file's line).
fn json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let what = text.split(" at line ").next().unwrap_or_default();
    format!("{what}, at column {}", e.column())
}

/// Writes `text` to `path` through a synced temporary file, renamed.
fn replace(path: &Path, text: &str) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = fs::File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    fs::rename(&tmp, path)?;
    // The rename itself reaches the disk with its directory (where a
    // directory can be opened: Linux, not every platform).
    if let Some(dir) = path.parent().and_then(|d| fs::File::open(d).ok()) {
        dir.sync_all()?;
    }
    Ok(())
}

/// Applies `policy` to a damaged file: the damage as an error (`fail`), or
/// (`quarantine`) the file kept aside as `{name}.damaged-{now_ms}` (a hard
/// link, or a copy), logged and counted (`kind` names the file in the
/// metric); the caller then replaces the file. Returns where it was kept.
pub(crate) fn quarantine(
    policy: OnDamage,
    damage: Damage,
    kind: &'static str,
    now_ms: i64,
) -> Result<PathBuf, StateError> {
    if policy == OnDamage::Fail {
        return Err(damage.into());
    }
    let mut name = damage.path.file_name().unwrap_or_default().to_owned();
    name.push(format!(".damaged-{now_ms}"));
    let aside = damage.path.with_file_name(name);
    fs::hard_link(&damage.path, &aside)
        .or_else(|_| fs::copy(&damage.path, &aside).map(drop))
        .map_err(StateError::io(&aside))?;
    crate::telemetry::metrics::state_quarantined(kind);
    tracing::error!(
        file = %damage.path.display(),
        kept_at = %aside.display(),
        "{damage}: state.on_damage is quarantine, so it was set aside and the gateway goes on with what could be read"
    );
    Ok(aside)
}

/// A checksummed append-only journal of JSON records, one a line.
#[derive(Debug, Clone)]
pub(crate) struct Journal {
    path: PathBuf,
}

/// What a journal holds: the records that can be read, in order, and the
/// damage, if any line cannot be.
pub(crate) struct Contents<T> {
    /// Readable records.
    pub(crate) records: Vec<T>,
    /// The damaged lines.
    pub(crate) damage: Option<Damage>,
}

impl Journal {
    /// The journal at `path`.
    pub(crate) fn at(path: PathBuf) -> Self {
        Journal { path }
    }

    /// Its file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Every readable record (none when the file does not exist), and the
    /// damage; a torn last line is dropped with a warning.
    pub(crate) fn read<T: DeserializeOwned>(&self) -> Result<Contents<T>, StateError> {
        let bytes = match fs::read(&self.path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            r => r.map_err(StateError::io(&self.path))?,
        };
        let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
        if lines.pop().is_some_and(|torn| !torn.is_empty()) {
            tracing::warn!(
                file = %self.path.display(),
                line = lines.len() + 1,
                "the last line of a state file has no newline (a write was cut short): dropped"
            );
        }
        let (mut records, mut damaged, mut summed) = (Vec::new(), Vec::new(), false);
        for (n, line) in lines.into_iter().enumerate() {
            match decode(line) {
                Ok((_, false)) if summed => {
                    damaged.push((n + 1, "it has no checksum, unlike the lines before it".into()))
                }
                Ok((r, s)) => {
                    summed |= s;
                    records.push(r);
                }
                Err(why) => damaged.push((n + 1, why)),
            }
        }
        let others = damaged.len().saturating_sub(1);
        let damage =
            damaged.into_iter().next().map(|(line, why)| Damage { path: self.path.clone(), line, why, others });
        Ok(Contents { records, damage })
    }

    /// Replaces the journal with `records` (through a synced temporary file).
    pub(crate) fn rewrite<'a, T: Serialize + 'a>(&self, records: impl IntoIterator<Item = &'a T>) -> io::Result<()> {
        let mut text = String::new();
        for r in records {
            text.push_str(&encode(r)?);
            text.push('\n');
        }
        replace(&self.path, &text)
    }

    /// Appends `record` and syncs it to disk.
    pub(crate) fn append<T: Serialize>(&self, record: &T) -> io::Result<()> {
        let mut line = encode(record)?;
        line.push('\n');
        let mut f = fs::OpenOptions::new().create(true).append(true).open(&self.path)?;
        f.write_all(line.as_bytes())?;
        f.sync_data()
    }
}

/// A checksummed file holding one JSON record, replaced whole.
pub(crate) struct Snapshot<'a> {
    path: &'a Path,
}

impl<'a> Snapshot<'a> {
    /// The snapshot at `path`.
    pub(crate) fn at(path: &'a Path) -> Self {
        Snapshot { path }
    }

    /// Its record, None when the file does not exist; the old format (a
    /// record without a sum) is read too.
    pub(crate) fn read<T: DeserializeOwned>(&self) -> Result<Option<T>, StateError> {
        let bytes = match fs::read(self.path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            r => r.map_err(StateError::io(self.path))?,
        };
        let line = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        decode(line)
            .map(|(r, _)| Some(r))
            .map_err(|why| Damage { path: self.path.to_owned(), line: 1, why, others: 0 }.into())
    }

    /// Replaces the file with `record` (through a synced temporary file).
    pub(crate) fn write<T: Serialize>(&self, record: &T) -> io::Result<()> {
        replace(self.path, &(encode(record)? + "\n"))
    }
}

/// The names of the copies of `name` kept aside in `dir` (tests).
#[cfg(test)]
pub(crate) fn kept_aside(dir: &Path, name: &str) -> Vec<String> {
    let prefix = format!("{name}.damaged-");
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(&prefix))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct R {
        id: String,
        n: u32,
    }

    fn r(id: &str, n: u32) -> R {
        R { id: id.into(), n }
    }

    fn journal(text: &[u8]) -> (tempfile::TempDir, Journal) {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::at(dir.path().join("j.jsonl"));
        fs::write(j.path(), text).unwrap();
        (dir, j)
    }

    fn summed(recs: &[R]) -> String {
        recs.iter().map(|r| encode(r).unwrap() + "\n").collect()
    }

    #[test]
    fn records_round_trip_through_append_and_rewrite() {
        let (_d, j) = journal(b"");
        j.append(&r("a", 1)).unwrap();
        j.append(&r("b", 2)).unwrap();
        let text = fs::read_to_string(j.path()).unwrap();
        assert!(text.starts_with(r#"{"sum":""#) && text.lines().count() == 2, "{text}");
        let c = j.read::<R>().unwrap();
        assert_eq!((c.records, c.damage), (vec![r("a", 1), r("b", 2)], None));
        j.rewrite(&[r("c", 3)]).unwrap();
        assert_eq!(j.read::<R>().unwrap().records, vec![r("c", 3)]);
    }

    #[test]
    fn a_changed_line_is_damage_with_its_line_number() {
        let text = summed(&[r("a", 1), r("b", 2), r("c", 3)]).replace(r#""n":2"#, r#""n":7"#);
        let (_d, j) = journal(text.as_bytes());
        let c = j.read::<R>().unwrap();
        assert_eq!(c.records, vec![r("a", 1), r("c", 3)], "the readable records are kept");
        let d = c.damage.unwrap();
        assert_eq!((d.line, d.others), (2, 0));
        let msg = d.to_string();
        assert!(msg.contains("j.jsonl is damaged at line 2: its checksum does not match"), "{msg}");
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_the_rest_kept() {
        let mut text = summed(&[r("a", 1), r("b", 2)]);
        let whole = encode(&r("c", 3)).unwrap();
        text.push_str(&whole[..whole.len() / 2]);
        let (_d, j) = journal(text.as_bytes());
        let c = j.read::<R>().unwrap();
        assert_eq!((c.records, c.damage), (vec![r("a", 1), r("b", 2)], None));
        // One stray byte, even one that is not UTF-8.
        let (_d, j) = journal(&[summed(&[r("a", 1)]).as_bytes(), &[0xff]].concat());
        assert_eq!(j.read::<R>().unwrap().records, vec![r("a", 1)]);
    }

    #[test]
    fn bytes_that_are_not_utf8_or_json_are_damage() {
        let text =
            [summed(&[r("a", 1)]).as_bytes(), b"\xff\xfe\n", b"{\"id\":\n", summed(&[r("b", 2)]).as_bytes()].concat();
        let (_d, j) = journal(&text);
        let c = j.read::<R>().unwrap();
        assert_eq!(c.records, vec![r("a", 1), r("b", 2)]);
        let d = c.damage.unwrap();
        assert_eq!((d.line, d.why.as_str(), d.others), (2, "it is not UTF-8 text", 1));
        assert!(d.to_string().contains("(and 1 more damaged line(s))"), "{d}");
    }

    #[test]
    fn the_previous_format_is_read_until_the_first_summed_line() {
        let old = "{\"id\":\"a\",\"n\":1}\n{\"id\":\"b\",\"n\":2}\n";
        let (_d, j) = journal(old.as_bytes());
        let c = j.read::<R>().unwrap();
        assert_eq!((c.records, c.damage), (vec![r("a", 1), r("b", 2)], None));
        // After a rewrite every line is summed; an unsummed one then is damage.
        j.rewrite(&[r("a", 1), r("b", 2)]).unwrap();
        assert!(fs::read_to_string(j.path()).unwrap().lines().all(|l| l.starts_with(HEAD)));
        let mut f = fs::OpenOptions::new().append(true).open(j.path()).unwrap();
        f.write_all(b"{\"id\":\"x\",\"n\":9}\n").unwrap();
        let d = j.read::<R>().unwrap().damage.unwrap();
        assert_eq!((d.line, d.why.as_str()), (3, "it has no checksum, unlike the lines before it"));
    }

    #[test]
    fn quarantine_keeps_the_file_aside_and_fail_refuses() {
        let (_d, j) = journal(b"garbage\n");
        let damage = j.read::<R>().unwrap().damage.unwrap();
        let e = quarantine(OnDamage::Fail, damage.clone(), "test", 7).unwrap_err();
        assert!(e.to_string().contains("damaged at line 1"), "{e}");
        assert!(j.path().exists());
        let aside = quarantine(OnDamage::Quarantine, damage, "test", 7).unwrap();
        assert_eq!(aside, j.path().with_file_name("j.jsonl.damaged-7"));
        assert_eq!(fs::read(&aside).unwrap(), b"garbage\n");
    }

    #[test]
    fn snapshots_are_summed_and_read_the_previous_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let s = Snapshot::at(&path);
        assert_eq!(s.read::<R>().unwrap(), None);
        fs::write(&path, br#"{"id":"old","n":1}"#).unwrap();
        assert_eq!(s.read::<R>().unwrap(), Some(r("old", 1)));
        s.write(&r("new", 2)).unwrap();
        assert_eq!(s.read::<R>().unwrap(), Some(r("new", 2)));
        let text = fs::read_to_string(&path).unwrap().replace("new", "neW");
        fs::write(&path, text).unwrap();
        match s.read::<R>() {
            Err(StateError::Damaged(d)) => assert_eq!(d.line, 1),
            other => panic!("{other:?}"),
        }
    }
}
