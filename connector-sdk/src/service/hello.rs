//! What the startup Hello carries: build info, OS info and the connector's metadata with its
//! capabilities and account-creation schema (spec §2.3–2.4).

use super::proto::*;
use crate::account::CredentialOption;
use crate::connector::Connector;
use crate::schema::FieldType;
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

/// `c1.connector.v2.ConnectorMetadata` of `connector`: capabilities per resource type and
/// for the connector, credential options and the account-creation schema.
pub(crate) fn connector_metadata(connector: &dyn Connector) -> ConnectorMetadata {
    let meta = connector.metadata();
    let mut all: Vec<i32> = Vec::new();
    let mut per_type = Vec::new();
    let mut credential_details = None;
    let mut schema = None;
    for s in connector.syncers() {
        let rt = s.resource_type();
        let mut caps = vec![capability::SYNC];
        if s.provisioner().is_some() {
            caps.push(capability::PROVISION);
        }
        if let Some(am) = s.account_manager() {
            caps.push(capability::ACCOUNT_PROVISIONING);
            if credential_details.is_none() {
                let options = am.credential_options();
                credential_details = Some(CredentialDetails {
                    capability_account_provisioning: Some(CredentialDetailsAccountProvisioning {
                        supported_credential_options: options.iter().map(option_value).collect(),
                        preferred_credential_option: options
                            .first()
                            .map(option_value)
                            .unwrap_or(credential_option::NO_PASSWORD),
                    }),
                });
                let fields = am
                    .account_schema()
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        (
                            f.name.clone(),
                            AccountCreationField {
                                display_name: f.display_name.clone(),
                                required: f.required,
                                description: f.description.clone(),
                                placeholder: String::new(),
                                order: i as i32,
                                field: Some(match f.field_type {
                                    FieldType::String => {
                                        AccountCreationFieldType::StringField(Empty {})
                                    }
                                    FieldType::Bool => {
                                        AccountCreationFieldType::BoolField(Empty {})
                                    }
                                    FieldType::Int => AccountCreationFieldType::IntField(Empty {}),
                                    FieldType::StringList => {
                                        AccountCreationFieldType::StringListField(Empty {})
                                    }
                                    FieldType::Object => {
                                        AccountCreationFieldType::MapField(Empty {})
                                    }
                                }),
                            },
                        )
                    })
                    .collect();
                schema = Some(AccountCreationSchema { field_map: fields });
            }
        }
        if s.deleter().is_some() {
            caps.push(capability::RESOURCE_DELETE);
        }
        for c in &caps {
            if !all.contains(c) {
                all.push(*c);
            }
        }
        per_type.push(ResourceTypeCapability {
            resource_type: Some(convert::resource_type_to_proto(&rt)),
            capabilities: caps,
        });
    }
    if !connector.actions().is_empty() {
        all.push(capability::ACTIONS);
    }
    all.sort_unstable();
    let display_name = if meta.display_name.is_empty() {
        meta.name.clone()
    } else {
        meta.display_name.clone()
    };
    ConnectorMetadata {
        display_name: display_name.chars().take(1024).collect(),
        help_url: String::new(),
        profile: None,
        annotations: Vec::new(),
        description: meta.description.chars().take(4096).collect(),
        capabilities: Some(ConnectorCapabilities {
            resource_type_capabilities: per_type,
            connector_capabilities: all,
            credential_details,
        }),
        account_creation_schema: schema,
    }
}
