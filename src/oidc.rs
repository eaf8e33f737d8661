//! Single sign-on: bearer JWTs from an organisation's own OpenID Connect server (Keycloak,
//! Authing, a government SSO), verified here against its published key set.
//!
//! Only asymmetric signatures are accepted (RS256, ES256): a token signed with `none`, or with
//! HMAC (the classic attack signs with the server's *public* key as the HMAC secret), is
//! refused before any key is looked at. The issuer and audience must be exactly the
//! configured ones; `exp` and `nbf` are checked with a small leeway for clock drift. The key
//! set is fetched on first use and kept; a token naming a key it does not hold fetches it
//! again (the server rotated its keys), at most once per [`OidcConfig::refetch_interval_s`],
//! so a stream of forged `kid`s cannot turn this server into a flood against the identity
//! server. Nothing here reaches outside the addresses configured.
//!
//! Roles: the token's roles (at `roles_claim`, a dotted path such as `realm_access.roles`)
//! are looked up in `[auth.oidc.roles.NAME]`, each giving a role, collections and a scope
//! (see `record::scope`). When several match, the one with the highest role wins (the first
//! configured among equals): rights are not merged.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value as Json;

use crate::record::Scope;

/// The algorithms a token may be signed with.
pub const ALGORITHMS: [Algorithm; 2] = [Algorithm::RS256, Algorithm::ES256];

/// The `[auth.oidc]` section.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The `iss` every token must carry, exactly.
    pub issuer: String,
    /// The `aud` every token must carry (one of its audiences).
    pub audience: String,
    /// Where the key set is; default: the `jwks_uri` of the issuer's discovery document
    /// (`{issuer}/.well-known/openid-configuration`).
    pub jwks_url: Option<String>,
    /// Where the token's roles are: a claim, or a dotted path into it. Default `roles`.
    #[serde(default = "default_roles_claim")]
    pub roles_claim: String,
    /// Roles of the identity server and the rights each gives here.
    #[serde(default)]
    pub roles: BTreeMap<String, RoleGrant>,
    /// The web map's client id at the identity server: with it, the map offers "Sign in with …"
    /// (authorization code with PKCE). Without it, people paste a token.
    pub client_id: Option<String>,
    /// What the sign-in button says (default: the issuer's host).
    pub display_name: Option<String>,
    /// Seconds between fetches of the key set for an unknown `kid` (default 60).
    #[serde(default = "default_refetch")]
    pub refetch_interval_s: u64,
    /// Seconds a fetched key set is used before it is fetched again (default 3600).
    #[serde(default = "default_keys_max_age")]
    pub keys_max_age_s: u64,
    /// Seconds of clock drift allowed on `exp` and `nbf` (default 60, at most 300).
    #[serde(default = "default_leeway")]
    pub leeway_s: u64,
}

fn default_roles_claim() -> String {
    "roles".into()
}
fn default_refetch() -> u64 {
    60
}
fn default_leeway() -> u64 {
    60
}
fn default_keys_max_age() -> u64 {
    3600
}

/// What one role of the identity server gives here.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RoleGrant {
    /// reader, editor or admin.
    pub role: String,
    /// The collections it may edit (default: all).
    pub collections: Option<Vec<String>>,
    /// A CQL2 text filter the features it edits must satisfy before and after (needs
    /// collections).
    #[serde(rename = "where")]
    pub write_where: Option<String>,
    /// The only properties it may change (`geometry` for the outline).
    pub fields: Option<Vec<String>>,
    /// A GeoJSON Polygon its geometries must stay within.
    pub area: Option<Json>,
    /// Refused for now: reads are not filtered per role yet (see `record::scope`).
    pub read_where: Option<String>,
}

impl RoleGrant {
    /// Its scope, applied in each of its collections.
    pub fn scope(&self) -> Scope {
        Scope {
            write_where: self.write_where.clone(),
            fields: self.fields.clone(),
            area: self.area.clone(),
            read_where: self.read_where.clone(),
        }
    }

    fn rank(&self) -> u8 {
        match self.role.as_str() {
            "admin" => 3,
            "editor" => 2,
            "reader" => 1,
            _ => 0,
        }
    }
}

