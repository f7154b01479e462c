//! ACS3-HMAC-SHA256 verification of DataWorks requests.

use axum::http::{HeaderMap, Method, Uri};

use super::answer::{Answer, fail};
use crate::{
    emulator::common::signed_parts,
    providers::{alibaba::sign, signing},
};

/// The caller's access key if the request is signed by a key
/// `secret_for` knows, else the vendor's refusal.
pub(super) fn authenticate(
    secret_for: impl FnOnce(&str) -> Option<String>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    rid: &str,
) -> Result<String, Answer> {
    let (method, path, raw_query, hdrs) = signed_parts(method, uri, headers);
    let input = signing::VerifyInput { method, path, raw_query, headers: &hdrs, body };
    match sign::verify(&input, secret_for) {
        Ok(k) => Ok(k),
        Err(sign::VerifyError::UnknownAccessKey(_)) => {
            Err(fail(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.", rid))
        }
        Err(sign::VerifyError::MissingAuthorization) => {
            Err(fail(400, "MissingAuthorization", "Authorization is mandatory for this action.", rid))
        }
        Err(e) => Err(fail(
            400,
            "SignatureDoesNotMatch",
            &format!("The request signature does not conform to Aliyun standards ({e:?})."),
            rid,
        )),
    }
}
