//! Generated credentials encrypted to every recipient of a task's encryption configs, as
//! upstream `baton-sdk` v0.25.0 does it (`shared/specs/c1-service-mode.md` §8.1).
//!
//! The provider is `EncryptionConfig.provider`, trimmed and lower-cased, when it is set, and
//! otherwise follows from the config present:
//!
//! - `baton/age/v1` (an `AgeRecipientConfig`): a binary age file to an X25519 recipient
//!   (`age1…`); `key_ids` = the hex SHA-256 of the recipient string, `key_id` empty.
//! - `baton/jwk/v1` (a `JwkPublicKeyConfig`: the public JWK as JSON): an `OKP`/`Ed25519` key gets
//!   a binary age file to the key's `ssh-ed25519` recipient, an `RSA` key one to its `ssh-rsa`
//!   recipient, an `EC` key (P-256, P-384, P-521) a JWE in compact serialization with `ECDH-ES`
//!   (direct key agreement, Concat KDF of RFC 7518 §4.6.2) and `A256GCM`. `encrypted_bytes` is
//!   the standard base64 of that ciphertext, and `key_id` = `key_ids[0]` = the hex SHA-256 JWK
//!   thumbprint (RFC 7638) of the key.
//!
//! [`Encryptor::from_configs`] parses and checks every config before anything is created, and
//! names the config (its `key_id`) in every error. Post-quantum age recipients (`age1pq1…`)
//! are refused: age 0.12 cannot encrypt to them (age 0.13 can, see the module's report).
//! `schema` is left empty: upstream copies the connector's `PlaintextData.schema`, and a
//! [`Credential`](crate::account::Credential) has none.
//!
//! Secrets never reach `Debug`, errors or logs: the plaintext is only handed to the ciphers,
//! and errors about a JWK name its members, never their values.

use std::fmt;
use std::str::FromStr as _;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead as _, AeadCore as _, KeyInit as _, OsRng, Payload};
use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use p256::elliptic_curve::sec1::{FromEncodedPoint, ModulusSize, ToEncodedPoint};
use p256::elliptic_curve::zeroize::Zeroizing;
use p256::elliptic_curve::{AffinePoint, CurveArithmetic, FieldBytesSize, PublicKey};
use secrecy::{ExposeSecret as _, SecretString};
use sha2::{Digest as _, Sha256};

use super::AGE_PROVIDER;
use super::proto::{EncryptedData, EncryptionConfig, EncryptionKind};
use crate::error::{Error, Result};

/// The provider name of JWK-encrypted data.
pub(crate) const JWK_PROVIDER: &str = "baton/jwk/v1";

/// The largest JWK accepted: an RSA key of 16384 bits is about 2.8 KiB of JSON.
const MAX_JWK_BYTES: usize = 8 * 1024;
/// The smallest RSA modulus accepted (age's `ssh-rsa` recipients refuse smaller ones).
const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus accepted.
const MAX_RSA_BITS: usize = 16384;
/// The longest config key id or JWK member value quoted in an error.
const QUOTE_MAX: usize = 64;

/// base64url as go-jose reads it: padding optional, non-zero trailing bits tolerated.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Every recipient of a task's encryption configs, parsed and checked before anything is
/// created.
pub(crate) struct Encryptor {
    recipients: Vec<Recipient>,
}

/// One recipient and the ids its encrypted data carries.
struct Recipient {
    /// How the config is named in errors: its `key_id`, or its position.
    label: String,
    kind: Kind,
}

enum Kind {
    /// `baton/age/v1`: an age X25519 recipient; the key id is the hex SHA-256 of its text.
    AgeX25519 {
        key_id: String,
        recipient: age::x25519::Recipient,
    },
    /// `baton/jwk/v1` with an Ed25519 or RSA key: age to its SSH recipient.
    JwkSsh {
        thumbprint: String,
        recipient: age::ssh::Recipient,
    },
    /// `baton/jwk/v1` with an EC key: JWE, ECDH-ES + A256GCM.
    JwkEc { thumbprint: String, key: EcKey },
}

enum EcKey {
    P256(p256::PublicKey),
    P384(p384::PublicKey),
    P521(p521::PublicKey),
}

