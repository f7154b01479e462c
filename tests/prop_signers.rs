//! Property tests of both signers' canonicalisation: whatever the query,
//! path and body, the vendor-side verifier (the emulators') accepts what
//! the gateway signs, and refuses it once the body or a query value changes.
//! Bounded by proptest's case count (PROPTEST_CASES; see scripts/proptest-long.sh).

use std::time::SystemTime;

use datastudio_gateway::providers::{
    alibaba::sign as ali,
    huawei::sign as hw,
    signing::{VerifyInput, format_sdk_date, rfc3986_encode, sha256_hex},
};
use proptest::prelude::*;

fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec(("[A-Za-z0-9.]{1,10}", ".{0,16}"), 0..6)
}

proptest! {
    #[test]
    fn prop_huawei_signatures_verify(
        query in pairs(),
        segments in proptest::collection::vec(".{1,10}", 0..4),
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let path = format!("/v2/{}", segments.iter().map(|s| rfc3986_encode(s)).collect::<Vec<_>>().join("/"));
        let now = SystemTime::now();
        let headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        let input = hw::SignInput { method: "POST", host: "dayu.example", path: &path, query: &query, headers: &headers, body: &body };
        let sig = hw::sign("ak", "sk", &input, &format_sdk_date(now));
        let verify = |raw_query: &str, body: &[u8]| hw::verify(
            &VerifyInput { method: "POST", path: &path, raw_query, headers: &sig.headers_to_send, body },
            now,
            |_| Some("sk".to_owned()),
        );
        prop_assert_eq!(verify(&sig.canonical_query_string, &body), Ok("ak".to_owned()));
        let mut other = body.clone();
        other.push(b'x');
        prop_assert!(verify(&sig.canonical_query_string, &other).is_err());
        let extended = format!("{}&zz=1", sig.canonical_query_string);
        prop_assert!(verify(&extended, &body).is_err());
    }

    #[test]
    fn prop_alibaba_signatures_verify(query in pairs(), body in proptest::collection::vec(any::<u8>(), 0..64)) {
        let headers = vec![
            ("host".to_owned(), "dataworks.example".to_owned()),
            ("x-acs-action".to_owned(), "ListFiles".to_owned()),
            ("x-acs-content-sha256".to_owned(), sha256_hex(&body)),
        ];
        let input = ali::SignInput { method: "POST", path: "/", query: &query, headers: &headers, body: &body };
        let sig = ali::sign("ak", "sk", &input);
        let mut sent = headers.clone();
        sent.push(("Authorization".to_owned(), sig.authorization.clone()));
        let raw_query = ali::form_encode(&query);
        let verify = |raw_query: &str, body: &[u8]| ali::verify(
            &VerifyInput { method: "POST", path: "/", raw_query, headers: &sent, body },
            |_| Some("sk".to_owned()),
        );
        prop_assert_eq!(verify(&raw_query, &body), Ok("ak".to_owned()));
        let mut other = body.clone();
        other.push(b'x');
        prop_assert!(verify(&raw_query, &other).is_err());
        let extended = format!("{raw_query}&zz=1");
        prop_assert!(verify(&extended, &body).is_err());
    }
}
