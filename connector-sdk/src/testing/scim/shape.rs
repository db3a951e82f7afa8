//! The ways real SCIM servers differ, as one value a tenant is built with.

use std::time::Duration;

/// How a successful PATCH is answered (RFC 7644 §3.5.2 allows both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PatchAnswer {
    /// 200 with the updated resource.
    #[default]
    Resource,
    /// 204 No Content.
    NoContent,
}

/// What a list answer says in `totalResults`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TotalResults {
    /// The number of resources matching the query.
    #[default]
    Exact,
    /// No `totalResults` at all.
    Missing,
    /// The true number plus this many: a server promising resources it never lists.
    Inflated(u64),
}

/// How requests authenticate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TenantAuth {
    /// Every request is let in (the tenant's owner checks credentials itself, or none).
    #[default]
    None,
    /// `Authorization: Bearer <token>` with this token.
    Bearer(String),
    /// OAuth 2.0 client credentials: `POST token_path` (see
    /// [`oauth`](crate::testing::oauth)) hands out bearer tokens the SCIM routes accept.
    ClientCredentials {
        /// The client id.
        client_id: String,
        /// The client secret.
        client_secret: String,
        /// The token endpoint's path, e.g. `/oauth/token`.
        token_path: String,
    },
}

/// The shape of a simulated SCIM server: where it lives and how it answers. Build it with
/// the chained setters from [`ScimShape::default`] (`/scim/v2`, PATCH answered 200 with
/// the resource, pages of 100 at most, exact totals, groups listed on the user, absolute
/// `meta.location`, no latency, no authentication).
///
/// ```
/// use connector_sdk::testing::scim::{PatchAnswer, ScimShape, TotalResults};
/// // Slack: SCIM under /scim/v1, PATCH answered 204.
/// let slack = ScimShape::default().base_path("/scim/v1/").patch_answer(PatchAnswer::NoContent);
/// assert_eq!(slack.base_path, "/scim/v1");
/// let liar = ScimShape::default().total_results(TotalResults::Inflated(3)).max_page(10);
/// assert_eq!(liar.max_page, 10);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimShape {
    /// The path of the SCIM root, without a trailing `/` (`/scim/v2`; `""` for the root).
    pub base_path: String,
    /// How a successful PATCH is answered.
    pub patch: PatchAnswer,
    /// The most resources one list page holds, whatever `count` asks.
    pub max_page: usize,
    /// The page size when a request sends no `count`.
    pub default_page: usize,
    /// What `totalResults` says.
    pub total_results: TotalResults,
    /// Whether `/Groups` is served (some applications have users only).
    pub groups_endpoint: bool,
    /// Whether a user carries its groups (`groups`, read-only, RFC 7643 §4.1.2).
    pub groups_on_user: bool,
    /// Whether a `remove` of `members` or `roles` naming values in `value` (the Azure AD
    /// form) is refused with 400 `invalidValue`, as strict RFC 7644 servers do; the
    /// filter form (`members[value eq "x"]`) always works.
    pub strict_remove: bool,
    /// Whether served resources carry an absolute `meta.location` (and a 201 a
    /// `Location`), built on the URL the client called, so they survive a proxy.
    pub locations: bool,
    /// Whether a list page that is not the last carries `Link: <…>; rel="next"`
    /// (absolute, like `locations`).
    pub link_next: bool,
    /// How long every answer of the tenant is delayed.
    pub latency: Duration,
    /// How requests authenticate.
    pub auth: TenantAuth,
}

impl Default for ScimShape {
    fn default() -> Self {
        ScimShape {
            base_path: "/scim/v2".into(),
            patch: PatchAnswer::Resource,
            max_page: 100,
            default_page: 100,
            total_results: TotalResults::Exact,
            groups_endpoint: true,
            groups_on_user: true,
            strict_remove: false,
            locations: true,
            link_next: false,
            latency: Duration::ZERO,
            auth: TenantAuth::None,
        }
    }
}

impl ScimShape {
    /// Serves SCIM under `path` (`/scim/v1`, `/accounts/acme/scim/v2`; a trailing `/` is
    /// dropped).
    pub fn base_path(mut self, path: &str) -> Self {
        let trimmed = path.trim_end_matches('/');
        self.base_path = if trimmed.is_empty() || trimmed.starts_with('/') {
            trimmed.to_string()
        } else {
            format!("/{trimmed}")
        };
        self
    }

    /// Answers a successful PATCH this way.
    pub fn patch_answer(mut self, answer: PatchAnswer) -> Self {
        self.patch = answer;
        self
    }

    /// Caps every list page at `n` resources (at least 1).
    pub fn max_page(mut self, n: usize) -> Self {
        self.max_page = n.max(1);
        self
    }

    /// Answers a list without `count` with pages of `n`.
    pub fn default_page(mut self, n: usize) -> Self {
        self.default_page = n;
        self
    }

    /// Says this in `totalResults`.
    pub fn total_results(mut self, totals: TotalResults) -> Self {
        self.total_results = totals;
        self
    }

    /// Serves `/Groups` or not.
    pub fn groups_endpoint(mut self, served: bool) -> Self {
        self.groups_endpoint = served;
        self
    }

    /// Lists each user's groups on the user, or not.
    pub fn groups_on_user(mut self, listed: bool) -> Self {
        self.groups_on_user = listed;
        self
    }

    /// Refuses (`true`) or accepts a `remove` naming its values in `value`.
    pub fn strict_remove(mut self, strict: bool) -> Self {
        self.strict_remove = strict;
        self
    }

    /// Adds `meta.location` and `Location`, or not.
    pub fn locations(mut self, on: bool) -> Self {
        self.locations = on;
        self
    }

    /// Adds `Link: rel="next"` to list pages, or not.
    pub fn link_next(mut self, on: bool) -> Self {
        self.link_next = on;
        self
    }

    /// Delays every answer by `latency`.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Requires `Authorization: Bearer <token>`.
    pub fn bearer(mut self, token: &str) -> Self {
        self.auth = TenantAuth::Bearer(token.into());
        self
    }

    /// Requires a bearer token from an OAuth client-credentials endpoint at `token_path`.
    pub fn client_credentials(
        mut self,
        client_id: &str,
        client_secret: &str,
        token_path: &str,
    ) -> Self {
        self.auth = TenantAuth::ClientCredentials {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            token_path: token_path.into(),
        };
        self
    }
}