impl fmt::Debug for Encryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.recipients).finish()
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (provider, kind, key_id) = match &self.kind {
            Kind::AgeX25519 { key_id, .. } => (AGE_PROVIDER, "age X25519", key_id),
            Kind::JwkSsh {
                thumbprint,
                recipient,
            } => (
                JWK_PROVIDER,
                match recipient {
                    age::ssh::Recipient::SshRsa(..) => "ssh-rsa",
                    age::ssh::Recipient::SshEd25519(..) => "ssh-ed25519",
                },
                thumbprint,
            ),
            Kind::JwkEc { thumbprint, key } => (
                JWK_PROVIDER,
                match key {
                    EcKey::P256(_) => "EC P-256",
                    EcKey::P384(_) => "EC P-384",
                    EcKey::P521(_) => "EC P-521",
                },
                thumbprint,
            ),
        };
        f.debug_struct("Recipient")
            .field("config", &self.label)
            .field("provider", &provider)
            .field("kind", &kind)
            .field("key_id", key_id)
            .finish()
    }
}

impl Encryptor {
    /// Parses every config. Errors (InvalidArgument, the message naming the config's
    /// `key_id` and what is wrong) on a config it cannot use.
    pub(crate) fn from_configs(configs: &[EncryptionConfig]) -> Result<Encryptor> {
        let recipients = configs
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let label = label(i, c);
                match recipient(c) {
                    Ok(kind) => Ok(Recipient { label, kind }),
                    Err(what) => Err(Error::invalid_argument(format!("{label}: {what}"))),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Encryptor { recipients })
    }

    /// Whether there is no recipient at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.recipients.is_empty()
    }

    /// One `EncryptedData` per recipient for this secret, in the order of the configs.
    /// `schema` is empty (see the module's documentation).
    pub(crate) fn encrypt(
        &self,
        name: &str,
        description: &str,
        secret: &SecretString,
    ) -> Result<Vec<EncryptedData>> {
        let plaintext = secret.expose_secret().as_bytes();
        self.recipients
            .iter()
            .map(|r| {
                r.encrypt(name, description, plaintext).map_err(|what| {
                    Error::internal(format!("could not encrypt {name} to {}: {what}", r.label))
                })
            })
            .collect()
    }
}

impl Recipient {
    fn encrypt(
        &self,
        name: &str,
        description: &str,
        plaintext: &[u8],
    ) -> std::result::Result<EncryptedData, String> {
        let data = |provider: &str, key_id: String, jwk: bool, encrypted_bytes| EncryptedData {
            provider: provider.to_string(),
            key_id: if jwk { key_id.clone() } else { String::new() },
            name: name.to_string(),
            description: description.to_string(),
            schema: String::new(),
            encrypted_bytes,
            key_ids: vec![key_id],
        };
        Ok(match &self.kind {
            Kind::AgeX25519 { key_id, recipient } => data(
                AGE_PROVIDER,
                key_id.clone(),
                false,
                age_encrypt(recipient, plaintext)?,
            ),
            Kind::JwkSsh {
                thumbprint,
                recipient,
            } => {
                let ciphertext = age_encrypt(recipient, plaintext)?;
                data(
                    JWK_PROVIDER,
                    thumbprint.clone(),
                    true,
                    STANDARD.encode(ciphertext).into_bytes(),
                )
            }
            Kind::JwkEc { thumbprint, key } => {
                let jwe = match key {
                    EcKey::P256(k) => jwe_ecdh_es(k, "P-256", plaintext)?,
                    EcKey::P384(k) => jwe_ecdh_es(k, "P-384", plaintext)?,
                    EcKey::P521(k) => jwe_ecdh_es(k, "P-521", plaintext)?,
                };
                data(
                    JWK_PROVIDER,
                    thumbprint.clone(),
                    true,
                    STANDARD.encode(jwe).into_bytes(),
                )
            }
        })
    }
}

fn age_encrypt(
    recipient: &impl age::Recipient,
    plaintext: &[u8],
) -> std::result::Result<Vec<u8>, String> {
    age::encrypt(recipient, plaintext).map_err(|e| format!("age: {e}"))
}

/// How errors name a config: `encryption config "<key_id>"`, or its position without one.
fn label(index: usize, c: &EncryptionConfig) -> String {
    let key_id = c.key_id.trim();
    if key_id.is_empty() {
        format!("encryption config #{} (no key_id)", index + 1)
    } else {
        format!("encryption config {:?}", quote(key_id))
    }
}

