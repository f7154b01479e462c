//! Input validation shared by the services: resource names, paging,
//! strings, enums, time ranges, request ids. Everything here runs before any
//! vendor call and fails with INVALID_ARGUMENT naming the field.

use std::time::Instant;

use tonic::metadata::MetadataMap;

use crate::{
    config::valid_workspace_name,
    domain::{Error, MsRange, UserKey, Violation, shown, time},
    pb,
};

/// Longest accepted free-text filter or id.
pub(crate) const MAX_TEXT: usize = 256;
/// Default page size.
pub(crate) const DEFAULT_PAGE_SIZE: u32 = 20;
/// Largest page size (the vendors' own maximum).
pub(crate) const MAX_PAGE_SIZE: i32 = 100;

/// Collects violations so one answer names every bad field.
#[derive(Default)]
pub(crate) struct Check(pub Vec<Violation>);

impl Check {
    /// Records a violation.
    pub(crate) fn bad(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(Violation { field: field.into(), description: description.into() });
    }

    /// Ok when nothing was recorded.
    pub(crate) fn finish(self) -> Result<(), Error> {
        if self.0.is_empty() { Ok(()) } else { Err(Error::invalid_all(self.0)) }
    }

    /// Records the error of `r` (if INVALID_ARGUMENT) and returns its value.
    pub(crate) fn take<T>(&mut self, r: Result<T, Error>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(mut e) => {
                self.0.append(&mut e.violations);
                None
            }
        }
    }

    /// An optional free-text field: trimmed, None when empty, bounded.
    pub(crate) fn text(&mut self, field: &str, v: &str) -> Option<String> {
        if v.len() > MAX_TEXT {
            self.bad(field, format!("must be at most {MAX_TEXT} bytes"));
            return None;
        }
        if v.chars().any(char::is_control) {
            self.bad(field, "must not contain control characters");
            return None;
        }
        let v = v.trim();
        (!v.is_empty()).then(|| v.to_owned())
    }

    /// 1..=`max` distinct resource names of the `parent` workspace, each
    /// parsed by `parse` into (workspace, key, item); violations name
    /// `field[i]`.
    pub(crate) fn deploy_items<T>(
        &mut self,
        field: &str,
        noun: &str,
        parent: Option<&str>,
        names: &[String],
        max: usize,
        parse: impl Fn(&str, &str) -> Result<(String, String, T), Error>,
    ) -> Vec<T> {
        if names.is_empty() {
            self.bad(field, format!("name at least one {noun}"));
            return Vec::new();
        }
        if names.len() > max {
            self.bad(field, format!("at most {max} per deploy"));
            return Vec::new();
        }
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            let f = format!("{field}[{i}]");
            let Some((w, key, item)) = self.take(parse(&f, n)) else { continue };
            if parent.is_some_and(|p| p != w) {
                self.bad(&f, "belongs to another workspace than parent");
            } else if !seen.insert(key) {
                self.bad(&f, "is named twice");
            } else {
                out.push(item);
            }
        }
        out
    }

    /// Up to `max` distinct non-empty strings; violations name `field[i]`.
    pub(crate) fn distinct_texts(&mut self, field: &str, list: &[String], max: usize) -> Vec<String> {
        if list.len() > max {
            self.bad(field, format!("at most {max} values"));
        }
        let mut out: Vec<String> = Vec::new();
        for (i, v) in list.iter().enumerate() {
            match self.text(&format!("{field}[{i}]"), v) {
                Some(v) if !out.contains(&v) => out.push(v),
                Some(_) => {}
                None => self.bad(format!("{field}[{i}]"), "must not be empty"),
            }
        }
        out
    }

    /// page_size: 0 → default, 1..=100.
    pub(crate) fn page_size(&mut self, v: i32) -> u32 {
        if !(0..=MAX_PAGE_SIZE).contains(&v) {
            self.bad("page_size", format!("must be between 0 and {MAX_PAGE_SIZE} (0 means {DEFAULT_PAGE_SIZE})"));
            return DEFAULT_PAGE_SIZE;
        }
        if v == 0 { DEFAULT_PAGE_SIZE } else { v as u32 }
    }

    /// A known enum value.
    pub(crate) fn enumeration<E: TryFrom<i32>>(&mut self, field: &str, v: i32) -> Option<E> {
        match E::try_from(v) {
            Ok(e) => Some(e),
            Err(_) => {
                self.bad(field, format!("{v} is not a known value"));
                None
            }
        }
    }

    /// VIEW_FULL?
    pub(crate) fn view(&mut self, v: i32) -> bool {
        self.enumeration::<pb::View>("view", v) == Some(pb::View::Full)
    }

    /// A time range with start ≤ end.
    pub(crate) fn range(&mut self, field: &str, r: Option<&pb::TimeRange>) -> MsRange {
        let Some(r) = r else { return MsRange::default() };
        let mut one = |sub: &str, t: Option<&prost_types::Timestamp>| {
            let t = t?;
            if !(0..1_000_000_000).contains(&t.nanos) || !(0..=253_402_300_799).contains(&t.seconds) {
                self.bad(format!("{field}.{sub}"), "is not a valid timestamp");
                return None;
            }
            Some(time::ms(t))
        };
        let out =
            MsRange { start: one("start_time", r.start_time.as_ref()), end: one("end_time", r.end_time.as_ref()) };
        if let (Some(s), Some(e)) = (out.start, out.end)
            && s > e
        {
            self.bad(field, "start_time is after end_time");
        }
        out
    }

    /// A user filter value.
    pub(crate) fn user(&mut self, field: &str, u: Option<&pb::UserRef>) -> Option<UserKey> {
        use pb::user_ref::Key;
        match u?.key.as_ref() {
            None => {
                self.bad(field, "set id or display_name");
                None
            }
            Some(Key::Id(v)) => match self.text(&format!("{field}.id"), v) {
                Some(v) => Some(UserKey::Id(v)),
                None => {
                    self.bad(format!("{field}.id"), "must not be empty");
                    None
                }
            },
            Some(Key::DisplayName(v)) => match self.text(&format!("{field}.display_name"), v) {
                Some(v) => Some(UserKey::Name(v)),
                None => {
                    self.bad(format!("{field}.display_name"), "must not be empty");
                    None
                }
            },
        }
    }

    /// A request_id: required, a UUID; returned in canonical form.
    pub(crate) fn request_id(&mut self, v: &str) -> String {
        if v.is_empty() {
            self.bad("request_id", "is required: a UUID that makes retries of this deploy safe");
            return String::new();
        }
        match uuid::Uuid::try_parse(v) {
            Ok(u) => u.hyphenated().to_string(),
            Err(_) => {
                self.bad("request_id", "must be a UUID (e.g. 1b4e28ba-2fa1-11d2-883f-0016d3cca427)");
                String::new()
            }
        }
    }
}

