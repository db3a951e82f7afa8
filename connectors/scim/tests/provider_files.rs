//! Provider files: baton-scim's nine and the nine shipped here load; a malformed one fails
//! at start naming the file, the field and what is wrong; `${VAR}` and the URLs are
//! checked when the connector is configured.

mod common;

use connector_scim::provider::{AuthType, Provider, SHIPPED, Source};
use connector_scim::{Credentials, ScimConfig};
use serde_norway::Value as Yaml;

const UPSTREAM: [&str; 9] = [
    "canva",
    "jellyfish",
    "miro",
    "postman",
    "sap-success-factors",
    "slack",
    "tesorio",
    "whimsical",
    "zoom",
];

#[test]
fn baton_scims_nine_files_load_unchanged() {
    for name in UPSTREAM {
        let p = common::upstream(name);
        assert_eq!(p.file, format!("{name}.yaml"));
    }
    let sap = common::upstream("sap-success-factors");
    assert_eq!(sap.auth.auth_type, AuthType::CustomTokenSource);
    assert!(sap.auth.with_custom_token_request);
    assert_eq!(
        sap.auth.token_request_defaults.form_body_values["grant_type"],
        "urn:ietf:params:oauth:grant-type:saml2-bearer"
    );
    assert!(sap.user.skip_user_emails && sap.user.has_groups_on_user);
    let zoom = common::upstream("zoom");
    assert!(zoom.auth.should_obtain_token);
    assert_eq!(
        zoom.auth.token_path.as_ref().unwrap().as_str(),
        "access_token"
    );
    // Whimsical has no group section: it loads, without groups.
    assert!(common::upstream("whimsical").group.is_none());
    // The fixture of baton-scim's own test is postman.yaml.
    let fixture = std::fs::read_to_string(
        common::upstream_dir().join("fixtures/scim_config_test.TestGetConfigBytes.yaml"),
    )
    .unwrap();
    Provider::parse("fixture.yaml", &fixture).unwrap();
}