impl OidcConfig {
    /// Why these settings cannot be used, if they cannot (checked at start).
    pub fn check(&self) -> Result<(), String> {
        for (what, url) in [
            ("issuer", Some(&self.issuer)),
            ("jwks_url", self.jwks_url.as_ref()),
        ] {
            if let Some(u) = url {
                if !(u.starts_with("https://") || u.starts_with("http://")) {
                    return Err(format!("[auth.oidc] {what} {u:?} is not an http(s) URL"));
                }
            }
        }
        if self.audience.is_empty() {
            return Err("[auth.oidc] audience is empty".into());
        }
        if self.leeway_s > 300 {
            return Err("[auth.oidc] leeway_s is at most 300".into());
        }
        for (name, grant) in &self.roles {
            if !crate::record::tokens::ROLES.contains(&grant.role.as_str()) {
                return Err(format!(
                    "[auth.oidc.roles.{name}] role {:?}: reader, editor or admin",
                    grant.role
                ));
            }
            let scope = grant.scope();
            if !scope.is_empty() && grant.collections.is_none() {
                return Err(format!(
                    "[auth.oidc.roles.{name}] a scope (where, fields, area, read_where) needs collections"
                ));
            }
            scope
                .check(name)
                .map_err(|e| format!("[auth.oidc.roles.{name}] {e}"))?;
        }
        Ok(())
    }
}

/// Who a verified token names, and the grant its roles give.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// The `sub` claim (recorded with every change).
    pub subject: String,
    /// The grant of its highest role; `None`: none of its roles is configured.
    pub grant: Option<RoleGrant>,
}

/// Why a token was refused; said in the 401 and logged (never the token).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OidcError {
    #[error("the token is not a JWT signed with RS256 or ES256")]
    Algorithm,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token is for another audience")]
    Audience,
    #[error("the token is from another issuer")]
    Issuer,
    #[error("the token is signed with a key the identity server does not publish")]
    UnknownKey,
    #[error("the token's signature does not verify")]
    Signature,
    #[error("the token is malformed: {0}")]
    Malformed(String),
    /// The key set could not be fetched (the identity server is unreachable or answers
    /// something else): a 503, not the client's fault.
    #[error("the identity server's key set cannot be fetched: {0}")]
    KeySet(String),
}

/// Fetches a URL's body (the key set, the discovery document).
pub type Fetch = Box<dyn Fn(&str) -> Result<String, String> + Send + Sync>;

/// A verifier: the settings and the key set as last fetched.
pub struct Oidc {
    pub config: OidcConfig,
    keys: Mutex<Keys>,
    fetch: Fetch,
}

#[derive(Default)]
struct Keys {
    set: Option<JwkSet>,
    /// The issuer's discovery document, once read.
    discovery: Option<Json>,
    jwks_url: Option<String>,
    fetched: Option<Instant>,
    fetches: u64,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("issuer", &self.config.issuer)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Oidc {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config
    }
}

/// How long fetching the key set may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest key set or discovery document read.
const MAX_DOCUMENT_BYTES: u64 = 1024 * 1024;

/// Fetches over HTTP(S), trusting the operating system's certificates (where an intranet's own
/// certificate authority is installed).
pub fn http_fetch() -> Fetch {
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(FETCH_TIMEOUT))
        .tls_config(tls)
        .build()
        .into();
    Box::new(move |url: &str| {
        let mut res = agent.get(url).call().map_err(|e| format!("{url}: {e}"))?;
        res.body_mut()
            .with_config()
            .limit(MAX_DOCUMENT_BYTES)
            .read_to_string()
            .map_err(|e| format!("{url}: {e}"))
    })
}

impl Oidc {
    pub fn new(config: OidcConfig, fetch: Fetch) -> Self {
        Oidc {
            config,
            keys: Mutex::new(Keys::default()),
            fetch,
        }
    }

    /// How many times the key set was fetched (for the tests and the logs).
    pub fn fetches(&self) -> u64 {
        self.keys.lock().map_or(0, |k| k.fetches)
    }

    /// Whether `token` looks like a JWT (three base64url parts), not an API token.
    pub fn is_jwt(token: &str) -> bool {
        token.split('.').count() == 3 && !token.starts_with(crate::record::tokens::PREFIX)
    }