/// At most [`QUOTE_MAX`] characters of an untrusted value.
fn quote(s: &str) -> String {
    match s.char_indices().nth(QUOTE_MAX) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_string(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The recipient of one config, or what is wrong with it.
fn recipient(c: &EncryptionConfig) -> std::result::Result<Kind, String> {
    let provider = c.provider.trim().to_lowercase();
    let provider = match provider.as_str() {
        "" => match &c.config {
            Some(EncryptionKind::JwkPublicKeyConfig(_)) => JWK_PROVIDER,
            Some(EncryptionKind::AgeRecipientConfig(_)) => AGE_PROVIDER,
            None => return Err("names no provider and carries no key".into()),
        },
        JWK_PROVIDER => JWK_PROVIDER,
        AGE_PROVIDER => AGE_PROVIDER,
        _ => {
            return Err(format!(
                "unknown encryption provider {:?}; known: {JWK_PROVIDER}, {AGE_PROVIDER}",
                quote(c.provider.trim())
            ));
        }
    };
    match (provider, &c.config) {
        (AGE_PROVIDER, Some(EncryptionKind::AgeRecipientConfig(a))) => age_recipient(&a.recipient),
        (JWK_PROVIDER, Some(EncryptionKind::JwkPublicKeyConfig(j))) => jwk_recipient(&j.pub_key),
        (AGE_PROVIDER, _) => Err(format!("provider {AGE_PROVIDER} needs an age recipient")),
        _ => Err(format!("provider {JWK_PROVIDER} needs a JWK public key")),
    }
}

fn age_recipient(text: &str) -> std::result::Result<Kind, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("the age recipient is empty".into());
    }
    if text.to_ascii_lowercase().starts_with("age1pq1") {
        return Err("post-quantum age recipients (age1pq1…) are not supported: the age crate this SDK is built with (0.12) cannot encrypt to them; use an X25519 recipient (age1…)".into());
    }
    match age::x25519::Recipient::from_str(text) {
        Ok(recipient) => Ok(Kind::AgeX25519 {
            key_id: hex(&Sha256::digest(text.as_bytes())),
            recipient,
        }),
        Err(e) => Err(format!(
            "not an age X25519 recipient ({e}); only age1… X25519 recipients are supported"
        )),
    }
}