#[test]
fn the_shipped_files_load_and_say_what_they_were_checked_against() {
    assert_eq!(SHIPPED.len(), 9);
    for (name, text) in SHIPPED {
        Provider::load(&Source::Shipped(name.to_string())).unwrap();
        assert!(
            text.lines().take(6).any(|l| l.contains("Checked against")),
            "{name}.yaml says what it was checked against"
        );
    }
    let err = Provider::load(&Source::Shipped("okta\u{1b}[31m".into()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--service-provider (BATON_SERVICE_PROVIDER)"),
        "{err}"
    );
    assert!(err.contains("\\u{1b}") && err.contains("slack"), "{err}");
}

fn slack_yaml() -> Yaml {
    let text = std::fs::read_to_string(common::upstream_dir().join("slack.yaml")).unwrap();
    serde_norway::from_str(&text).unwrap()
}

/// Edits the mapping holding the last key of `path` (dotted) and returns the file.
fn edit(
    mut doc: Yaml,
    path: &str,
    change: impl FnOnce(&mut serde_norway::Mapping, &str),
) -> String {
    let (parents, last) = path.rsplit_once('.').map_or(("", path), |(a, b)| (a, b));
    let mut node = &mut doc;
    for k in parents.split('.').filter(|k| !k.is_empty()) {
        node = node.get_mut(k).unwrap();
    }
    change(node.as_mapping_mut().unwrap(), last);
    serde_norway::to_string(&doc).unwrap()
}

fn without(doc: Yaml, path: &str) -> String {
    edit(doc, path, |m, k| {
        m.remove(k).unwrap();
    })
}

fn set(doc: Yaml, path: &str, value: &str) -> String {
    edit(doc, path, |m, k| {
        m.insert(k.into(), value.into());
    })
}

fn error_of(text: &str) -> String {
    Provider::parse("slack.yaml", text).unwrap_err().to_string()
}

#[test]
fn each_required_field_missing_fails_naming_it() {
    for field in [
        "apiEndpoint",
        "auth",
        "auth.authType",
        "user",
        "user.id",
        "user.firstName",
        "user.lastName",
        "user.primaryEmail",
        "user.active",
        "pagination",
        "pagination.totalResults",
        "pagination.itemsPerPage",
        "pagination.startIndex",
        "group.id",
        "group.displayName",
        "group.members.path",
        "group.members.id",
        "user.roles.path",
        "user.roles.name",
        "provisioning.addUserToGroup.schemas",
        "provisioning.addUserToGroup.op",
        "provisioning.addUserToGroup.path",
        "provisioning.addUserToGroup.valuePath",
        "provisioning.removeUserRole.valuePath",
    ] {
        let err = error_of(&without(slack_yaml(), field));
        assert!(
            err.contains(&format!("slack.yaml: {field}: required")),
            "{field}: {err}"
        );
    }
    // An empty value is missing too.
    let err = error_of(&set(slack_yaml(), "user.active", ""));
    assert!(err.contains("slack.yaml: user.active: required"), "{err}");
    // Every problem at once, one a line.
    let two = without(
        serde_norway::from_str(&without(slack_yaml(), "user.id")).unwrap(),
        "user.active",
    );
    let err = error_of(&two);
    assert_eq!(err.matches("slack.yaml: ").count(), 2, "{err}");
}

#[test]
fn conditional_requirements_fire_as_the_file_means() {
    // Group provisioning without a group section.
    let err = error_of(&without(slack_yaml(), "group"));
    assert!(
        err.contains("slack.yaml: group: required when provisioning.addUserToGroup is set"),
        "{err}"
    );
    // skipUserEmails makes primaryEmail optional.
    let mut doc = slack_yaml();
    doc["user"]
        .as_mapping_mut()
        .unwrap()
        .insert("skipUserEmails".into(), true.into());
    Provider::parse("slack.yaml", &without(doc, "user.primaryEmail")).unwrap();
    // shouldObtainToken needs authUrl and tokenPath.
    let mut doc = slack_yaml();
    doc["auth"]
        .as_mapping_mut()
        .unwrap()
        .insert("shouldObtainToken".into(), "yes".into());
    let err = error_of(&serde_norway::to_string(&doc).unwrap());
    assert!(
        err.contains("auth.authUrl: required when shouldObtainToken is true"),
        "{err}"
    );
    assert!(err.contains("auth.tokenPath: required"), "{err}");
    // hasGroupsOnUser needs userGroup.
    let mut doc = slack_yaml();
    doc["user"]
        .as_mapping_mut()
        .unwrap()
        .insert("hasGroupsOnUser".into(), true.into());
    let err = error_of(&serde_norway::to_string(&doc).unwrap());
    assert!(
        err.contains("user.userGroup: required when user.hasGroupsOnUser is true"),
        "{err}"
    );
    // withCustomTokenRequest needs tokenRequestDefaults.
    let mut doc = slack_yaml();
    doc["auth"]
        .as_mapping_mut()
        .unwrap()
        .insert("withCustomTokenRequest".into(), true.into());
    let err = error_of(&serde_norway::to_string(&doc).unwrap());
    assert!(
        err.contains("auth.tokenRequestDefaults: required when withCustomTokenRequest is true"),
        "{err}"
    );
}

#[test]
fn a_bad_jsonpath_an_unknown_auth_type_and_a_bad_op_fail_naming_the_field() {
    let err = error_of(&set(
        slack_yaml(),
        "user.primaryEmail",
        "$.emails[?(@.primary==]",
    ));
    assert!(err.contains("slack.yaml: user.primaryEmail: "), "{err}");
    assert!(err.contains("JSONPath"), "{err}");
    let err = error_of(&set(slack_yaml(), "user.firstName", "name[given"));
    assert!(err.contains("slack.yaml: user.firstName: "), "{err}");
    let err = error_of(&set(slack_yaml(), "auth.authType", "ntlm"));
    assert!(
        err.contains("slack.yaml: auth.authType: unknown auth type \"ntlm\"")
            && err.contains("basic, oauth2, apiKey, basicTokenSource, customTokenSource"),
        "{err}"
    );
    let err = error_of(&set(
        slack_yaml(),
        "provisioning.removeUserFromGroup.op",
        "delete",
    ));
    assert!(
        err.contains("provisioning.removeUserFromGroup.op: \"delete\" is not a PATCH operation"),
        "{err}"
    );
    // A grant that would replace a group's members with one user, or remove: refused.
    for op in ["replace", "Remove"] {
        let err = error_of(&set(slack_yaml(), "provisioning.addUserToGroup.op", op));
        assert!(
            err.contains("slack.yaml: provisioning.addUserToGroup.op:")
                && err.contains("would not add"),
            "{err}"
        );
    }
    let err = error_of(&set(slack_yaml(), "provisioning.addUserRole.op", "remove"));
    assert!(err.contains("provisioning.addUserRole.op:"), "{err}");
    let err = error_of(&set(slack_yaml(), "apiEndpoint", "api.slack.com/scim"));
    assert!(
        err.contains("apiEndpoint: \"api.slack.com/scim\" is not an absolute http(s) URL"),
        "{err}"
    );
    let err = error_of(&set(slack_yaml(), "requestDefaults", "x"));
    assert!(err.contains("slack.yaml: not a provider file"), "{err}");
}

#[test]
fn hostile_or_broken_input_is_an_error_never_a_panic() {
    for text in [
        "",
        "---",
        "[1, 2]",
        ": : :",
        "user: 5",
        "auth: {authType: [1]}",
        "apiEndpoint: {a: b}",
        "\u{0}\u{1}",
        &"a: [".repeat(1000),
    ] {
        assert!(Provider::parse("x.yaml", text).is_err(), "{text:?}");
    }
    let big = "#".repeat(connector_scim::provider::MAX_FILE_BYTES + 1);
    assert!(
        Provider::parse("x.yaml", &big)
            .unwrap_err()
            .to_string()
            .contains("at most")
    );
}

#[test]
fn a_file_on_disk_is_named_by_its_file_name_and_a_missing_one_by_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acme.yaml");
    std::fs::write(&path, without(slack_yaml(), "user.id")).unwrap();
    let err = Provider::load(&Source::File(path)).unwrap_err().to_string();
    assert!(err.contains("acme.yaml: user.id: required"), "{err}");
    let err = Provider::load(&Source::File(dir.path().join("nope.yaml")))
        .unwrap_err()
        .to_string();
    assert!(err.contains("--scim-config (BATON_SCIM_CONFIG)"), "{err}");
}

