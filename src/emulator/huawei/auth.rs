//! Who is calling: SDK-HMAC-SHA256 signatures, or IAM tokens the emulator issues itself.

use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, HeaderValue, Method, Uri};
use serde_json::{Value, json};

use super::{
    Emu, Options,
    answer::{Answer, fail, respond_json},
    params::{header, str_of},
    store::{User, World},
};
use crate::{
    emulator::common::signed_parts,
    providers::{huawei::sign, signing},
};

const TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// An IAM token the emulator issued.
pub(super) struct Token {
    user: String,
    expires: SystemTime,
    /// Credentials epoch it was issued in (`Control::expire_issued_credentials`).
    epoch: u64,
}

impl Token {
    /// A token of `user` valid until `expires`, issued in credentials `epoch`.
    pub(super) fn new(user: &str, expires: SystemTime, epoch: u64) -> Self {
        Token { user: user.to_owned(), expires, epoch }
    }
}

/// Who is calling: an access key or an IAM user; `Err` is the APIGW.0301 message.
pub(super) fn authenticate(
    emu: &Emu,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Caller, String> {
    let epoch = emu.control.credentials_epoch();
    if let Some(token) = header(headers, "x-auth-token") {
        let w = emu.world();
        return match w.tokens.get(token) {
            Some(t) if t.expires > SystemTime::now() && t.epoch >= epoch => Ok(Caller::User(t.user.clone())),
            Some(_) => Err("Incorrect IAM authentication information: the token has expired".into()),
            None => Err("Incorrect IAM authentication information: the token is invalid".into()),
        };
    }
    let (method, path, raw_query, hdrs) = signed_parts(method, uri, headers);
    let input = signing::VerifyInput { method, path, raw_query, headers: &hdrs, body };
    let w = emu.world();
    let secret_for = |ak: &str| {
        let configured = emu.opts.credentials.iter().find(|(a, _)| a == ak).map(|(_, sk)| sk.clone());
        configured.or_else(|| w.temporary_keys.get(ak).map(|k| k.secret().to_owned()))
    };
    match sign::verify(&input, SystemTime::now(), secret_for) {
        Ok(ak) => match w.temporary_keys.get(&ak) {
            Some(k) => k.admit(headers, epoch).map(Caller::User),
            None => Ok(Caller::Key(ak)),
        },
        Err(sign::VerifyError::UnknownAccessKey(_)) => {
            Err("Incorrect IAM authentication information: the access key does not exist".into())
        }
        Err(sign::VerifyError::StaleDate) => {
            Err("Incorrect IAM authentication information: the request has expired (X-Sdk-Date)".into())
        }
        Err(sign::VerifyError::MissingAuthorization) => {
            Err("Incorrect IAM authentication information: Authorization or X-Auth-Token is missing".into())
        }
        Err(e) => Err(format!("Incorrect IAM authentication information: verify aksk signature fail ({e})")),
    }
}

pub(super) enum Caller {
    Key(String),
    User(String),
}

impl Caller {
    pub(super) fn key(&self) -> String {
        match self {
            Caller::Key(ak) => format!("ak:{ak}"),
            Caller::User(u) => format!("user:{u}"),
        }
    }
    pub(super) fn user(&self) -> User {
        match self {
            Caller::Key(_) => User { id: "0d5a0000000000000000000000d5a0a1".into(), name: "dsgw-deployer".into() },
            Caller::User(u) => {
                User { id: format!("{:0>32}", signing::sha256_hex(u.as_bytes())[..12].to_owned()), name: u.clone() }
            }
        }
    }
}

pub(super) fn issue_token(w: &mut World, opts: &Options, epoch: u64, b: &Value, rid: &str) -> Answer {
    let user = b.pointer("/auth/identity/password/user");
    let name = user.and_then(|u| str_of(u, "name"));
    let password = user.and_then(|u| str_of(u, "password"));
    let domain = user.and_then(|u| u.pointer("/domain/name")).and_then(Value::as_str);
    let (Some(name), Some(password), Some(domain)) = (name, password, domain) else {
        return fail(
            400,
            "IAM.0007",
            "The request body is invalid: password user, password and domain are required.",
            rid,
        );
    };
    if !opts.iam_users.iter().any(|(d, u, p)| d == domain && u == name && p == password) {
        return fail(401, "IAM.0004", "The username or password is wrong.", rid);
    }
    let token = format!("MIIEvQYJKoZIhvcNAQcCoIIErjCC{}{}", w.hex(), w.hex());
    let issued = SystemTime::now();
    let expires = issued + TOKEN_LIFETIME;
    w.tokens.insert(token.clone(), Token::new(name, expires, epoch));
    let fmt = |t: SystemTime| {
        jiff::Timestamp::try_from(t).map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()).unwrap_or_default()
    };
    let project = b.pointer("/auth/scope/project/id").and_then(Value::as_str).unwrap_or(&opts.project_id);
    let body = json!({"token": {
        "expires_at": fmt(expires),
        "issued_at": fmt(issued),
        "methods": ["password"],
        "user": {"name": name, "domain": {"name": domain}},
        "project": {"id": project},
    }});
    let mut r = respond_json(201, &body, rid);
    if let Ok(v) = HeaderValue::from_str(&token) {
        r.headers_mut().insert("X-Subject-Token", v);
    }
    Box::new((201, None, r))
}
