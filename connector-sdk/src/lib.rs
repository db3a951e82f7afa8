//! # connector-sdk
//!
//! Build identity-governance connectors in Rust: a connector reads who has access to what
//! in one SaaS application (accounts, groups, roles, vaults…) and, when allowed, changes
//! it. This crate is the Rust counterpart of ConductorOne's Go `baton-sdk`.
//!
//! A connector implements [`Connector`] and one [`ResourceSyncer`] per resource type.
//! Optional capabilities are separate traits a syncer points to:
//! [`Provisioner`](provision::Provisioner) (grant/revoke),
//! [`AccountManager`](account::AccountManager) (create accounts),
//! [`ResourceDeleter`](delete::ResourceDeleter) and
//! [`ActionHandler`](action::ActionHandler) (custom actions with a validated schema).
//!
//! ## A complete minimal connector
//!
//! ```
//! use std::sync::Arc;
//! use connector_sdk::prelude::*;
//!
//! /// Lists the users of a toy API that returns two users a page.
//! struct Users { all: Vec<(&'static str, &'static str)> }
//!
//! #[async_trait]
//! impl ResourceSyncer for Users {
//!     fn resource_type(&self) -> ResourceType {
//!         ResourceType::new("user", "User").with_trait(TraitKind::User)
//!     }
//!
//!     async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
//!         let page = req.page;
//!         let pager = OffsetPager::new(2);
//!         let offset = pager.offset(page.token.as_ref())? as usize;
//!         let chunk: Vec<Resource> = self.all.iter().skip(offset).take(2)
//!             .map(|(id, email)| {
//!                 Resource::new(&self.resource_type(), *id, *email)
//!                     .with_user_trait(UserTrait::default().with_email(*email, true))
//!             })
//!             .collect();
//!         let next = pager.next(offset as u64, chunk.len(), Some(self.all.len() as u64));
//!         Ok(Page::new(chunk, next))
//!     }
//! }
//!
//! struct Toy;
//!
//! #[async_trait]
//! impl Connector for Toy {
//!     fn metadata(&self) -> ConnectorMetadata {
//!         ConnectorMetadata::new("toy", "Toy")
//!     }
//!     async fn validate(&self) -> Result<()> {
//!         Ok(())
//!     }
//!     fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
//!         vec![Arc::new(Users { all: vec![("u1", "ada@example.com"), ("u2", "bob@example.com"), ("u3", "cy@example.com")] })]
//!     }
//! }
//!
//! # futures::executor::block_on(async {
//! // The SDK drains every page; the connector only returns one at a time.
//! use futures::TryStreamExt;
//! let syncer = Toy.syncers().remove(0);
//! let users: Vec<Resource> = stream_pages("users", |req| syncer.list(ListRequest::new(None, req))).try_collect().await.unwrap();
//! assert_eq!(users.len(), 3);
//!
//! // The conformance kit (feature `testing`) checks ids, traits, references and pagination.
//! # #[cfg(feature = "testing")]
//! connector_sdk::testing::assert_conformance(&Toy).await;
//! # });
//! ```
//!
//! ## Modules
//!
//! * [`model`]: resource types, resources, traits, entitlements and grants, with upstream ids.
//! * [`page`]: pages, tokens, pagers (offset, SCIM, cursor, `Link`), the token bag, guards;
//!   [`Listing`](http::Listing), a REST listing declared in a few lines over [`http`], and
//!   [`fan_out`](page::fan_out), one bounded-concurrency call per item of a page.
//! * [`error`]: one [`Error`] with a gRPC-like [`ErrorKind`].
//! * [`http`] and [`ratelimit`]: the HTTP client with auth providers, retries that honour the
//!   server, and a shared client-side rate limiter; the `http` crate's `Method`, `StatusCode`
//!   and header types, and [`Url`].
//! * [`syncer`], [`provision`], [`account`], [`delete`], [`action`], [`connector`]: the traits.
//! * [`sync`]: the engine that drives a connector into a `.c1z`, concurrently and resumably.
//! * [`store`]: the upstream-compatible `.c1z` file, written and read.
//! * [`scim`]: SCIM 2.0 users, groups and extensions, list and PatchOp messages, and a
//!   client over [`http`] that takes a PATCH answered 200 or 204; [`time`]: RFC 3339.
//! * [`command`]: running a CLI tool as an API (argv only, secrets on stdin or in the child's
//!   environment, a clean child environment, timeouts, stderr classified into error kinds,
//!   an injectable runner); [`retry`]: the HTTP client's retry schedule for anything else.
//! * [`schema`]: typed field schemas for action arguments and account profiles.
//! * `service` (feature `service`, enabled by `cli`): service mode, the ConductorOne task
//!   loop over gRPC.
//! * `cli` (feature `cli`): the command-line runner every connector binary uses.
//! * `testing` (feature `testing`): the conformance kit and an in-memory connector.
//!
//! ## Features
//!
//! A connector library needs none (the traits, HTTP client, pagination, SCIM and command
//! runner are always there); its binary enables `cli`. On docs.rs each gated item says
//! which feature it needs.
//!
//! | feature | what it adds | enables |
//! |---|---|---|
//! | `sync` | the sync engine ([`sync`]) and the `.c1z` store ([`store`]): SQLite, zstd, protobuf | |
//! | `service` | service mode: the ConductorOne task loop over gRPC (tonic, rustls), credential encryption | `sync` |
//! | `explorer` | the access explorer, a read-only web page over a `.c1z` (axum) | `sync` |
//! | `cli` | the command-line runner every connector binary uses | `sync`, `service`, `explorer` |
//! | `testing` | the conformance kit, an in-memory connector, log capture, a loopback HTTP fault proxy | |
//! | `fake-c1` | a fake ConductorOne (token endpoint and task API on one TLS port) for tests and demos | `service`, `testing` |

