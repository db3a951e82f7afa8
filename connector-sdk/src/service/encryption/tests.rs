//! Every ciphertext is decrypted here without the module's code: age files with the `age`
//! crate's identities (an OpenSSH private key written by these tests for the ssh recipients),
//! JWEs by a decryption written from RFC 7516/7518 below (no pure-Rust JOSE library is a
//! dependency; see the module's report), whose Concat KDF is checked on RFC 7518 Appendix C.

use aes_gcm::aead::rand_core::RngCore as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::elliptic_curve::SecretKey;
use rsa::traits::{PrivateKeyParts as _, PublicKeyParts as _};

use super::*;
use crate::error::ErrorKind;
use crate::service::proto::{AgeRecipientConfig, JwkPublicKeyConfig};

const PASSWORD: &str = "correct horse battery staple 7&Q";

fn secret() -> SecretString {
    SecretString::from(PASSWORD)
}

fn b64u(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).expect("base64url")
}

fn jwk_config(provider: &str, key_id: &str, jwk: &serde_json::Value) -> EncryptionConfig {
    jwk_config_bytes(provider, key_id, jwk.to_string().into_bytes())
}

fn jwk_config_bytes(provider: &str, key_id: &str, pub_key: Vec<u8>) -> EncryptionConfig {
    EncryptionConfig {
        principal: None,
        provider: provider.into(),
        key_id: key_id.into(),
        config: Some(EncryptionKind::JwkPublicKeyConfig(JwkPublicKeyConfig {
            pub_key,
        })),
    }
}

fn age_config(provider: &str, key_id: &str, recipient: &str) -> EncryptionConfig {
    EncryptionConfig {
        principal: None,
        provider: provider.into(),
        key_id: key_id.into(),
        config: Some(EncryptionKind::AgeRecipientConfig(AgeRecipientConfig {
            recipient: recipient.into(),
        })),
    }
}

/// Encrypts [`PASSWORD`] to the one config and returns its one output.
fn encrypt_one(config: EncryptionConfig) -> EncryptedData {
    let encryptor = Encryptor::from_configs(&[config]).expect("a usable config");
    assert!(!encryptor.is_empty());
    let mut out = encryptor
        .encrypt("password", "generated for user:u1", &secret())
        .expect("encrypts");
    assert_eq!(out.len(), 1);
    out.remove(0)
}

