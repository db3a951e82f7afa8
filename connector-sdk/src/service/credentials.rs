//! ConductorOne client credentials: the client id (`name@host[:port]/suffix`) and the
//! client secret (`secret-token:conductorone.com:v1:<base64url Ed25519 JWK>`), parsed before
//! any network call. Errors name the flag and variable and never echo the secret.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};
use crate::flags::flag_and_env;

/// A parsed client id (spec §1.2).
///
/// ```
/// use connector_sdk::service::ClientId;
/// let id = ClientId::parse("brave-otter-12345@tenant.conductor.one/ccc").unwrap();
/// assert_eq!(id.name(), "brave-otter-12345");
/// assert_eq!(id.token_host(), "tenant.conductor.one");
/// assert_eq!(id.audience(), "tenant.conductor.one");
/// let dev = ClientId::parse("x@c1dev.example.dev:2443/pcc").unwrap();
/// assert_eq!(dev.audience(), "c1dev.example.dev");
/// assert!(ClientId::parse("no-at-sign/ccc").unwrap_err().to_string().contains("--client-id (BATON_CLIENT_ID)"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ClientId {
    full: String,
    name: String,
    token_host: String,
}

impl ClientId {
    /// Parses `name@host[:port]/suffix`: split once on the first `@`, then the rest once
    /// on the first `/`; every part must be non-empty.
    pub fn parse(raw: &str) -> Result<ClientId> {
        let bad = |why: &str| {
            Error::invalid_argument(format!(
                "{}: invalid client id ({why}); expected NAME@HOST/SUFFIX as shown by ConductorOne, e.g. brave-otter-12345@tenant.conductor.one/ccc",
                flag_and_env("client-id")
            ))
        };
        let raw = raw.trim();
        let (name, rest) = raw.split_once('@').ok_or_else(|| bad("no '@'"))?;
        let (host, suffix) = rest
            .split_once('/')
            .ok_or_else(|| bad("no '/' after the host"))?;
        if name.is_empty() || host.is_empty() || suffix.is_empty() {
            return Err(bad("an empty part"));
        }
        if host.contains(['@', ' ']) {
            return Err(bad("the host has a space or a second '@'"));
        }
        Ok(ClientId {
            full: raw.to_string(),
            name: name.to_string(),
            token_host: host.to_string(),
        })
    }

    /// The whole id, sent as `iss`, `sub` and `client_id`.
    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// The client name (the part before `@`), used in the User-Agent.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The token host, with its port if it has one.
    pub fn token_host(&self) -> &str {
        &self.token_host
    }

    /// The JWT audience: the token host without its port.
    pub fn audience(&self) -> String {
        strip_port(&self.token_host)
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClientId").field(&self.full).finish()
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

/// `host[:port]` → `host` (IPv6 literals in brackets keep their address).
pub(crate) fn strip_port(host: &str) -> String {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest).to_string();
    }
    match host.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') && port.chars().all(|c| c.is_ascii_digit()) => {
            h.to_string()
        }
        _ => host.to_string(),
    }
}

/// A parsed client secret: the Ed25519 private key that signs token requests.
/// `Debug` shows only the public key.
pub struct ClientSecret {
    key: SigningKey,
}

impl ClientSecret {
    /// Parses `secret-token:conductorone.com:v1:<base64url-no-pad JWK>` (spec §1.3): four
    /// `:`-separated parts, the third `v1`, the fourth an `OKP`/`Ed25519` JWK with `d`
    /// (the 32-byte seed) and, when present, an `x` matching it.
    ///
    /// ```
    /// use connector_sdk::service::ClientSecret;
    /// // The revoked test vector of upstream's client_secret_test.go.
    /// let jwk = r#"{"kty":"OKP","crv":"Ed25519","x":"zp3PWccSBVOthSNsyrMsTeEh9iN8SY3gH6_p0DRFZMc","d":"zY3O1rnr-AEw5m0mZBO0cHFiYj1NiRvMiSV5_Q_kKbg"}"#;
    /// use base64::Engine as _;
    /// let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(jwk);
    /// let secret = format!("secret-token:conductorone.com:v1:{b64}");
    /// let parsed = ClientSecret::parse(&secret.as_str().into()).unwrap();
    /// assert_eq!(parsed.public_key_b64(), "zp3PWccSBVOthSNsyrMsTeEh9iN8SY3gH6_p0DRFZMc");
    /// let err = ClientSecret::parse(&"secret-token:conductorone.com:v2:abc".into()).unwrap_err();
    /// assert!(err.to_string().contains("--client-secret (BATON_CLIENT_SECRET)"));
    /// ```
    pub fn parse(secret: &SecretString) -> Result<ClientSecret> {
        let bad = |why: &str| {
            Error::invalid_argument(format!(
                "{}: invalid client secret ({why}); expected secret-token:conductorone.com:v1:… exactly as ConductorOne showed it (the value is not printed)",
                flag_and_env("client-secret")
            ))
        };
        let raw = secret.expose_secret().trim();
        let parts: Vec<&str> = raw.splitn(4, ':').collect();
        if parts.len() != 4 {
            return Err(bad("not four ':'-separated parts"));
        }
        if parts[2] != "v1" {
            return Err(bad("the version part is not v1"));
        }
        let json = URL_SAFE_NO_PAD
            .decode(parts[3])
            .map_err(|_| bad("the key part is not unpadded base64url"))?;
        #[derive(serde::Deserialize)]
        struct Jwk {
            kty: Option<String>,
            crv: Option<String>,
            x: Option<String>,
            d: Option<String>,
        }
        let jwk: Jwk =
            serde_json::from_slice(&json).map_err(|_| bad("the key part is not a JSON Web Key"))?;
        if jwk.kty.as_deref() != Some("OKP") || jwk.crv.as_deref() != Some("Ed25519") {
            return Err(bad("the key is not an Ed25519 (OKP) key"));
        }
        let d = jwk.d.ok_or_else(|| bad("the key has no private part"))?;
        let seed: [u8; 32] = URL_SAFE_NO_PAD
            .decode(d.as_bytes())
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| bad("the private key is not 32 bytes of base64url"))?;
        let key = SigningKey::from_bytes(&seed);
        if let Some(x) = jwk.x {
            let public = URL_SAFE_NO_PAD
                .decode(x.as_bytes())
                .map_err(|_| bad("the public key is not base64url"))?;
            if public.as_slice() != key.verifying_key().as_bytes() {
                return Err(bad("the public key does not match the private key"));
            }
        }
        Ok(ClientSecret { key })
    }

    /// The public key, base64url without padding (the JWK's `x`).
    pub fn public_key_b64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.verifying_key().as_bytes())
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.key
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSecret")
            .field("public_key", &self.public_key_b64())
            .finish_non_exhaustive()
    }
}