/// An id segment: bounded, no control characters, no `/`, and not a dot
/// segment (`.`, `..`), which would change a vendor URL path.
fn id_ok(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_TEXT
        && !matches!(id, "." | "..")
        && !id.chars().any(|c| c.is_control() || c == '/')
}

/// Parses `workspaces/{w}`.
pub(crate) fn workspace(field: &str, name: &str) -> Result<String, Error> {
    match name.strip_prefix("workspaces/") {
        Some(w) if valid_workspace_name(w) => Ok(w.to_owned()),
        _ if name.is_empty() => Err(Error::invalid(field, "is required (workspaces/{workspace})")),
        _ => Err(Error::invalid(field, format!("{} is not a workspace name (workspaces/{{workspace}})", shown(name)))),
    }
}

/// Parses `workspaces/{w}/{collection}/{id}`.
pub(crate) fn child(field: &str, name: &str, collection: &str) -> Result<(String, String), Error> {
    let shape = format!("workspaces/{{workspace}}/{collection}/{{id}}");
    if name.is_empty() {
        return Err(Error::invalid(field, format!("is required ({shape})")));
    }
    let mut parts = name.splitn(4, '/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("workspaces"), Some(w), Some(c), Some(id)) if c == collection && valid_workspace_name(w) && id_ok(id) => {
            Ok((w.to_owned(), id.to_owned()))
        }
        _ => Err(Error::invalid(field, format!("{} is not a name of the form {shape}", shown(name)))),
    }
}