/// The error of a config that must be refused.
fn refused(config: EncryptionConfig) -> Error {
    let err = Encryptor::from_configs(&[config]).expect_err("a config to refuse");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    err
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The JWK fields every output of a JWK config carries.
fn assert_jwk_output(out: &EncryptedData, expected_thumbprint: &str) -> Vec<u8> {
    assert_eq!(out.provider, "baton/jwk/v1");
    assert_eq!(out.key_id, expected_thumbprint);
    assert_eq!(out.key_ids, vec![expected_thumbprint.to_string()]);
    assert_eq!(out.name, "password");
    assert_eq!(out.description, "generated for user:u1");
    assert_eq!(out.schema, "");
    assert!(out.encrypted_bytes.is_ascii());
    base64::engine::general_purpose::STANDARD
        .decode(&out.encrypted_bytes)
        .expect("encrypted_bytes is standard base64")
}

// ---- OpenSSH private keys, written from PROTOCOL.key and RFC 4251/4253 ----

fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn put_mpint(out: &mut Vec<u8>, n: &rsa::BigUint) {
    let mut bytes = n.to_bytes_be();
    if bytes[0] & 0x80 != 0 {
        bytes.insert(0, 0);
    }
    put_string(out, &bytes);
}

/// An unencrypted `openssh-key-v1` PEM holding one key.
fn openssh_private_key(public_blob: &[u8], private_fields: &[u8]) -> String {
    let mut private = Vec::new();
    private.extend_from_slice(&0x5eed_1234u32.to_be_bytes());
    private.extend_from_slice(&0x5eed_1234u32.to_be_bytes());
    private.extend_from_slice(private_fields);
    put_string(&mut private, b"test key");
    let mut pad = 1u8;
    while private.len() % 8 != 0 {
        private.push(pad);
        pad += 1;
    }
    let mut blob = b"openssh-key-v1\0".to_vec();
    put_string(&mut blob, b"none");
    put_string(&mut blob, b"none");
    put_string(&mut blob, b"");
    blob.extend_from_slice(&1u32.to_be_bytes());
    put_string(&mut blob, public_blob);
    put_string(&mut blob, &private);
    let encoded = base64::engine::general_purpose::STANDARD.encode(blob);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(70)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

fn age_decrypt_with_ssh_key(pem: &str, ciphertext: &[u8]) -> Vec<u8> {
    let identity =
        age::ssh::Identity::from_buffer(pem.as_bytes(), None).expect("age reads the OpenSSH key");
    assert!(
        matches!(identity, age::ssh::Identity::Unencrypted(_)),
        "age parsed the key as unsupported"
    );
    age::decrypt(&identity, ciphertext).expect("the age identity decrypts")
}

// ---- JWE decryption, written from RFC 7516 §5.2 and RFC 7518 §4.6 ----

/// RFC 7518 §4.6.2's Concat KDF, one SHA-256 round (enough for keys up to 256 bits).
fn rfc_concat_kdf(z: &[u8], enc: &str, apu: &[u8], apv: &[u8], key_bits: u32) -> Vec<u8> {
    let mut other_info = Vec::new();
    for part in [enc.as_bytes(), apu, apv] {
        other_info.extend_from_slice(&(part.len() as u32).to_be_bytes());
        other_info.extend_from_slice(part);
    }
    other_info.extend_from_slice(&key_bits.to_be_bytes());
    let mut input = vec![0, 0, 0, 1];
    input.extend_from_slice(z);
    input.extend_from_slice(&other_info);
    assert!(key_bits <= 256);
    Sha256::digest(&input)[..(key_bits / 8) as usize].to_vec()
}

fn jwe_decrypt<C>(compact: &str, key: &SecretKey<C>, crv: &str) -> Vec<u8>
where
    C: CurveArithmetic,
    AffinePoint<C>: FromEncodedPoint<C> + ToEncodedPoint<C>,
    FieldBytesSize<C>: ModulusSize,
{
    let parts: Vec<&str> = compact.split('.').collect();
    assert_eq!(parts.len(), 5, "compact serialization has five parts");
    let header: serde_json::Value = serde_json::from_slice(&b64u(parts[0])).expect("header JSON");
    assert_eq!(header["alg"], "ECDH-ES");
    assert_eq!(header["enc"], "A256GCM");
    assert_eq!(header["epk"]["kty"], "EC");
    assert_eq!(header["epk"]["crv"], crv);
    assert!(header.get("apu").is_none() && header.get("apv").is_none());
    assert_eq!(parts[1], "", "direct key agreement has no encrypted key");
    let mut sec1 = vec![0x04];
    sec1.extend(b64u(header["epk"]["x"].as_str().expect("x")));
    sec1.extend(b64u(header["epk"]["y"].as_str().expect("y")));
    let epk = PublicKey::<C>::from_sec1_bytes(&sec1).expect("epk on the curve");
    let z = p256::elliptic_curve::ecdh::diffie_hellman(key.to_nonzero_scalar(), epk.as_affine());
    let cek = rfc_concat_kdf(z.raw_secret_bytes(), "A256GCM", b"", b"", 256);
    let iv = b64u(parts[2]);
    assert_eq!(iv.len(), 12);
    let mut sealed = b64u(parts[3]);
    let tag = b64u(parts[4]);
    assert_eq!(tag.len(), 16);
    sealed.extend(tag);
    Aes256Gcm::new_from_slice(&cek)
        .expect("256-bit key")
        .decrypt(
            aes_gcm::Nonce::from_slice(&iv),
            Payload {
                msg: &sealed,
                aad: parts[0].as_bytes(),
            },
        )
        .expect("the JWE decrypts")
}

fn ec_round_trip<C>(crv: &str)
where
    C: CurveArithmetic,
    AffinePoint<C>: FromEncodedPoint<C> + ToEncodedPoint<C>,
    FieldBytesSize<C>: ModulusSize,
{
    let key = SecretKey::<C>::random(&mut OsRng);
    let point = key.public_key().to_encoded_point(false);
    let (x, y) = (
        URL_SAFE_NO_PAD.encode(point.x().expect("x")),
        URL_SAFE_NO_PAD.encode(point.y().expect("y")),
    );
    let jwk = serde_json::json!({"kty": "EC", "crv": crv, "x": x, "y": y, "use": "enc"});
    let out = encrypt_one(jwk_config("", "ec-key", &jwk));
    let expected =
        sha256_hex(format!(r#"{{"crv":"{crv}","kty":"EC","x":"{x}","y":"{y}"}}"#).as_bytes());
    let jwe = assert_jwk_output(&out, &expected);
    let compact = String::from_utf8(jwe).expect("a JWE compact serialization is ASCII");
    assert_eq!(jwe_decrypt(&compact, &key, crv), PASSWORD.as_bytes());
}

#[test]
fn p256_jwk_gets_a_jwe_ecdh_es_a256gcm() {
    ec_round_trip::<p256::NistP256>("P-256");
}

#[test]
fn p384_jwk_gets_a_jwe_ecdh_es_a256gcm() {
    ec_round_trip::<p384::NistP384>("P-384");
}

#[test]
fn p521_jwk_gets_a_jwe_ecdh_es_a256gcm() {
    ec_round_trip::<p521::NistP521>("P-521");
}

#[test]
fn concat_kdf_matches_rfc7518_appendix_c() {
    // Alice's ephemeral key and Bob's key from RFC 7518 Appendix C.
    let alice = p256::SecretKey::from_slice(&b64u("0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo"))
        .expect("Alice's d");
    let mut bob = vec![0x04];
    bob.extend(b64u("weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ"));
    bob.extend(b64u("e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck"));
    let bob = p256::PublicKey::from_sec1_bytes(&bob).expect("Bob's point");
    let z = p256::ecdh::diffie_hellman(alice.to_nonzero_scalar(), bob.as_affine());
    let z = z.raw_secret_bytes();
    assert_eq!(
        z.as_slice(),
        [
            158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49,
            110, 163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196
        ]
    );
    let expected = b64u("VqqN6vgjbSBcIijNcacQGg");
    // The tests' KDF, which decrypts the JWEs above…
    assert_eq!(
        rfc_concat_kdf(z, "A128GCM", b"Alice", b"Bob", 128),
        expected
    );
    // …and the module's.
    let derived = concat_kdf(z, b"A128GCM", b"Alice", b"Bob", 16).expect("derives");
    assert_eq!(derived.as_slice(), expected.as_slice());
    // More than one round (not used by A256GCM, but the loop must be right).
    let long = concat_kdf(z, b"A128GCM", b"Alice", b"Bob", 48).expect("derives");
    assert_eq!(long.len(), 48);
    assert_ne!(long[..16], expected[..]);
}

#[test]
fn ed25519_jwk_gets_age_to_its_ssh_ed25519_recipient() {
    let (jwk, pem) = ed25519_jwk_and_pem();
    let out = encrypt_one(jwk_config("baton/jwk/v1", "ed-key", &jwk));
    let x = jwk["x"].as_str().expect("x");
    let expected = sha256_hex(format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#).as_bytes());
    let ciphertext = assert_jwk_output(&out, &expected);
    assert!(ciphertext.starts_with(b"age-encryption.org/v1\n-> ssh-ed25519 "));
    assert_eq!(
        age_decrypt_with_ssh_key(&pem, &ciphertext),
        PASSWORD.as_bytes()
    );
}

fn rsa_jwk(key: &rsa::RsaPublicKey) -> serde_json::Value {
    serde_json::json!({
        "kty": "RSA",
        "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
        "alg": "RSA-OAEP-256",
    })
}

#[test]
fn rsa_jwk_gets_age_to_its_ssh_rsa_recipient() {
    let private = rsa::RsaPrivateKey::new(&mut OsRng, 2048).expect("an RSA key");
    let public = private.to_public_key();
    let jwk = rsa_jwk(&public);
    let encryptor =
        Encryptor::from_configs(&[jwk_config("", "rsa-key", &jwk)]).expect("a usable config");

    // The recipient is the one age itself reads from `ssh-rsa <blob>`.
    let mut public_blob = Vec::new();
    put_string(&mut public_blob, b"ssh-rsa");
    put_mpint(&mut public_blob, public.e());
    put_mpint(&mut public_blob, public.n());
    let line = format!(
        "ssh-rsa {}",
        base64::engine::general_purpose::STANDARD.encode(&public_blob)
    );
    let parsed = age::ssh::Recipient::from_str(&line).expect("age parses the key");
    match &encryptor.recipients[0].kind {
        Kind::JwkSsh { recipient, .. } => assert_eq!(recipient.to_string(), parsed.to_string()),
        _ => panic!("an RSA JWK must give an ssh recipient"),
    }

    let out = encryptor
        .encrypt("password", "generated for user:u1", &secret())
        .expect("encrypts")
        .remove(0);
    let expected = sha256_hex(
        format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            jwk["e"].as_str().expect("e"),
            jwk["n"].as_str().expect("n")
        )
        .as_bytes(),
    );
    let ciphertext = assert_jwk_output(&out, &expected);
    assert!(ciphertext.starts_with(b"age-encryption.org/v1\n-> ssh-rsa "));

    let primes = private.primes();
    let mut private_fields = Vec::new();
    put_string(&mut private_fields, b"ssh-rsa");
    put_mpint(&mut private_fields, private.n());
    put_mpint(&mut private_fields, private.e());
    put_mpint(&mut private_fields, private.d());
    put_mpint(
        &mut private_fields,
        &private.crt_coefficient().expect("iqmp"),
    );
    put_mpint(&mut private_fields, &primes[0]);
    put_mpint(&mut private_fields, &primes[1]);
    let pem = openssh_private_key(&public_blob, &private_fields);
    assert_eq!(
        age_decrypt_with_ssh_key(&pem, &ciphertext),
        PASSWORD.as_bytes()
    );
}

#[test]
fn rfc7638_thumbprint_is_the_key_id() {
    // RFC 7638 §3.1: this key's thumbprint is NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs.
    let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
    let expected: String = b64u("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    // Members in any order, optional members, whitespace: the thumbprint is the same.
    let json = format!(
        "{{ \"kid\": \"2011-04-29\", \"alg\": \"RS256\", \"e\": \"AQAB\", \"n\": \"{n}\", \"kty\": \"RSA\" }}"
    );
    let out = encrypt_one(jwk_config_bytes("", "rfc-7638", json.into_bytes()));
    assert_eq!(out.key_id, expected);
    assert_eq!(out.key_ids, vec![expected.clone()]);
    // A non-minimal encoding of the same key (leading zero bytes, padding) is the same key.
    let n_padded = base64::engine::general_purpose::URL_SAFE.encode([vec![0u8], b64u(n)].concat());
    let json = format!(r#"{{"kty":"RSA","n":"{n_padded}","e":"AAEAAQ"}}"#);
    let out = encrypt_one(jwk_config_bytes("", "rfc-7638", json.into_bytes()));
    assert_eq!(out.key_id, expected);
}

#[test]
fn providers_are_inferred_or_named_in_any_case() {
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let key = p256::SecretKey::random(&mut OsRng);
    let point = key.public_key().to_encoded_point(false);
    let jwk = serde_json::json!({
        "kty": "EC", "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(point.x().expect("x")),
        "y": URL_SAFE_NO_PAD.encode(point.y().expect("y")),
    });
    let configs = [
        jwk_config("", "jwk-inferred", &jwk),
        jwk_config(" BATON/JWK/V1 ", "jwk-named", &jwk),
        age_config("", "age-inferred", &recipient),
        age_config("Baton/Age/V1", "age-named", &recipient),
    ];
    let encryptor = Encryptor::from_configs(&configs).expect("usable configs");
    let out = encryptor
        .encrypt("password", "d", &secret())
        .expect("encrypts");
    let providers: Vec<&str> = out.iter().map(|d| d.provider.as_str()).collect();
    assert_eq!(
        providers,
        [
            "baton/jwk/v1",
            "baton/jwk/v1",
            "baton/age/v1",
            "baton/age/v1"
        ]
    );
    // Each JWE has its own ephemeral key and IV.
    assert_eq!(out[0].key_id, out[1].key_id);
    assert_ne!(out[0].encrypted_bytes, out[1].encrypted_bytes);
}

#[test]
fn age_x25519_recipients_still_work() {
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let out = encrypt_one(age_config("", "age-key", &format!("  {recipient}\n")));
    assert_eq!(out.provider, AGE_PROVIDER);
    assert_eq!(out.key_id, "");
    assert_eq!(out.key_ids, vec![sha256_hex(recipient.as_bytes())]);
    assert_eq!(out.name, "password");
    assert_eq!(out.description, "generated for user:u1");
    assert_eq!(out.schema, "");
    // A binary age file, not base64 and not armored.
    assert!(
        out.encrypted_bytes
            .starts_with(b"age-encryption.org/v1\n-> X25519 ")
    );
    assert_eq!(
        age::decrypt(&identity, &out.encrypted_bytes).expect("decrypts"),
        PASSWORD.as_bytes()
    );
}

#[test]
fn post_quantum_age_recipients_are_refused_clearly() {
    let err = refused(age_config(
        "",
        "pq-key",
        "age1pq1x34nzsvr0rxjsgdn8zgyhfe8j7ceq5r9rdelkjuh3y235jzxshfg87pzf5",
    ));
    assert!(err.message().contains("\"pq-key\""), "{err}");
    assert!(err.message().contains("post-quantum"), "{err}");
    let err = refused(age_config("", "bad-age", "age1notarecipient"));
    assert!(err.message().contains("\"bad-age\""), "{err}");
    assert!(err.message().contains("X25519"), "{err}");
}

#[test]
fn no_configs_make_an_empty_encryptor() {
    let encryptor = Encryptor::from_configs(&[]).expect("nothing to check");
    assert!(encryptor.is_empty());
    assert!(
        encryptor
            .encrypt("password", "d", &secret())
            .expect("nothing to do")
            .is_empty()
    );
}

#[test]
fn unknown_providers_and_missing_keys_are_refused() {
    let jwk =
        serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode([9u8; 32])});
    let err = refused(jwk_config("baton/kms/v1", "kms-key", &jwk));
    assert!(err.message().contains("\"kms-key\""), "{err}");
    assert!(err.message().contains("baton/kms/v1"), "{err}");

    let err = refused(age_config("baton/jwk/v1", "mixed", "age1whatever"));
    assert!(err.message().contains("\"mixed\""), "{err}");
    assert!(err.message().contains("needs a JWK public key"), "{err}");

    let err = refused(jwk_config("baton/age/v1", "mixed-2", &jwk));
    assert!(err.message().contains("needs an age recipient"), "{err}");

    let empty = EncryptionConfig {
        principal: None,
        provider: String::new(),
        key_id: String::new(),
        config: None,
    };
    let err = refused(empty);
    assert!(err.message().contains("#1 (no key_id)"), "{err}");
}

#[test]
fn unusable_jwks_are_refused_naming_the_key_id() {
    let k = "c2VjcmV0LXN5bW1ldHJpYy1rZXktbWF0ZXJpYWw";
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "oct",
            serde_json::json!({"kty": "oct", "k": k}).to_string().into_bytes(),
            "unsupported key type",
        ),
        ("not-json", b"{\"kty\": \"EC\",".to_vec(), "not a JSON object"),
        ("array", b"[1, 2]".to_vec(), "not a JSON object"),
        ("empty", Vec::new(), "empty"),
        (
            "no-kty",
            serde_json::json!({"crv": "P-256"}).to_string().into_bytes(),
            "no \"kty\"",
        ),
        (
            "x25519",
            serde_json::json!({"kty": "OKP", "crv": "X25519", "x": URL_SAFE_NO_PAD.encode([1u8; 32])})
                .to_string()
                .into_bytes(),
            "unsupported key type",
        ),
        (
            "secp256k1",
            serde_json::json!({"kty": "EC", "crv": "secp256k1", "x": "AA", "y": "AA"})
                .to_string()
                .into_bytes(),
            "unsupported key type",
        ),
        (
            "bad-base64",
            serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": "not*base64url!"})
                .to_string()
                .into_bytes(),
            "\"x\" is not base64url",
        ),
        (
            "short-x",
            serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode([1u8; 31])})
                .to_string()
                .into_bytes(),
            "31 bytes",
        ),
        (
            "off-curve",
            serde_json::json!({
                "kty": "EC", "crv": "P-256",
                "x": URL_SAFE_NO_PAD.encode([1u8; 32]), "y": URL_SAFE_NO_PAD.encode([2u8; 32]),
            })
            .to_string()
            .into_bytes(),
            "not on P-256",
        ),
        (
            "no-y",
            serde_json::json!({"kty": "EC", "crv": "P-384", "x": URL_SAFE_NO_PAD.encode([1u8; 48])})
                .to_string()
                .into_bytes(),
            "no \"y\"",
        ),
        (
            "numbers",
            br#"{"kty": "RSA", "n": 12345, "e": 3}"#.to_vec(),
            "not a JSON object",
        ),
    ];
    for (key_id, pub_key, what) in cases {
        let err = refused(jwk_config_bytes("", key_id, pub_key));
        let text = format!("{err} {err:?}");
        assert!(text.contains(&format!("\"{key_id}\"")), "{key_id}: {text}");
        assert!(text.contains(what), "{key_id}: expected {what:?} in {text}");
        assert!(!text.contains(k), "{key_id}: the oct key leaked: {text}");
        assert!(!text.contains("12345"), "{key_id}: a value leaked: {text}");
    }
}

