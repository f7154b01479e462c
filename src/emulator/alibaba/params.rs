//! A DataWorks request's parameters (query plus form body, as the SDK sends them) and paging.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, Uri};

use crate::providers::signing;

/// One DataWorks call: its action, API version, parameters and caller's access key.
pub(super) struct Req {
    pub(super) action: String,
    pub(super) version: String,
    pub(super) params: BTreeMap<String, String>,
    pub(super) key: String,
}

impl Req {
    /// `action`'s parameters, called by `key`: the query, then the form body over it.
    pub(super) fn read(action: &str, key: String, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Req {
        let mut params: BTreeMap<String, String> =
            signing::parse_urlencoded(uri.query().unwrap_or_default()).into_iter().collect();
        if !body.is_empty() {
            params.extend(signing::parse_urlencoded(&String::from_utf8_lossy(body)));
        }
        let version = headers.get("x-acs-version").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        Req { action: action.to_owned(), version, params, key }
    }
}

pub(super) fn boolean(p: &BTreeMap<String, String>, k: &str) -> bool {
    p.get(k).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

pub(super) fn int(p: &BTreeMap<String, String>, k: &str) -> Result<Option<i64>, String> {
    match p.get(k) {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| format!("The parameter {k} is invalid.")),
    }
}

/// A comma-separated list of integers, if given.
pub(super) fn int_list(p: &BTreeMap<String, String>, k: &str) -> Result<Option<Vec<i64>>, String> {
    text(p, k)
        .map(|t| t.split(',').map(|x| x.trim().parse().map_err(|_| format!("The parameter {k} is invalid."))).collect())
        .transpose()
}

pub(super) fn text<'a>(p: &'a BTreeMap<String, String>, k: &str) -> Option<&'a str> {
    p.get(k).map(String::as_str).filter(|v| !v.is_empty())
}

pub(super) fn paging(p: &BTreeMap<String, String>) -> Result<(i64, i64), String> {
    let n = int(p, "PageNumber")?.unwrap_or(1);
    let s = int(p, "PageSize")?.unwrap_or(10);
    if n < 1 || !(1..=100).contains(&s) {
        return Err("The parameter PageSize or PageNumber is invalid.".into());
    }
    Ok((n, s))
}

pub(super) fn page<T: Clone>(items: &[T], n: i64, s: i64) -> Vec<T> {
    items.iter().skip(((n - 1) * s) as usize).take(s as usize).cloned().collect()
}