    /// Verifies `token` and reads who it names. Blocking: it may fetch the key set.
    pub fn verify(&self, token: &str) -> Result<Verified, OidcError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
            // `alg: none` and unknown algorithms do not parse as a header at all.
            jsonwebtoken::errors::ErrorKind::Json(_) => OidcError::Algorithm,
            _ => OidcError::Malformed(e.to_string()),
        })?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(OidcError::Algorithm);
        }
        let kid = header.kid.clone().unwrap_or_default();
        let key = self.key(&kid, header.alg)?;
        let mut v = Validation::new(header.alg);
        v.algorithms = vec![header.alg];
        v.leeway = self.config.leeway_s;
        v.validate_nbf = true;
        v.set_issuer(&[&self.config.issuer]);
        v.set_audience(&[&self.config.audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Json>(token, &key, &v).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::ExpiredSignature => OidcError::Expired,
                K::ImmatureSignature => OidcError::NotYetValid,
                K::InvalidAudience => OidcError::Audience,
                K::InvalidIssuer => OidcError::Issuer,
                K::InvalidSignature => OidcError::Signature,
                K::InvalidAlgorithm => OidcError::Algorithm,
                _ => OidcError::Malformed(e.to_string()),
            }
        })?;
        let claims = data.claims;
        let subject = claims["sub"]
            .as_str()
            .filter(|s| !s.is_empty() && s.len() <= 255)
            .ok_or_else(|| OidcError::Malformed("no subject (sub)".into()))?
            .to_owned();
        let roles = roles_at(&claims, &self.config.roles_claim);
        let grant = self
            .config
            .roles
            .iter()
            .filter(|(name, _)| roles.iter().any(|r| r == *name))
            .map(|(_, g)| g)
            .fold(None::<&RoleGrant>, |best, g| match best {
                Some(b) if b.rank() >= g.rank() => Some(b),
                _ => Some(g),
            })
            .cloned();
        Ok(Verified { subject, grant })
    }

    /// The key `kid`, fetching the key set when it is not held (at most once per interval).
    fn key(&self, kid: &str, alg: Algorithm) -> Result<DecodingKey, OidcError> {
        let mut keys = self
            .keys
            .lock()
            .map_err(|_| OidcError::KeySet("the key cache is poisoned".into()))?;
        let held = |keys: &Keys| {
            keys.set.as_ref().and_then(|s| {
                if kid.is_empty() && s.keys.len() == 1 {
                    s.keys.first().cloned()
                } else {
                    s.find(kid).cloned()
                }
            })
        };
        // A held set older than the keys' lifetime is fetched again, so a key the identity
        // server withdrew stops being accepted even if no unknown key ever asks for a refresh.
        // If the server cannot be reached then, the set held stays in use.
        let max_age = Duration::from_secs(self.config.keys_max_age_s);
        if keys.fetched.is_some_and(|t| t.elapsed() >= max_age) {
            if let Err(e) = self.refresh(&mut keys) {
                tracing::warn!(reason = %e, "the identity server's key set could not be renewed; the one held stays in use");
            }
        }
        let jwk = match held(&keys) {
            Some(j) => j,
            None => {
                let interval = Duration::from_secs(self.config.refetch_interval_s);
                let may_fetch = keys.fetched.is_none_or(|t| t.elapsed() >= interval);
                if !may_fetch {
                    return Err(OidcError::UnknownKey);
                }
                self.refresh(&mut keys)?;
                held(&keys).ok_or(OidcError::UnknownKey)?
            }
        };
        // A key published for another algorithm is not used for this one.
        if let Some(a) = jwk.common.key_algorithm {
            if a.to_string() != format!("{alg:?}") {
                return Err(OidcError::Algorithm);
            }
        }
        DecodingKey::from_jwk(&jwk).map_err(|_| OidcError::Algorithm)
    }

    /// The issuer's discovery document (read once, then kept).
    fn discovery(&self, keys: &mut Keys) -> Result<Json, OidcError> {
        if let Some(d) = &keys.discovery {
            return Ok(d.clone());
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.config.issuer.trim_end_matches('/')
        );
        let doc: Json = serde_json::from_str(&(self.fetch)(&url).map_err(OidcError::KeySet)?)
            .map_err(|e| OidcError::KeySet(format!("{url}: {e}")))?;
        if doc["issuer"]
            .as_str()
            .is_some_and(|i| i != self.config.issuer)
        {
            return Err(OidcError::KeySet(format!(
                "{url} names another issuer ({})",
                doc["issuer"]
            )));
        }
        keys.discovery = Some(doc.clone());
        Ok(doc)
    }

    /// What the web map needs to sign people in (authorization code with PKCE): the client id
    /// and the identity server's endpoints; `None` without a client id. Blocking.
    pub fn sign_in(&self) -> Result<Option<Json>, OidcError> {
        let Some(client_id) = &self.config.client_id else {
            return Ok(None);
        };
        let mut keys = self
            .keys
            .lock()
            .map_err(|_| OidcError::KeySet("the key cache is poisoned".into()))?;
        let doc = self.discovery(&mut keys)?;
        let endpoint = |name: &str| {
            doc[name]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| OidcError::KeySet(format!("the discovery document has no {name}")))
        };
        let display = self.config.display_name.clone().or_else(|| {
            origin(&self.config.issuer).and_then(|o| o.split("://").nth(1).map(str::to_owned))
        });
        Ok(Some(serde_json::json!({
            "issuer": self.config.issuer,
            "client_id": client_id,
            "display_name": display,
            "authorization_endpoint": endpoint("authorization_endpoint")?,
            "token_endpoint": endpoint("token_endpoint")?,
            "scope": "openid",
        })))
    }

    fn refresh(&self, keys: &mut Keys) -> Result<(), OidcError> {
        keys.fetched = Some(Instant::now());
        keys.fetches += 1;
        let url = match (&self.config.jwks_url, &keys.jwks_url) {
            (Some(u), _) | (None, Some(u)) => u.clone(),
            (None, None) => {
                let doc = self.discovery(keys)?;
                let u = doc["jwks_uri"]
                    .as_str()
                    .ok_or_else(|| {
                        OidcError::KeySet("the discovery document has no jwks_uri".into())
                    })?
                    .to_owned();
                keys.jwks_url = Some(u.clone());
                u
            }
        };
        let text = (self.fetch)(&url).map_err(OidcError::KeySet)?;
        // Keys of kinds this verifier does not use (symmetric, or curves it does not take) are
        // left out, not a reason to refuse the whole set.
        let mut doc: Json = serde_json::from_str(&text)
            .map_err(|e| OidcError::KeySet(format!("{url}: not JSON: {e}")))?;
        if let Some(list) = doc["keys"].as_array_mut() {
            list.retain(|k| {
                serde_json::from_value::<jsonwebtoken::jwk::Jwk>(k.clone())
                    .is_ok_and(|j| j.is_supported())
                    && k["kty"] != "oct"
            });
        }
        let set: JwkSet = serde_json::from_value(doc)
            .map_err(|e| OidcError::KeySet(format!("{url}: not a key set: {e}")))?;
        tracing::info!(
            url,
            keys = set.keys.len(),
            "identity server's key set fetched"
        );
        keys.set = Some(set);
        Ok(())
    }
}