/// An RSA modulus of exactly `bits` bits (odd, not a real key: the checks come first).
fn modulus(bits: usize) -> String {
    let mut n = vec![0xa5u8; bits.div_ceil(8)];
    let top = bits % 8;
    n[0] = if top == 0 {
        0x80 | 0x25
    } else {
        1 << (top - 1)
    };
    if let Some(last) = n.last_mut() {
        *last |= 1;
    }
    URL_SAFE_NO_PAD.encode(n)
}

#[test]
fn rsa_keys_are_bounded() {
    let rsa = |bits: usize| {
        serde_json::json!({"kty": "RSA", "n": modulus(bits), "e": "AQAB"})
            .to_string()
            .into_bytes()
    };
    let err = refused(jwk_config_bytes("", "small", rsa(1024)));
    assert!(err.message().contains("\"small\""), "{err}");
    assert!(err.message().contains("1024 bits"), "{err}");
    let err = refused(jwk_config_bytes("", "just-small", rsa(2047)));
    assert!(err.message().contains("2047 bits"), "{err}");
    let err = refused(jwk_config_bytes("", "huge", rsa(16385)));
    assert!(err.message().contains("16385 bits"), "{err}");
    let err = refused(jwk_config_bytes(
        "",
        "bad-e",
        serde_json::json!({"kty": "RSA", "n": modulus(2048), "e": "AA"})
            .to_string()
            .into_bytes(),
    ));
    assert!(err.message().contains("exponent"), "{err}");

    // Past age's own 4096-bit parser limit, up to 16384 bits: accepted and encrypted to.
    for bits in [2048, 8192, 16384] {
        let out = encrypt_one(jwk_config_bytes("", "big", rsa(bits)));
        let ciphertext = base64::engine::general_purpose::STANDARD
            .decode(&out.encrypted_bytes)
            .expect("base64");
        assert!(ciphertext.starts_with(b"age-encryption.org/v1\n-> ssh-rsa "));
    }

    // A JWK over the size bound is refused before it is parsed.
    let mut big = br#"{"kty":"RSA","e":"AQAB","n":""#.to_vec();
    big.extend(std::iter::repeat_n(b'A', MAX_JWK_BYTES));
    big.extend(br#""}"#);
    let err = refused(jwk_config_bytes("", "too-big", big));
    assert!(err.message().contains("allowed"), "{err}");
}

#[test]
fn secrets_stay_out_of_debug() {
    let identity = age::x25519::Identity::generate();
    let key = p256::SecretKey::random(&mut OsRng);
    let point = key.public_key().to_encoded_point(false);
    let configs = [
        age_config("", "age-key", &identity.to_public().to_string()),
        jwk_config(
            "",
            "ec-key",
            &serde_json::json!({
                "kty": "EC", "crv": "P-256",
                "x": URL_SAFE_NO_PAD.encode(point.x().expect("x")),
                "y": URL_SAFE_NO_PAD.encode(point.y().expect("y")),
            }),
        ),
        jwk_config(
            "",
            "ed-key",
            &serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(
                ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]).verifying_key().to_bytes())}),
        ),
    ];
    let encryptor = Encryptor::from_configs(&configs).expect("usable configs");
    let out = encryptor
        .encrypt("password", "d", &secret())
        .expect("encrypts");
    let debug = format!("{encryptor:?} {out:?} {:?}", secret());
    assert!(!debug.contains(PASSWORD), "{debug}");
    assert!(!debug.contains("horse"), "{debug}");
    for data in &out {
        let text = String::from_utf8_lossy(&data.encrypted_bytes);
        assert!(!text.contains(PASSWORD));
    }
    assert!(
        debug.contains("ec-key") && debug.contains("EC P-256"),
        "{debug}"
    );
}

