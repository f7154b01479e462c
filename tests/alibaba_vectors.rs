//! ACS3-HMAC-SHA256 against the vectors produced by Alibaba's official Python SDK signer
//! (`tests/fixtures/vectors/alibaba-acs3.json`), plus server-side verification.

use std::path::PathBuf;

use datastudio_gateway::providers::{
    alibaba::sign::{self, SignInput, VerifyError, form_encode},
    signing::{VerifyInput, format_acs_date, parse_urlencoded, rfc3986_encode, sha256_hex},
};
use serde_json::Value;

fn cases() -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vectors/alibaba-acs3.json");
    let text = std::fs::read_to_string(&path).expect("read alibaba vectors");
    let doc: Value = serde_json::from_str(&text).expect("parse alibaba vectors");
    let cases = doc["cases"].as_array().expect("cases").clone();
    assert_eq!(cases.len(), 12, "expected 12 alibaba cases");
    cases
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} is not a string"))
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .expect("pair list")
        .iter()
        .map(|p| {
            let p = p.as_array().expect("pair");
            (p[0].as_str().expect("name").to_owned(), p[1].as_str().expect("value").to_owned())
        })
        .collect()
}

/// Python `str()` of an SDK parameter, as the SDK stringifies form/query values.
fn python_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(n) => n.to_string(),
        // "shrink" arrays: compact JSON, non-ASCII kept raw.
        other => serde_json::to_string(other).expect("json"),
    }
}

fn split_target(target: &str) -> (&str, &str) {
    target.split_once('?').unwrap_or((target, ""))
}

#[derive(Clone)]
struct Case {
    name: String,
    ak: String,
    secret: String,
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    sent: Vec<(String, String)>,
    target: String,
    out: Value,
    api_params: Value,
}

fn load(c: &Value) -> Case {
    let i = &c["inputs"];
    let o = &c["outputs"];
    Case {
        name: s(c, "name").to_owned(),
        ak: s(i, "access_key_id").to_owned(),
        secret: s(i, "access_key_secret").to_owned(),
        method: s(i, "method").to_owned(),
        path: s(i, "path").to_owned(),
        query: pairs(&i["query"]),
        headers: pairs(&i["headers_before_signing"]),
        body: s(i, "body").as_bytes().to_vec(),
        sent: pairs(&o["headers_as_sent"]),
        target: s(o, "wire_request_target").to_owned(),
        out: o.clone(),
        api_params: c["api_params"].clone(),
    }
}

fn sign_case(c: &Case) -> sign::Signature {
    sign::sign(
        &c.ak,
        &c.secret,
        &SignInput { method: &c.method, path: &c.path, query: &c.query, headers: &c.headers, body: &c.body },
    )
}

fn verify_case(
    c: &Case,
    headers: &[(String, String)],
    body: &[u8],
    secret: Option<&str>,
) -> Result<String, VerifyError> {
    let (path, raw_query) = split_target(&c.target);
    sign::verify(&VerifyInput { method: &c.method, path, raw_query, headers, body }, |ak| {
        assert_eq!(ak, c.ak, "{}: verify asked for the wrong key", c.name);
        secret.map(str::to_owned)
    })
}

#[test]
fn every_case_matches_sdk_output_byte_for_byte() {
    for c in cases().iter().map(load) {
        let sig = sign_case(&c);
        let o = &c.out;
        let n = &c.name;
        assert_eq!(sha256_hex(&c.body), s(o, "x-acs-content-sha256"), "{n}: body hash");
        assert_eq!(sig.canonical_query_string, s(o, "canonical_query_string"), "{n}: query");
        assert_eq!(sig.canonical_headers, s(o, "canonical_headers"), "{n}: headers");
        assert_eq!(sig.signed_headers, s(o, "signed_headers"), "{n}: signed headers");
        assert_eq!(sig.canonical_request, s(o, "canonical_request"), "{n}: canonical request");
        assert_eq!(sig.string_to_sign, s(o, "string_to_sign"), "{n}: string to sign");
        assert_eq!(sig.signature, s(o, "signature"), "{n}: signature");
        assert_eq!(sig.authorization, s(o, "authorization"), "{n}: authorization");
        let wire_auth = c.sent.iter().find(|(k, _)| k == "Authorization").map(|(_, v)| v.as_str());
        assert_eq!(wire_auth, Some(sig.authorization.as_str()), "{n}: wire authorization");
    }
}

#[test]
fn doc_example_signature_is_the_published_one() {
    let c = cases().iter().map(load).find(|c| c.name == "doc_example_ecs_runinstances").expect("doc example");
    assert_eq!(sign_case(&c).signature, "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0");
}

#[test]
fn form_encode_reproduces_sdk_bodies_and_wire_queries() {
    for c in cases().iter().map(load) {
        let (_, wire_query) = split_target(&c.target);
        assert_eq!(form_encode(&c.query), wire_query, "{}: wire query", c.name);
        let Some(params) = c.api_params.as_object() else {
            continue; // doc example: no SDK model
        };
        let body_pairs: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| !c.query.iter().any(|(q, _)| q == *k))
            .map(|(k, v)| (k.clone(), python_str(v)))
            .collect();
        let expected = String::from_utf8(c.body.clone()).expect("utf-8 body");
        assert_eq!(form_encode(&body_pairs), expected, "{}: form body", c.name);
    }
}

