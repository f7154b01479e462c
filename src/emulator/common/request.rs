//! A received request as the vendors' signature checks read it.

use axum::http::{HeaderMap, Method, Uri};

/// Method, path, raw query and every header as `(name, value)`: what a
/// `providers::signing::VerifyInput` takes from a request besides its body.
pub(crate) fn signed_parts<'a>(
    method: &'a Method,
    uri: &'a Uri,
    headers: &HeaderMap,
) -> (&'a str, &'a str, &'a str, Vec<(String, String)>) {
    let pairs = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    (method.as_str(), uri.path(), uri.query().unwrap_or_default(), pairs)
}
