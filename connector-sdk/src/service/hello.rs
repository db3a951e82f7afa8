//! What the startup Hello carries: build info, OS info and the connector's metadata with its
//! capabilities and account-creation schema (spec §2.3–2.4).

use super::proto::*;
use crate::account::CredentialOption;
use crate::connector::{Capabilities, Capability};
use crate::schema::{FieldSchema, FieldType};
use crate::store::convert;

/// The host id: `BATON_HOST_ID` (or `--host-id`), else the host name, else `baton-sdk`.
pub(crate) fn host_id(explicit: Option<&str>) -> String {
    explicit
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(256).collect())
        .or_else(hostname)
        .unwrap_or_else(|| "baton-sdk".to_string())
}

fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn os_release() -> std::collections::HashMap<String, String> {
    std::fs::read_to_string("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect()
}

fn cap(s: String) -> String {
    s.chars().take(256).collect()
}

/// OS info with upstream's fallbacks for empty fields.
pub(crate) fn os_info() -> OsInfo {
    let rel = os_release();
    let os = std::env::consts::OS.to_string();
    let kernel_version = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into());
    let platform = rel.get("ID").cloned().unwrap_or_else(|| os.clone());
    let platform_family = rel
        .get("ID_LIKE")
        .and_then(|s| s.split_whitespace().next().map(String::from))
        .unwrap_or_else(|| platform.clone());
    let platform_version = rel
        .get("VERSION_ID")
        .cloned()
        .unwrap_or_else(|| kernel_version.clone());
    let virtualization_system = if std::path::Path::new("/.dockerenv").exists() {
        "docker"
    } else if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
        "kubernetes"
    } else {
        "none"
    };
    OsInfo {
        hostname: cap(hostname().unwrap_or_else(|| "unknown".into())),
        os: cap(os),
        platform: cap(platform),
        platform_version: cap(platform_version),
        platform_family: cap(platform_family),
        kernel_version: cap(kernel_version),
        kernel_arch: std::env::consts::ARCH.to_string(),
        virtualization_system: virtualization_system.to_string(),
    }
}

/// Build info: the language, the binary's name and version.
pub(crate) fn build_info(package: &str, version: &str) -> BuildInfo {
    BuildInfo {
        lang_version: cap(format!(
            "rust (connector-sdk {})",
            env!("CARGO_PKG_VERSION")
        )),
        package: cap(if package.is_empty() {
            "/dummy/path".into()
        } else {
            package.to_string()
        }),
        package_version: cap(if version.is_empty() {
            "0.0.0".into()
        } else {
            version.to_string()
        }),
    }
}

fn option_value(o: &CredentialOption) -> i32 {
    match o {
        CredentialOption::NoPassword => credential_option::NO_PASSWORD,
        CredentialOption::RandomPassword { .. } => credential_option::RANDOM_PASSWORD,
        CredentialOption::Sso => credential_option::SSO,
    }
}

/// `s` cut to at most `max` bytes, at a character boundary (upstream's limits are in
/// bytes: a longer field makes Hello fail validation).
fn cap_bytes(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// `c1.connector.v2.ConnectorMetadata` built from the capabilities document
/// ([`ConnectorHandle::capabilities`](crate::handle::ConnectorHandle::capabilities), the
/// same one the CLI prints): capabilities per resource type (sorted by type id) and for
/// the connector, credential options and the account-creation schema of the first
/// account type.
pub(crate) fn connector_metadata(caps: &Capabilities) -> ConnectorMetadata {
    let meta = &caps.connector;
    let mut credential_details = None;
    let mut schema = None;
    let mut per_type = Vec::new();
    for t in &caps.resource_types {
        if t.capabilities.contains(&Capability::AccountProvisioning) && credential_details.is_none()
        {
            credential_details = Some(credential_details_of(&t.credential_options));
            schema = Some(account_schema(&t.account_schema));
        }
        let mut rt = convert::resource_type_to_proto(&t.resource_type());
        rt.display_name = cap_bytes(&rt.display_name, 1024);
        rt.description = cap_bytes(&rt.description, 4096);
        per_type.push(ResourceTypeCapability {
            resource_type: Some(rt),
            capabilities: t.capabilities.iter().map(|c| c.code()).collect(),
        });
    }
    let display_name = if meta.display_name.is_empty() {
        &meta.name
    } else {
        &meta.display_name
    };
    ConnectorMetadata {
        display_name: cap_bytes(display_name, 1024),
        help_url: String::new(),
        profile: None,
        annotations: Vec::new(),
        description: cap_bytes(&meta.description, 4096),
        capabilities: Some(ConnectorCapabilities {
            resource_type_capabilities: per_type,
            connector_capabilities: caps
                .connector_capabilities
                .iter()
                .map(|c| c.code())
                .collect(),
            credential_details,
        }),
        account_creation_schema: schema,
    }
}

fn credential_details_of(options: &[CredentialOption]) -> CredentialDetails {
    CredentialDetails {
        capability_account_provisioning: Some(CredentialDetailsAccountProvisioning {
            supported_credential_options: options.iter().map(option_value).collect(),
            preferred_credential_option: options
                .first()
                .map(option_value)
                .unwrap_or(credential_option::NO_PASSWORD),
        }),
    }
}

fn account_schema(fields: &[FieldSchema]) -> AccountCreationSchema {
    let field_map = fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let field = match f.field_type {
                FieldType::String => AccountCreationFieldType::StringField(Empty {}),
                FieldType::Bool => AccountCreationFieldType::BoolField(Empty {}),
                FieldType::Int => AccountCreationFieldType::IntField(Empty {}),
                FieldType::StringList => AccountCreationFieldType::StringListField(Empty {}),
                FieldType::Object => AccountCreationFieldType::MapField(Empty {}),
            };
            let value = AccountCreationField {
                display_name: f.display_name.clone(),
                required: f.required,
                description: f.description.clone(),
                placeholder: String::new(),
                order: i as i32,
                field: Some(field),
            };
            (f.name.clone(), value)
        })
        .collect();
    AccountCreationSchema { field_map }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_bytes_cut_at_a_character_boundary() {
        let s = "é".repeat(600); // 1200 bytes
        let cut = cap_bytes(&s, 1024);
        assert_eq!(cut.len(), 1024);
        assert_eq!(cap_bytes("ab€", 4), "ab"); // € is 3 bytes
        assert_eq!(cap_bytes("short", 1024), "short");
    }
}
