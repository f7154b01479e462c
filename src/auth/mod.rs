//! Who is calling and what they may do: caller identity from a JWT bearer
//! token or the mTLS client certificate, per-workspace policies, and the
//! deploy audit trail.
//!
//! With no `auth` section the gateway is open (as before) and says so at start.

pub(crate) mod audit;
pub(crate) mod jwt;
pub(crate) mod jwt_crypto;
pub(crate) mod tls;

use std::sync::Arc;

use tonic::{Code, Request};

pub use crate::config::Permission;
use crate::{
    config::{Config, PolicyConfig, glob_match},
    domain::{Error, Reason},
};

/// An authenticated (or anonymous) caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    /// The identity (token claim or certificate SAN); None = anonymous.
    pub identity: Option<String>,
    /// `jwt`, `mtls` or `anonymous`.
    pub via: &'static str,
}

/// Authentication and authorization for the services.
#[derive(Clone, Default)]
pub(crate) struct Auth {
    enforced: Option<Arc<Enforced>>,
}

struct Enforced {
    jwt: Option<jwt::Verifier>,
    policies: Vec<PolicyConfig>,
}

impl Auth {
    /// Everyone may do everything.
    pub(crate) fn open() -> Self {
        Auth::default()
    }

    /// From the config's `auth` section; warns when there is none.
    pub(crate) fn from_config(cfg: &Config) -> anyhow::Result<Self> {
        let Some(a) = &cfg.auth else {
            tracing::warn!(
                "no `auth` section: every caller may read and DEPLOY on every workspace; configure auth.jwt or \
                 server.tls.client_ca_file and auth.policies"
            );
            return Ok(Auth::open());
        };
        let jwt = match &a.jwt {
            Some(j) => Some(jwt::Verifier::new(j).map_err(|e| anyhow::anyhow!("auth.jwt.jwks_file: {e}"))?),
            None => None,
        };
        Ok(Auth { enforced: Some(Arc::new(Enforced { jwt, policies: a.policies.clone() })) })
    }

    /// Who is calling. A bearer token, when present, must verify (and wins
    /// over the client certificate); otherwise the client certificate's SAN;
    /// otherwise anonymous.
    pub(crate) fn authenticate<T>(&self, req: &Request<T>) -> Result<Caller, Error> {
        if let Some(e) = &self.enforced
            && let Some(v) = req.metadata().get("authorization")
        {
            let token = v
                .to_str()
                .ok()
                .and_then(|s| s.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, t)| t.trim())
                .ok_or_else(|| unauthenticated("the authorization header must be `Bearer <token>`"))?;
            let verifier =
                e.jwt.as_ref().ok_or_else(|| unauthenticated("this gateway does not accept bearer tokens"))?;
            let id = verifier.verify(token).map_err(|r| unauthenticated(&r.to_string()))?;
            return Ok(Caller { identity: Some(id), via: "jwt" });
        }
        if let Some(certs) = req.peer_certs()
            && let Some(leaf) = certs.first()
        {
            return match tls::identity(leaf) {
                Some(id) => Ok(Caller { identity: Some(id), via: "mtls" }),
                None if self.enforced.is_some() => {
                    Err(unauthenticated("the client certificate names no SPIFFE URI or DNS name"))
                }
                None => Ok(Caller { identity: None, via: "anonymous" }),
            };
        }
        Ok(Caller { identity: None, via: "anonymous" })
    }

    /// Whether `caller` holds `perm` on `workspace`. A read that
    /// `allow_anonymous` opens is open to every caller, with credentials or
    /// without: a caller can always drop its token, so refusing it while
    /// serving anonymous callers would protect nothing.
    pub(crate) fn allows(&self, caller: &Caller, workspace: &str, perm: Permission) -> bool {
        let Some(e) = &self.enforced else { return true };
        e.policies.iter().any(|p| grants(p, caller, workspace, perm))
    }

    /// The policies that give `caller` `perm` on `workspace` (empty when
    /// the gateway is open).
    pub(crate) fn grant(&self, caller: &Caller, workspace: &str, perm: Permission) -> Grant {
        let Some(e) = &self.enforced else { return Grant::default() };
        Grant(
            e.policies.iter().zip(0u32..).filter(|(p, _)| grants(p, caller, workspace, perm)).map(|(_, i)| i).collect(),
        )
    }

    /// Fails with UNAUTHENTICATED when auth is enforced and `caller` is
    /// anonymous (for deploys, which no policy grants to anonymous callers).
    pub(crate) fn require_credentials(&self, caller: &Caller) -> Result<(), Error> {
        match (&self.enforced, &caller.identity) {
            (Some(_), None) => Err(unauthenticated(NO_CREDENTIALS)),
            _ => Ok(()),
        }
    }

    /// Fails unless `caller` holds `perm` on `workspace`: UNAUTHENTICATED
    /// for an anonymous caller, PERMISSION_DENIED naming the permission otherwise.
    pub(crate) fn check(&self, caller: &Caller, workspace: &str, perm: Permission) -> Result<(), Error> {
        if self.allows(caller, workspace, perm) {
            return Ok(());
        }
        match &caller.identity {
            None => Err(unauthenticated(NO_CREDENTIALS)),
            Some(id) => Err(Error::new(
                Code::PermissionDenied,
                Reason::PermissionDenied,
                format!("{id:?} lacks permission {} on workspaces/{workspace}", perm.as_str()),
            )),
        }
    }

    /// Authenticates and checks in one step.
    pub(crate) fn authorize<T>(&self, req: &Request<T>, workspace: &str, perm: Permission) -> Result<Caller, Error> {
        let caller = self.authenticate(req)?;
        self.check(&caller, workspace, perm)?;
        Ok(caller)
    }
}