// ---- Through a create_account task: the platform's three JWK key types ----

/// An Ed25519 key as the platform sends it (a JWK) and as `age` reads it (an OpenSSH PEM).
fn ed25519_jwk_and_pem() -> (serde_json::Value, String) {
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    let public = ed25519_dalek::SigningKey::from_bytes(&seed)
        .verifying_key()
        .to_bytes();
    let jwk =
        serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(public)});
    let mut public_blob = Vec::new();
    put_string(&mut public_blob, b"ssh-ed25519");
    put_string(&mut public_blob, &public);
    let mut private_fields = Vec::new();
    put_string(&mut private_fields, b"ssh-ed25519");
    put_string(&mut private_fields, &public);
    put_string(
        &mut private_fields,
        &[seed.as_slice(), public.as_slice()].concat(),
    );
    (jwk, openssh_private_key(&public_blob, &private_fields))
}

/// An RSA key as a JWK and as an OpenSSH PEM.
fn rsa_jwk_and_pem() -> (serde_json::Value, String) {
    let private = rsa::RsaPrivateKey::new(&mut OsRng, 2048).expect("an RSA key");
    let public = private.to_public_key();
    let mut public_blob = Vec::new();
    put_string(&mut public_blob, b"ssh-rsa");
    put_mpint(&mut public_blob, public.e());
    put_mpint(&mut public_blob, public.n());
    let primes = private.primes();
    let mut private_fields = Vec::new();
    put_string(&mut private_fields, b"ssh-rsa");
    for n in [private.n(), private.e(), private.d()] {
        put_mpint(&mut private_fields, n);
    }
    put_mpint(
        &mut private_fields,
        &private.crt_coefficient().expect("iqmp"),
    );
    put_mpint(&mut private_fields, &primes[0]);
    put_mpint(&mut private_fields, &primes[1]);
    (
        rsa_jwk(&public),
        openssh_private_key(&public_blob, &private_fields),
    )
}