#[test]
fn encoders_follow_the_documented_rules() {
    assert_eq!(rfc3986_encode("a b*c/d+e=f&g~h_i-j.k节"), "a%20b%2Ac%2Fd%2Be%3Df%26g~h_i-j.k%E8%8A%82");
    let pairs = vec![("b".to_owned(), "x y,z*/~".to_owned()), ("A".to_owned(), String::new())];
    assert_eq!(form_encode(&pairs), "A=&b=x+y%2Cz%2A%2F~");
    assert_eq!(
        parse_urlencoded("A=&b=x+y%2Cz%2A%2F~&&flag&bad=%zz%4"),
        vec![
            ("A".to_owned(), String::new()),
            ("b".to_owned(), "x y,z*/~".to_owned()),
            ("flag".to_owned(), String::new()),
            ("bad".to_owned(), "%zz%4".to_owned()),
        ]
    );
}

#[test]
fn headers_duplicates_trim_and_empty_path() {
    let headers = vec![
        ("X-Acs-Dup".to_owned(), " b ".to_owned()),
        ("host".to_owned(), "h".to_owned()),
        ("x-acs-dup".to_owned(), "a".to_owned()),
    ];
    let query = vec![("b".to_owned(), "2".to_owned()), ("B".to_owned(), "1 1".to_owned())];
    let sig =
        sign::sign("ak", "sk", &SignInput { method: "GET", path: "", query: &query, headers: &headers, body: b"" });
    assert_eq!(sig.canonical_headers, "host:h\nx-acs-dup:a,b\n");
    assert_eq!(sig.signed_headers, "host;x-acs-dup");
    assert_eq!(sig.canonical_query_string, "B=1%201&b=2");
    assert!(sig.canonical_request.starts_with("GET\n/\nB=1%201&b=2\n"));
}

#[test]
fn acs_date_format() {
    use std::time::{Duration, UNIX_EPOCH};
    let at = |secs: u64| format_acs_date(UNIX_EPOCH + Duration::from_secs(secs));
    assert_eq!(at(0), "1970-01-01T00:00:00Z");
    assert_eq!(at(1_717_228_800), "2024-06-01T08:00:00Z");
    assert_eq!(at(1_709_164_799), "2024-02-28T23:59:59Z");
    assert_eq!(at(1_709_251_199), "2024-02-29T23:59:59Z");
    assert_eq!(at(951_868_800), "2000-03-01T00:00:00Z");
    assert_eq!(at(1_698_315_752), "2023-10-26T10:22:32Z");
}

#[test]
fn verify_accepts_every_case_as_sent_on_the_wire() {
    for c in cases().iter().map(load) {
        assert_eq!(verify_case(&c, &c.sent, &c.body, Some(&c.secret)), Ok(c.ak.clone()), "{}", c.name);
    }
}

#[test]
fn verify_rejects_tampering_wrong_secret_and_unknown_key() {
    for c in cases().iter().map(load) {
        let n = &c.name;
        let mut body = c.body.clone();
        body.push(b'x');
        assert_eq!(
            verify_case(&c, &c.sent, &body, Some(&c.secret)),
            Err(VerifyError::BodyHashMismatch),
            "{n}: tampered body"
        );

        // Body and its hash header both replaced: the signature no longer matches.
        let rehashed: Vec<(String, String)> = c
            .sent
            .iter()
            .map(|(k, v)| {
                if k.eq_ignore_ascii_case("x-acs-content-sha256") {
                    (k.clone(), sha256_hex(&body))
                } else {
                    (k.clone(), v.clone())
                }
            })
            .collect();
        assert_eq!(
            verify_case(&c, &rehashed, &body, Some(&c.secret)),
            Err(VerifyError::SignatureMismatch),
            "{n}: tampered body and hash"
        );

        let altered: Vec<(String, String)> = c
            .sent
            .iter()
            .map(
                |(k, v)| {
                    if k == "x-acs-signature-nonce" { (k.clone(), format!("{v}0")) } else { (k.clone(), v.clone()) }
                },
            )
            .collect();
        assert_eq!(
            verify_case(&c, &altered, &c.body, Some(&c.secret)),
            Err(VerifyError::SignatureMismatch),
            "{n}: altered signed header"
        );

        assert_eq!(
            verify_case(&c, &c.sent, &c.body, Some("not-the-secret")),
            Err(VerifyError::SignatureMismatch),
            "{n}: wrong secret"
        );
        assert_eq!(
            verify_case(&c, &c.sent, &c.body, None),
            Err(VerifyError::UnknownAccessKey(c.ak.clone())),
            "{n}: unknown key"
        );

        let no_auth: Vec<(String, String)> = c.sent.iter().filter(|(k, _)| k != "Authorization").cloned().collect();
        assert_eq!(
            verify_case(&c, &no_auth, &c.body, Some(&c.secret)),
            Err(VerifyError::MissingAuthorization),
            "{n}: no authorization"
        );
        let mut bad_auth = no_auth.clone();
        bad_auth.push(("Authorization".to_owned(), format!("ACS3-HMAC-SHA256 Credential={},Signature=00", c.ak)));
        assert_eq!(
            verify_case(&c, &bad_auth, &c.body, Some(&c.secret)),
            Err(VerifyError::Malformed),
            "{n}: malformed authorization"
        );
    }
}

#[test]
fn verify_query_accepts_plus_or_percent_20_but_not_a_changed_value() {
    let c = cases().iter().map(load).find(|c| c.name == "list_pipeline_runs_get_query_special").expect("case");
    let mut c20 = c.clone();
    c20.target = c.target.replace('+', "%20");
    assert_ne!(c20.target, c.target);
    assert_eq!(verify_case(&c20, &c.sent, &c.body, Some(&c.secret)), Ok(c.ak.clone()));
    c20.target = c.target.replace("Status=Running", "Status=Failed");
    assert_eq!(verify_case(&c20, &c.sent, &c.body, Some(&c.secret)), Err(VerifyError::SignatureMismatch));
}