/// Whether policy `p` gives `caller` `perm` on `workspace`.
fn grants(p: &PolicyConfig, caller: &Caller, workspace: &str, perm: Permission) -> bool {
    p.permissions.contains(&perm)
        && p.workspaces.iter().any(|w| w == "*" || w == workspace)
        && ((p.allow_anonymous && perm == Permission::Read)
            || caller.identity.as_ref().is_some_and(|id| p.subjects.iter().any(|s| glob_match(s, id))))
}

/// The policies that let a caller do something on a workspace, by their
/// place in `auth.policies`. Callers with the same grant are let see the
/// same things, so only they share coalesced and cached answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct Grant(Vec<u32>);

impl Grant {
    /// How many policies it holds.
    pub(crate) fn size(&self) -> usize {
        self.0.len()
    }

    /// The grant of these policies (tests).
    #[cfg(test)]
    pub(crate) fn of(policies: &[u32]) -> Grant {
        Grant(policies.to_vec())
    }
}

/// What an anonymous caller is told when a call needs credentials.
const NO_CREDENTIALS: &str = "this call needs credentials: a bearer token or a client certificate";

fn unauthenticated(msg: &str) -> Error {
    Error::new(Code::Unauthenticated, Reason::Unauthenticated, msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Permission::{Deploy, Read};

    fn auth(policies: Vec<PolicyConfig>) -> Auth {
        Auth { enforced: Some(Arc::new(Enforced { jwt: None, policies })) }
    }

    fn policy(subjects: &[&str], workspaces: &[&str], perms: &[Permission], anon: bool) -> PolicyConfig {
        PolicyConfig {
            name: "p".into(),
            subjects: subjects.iter().map(|s| (*s).to_owned()).collect(),
            workspaces: workspaces.iter().map(|s| (*s).to_owned()).collect(),
            permissions: perms.to_vec(),
            allow_anonymous: anon,
        }
    }

    fn who(id: &str) -> Caller {
        Caller { identity: Some(id.into()), via: "jwt" }
    }

    #[test]
    fn policies_grant_only_what_they_name() {
        let a = auth(vec![
            policy(&["spiffe://corp/ns/etl/*"], &["a"], &[Read, Deploy], false),
            policy(&["reader"], &["*"], &[Read], false),
            policy(&[], &["open"], &[Read], true),
        ]);
        assert!(a.allows(&who("spiffe://corp/ns/etl/sa/x"), "a", Deploy));
        assert!(!a.allows(&who("spiffe://corp/ns/etl/sa/x"), "b", Deploy));
        assert!(!a.allows(&who("spiffe://corp/ns/web/sa/x"), "a", Read));
        assert!(a.allows(&who("reader"), "b", Read));
        assert!(!a.allows(&who("reader"), "b", Deploy));
        let anon = Caller { identity: None, via: "anonymous" };
        assert!(a.allows(&anon, "open", Read));
        // What anonymous callers may read, callers with credentials may read too.
        assert!(a.allows(&who("spiffe://corp/ns/web/sa/x"), "open", Read));
        assert!(a.check(&who("spiffe://corp/ns/web/sa/x"), "open", Read).is_ok());
        assert!(!a.allows(&who("spiffe://corp/ns/web/sa/x"), "open", Deploy));
        assert!(!a.allows(&anon, "a", Read));
        assert_eq!(a.check(&anon, "a", Read).unwrap_err().code, Code::Unauthenticated);
        assert_eq!(a.require_credentials(&anon).unwrap_err().code, Code::Unauthenticated);
        assert!(a.require_credentials(&who("reader")).is_ok());
        assert!(Auth::open().require_credentials(&anon).is_ok());
        let e = a.check(&who("reader"), "b", Deploy).unwrap_err();
        assert_eq!(e.code, Code::PermissionDenied);
        assert!(e.message.contains("datastudio.deploy on workspaces/b"), "{}", e.message);
        assert!(Auth::open().allows(&anon, "a", Deploy));
    }

    #[test]
    fn a_grant_names_the_policies_that_let_the_caller_in() {
        let a = auth(vec![
            policy(&["team-a/*"], &["w"], &[Read], false),
            policy(&["team-b/*"], &["w"], &[Read], false),
            policy(&["team-*"], &["*"], &[Read], false),
        ]);
        let (a1, a2, b) = (who("team-a/x"), who("team-a/y"), who("team-b/x"));
        assert_eq!(a.grant(&a1, "w", Read), a.grant(&a2, "w", Read), "one team, one grant");
        assert_ne!(a.grant(&a1, "w", Read), a.grant(&b, "w", Read), "another team reads under another grant");
        assert_eq!(a.grant(&a1, "w", Read).size(), 2);
        assert_eq!(a.grant(&a1, "v", Read), a.grant(&b, "v", Read), "only the wildcard policy lets either into v");
        assert_eq!(Auth::open().grant(&a1, "w", Read), Auth::open().grant(&b, "w", Read));
    }
}