/// Encodes a client secret for the 32-byte Ed25519 `seed`, in ConductorOne's format (used
/// by the fake C1 and tests).
pub fn encode_client_secret(seed: &[u8; 32]) -> SecretString {
    let key = SigningKey::from_bytes(seed);
    let jwk = serde_json::json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
        "d": URL_SAFE_NO_PAD.encode(seed),
    });
    SecretString::from(format!(
        "secret-token:conductorone.com:v1:{}",
        URL_SAFE_NO_PAD.encode(jwk.to_string())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_split_like_upstream() {
        let id = ClientId::parse("a@b/c/d").unwrap();
        assert_eq!(id.token_host(), "b");
        assert_eq!(id.as_str(), "a@b/c/d");
        let id = ClientId::parse("a@b@c/d").unwrap_err();
        assert!(id.to_string().contains("invalid client id"), "{id}");
        for bad in ["", "a@", "@h/s", "a@h/", "a@/s", "ahs"] {
            let e = ClientId::parse(bad).unwrap_err();
            assert!(e.to_string().contains("BATON_CLIENT_ID"), "{bad}: {e}");
        }
        assert_eq!(strip_port("h:443"), "h");
        assert_eq!(strip_port("127.0.0.1:1"), "127.0.0.1");
        assert_eq!(strip_port("[::1]:8443"), "::1");
    }

    #[test]
    fn malformed_secrets_fail_without_echoing_them() {
        let seed = [7u8; 32];
        let good = encode_client_secret(&seed);
        assert!(ClientSecret::parse(&good).is_ok());
        let g = good.expose_secret().to_string();
        let tail = g.rsplit(':').next().unwrap().to_string();
        let cases = [
            "not-a-secret-at-all".to_string(),
            g.replace(":v1:", ":v2:"),
            format!("{g}="),
            format!("secret-token:conductorone.com:v1:{}", &tail[..tail.len() - 3]),
            format!(
                "secret-token:x:v1:{}",
                URL_SAFE_NO_PAD.encode(r#"{"kty":"EC","crv":"P-256","d":"AAAA"}"#)
            ),
            format!(
                "secret-token:x:v1:{}",
                URL_SAFE_NO_PAD.encode(r#"{"kty":"OKP","crv":"Ed25519","x":"zp3PWccSBVOthSNsyrMsTeEh9iN8SY3gH6_p0DRFZMc"}"#)
            ),
        ];
        for c in cases {
            let e = ClientSecret::parse(&SecretString::from(c.clone())).unwrap_err();
            let text = format!("{e} {e:?}");
            assert!(
                text.contains("--client-secret (BATON_CLIENT_SECRET)"),
                "{text}"
            );
            assert!(!text.contains(&c), "{text}");
            assert!(!text.contains(&tail), "{text}");
        }
        // A public key that does not match the private key.
        let other = encode_client_secret(&[8u8; 32]);
        let x_other = ClientSecret::parse(&other).unwrap().public_key_b64();
        let jwk = serde_json::json!({"kty":"OKP","crv":"Ed25519","x":x_other,"d":URL_SAFE_NO_PAD.encode(seed)});
        let mixed = format!(
            "secret-token:c:v1:{}",
            URL_SAFE_NO_PAD.encode(jwk.to_string())
        );
        let e = ClientSecret::parse(&SecretString::from(mixed)).unwrap_err();
        assert!(e.to_string().contains("does not match"), "{e}");
        // Debug shows the public key only.
        let parsed = ClientSecret::parse(&good).unwrap();
        let dbg = format!("{parsed:?}");
        assert!(!dbg.contains(&URL_SAFE_NO_PAD.encode(seed)), "{dbg}");
    }
}
