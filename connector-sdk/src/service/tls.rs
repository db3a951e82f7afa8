//! The TLS client configuration shared by the token exchange and the gRPC channel: the
//! system's roots, plus the certificates of `SSL_CERT_FILE` (as Go clients trust them), plus
//! any extra PEM roots given in code (the in-process demo's fake C1).

use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::error::{Error, Result};

/// Bundles where Linux distributions keep their roots, read in addition to what
/// `rustls-native-certs` finds (it reads only `SSL_CERT_FILE` when that is set).
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// Builds a rustls client configuration (TLS 1.2+, ring) trusting the system roots,
/// `SSL_CERT_FILE` and `extra_pem`, with ALPN `alpn`.
pub(crate) fn client_config(
    extra_pem: Option<&[u8]>,
    alpn: &[&[u8]],
) -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for e in &native.errors {
        tracing::debug!(error = %e, "a system root certificate could not be loaded");
    }
    let (added, _) = roots.add_parsable_certificates(native.certs);
    let mut count = added;
    let add_pem = |bytes: &[u8], roots: &mut rustls::RootCertStore| {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(bytes)
            .filter_map(|c| c.ok())
            .collect();
        roots.add_parsable_certificates(certs).0
    };
    for path in SYSTEM_BUNDLES {
        if let Ok(bytes) = std::fs::read(path) {
            count += add_pem(&bytes, &mut roots);
        }
    }
    if let Some(path) = std::env::var_os("SSL_CERT_FILE") {
        match std::fs::read(&path) {
            Ok(bytes) => {
                let n = add_pem(&bytes, &mut roots);
                if n == 0 {
                    tracing::warn!(file = %path.to_string_lossy(), "SSL_CERT_FILE holds no PEM certificate");
                }
                count += n;
            }
            Err(e) => {
                tracing::warn!(file = %path.to_string_lossy(), error = %e, "SSL_CERT_FILE could not be read")
            }
        }
    }
    if let Some(pem) = extra_pem {
        count += add_pem(pem, &mut roots);
    }
    if count == 0 {
        return Err(Error::failed_precondition(
            "no trusted root certificates: install the system's CA certificates (e.g. the ca-certificates package) or point SSL_CERT_FILE at a PEM bundle",
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::internal(format!("TLS configuration: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(config)
}
