//! The enterprise user extension (RFC 7643 §4.3).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::*;

/// The enterprise user extension (RFC 7643 §4.3), under [`ENTERPRISE_USER`].
///
/// ```
/// use connector_sdk::scim::{EnterpriseUser, User, ENTERPRISE_USER};
/// use serde_json::json;
/// let u: User = serde_json::from_value(json!({"id": "1",
///     ENTERPRISE_USER: {"department": "Legal", "employeeNumber": 701984}})).unwrap();
/// let e: EnterpriseUser = u.extension_as(ENTERPRISE_USER).unwrap().unwrap();
/// assert_eq!(e.department.as_deref(), Some("Legal"));
/// assert_eq!(e.employee_number.as_deref(), Some("701984"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnterpriseUser {
    /// `employeeNumber`.
    #[serde(
        rename = "employeeNumber",
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub employee_number: Option<String>,
    /// `costCenter`.
    #[serde(
        rename = "costCenter",
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub cost_center: Option<String>,
    /// `organization`.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub organization: Option<String>,
    /// `division`.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub division: Option<String>,
    /// `department`.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub department: Option<String>,
    /// `manager` (`{value, $ref, displayName}`), kept raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<Value>,
}
