//! Checks of a connector's command-line configuration (features `testing` and `cli`).

use crate::cli::{AppInfo, BaseUrlArg, BuildContext, ConnectorConfig};

/// Asserts that `args` — the connector's configuration, given a [`BaseUrlArg`] — refuses a
/// plain `http://` base URL to a host that is not this machine, naming
/// `--allow-insecure-http (BATON_ALLOW_INSECURE_HTTP)`, and builds once the operator
/// allows it.
///
/// ```ignore
/// connector_sdk::testing::assert_plain_http_needs_opt_in(|base_url| MyArgs {
///     api_key: Some(SecretString::from("key")),
///     base_url,
/// });
/// ```
pub fn assert_plain_http_needs_opt_in<C: ConnectorConfig>(args: impl Fn(BaseUrlArg) -> C) {
    let ctx = BuildContext {
        app: AppInfo::new("baton-test", "0", "test"),
        provisioning: false,
    };
    let base = |allow_insecure_http| BaseUrlArg {
        base_url: Some("http://api-proxy.example.com/".into()),
        allow_insecure_http,
    };
    let err = match args(base(false)).build(&ctx) {
        Ok(_) => {
            panic!("a plain http:// base URL to a remote host was accepted without the opt-in")
        }
        Err(e) => e,
    };
    assert!(
        err.to_string()
            .contains("--allow-insecure-http (BATON_ALLOW_INSECURE_HTTP)"),
        "{err}"
    );
    if let Err(e) = args(base(true)).build(&ctx) {
        panic!("with --allow-insecure-http the configuration must build: {e}");
    }
}