/// Parses `workspaces/{w}/files/{id}/versions/{n}` into (w, id, n).
pub(crate) fn file_version(field: &str, name: &str) -> Result<(String, String, i64), Error> {
    let shape = "workspaces/{workspace}/files/{file}/versions/{version}";
    let bad = || Error::invalid(field, format!("{} is not a name of the form {shape}", shown(name)));
    if name.is_empty() {
        return Err(Error::invalid(field, format!("is required ({shape})")));
    }
    let (file, version) = name.rsplit_once("/versions/").ok_or_else(bad)?;
    let (w, id) = child(field, file, "files").map_err(|_| bad())?;
    let n: i64 = version.parse().map_err(|_| bad())?;
    if n < 1 {
        return Err(Error::invalid(field, "version numbers start at 1"));
    }
    Ok((w, id, n))
}

/// The caller's deadline from `grpc-timeout`, if any.
pub(crate) fn deadline(meta: &MetadataMap) -> Option<Instant> {
    Instant::now().checked_add(crate::telemetry::trace::grpc_timeout(meta.as_ref())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(workspace("parent", "workspaces/dw-prod").unwrap(), "dw-prod");
        assert!(workspace("parent", "workspaces/DW").is_err());
        assert_eq!(child("name", "workspaces/a/files/script:x y", "files").unwrap().1, "script:x y");
        assert!(child("name", "workspaces/a/files/1/2", "files").is_err());
        assert_eq!(file_version("name", "workspaces/a/files/9/versions/3").unwrap(), ("a".into(), "9".into(), 3));
        assert!(file_version("name", "workspaces/a/files/9/versions/0").is_err());
    }

    proptest::proptest! {
        /// Any text as a name: parsed or INVALID_ARGUMENT naming the field,
        /// with a bounded message; never a panic.
        #[test]
        fn prop_any_name_is_parsed_or_refused(name in "(workspaces/)?[a-z0-9./:-]{0,12}(/files/|/deployments/)?.{0,40}(/versions/-?[0-9]{0,3})?") {
            for r in [
                workspace("parent", &name).map(drop),
                child("name", &name, "files").map(drop),
                child("name", &name, "deployments").map(drop),
                file_version("name", &name).map(drop),
            ] {
                if let Err(e) = r {
                    proptest::prop_assert_eq!(e.code, tonic::Code::InvalidArgument);
                    proptest::prop_assert!(e.violations.iter().all(|v| v.field == "name" || v.field == "parent"));
                    // domain::error::MAX_MESSAGE
                    proptest::prop_assert!(e.message.len() <= 2048);
                }
            }
        }

        /// Names built from valid parts parse back to those parts; dot
        /// segments and control characters never do.
        #[test]
        fn prop_valid_names_round_trip(w in "[a-z][a-z0-9-]{0,30}", id in "[A-Za-z0-9:_ .-]{1,40}", n in 1i64..100_000) {
            let parsed = child("name", &format!("workspaces/{w}/files/{id}"), "files");
            if id == "." || id == ".." {
                proptest::prop_assert!(parsed.is_err());
            } else {
                proptest::prop_assert_eq!(parsed.unwrap(), (w.clone(), id.clone()));
                proptest::prop_assert_eq!(file_version("name", &format!("workspaces/{w}/files/{id}/versions/{n}")).unwrap(), (w.clone(), id.clone(), n));
            }
            let control = format!("workspaces/{w}/files/{id}\u{0}");
            proptest::prop_assert!(child("name", &control, "files").is_err());
        }
    }
}