#![forbid(unsafe_code)]
// One screen per function: the SDK's code (not its tests) stays under 100 lines a
// function (the threshold is in the workspace's clippy.toml).
#![cfg_attr(not(test), warn(clippy::too_many_lines))]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod bid;
#[cfg(feature = "cli")]
pub mod cli;
pub mod command;
pub mod config;
pub mod connector;
// The connector contract's modules, also at the root where 0.1 had them.
pub use connector::{
    account, action, context, delete, getter, handle, provision, read_only, syncer,
};
pub mod error;
#[cfg(feature = "explorer")]
pub mod explorer;
/// How flags and their variables are named (in [`config`], also at the root).
pub use config::flags;
pub mod http;
pub mod lenient;
pub mod model;
pub mod page;
pub mod printable;
pub mod ratelimit;
pub mod retry;
pub mod schema;
pub mod scim;
#[cfg(feature = "service")]
pub mod service;
#[cfg(feature = "sync")]
pub mod store;
#[cfg(feature = "sync")]
pub mod sync;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;

pub use async_trait::async_trait;
pub use connector::Connector;
pub use error::{Error, ErrorKind, Result};
pub use syncer::ResourceSyncer;
/// What the SDK's macros name (`profile!`); not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use serde_json::{Value, json};
}

/// URLs, from the [`url`] crate (what [`http::HttpClient::base_url`] returns).
pub use url::Url;

/// The names a connector implementation needs, in one import.
pub mod prelude {
    pub use crate::account::{
        AccountInfo, AccountManager, AccountOutcome, AccountRequest, Credential, CredentialOption,
    };
    pub use crate::action::{ActionHandler, ActionRequest, ActionSchema, ActionType};
    pub use crate::connector::{Connector, ConnectorMetadata};
    pub use crate::context::{Memo, SyncContext};
    pub use crate::delete::{DeleteOutcome, DeleteRequest, ResourceDeleter};
    pub use crate::error::{Error, ErrorKind, Result};
    pub use crate::getter::{GetRequest, ResourceGetter};
    pub use crate::handle::ConnectorHandle;
    pub use crate::http::Listing;
    pub use crate::model::{
        AccountType, AppTrait, Entitlement, Grant, GroupTrait, Profile, Purpose, Resource,
        ResourceId, ResourceType, RoleTrait, SecretTrait, TraitKind, UserStatus, UserTrait,
    };
    pub use crate::page::{
        OffsetPager, Page, PageRequest, PageState, PageToken, TokenBag, cursor_token, fan_out,
        stream_pages,
    };
    pub use crate::profile;
    pub use crate::provision::{
        GrantOnly, GrantOutcome, GrantRequest, Provisioner, RevokeOutcome, RevokeRequest,
    };
    pub use crate::schema::{FieldSchema, FieldType};
    pub use crate::scim::ScimPager;
    pub use crate::syncer::{EntitlementsRequest, GrantsRequest, ListRequest, ResourceSyncer};
    pub use async_trait::async_trait;
}
