//! Typed field schemas, shared by action arguments and account-creation profiles.
//!
//! The SDK validates a JSON object against a schema *before* a connector sees it, so a
//! handler can rely on required fields being present and of the declared type.
//!
//! ```
//! use connector_sdk::schema::{FieldSchema, FieldType, validate_fields};
//! use serde_json::json;
//!
//! let fields = [FieldSchema::new("user_id", FieldType::String).required()];
//! let ok = json!({"user_id": "u-1"});
//! assert!(validate_fields("disable_user", &fields, ok.as_object().unwrap()).is_ok());
//! let blank = json!({"user_id": "  "});
//! let err = validate_fields("disable_user", &fields, blank.as_object().unwrap()).unwrap_err();
//! assert!(err.to_string().contains("user_id"));
//! ```

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::Profile;

/// The JSON type of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// A JSON string.
    String,
    /// A JSON boolean.
    Bool,
    /// A JSON integer.
    Int,
    /// A JSON array of strings.
    StringList,
    /// A JSON object.
    Object,
}

impl FieldType {
    fn name(self) -> &'static str {
        match self {
            FieldType::String => "a string",
            FieldType::Bool => "a boolean",
            FieldType::Int => "an integer",
            FieldType::StringList => "a list of strings",
            FieldType::Object => "an object",
        }
    }

    fn accepts(self, value: &serde_json::Value) -> bool {
        use serde_json::Value;
        match self {
            FieldType::String => value.is_string(),
            FieldType::Bool => value.is_boolean(),
            FieldType::Int => value.is_i64() || value.is_u64(),
            FieldType::StringList => value
                .as_array()
                .is_some_and(|a| a.iter().all(Value::is_string)),
            FieldType::Object => value.is_object(),
        }
    }
}

/// One declared field: name, type, whether it is required, and help text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSchema {
    /// The JSON key.
    pub name: String,
    /// Name shown to people.
    pub display_name: String,
    /// Help text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The JSON type.
    pub field_type: FieldType,
    /// Whether the field must be present (and, for strings, not blank).
    pub required: bool,
}

impl FieldSchema {
    /// An optional field of `field_type`; its display name is its name.
    pub fn new(name: impl Into<String>, field_type: FieldType) -> Self {
        let name = name.into();
        FieldSchema {
            display_name: name.clone(),
            name,
            description: String::new(),
            field_type,
            required: false,
        }
    }

    /// Makes the field required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Sets the help text.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Sets the display name.
    pub fn with_display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = name.into();
        self
    }
}

/// Checks `values` against `fields`: required fields present (strings not blank), every
/// value of its declared type, no unknown keys. `what` names the thing in messages.
pub fn validate_fields(what: &str, fields: &[FieldSchema], values: &Profile) -> Result<()> {
    for key in values.keys() {
        if !fields.iter().any(|f| &f.name == key) {
            let known: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            return Err(Error::invalid_argument(format!(
                "{what}: unknown argument {key:?}; expected one of [{}]",
                known.join(", ")
            )));
        }
    }
    for field in fields {
        match values.get(&field.name) {
            None | Some(serde_json::Value::Null) => {
                if field.required {
                    return Err(Error::invalid_argument(format!(
                        "{what}: required argument {:?} ({}) is missing",
                        field.name,
                        field.field_type.name()
                    )));
                }
            }
            Some(value) => {
                if !field.field_type.accepts(value) {
                    return Err(Error::invalid_argument(format!(
                        "{what}: argument {:?} must be {}, got {value}",
                        field.name,
                        field.field_type.name()
                    )));
                }
                if field.required && value.as_str().is_some_and(|s| s.trim().is_empty()) {
                    return Err(Error::invalid_argument(format!(
                        "{what}: required argument {:?} is blank",
                        field.name
                    )));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields() -> Vec<FieldSchema> {
        vec![
            FieldSchema::new("user_id", FieldType::String).required(),
            FieldSchema::new("notify", FieldType::Bool),
            FieldSchema::new("count", FieldType::Int),
            FieldSchema::new("scopes", FieldType::StringList),
        ]
    }

    fn check(v: serde_json::Value) -> Result<()> {
        validate_fields("act", &fields(), v.as_object().unwrap())
    }

    #[test]
    fn accepts_valid_and_optional_nulls() {
        check(json!({"user_id": "u", "notify": true, "count": 3, "scopes": ["a"]})).unwrap();
        check(json!({"user_id": "u", "notify": null})).unwrap();
    }

    #[test]
    fn rejects_each_defect_naming_the_field() {
        for (v, needle) in [
            (json!({}), "\"user_id\""),
            (json!({"user_id": null}), "\"user_id\""),
            (json!({"user_id": ""}), "blank"),
            (json!({"user_id": 5}), "must be a string"),
            (json!({"user_id": "u", "notify": "yes"}), "\"notify\""),
            (json!({"user_id": "u", "count": 1.5}), "\"count\""),
            (json!({"user_id": "u", "scopes": ["a", 1]}), "\"scopes\""),
            (
                json!({"user_id": "u", "extra": 1}),
                "unknown argument \"extra\"",
            ),
        ] {
            let err = check(v.clone()).unwrap_err();
            assert!(err.to_string().contains(needle), "{v}: {err}");
            assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
        }
    }
}