#[test]
fn variables_and_urls_are_resolved_when_configured() {
    let sap = common::upstream("sap-success-factors");
    let err = ScimConfig::with_env(sap.clone(), Credentials::default(), None, &|_| None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "sap-success-factors.yaml: apiEndpoint: set the environment variable SAP_SF_API_SERVER"
        ),
        "{err}"
    );
    let env = |k: &str| (k == "SAP_SF_API_SERVER").then(|| "api.sap.example".to_string());
    let err = ScimConfig::with_env(sap, Credentials::default(), None, &env)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("sap-success-factors.yaml: auth.authUrl: \"REPLACE_WITH_PROD_AUTH_URL\" is not an absolute http(s) URL"),
        "{err}"
    );
    let shipped = common::shipped("sap-success-factors");
    let c = ScimConfig::with_env(shipped, Credentials::default(), None, &env).unwrap();
    assert_eq!(
        c.endpoint.as_str(),
        "https://api.sap.example/rest/iam/scim/v2"
    );
    assert_eq!(
        c.auth_url.unwrap().as_str(),
        "https://api.sap.example/oauth/token"
    );
    // A query in apiEndpoint is kept for every request.
    let text = set(
        slack_yaml(),
        "apiEndpoint",
        "https://x.example/scim/v2?tenant=t1",
    );
    let p = Provider::parse("slack.yaml", &text).unwrap();
    let c = ScimConfig::with_env(p, Credentials::default(), None, &|_| None).unwrap();
    assert_eq!(c.endpoint_query, [("tenant".to_string(), "t1".to_string())]);
}

