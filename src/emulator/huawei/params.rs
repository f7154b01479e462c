//! Reading a DataArts Studio request: headers, query parameters, JSON body fields, paging.

use axum::http::HeaderMap;
use serde_json::Value;

use super::answer::{Answer, param};

pub(super) fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Decoded query pairs.
pub(super) struct Query(pub(super) Vec<(String, String)>);

impl Query {
    /// A non-empty value.
    pub(super) fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    /// `limit` and `offset`, checked.
    pub(super) fn paging(&self, rid: &str) -> Result<(usize, usize), Answer> {
        paging(query_int(self.get("limit"), "limit", rid)?, query_int(self.get("offset"), "offset", rid)?, rid)
    }
}

pub(super) fn paging(limit: Option<i64>, offset: Option<i64>, rid: &str) -> Result<(usize, usize), Answer> {
    let limit = limit.unwrap_or(10);
    let offset = offset.unwrap_or(0);
    if !(1..=100).contains(&limit) {
        return Err(param("limit must be between 1 and 100.", rid));
    }
    if offset < 0 {
        return Err(param("offset must be at least 0.", rid));
    }
    Ok((limit as usize, offset as usize))
}

pub(super) fn query_int(v: Option<&str>, name: &str, rid: &str) -> Result<Option<i64>, Answer> {
    match v {
        None => Ok(None),
        Some(s) => s.trim().parse().map(Some).map_err(|_| param(&format!("{name} must be an integer."), rid)),
    }
}

pub(super) fn contains_ci(hay: &str, needle: &str) -> bool {
    hay.to_lowercase().contains(&needle.to_lowercase())
}

pub(super) fn strs(v: &Value, k: &str) -> Vec<String> {
    v.get(k)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

pub(super) fn int_of(v: &Value, k: &str) -> Option<i64> {
    match v.get(k)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(super) fn str_of<'v>(v: &'v Value, k: &str) -> Option<&'v str> {
    v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty())
}