/// A random-password account created through the fake ConductorOne for each key type the
/// platform sends in `baton/jwk/v1` configs (Ed25519, RSA, P-256): each task succeeds, its
/// one encrypted credential names the key's RFC 7638 thumbprint and decrypts — with age's
/// ssh identity or the RFC-written JWE decryption — to a password that meets the task's
/// constraints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwk_encrypted_passwords_of_create_account_tasks_decrypt_with_each_private_key() {
    use crate::service::fake::FakeC1;
    use crate::service::proto::{self, FinalState, TaskType};
    use std::time::Duration;

    let (ed_jwk, ed_pem) = ed25519_jwk_and_pem();
    let (rsa_jwk, rsa_pem) = rsa_jwk_and_pem();
    let ec_key = p256::SecretKey::random(&mut OsRng);
    let point = ec_key.public_key().to_encoded_point(false);
    let ec_jwk = serde_json::json!({"kty": "EC", "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(point.x().expect("x")),
        "y": URL_SAFE_NO_PAD.encode(point.y().expect("y"))});

    let c1 = FakeC1::start().await.unwrap();
    let creds = c1.credentials("jwk-accounts");
    let digits = "0123456789";
    let task = |login: &str, jwk: &serde_json::Value| {
        TaskType::CreateAccount(proto::CreateAccountTask {
            account_info: Some(proto::AccountInfo {
                emails: vec![proto::AccountEmail {
                    address: format!("{login}@example.com"),
                    is_primary: true,
                }],
                login: login.into(),
                ..Default::default()
            }),
            credential_options: Some(proto::CredentialOptions {
                force_change_at_next_login: false,
                options: Some(proto::CredentialOptionKind::RandomPassword(
                    proto::RandomPassword {
                        length: 24,
                        constraints: vec![proto::PasswordConstraint {
                            char_set: digits.into(),
                            min_count: 6,
                        }],
                    },
                )),
            }),
            encryption_configs: vec![jwk_config("", "ignored", jwk)],
            resource_type_id: "user".into(),
        })
    };
    let ids = [
        c1.enqueue_other(task("jwk-ed25519", &ed_jwk)),
        c1.enqueue_other(task("jwk-rsa", &rsa_jwk)),
        c1.enqueue_other(task("jwk-p256", &ec_jwk)),
    ];
    let (_config, stop, run) = crate::service::fake::tests::start_worker(&c1, &creds);
    let mut outputs = Vec::new();
    for id in &ids {
        let f = c1
            .wait_for_finish(id, Duration::from_secs(60))
            .await
            .unwrap();
        let Some(FinalState::Success(ok)) = &f.final_state else {
            panic!("{f:?}");
        };
        let resp: proto::CreateAccountResponse = proto::from_any(
            proto::names::CREATE_ACCOUNT_RESPONSE,
            ok.response.as_ref().expect("a response"),
        )
        .unwrap();
        assert_eq!(resp.encrypted_data.len(), 1, "{resp:?}");
        outputs.push(resp.encrypted_data[0].clone());
    }
    stop.trigger();
    run.await.unwrap().unwrap();

    let thumbprint = |members: String| sha256_hex(members.as_bytes());
    let s = |v: &serde_json::Value, k: &str| v[k].as_str().expect(k).to_string();
    let expected = [
        thumbprint(format!(
            r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
            s(&ed_jwk, "x")
        )),
        thumbprint(format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            s(&rsa_jwk, "e"),
            s(&rsa_jwk, "n")
        )),
        thumbprint(format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            s(&ec_jwk, "x"),
            s(&ec_jwk, "y")
        )),
    ];
    let mut passwords = Vec::new();
    for (out, thumb) in outputs.iter().zip(&expected) {
        assert_eq!(out.provider, "baton/jwk/v1");
        assert_eq!(&out.key_id, thumb);
        assert_eq!(out.key_ids, vec![thumb.clone()]);
        passwords.push(
            base64::engine::general_purpose::STANDARD
                .decode(&out.encrypted_bytes)
                .expect("standard base64"),
        );
    }
    let plain = [
        age_decrypt_with_ssh_key(&ed_pem, &passwords[0]),
        age_decrypt_with_ssh_key(&rsa_pem, &passwords[1]),
        jwe_decrypt(
            std::str::from_utf8(&passwords[2]).expect("a compact JWE"),
            &ec_key,
            "P-256",
        ),
    ];
    for p in plain {
        let p = String::from_utf8(p).expect("a UTF-8 password");
        assert_eq!(p.chars().count(), 24, "{}", p.len());
        assert!(p.chars().filter(|c| digits.contains(*c)).count() >= 6);
    }
}