/// A provider file chooses where requests go, so it never gets the connector's own
/// settings and credentials (`BATON_*`, ConductorOne's client secret among them), and a
/// URL that does not parse is shown as the file wrote it, not with a variable's value.
#[test]
fn a_file_cannot_read_the_connectors_own_variables_or_echo_a_value() {
    let env = |k: &str| Some(format!("value-of-{k}"));
    for name in ["BATON_CLIENT_SECRET", "baton_api_key"] {
        let text = set(
            slack_yaml(),
            "apiEndpoint",
            &format!("https://x.example/scim/v2?leak=${{{name}}}"),
        );
        let p = Provider::parse("slack.yaml", &text).unwrap();
        let err = ScimConfig::with_env(p, Credentials::default(), None, &env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("slack.yaml: apiEndpoint:") && err.contains("may not read"),
            "{err}"
        );
        assert!(!err.contains("value-of-"), "{err}");
    }
    let text = set(slack_yaml(), "apiEndpoint", "${SCIM_HOST}/scim/v2");
    let p = Provider::parse("slack.yaml", &text).unwrap();
    let err = ScimConfig::with_env(p, Credentials::default(), None, &env)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"${SCIM_HOST}/scim/v2\" is not an absolute http(s) URL"),
        "{err}"
    );
    assert!(!err.contains("value-of-SCIM_HOST"), "{err}");
}

#[test]
fn credentials_never_show_in_debug() {
    let creds = Credentials {
        api_key: Some("k3y-SECRET".to_string().into()),
        password: Some("pw-SECRET".to_string().into()),
        token: Some("tok-SECRET".to_string().into()),
        ..Credentials::default()
    };
    let c = ScimConfig::with_env(common::upstream("slack"), creds, None, &|_| None).unwrap();
    let shown = format!("{c:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
    assert!(shown.contains("[REDACTED]"), "{shown}");
    // Values in the file's headers and token form may be credentials: keys only.
    let mut doc = slack_yaml();
    doc["requestDefaults"] = serde_norway::from_str("headers: {X-Api-Key: hdr-SECRET}").unwrap();
    doc["auth"]["tokenRequestDefaults"] =
        serde_norway::from_str("formBodyValues: {assertion: saml-SECRET}").unwrap();
    let p = Provider::parse("slack.yaml", &serde_norway::to_string(&doc).unwrap()).unwrap();
    let c = ScimConfig::with_env(p, Credentials::default(), None, &|_| None).unwrap();
    let shown = format!("{c:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
    assert!(
        shown.contains("X-Api-Key") && shown.contains("assertion"),
        "{shown}"
    );
    // A key in apiEndpoint's query, and the connector built from it (its SCIM client
    // carries the headers and the query): names only.
    doc["apiEndpoint"] = "https://x.example/scim/v2?key=q-SECRET".into();
    let p = Provider::parse("slack.yaml", &serde_norway::to_string(&doc).unwrap()).unwrap();
    let creds = Credentials {
        api_key: Some("k3y-SECRET".to_string().into()),
        ..Credentials::default()
    };
    let c = ScimConfig::with_env(p, creds, None, &|_| None).unwrap();
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("SECRET") && shown.contains("key"),
        "{shown}"
    );
    let connector = connector_scim::Scim::new(c).unwrap();
    let shown = format!("{connector:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
    assert!(
        shown.contains("x-api-key") && shown.contains("key"),
        "{shown}"
    );
}
