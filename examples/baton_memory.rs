//! The SDK's in-memory example tenant behind the standard connector command line: the
//! shortest complete connector binary, and what the runner's tests drive.
//!
//! ```text
//! export BATON_MEMORY_API_KEY=anything
//! cargo run --features testing --example baton_memory -- --memory-state tenant.json            # sync to sync.c1z
//! cargo run --features testing --example baton_memory -- --memory-state tenant.json --provisioning \
//!     --grant-entitlement group:g2:member --grant-principal u5 --grant-principal-type user
//! cargo run --features testing --example baton_memory -- --help
//! ```

use connector_sdk::syncer::EntitlementsRequest;
use connector_sdk::syncer::GrantsRequest;
use connector_sdk::syncer::ListRequest;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use connector_sdk::account::AccountManager;
use connector_sdk::action::ActionHandler;
use connector_sdk::cli::{self, AppInfo, BuildContext, ConnectorConfig};
use connector_sdk::connector::ConnectorMetadata;
use connector_sdk::delete::ResourceDeleter;
use connector_sdk::model::Profile;
use connector_sdk::model::{Entitlement, Grant, Resource, ResourceType};
use connector_sdk::page::Page;
use connector_sdk::provision::{
    GrantOutcome, GrantRequest, Provisioner, RevokeOutcome, RevokeRequest,
};
use connector_sdk::syncer::ResourceSyncer;
use connector_sdk::testing::MemoryConnector;
use connector_sdk::{Connector, Error, ErrorKind, Result};
use secrecy::{ExposeSecret, SecretString};

/// The in-memory connector's fields.
#[derive(clap::Args, Debug)]
struct MemoryConfig {
    /// JSON file holding the simulated tenant, seeded on first use; changes are saved back.
    #[arg(long = "memory-state")]
    state: Option<PathBuf>,
    /// API key of the simulated tenant (any non-empty value; a secret, never printed).
    #[arg(long = "memory-api-key", value_parser = cli::secret, hide_env_values = true, required = true)]
    api_key: Option<SecretString>,
    /// Items per page of every listing.
    #[arg(long = "memory-page-size", default_value_t = 2)]
    page_size: u32,
    /// Generate a random password for each created account.
    #[arg(long = "memory-random-passwords")]
    random_passwords: bool,
    /// Delay every listing call by this long (e.g. "200ms"): a slow tenant, for tests and demos.
    #[arg(long = "memory-latency", value_parser = humantime::parse_duration)]
    latency: Option<Duration>,
    /// Make every listing of this resource type fail as unavailable: a failing tenant,
    /// for tests and demos.
    #[arg(long = "memory-fail-type")]
    fail_type: Option<String>,
    /// Connector bugs, for tests of the runtime: "panic-grant" (a grant panics, as an
    /// unwrap() on odd API data would), "hang-grant" (a grant never answers),
    /// "panic-action" (actions panic), "slow-action" (actions take 2 s), "validate-fails"
    /// (validate answers an error naming an internal host). Comma-separated.
    #[arg(long = "memory-bugs", value_delimiter = ',')]
    bugs: Vec<String>,
}

impl MemoryConfig {
    fn connector(self) -> Result<Box<dyn Connector>> {
        if self.page_size == 0 {
            return Err(cli::config_error("memory-page-size", "must be at least 1"));
        }
        let mut connector = match &self.state {
            Some(path) => MemoryConnector::persistent(path)?,
            None => MemoryConnector::seeded(),
        }
        .with_page_size(self.page_size);
        if self.random_passwords {
            connector = connector.with_random_passwords();
        }
        const BUGS: [&str; 5] = [
            "panic-grant",
            "hang-grant",
            "panic-action",
            "slow-action",
            "validate-fails",
        ];
        if let Some(b) = self.bugs.iter().find(|b| !BUGS.contains(&b.as_str())) {
            return Err(cli::config_error(
                "memory-bugs",
                format!("unknown bug {b:?}; known: {}", BUGS.join(", ")),
            ));
        }
        if self.latency.is_none() && self.fail_type.is_none() && self.bugs.is_empty() {
            return Ok(Box::new(connector));
        }
        Ok(Box::new(Faulty {
            inner: connector,
            latency: self.latency.unwrap_or_default(),
            fail_type: self.fail_type,
            bugs: Arc::new(self.bugs),
        }))
    }
}

/// The in-memory tenant behind a slow or failing network.
struct Faulty {
    inner: MemoryConnector,
    latency: Duration,
    fail_type: Option<String>,
    bugs: Arc<Vec<String>>,
}

#[async_trait]
impl Connector for Faulty {
    fn metadata(&self) -> ConnectorMetadata {
        self.inner.metadata()
    }

    async fn validate(&self) -> Result<()> {
        if self.bugs.iter().any(|b| b == "validate-fails") {
            return Err(Error::new(
                ErrorKind::Unauthenticated,
                "https://internal.example.corp/api answered 401 for key mem-key-7Hq2",
            ));
        }
        self.inner.validate().await
    }

    fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
        self.inner
            .syncers()
            .into_iter()
            .map(|inner| {
                let fails = self
                    .fail_type
                    .as_deref()
                    .is_some_and(|t| t == inner.resource_type().id);
                Arc::new(FaultySyncer {
                    inner,
                    latency: self.latency,
                    fails,
                    bugs: self.bugs.clone(),
                }) as Arc<dyn ResourceSyncer>
            })
            .collect()
    }

    fn actions(&self) -> Vec<Arc<dyn ActionHandler>> {
        self.inner
            .actions()
            .into_iter()
            .map(|inner| {
                Arc::new(FaultyAction {
                    inner,
                    bugs: self.bugs.clone(),
                }) as Arc<dyn ActionHandler>
            })
            .collect()
    }
}

/// An action with the bugs `--memory-bugs` asks for.
struct FaultyAction {
    inner: Arc<dyn ActionHandler>,
    bugs: Arc<Vec<String>>,
}

#[async_trait]
impl ActionHandler for FaultyAction {
    fn schema(&self) -> connector_sdk::action::ActionSchema {
        self.inner.schema()
    }

    async fn invoke(&self, req: connector_sdk::action::ActionRequest) -> Result<Profile> {
        if self.bugs.iter().any(|b| b == "panic-action") {
            panic!("simulated connector bug: the action found no user");
        }
        if self.bugs.iter().any(|b| b == "slow-action") {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        self.inner.invoke(req).await
    }
}

struct FaultySyncer {
    inner: Arc<dyn ResourceSyncer>,
    latency: Duration,
    fails: bool,
    bugs: Arc<Vec<String>>,
}

#[async_trait]
impl Provisioner for FaultySyncer {
    async fn grant(&self, req: GrantRequest) -> Result<GrantOutcome> {
        if self.bugs.iter().any(|b| b == "panic-grant") {
            // What an `unwrap()` on an answer without the expected field does.
            let answer = serde_json::json!({});
            let _id = answer["id"]
                .as_str()
                .expect("simulated connector bug: the API answered without an id");
        }
        if self.bugs.iter().any(|b| b == "hang-grant") {
            std::future::pending::<()>().await;
        }
        self.provisioner_inner()?.grant(req).await
    }

    async fn revoke(&self, req: RevokeRequest) -> Result<RevokeOutcome> {
        self.provisioner_inner()?.revoke(req).await
    }
}

impl FaultySyncer {
    fn provisioner_inner(&self) -> Result<&dyn Provisioner> {
        self.inner
            .provisioner()
            .ok_or_else(|| Error::unimplemented("no provisioner"))
    }
}

impl FaultySyncer {
    async fn call(&self) -> Result<()> {
        tokio::time::sleep(self.latency).await;
        if self.fails {
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!(
                    "the simulated tenant refuses to list {} (--memory-fail-type)",
                    self.inner.resource_type().id
                ),
            ));
        }
        Ok(())
    }
}

#[async_trait]
impl ResourceSyncer for FaultySyncer {
    fn resource_type(&self) -> ResourceType {
        self.inner.resource_type()
    }

    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let (parent, page) = (req.parent.as_ref(), req.page);
        self.call().await?;
        self.inner.list(ListRequest::new(parent, page)).await
    }

    async fn entitlements(&self, req: EntitlementsRequest) -> Result<Page<Entitlement>> {
        let (resource, page) = (&req.resource, req.page);
        self.call().await?;
        self.inner
            .entitlements(EntitlementsRequest::new(resource, page))
            .await
    }

    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        let (resource, page) = (&req.resource, req.page);
        self.call().await?;
        self.inner.grants(GrantsRequest::new(resource, page)).await
    }

    fn provisioner(&self) -> Option<&dyn Provisioner> {
        self.inner.provisioner().map(|_| self as &dyn Provisioner)
    }

    fn account_manager(&self) -> Option<&dyn AccountManager> {
        self.inner.account_manager()
    }

    fn deleter(&self) -> Option<&dyn ResourceDeleter> {
        self.inner.deleter()
    }

    fn getter(&self) -> Option<&dyn connector_sdk::getter::ResourceGetter> {
        self.inner.getter()
    }
}

impl ConnectorConfig for MemoryConfig {
    fn build(self, _ctx: &BuildContext) -> Result<Box<dyn Connector>> {
        let key = cli::required(self.api_key.as_ref(), "memory-api-key")?;
        if key.expose_secret().trim().is_empty() {
            return Err(cli::config_error("memory-api-key", "must not be empty"));
        }
        self.connector()
    }

    /// The tenant needs no credentials to say what it offers.
    fn build_for_capabilities(self, _ctx: &BuildContext) -> Result<Box<dyn Connector>> {
        self.connector()
    }

    fn capability_flags() -> Vec<cli::CapabilityFlag> {
        vec![cli::CapabilityFlag::new(
            "memory-random-passwords",
            "account creation generates a random password first",
        )]
    }
}

fn main() -> ExitCode {
    cli::run::<MemoryConfig>(AppInfo::new(
        "baton-memory",
        env!("CARGO_PKG_VERSION"),
        "Syncs the SDK's in-memory example tenant",
    ))
}