/// The scheme and host of a URL (`https://sso.example.gov.cn`).
pub fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

/// The strings at `path` (dotted) in `claims`: an array of strings, or one string.
fn roles_at(claims: &Json, path: &str) -> Vec<String> {
    let mut v = claims;
    for part in path.split('.') {
        v = &v[part];
    }
    match v {
        Json::Array(a) => a
            .iter()
            .filter_map(Json::as_str)
            .map(str::to_owned)
            .collect(),
        Json::String(s) => vec![s.clone()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn roles_are_read_at_a_dotted_path() {
        let claims = json!({"roles": ["a"], "realm_access": {"roles": ["b", "c", 3]}, "one": "d"});
        assert_eq!(roles_at(&claims, "roles"), vec!["a"]);
        assert_eq!(roles_at(&claims, "realm_access.roles"), vec!["b", "c"]);
        assert_eq!(roles_at(&claims, "one"), vec!["d"]);
        assert!(roles_at(&claims, "missing.path").is_empty());
    }

    #[test]
    fn settings_with_a_scope_but_no_collections_are_refused() {
        let c: OidcConfig = toml::from_str(
            r#"issuer = "https://sso.example/realms/e"
               audience = "etown-atlas"
               [roles.park7]
               role = "editor"
               where = "park = 'x'""#,
        )
        .unwrap();
        assert!(c.check().unwrap_err().contains("needs collections"));
        let c: OidcConfig = toml::from_str(
            r#"issuer = "sso.example"
               audience = "a""#,
        )
        .unwrap();
        assert!(c.check().unwrap_err().contains("issuer"));
    }
}