/// The members of a JWK this module reads; the others (`d` included) are never parsed.
#[derive(serde::Deserialize)]
struct JwkMembers {
    kty: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

fn jwk_recipient(json: &[u8]) -> std::result::Result<Kind, String> {
    if json.is_empty() {
        return Err("the JWK public key is empty".into());
    }
    if json.len() > MAX_JWK_BYTES {
        return Err(format!(
            "the JWK public key is {} bytes, more than the {MAX_JWK_BYTES} allowed",
            json.len()
        ));
    }
    // serde's messages may quote a value: say only where the JSON is wrong.
    let jwk: JwkMembers = serde_json::from_slice(json).map_err(|e| {
        format!(
            "the JWK public key is not a JSON object with string members ({:?} error at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        )
    })?;
    let Some(kty) = jwk.kty.as_deref() else {
        return Err("the JWK has no \"kty\"".into());
    };
    match kty {
        "OKP" => match jwk.crv.as_deref() {
            Some("Ed25519") => ed25519_recipient(&jwk),
            other => Err(format!(
                "unsupported key type: OKP with crv {:?}; only Ed25519 OKP keys are supported",
                quote(other.unwrap_or_default())
            )),
        },
        "RSA" => rsa_recipient(&jwk),
        "EC" => ec_recipient(&jwk),
        other => Err(format!(
            "unsupported key type {:?}; {JWK_PROVIDER} takes OKP (Ed25519), RSA and EC (P-256, P-384, P-521) keys",
            quote(other)
        )),
    }
}

/// A base64url member of the JWK, decoded.
fn member(name: &str, value: Option<&str>) -> std::result::Result<Vec<u8>, String> {
    let value = value.ok_or_else(|| format!("the JWK has no {name:?}"))?;
    B64URL
        .decode(value)
        .map_err(|_| format!("the JWK's {name:?} is not base64url"))
}

/// A member that must be exactly `len` bytes long.
fn sized_member(
    name: &str,
    value: Option<&str>,
    len: usize,
) -> std::result::Result<Vec<u8>, String> {
    let bytes = member(name, value)?;
    if bytes.len() != len {
        return Err(format!(
            "the JWK's {name:?} is {} bytes; this curve needs {len}",
            bytes.len()
        ));
    }
    Ok(bytes)
}

/// The hex SHA-256 of the RFC 7638 canonical JSON: the required members in lexicographic
/// order, no whitespace. Values are base64url or fixed names, so they need no escaping.
fn thumbprint(members: &[(&str, &str)]) -> String {
    let body: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("\"{k}\":\"{v}\""))
        .collect();
    hex(&Sha256::digest(
        format!("{{{}}}", body.join(",")).as_bytes(),
    ))
}

/// SSH wire encoding (RFC 4251 §5): a `string`.
fn ssh_string(out: &mut Vec<u8>, bytes: &[u8]) -> std::result::Result<(), String> {
    let len = u32::try_from(bytes.len()).map_err(|_| "a key member is too long".to_string())?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

/// SSH wire encoding: an `mpint` from an unsigned big-endian number without leading zeros.
fn ssh_mpint(out: &mut Vec<u8>, magnitude: &[u8]) -> std::result::Result<(), String> {
    if magnitude.first().is_some_and(|b| b & 0x80 != 0) {
        let mut padded = Vec::with_capacity(magnitude.len() + 1);
        padded.push(0);
        padded.extend_from_slice(magnitude);
        ssh_string(out, &padded)
    } else {
        ssh_string(out, magnitude)
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

fn ed25519_recipient(jwk: &JwkMembers) -> std::result::Result<Kind, String> {
    let x = sized_member("x", jwk.x.as_deref(), 32)?;
    let mut wire = Vec::with_capacity(51);
    ssh_string(&mut wire, b"ssh-ed25519")?;
    ssh_string(&mut wire, &x)?;
    let line = format!("ssh-ed25519 {}", STANDARD.encode(&wire));
    let recipient = age::ssh::Recipient::from_str(&line)
        .map_err(|_| "the JWK's \"x\" is not an Ed25519 public key".to_string())?;
    let x = B64URL.encode(&x);
    Ok(Kind::JwkSsh {
        thumbprint: thumbprint(&[("crv", "Ed25519"), ("kty", "OKP"), ("x", &x)]),
        recipient,
    })
}

fn rsa_recipient(jwk: &JwkMembers) -> std::result::Result<Kind, String> {
    let n_raw = member("n", jwk.n.as_deref())?;
    let e_raw = member("e", jwk.e.as_deref())?;
    let n = strip_leading_zeros(&n_raw);
    let e = strip_leading_zeros(&e_raw);
    let bits = n
        .first()
        .map_or(0, |b| n.len() * 8 - b.leading_zeros() as usize);
    if bits < MIN_RSA_BITS {
        return Err(format!(
            "the RSA key is {bits} bits; at least {MIN_RSA_BITS} are required"
        ));
    }
    if bits > MAX_RSA_BITS {
        return Err(format!(
            "the RSA key is {bits} bits; at most {MAX_RSA_BITS} are supported"
        ));
    }
    if e.is_empty() || e.len() > 8 {
        return Err("the JWK's \"e\" is not a usable RSA public exponent".into());
    }
    let key = rsa::RsaPublicKey::new_with_max_size(
        rsa::BigUint::from_bytes_be(n),
        rsa::BigUint::from_bytes_be(e),
        MAX_RSA_BITS,
    )
    .map_err(|err| format!("not a usable RSA public key ({err})"))?;
    // `ssh-rsa` public key blob: string "ssh-rsa", mpint e, mpint n (RFC 4253 §6.6). Built
    // here rather than parsed by age, whose parser stops at 4096 bits.
    let mut wire = Vec::with_capacity(n.len() + e.len() + 32);
    ssh_string(&mut wire, b"ssh-rsa")?;
    ssh_mpint(&mut wire, e)?;
    ssh_mpint(&mut wire, n)?;
    let (n, e) = (B64URL.encode(n), B64URL.encode(e));
    Ok(Kind::JwkSsh {
        thumbprint: thumbprint(&[("e", &e), ("kty", "RSA"), ("n", &n)]),
        recipient: age::ssh::Recipient::SshRsa(wire, key),
    })
}

fn ec_recipient(jwk: &JwkMembers) -> std::result::Result<Kind, String> {
    let (crv, size) = match jwk.crv.as_deref() {
        Some("P-256") => ("P-256", 32),
        Some("P-384") => ("P-384", 48),
        Some("P-521") => ("P-521", 66),
        other => {
            return Err(format!(
                "unsupported key type: EC with crv {:?}; P-256, P-384 and P-521 are supported",
                quote(other.unwrap_or_default())
            ));
        }
    };
    let x = sized_member("x", jwk.x.as_deref(), size)?;
    let y = sized_member("y", jwk.y.as_deref(), size)?;
    let mut sec1 = Vec::with_capacity(1 + 2 * size);
    sec1.push(0x04);
    sec1.extend_from_slice(&x);
    sec1.extend_from_slice(&y);
    let off_curve = || format!("the JWK's point is not on {crv}");
    let key = match crv {
        "P-256" => EcKey::P256(p256::PublicKey::from_sec1_bytes(&sec1).map_err(|_| off_curve())?),
        "P-384" => EcKey::P384(p384::PublicKey::from_sec1_bytes(&sec1).map_err(|_| off_curve())?),
        _ => EcKey::P521(p521::PublicKey::from_sec1_bytes(&sec1).map_err(|_| off_curve())?),
    };
    let (x, y) = (B64URL.encode(&x), B64URL.encode(&y));
    Ok(Kind::JwkEc {
        thumbprint: thumbprint(&[("crv", crv), ("kty", "EC"), ("x", &x), ("y", &y)]),
        key,
    })
}

/// Concat KDF (NIST SP 800-56A §5.8.1, single-step, SHA-256) as RFC 7518 §4.6.2 uses it:
/// `OtherInfo` = AlgorithmID ‖ PartyUInfo ‖ PartyVInfo ‖ SuppPubInfo, each of the first three
/// a 32-bit big-endian length and the bytes, SuppPubInfo the key length in bits.
fn concat_kdf(
    z: &[u8],
    algorithm_id: &[u8],
    apu: &[u8],
    apv: &[u8],
    key_bytes: usize,
) -> std::result::Result<Zeroizing<Vec<u8>>, String> {
    let length = |b: &[u8]| {
        u32::try_from(b.len())
            .map(u32::to_be_bytes)
            .map_err(|_| "a Concat KDF input is too long".to_string())
    };
    let key_bits = u32::try_from(key_bytes * 8)
        .map_err(|_| "the Concat KDF output is too long".to_string())?;
    let mut key = Zeroizing::new(Vec::with_capacity(key_bytes + 32));
    let mut counter: u32 = 1;
    while key.len() < key_bytes {
        let mut h = Sha256::new();
        h.update(counter.to_be_bytes());
        h.update(z);
        h.update(length(algorithm_id)?);
        h.update(algorithm_id);
        h.update(length(apu)?);
        h.update(apu);
        h.update(length(apv)?);
        h.update(apv);
        h.update(key_bits.to_be_bytes());
        key.extend_from_slice(&h.finalize());
        counter += 1;
    }
    key.truncate(key_bytes);
    Ok(key)
}

/// JWE compact serialization (RFC 7516 §7.1) of `plaintext` to `recipient`: `ECDH-ES` (an
/// ephemeral key, no encrypted key, no `apu`/`apv`) and `A256GCM`, with the protected header
/// go-jose writes: `{"alg":"ECDH-ES","enc":"A256GCM","epk":{"kty":"EC","crv":…,"x":…,"y":…}}`.
fn jwe_ecdh_es<C>(
    recipient: &PublicKey<C>,
    crv: &str,
    plaintext: &[u8],
) -> std::result::Result<String, String>
where
    C: CurveArithmetic,
    AffinePoint<C>: FromEncodedPoint<C> + ToEncodedPoint<C>,
    FieldBytesSize<C>: ModulusSize,
{
    let ephemeral = p256::elliptic_curve::ecdh::EphemeralSecret::<C>::random(&mut OsRng);
    let epk = ephemeral.public_key().to_encoded_point(false);
    let (Some(x), Some(y)) = (epk.x(), epk.y()) else {
        return Err("the ephemeral key has no affine coordinates".into());
    };
    let header = format!(
        r#"{{"alg":"ECDH-ES","enc":"A256GCM","epk":{{"kty":"EC","crv":"{crv}","x":"{}","y":"{}"}}}}"#,
        B64URL.encode(x),
        B64URL.encode(y)
    );
    let header = B64URL.encode(header);
    let shared = ephemeral.diffie_hellman(recipient);
    let cek = concat_kdf(shared.raw_secret_bytes(), b"A256GCM", &[], &[], 32)?;
    let cipher =
        Aes256Gcm::new_from_slice(&cek).map_err(|_| "bad AES-256 key length".to_string())?;
    let iv = Aes256Gcm::generate_nonce(&mut OsRng);
    let sealed = cipher
        .encrypt(
            &iv,
            Payload {
                msg: plaintext,
                aad: header.as_bytes(),
            },
        )
        .map_err(|_| "AES-GCM encryption failed".to_string())?;
    let (ciphertext, tag) = sealed.split_at(sealed.len().saturating_sub(16));
    Ok(format!(
        "{header}..{}.{}.{}",
        B64URL.encode(iv),
        B64URL.encode(ciphertext),
        B64URL.encode(tag)
    ))
}

#[cfg(test)]
mod tests;
