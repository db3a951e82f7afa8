//! One capability set: for every connector (the SCIM one with a shipped provider file), the Hello service mode sends is built from the
//! capabilities document the CLI prints (`ConnectorHandle::capabilities`), and they agree
//! type by type; a type whose syncer can fetch one resource advertises targeted sync.

use connector_ironclad::Ironclad;
use connector_ironclad::simulator::IroncladSimulator;
use connector_onepassword::simulator::FakeOpRunner;
use connector_scim::simulator::{ScimSimulator, SimState as ScimState, shape_for};
use connector_scim::{Provider, Scim, Source};
use connector_sdk::Connector;
use connector_sdk::connector::{Capabilities, Capability};
use connector_sdk::handle::ConnectorHandle;
use connector_sdk::service::hello_metadata;
use connector_sdk::testing::MemoryConnector;
use connector_sendgrid::Sendgrid;
use connector_sendgrid::simulator::SendgridSimulator;
use connector_valimail::Valimail;
use connector_valimail::simulator::ValimailSimulator;

/// Hello's metadata against the document, type by type and for the connector.
fn assert_agree(name: &str, handle: &ConnectorHandle) {
    let doc: Capabilities = handle.capabilities();
    let hello = hello_metadata(&doc).capabilities.expect("capabilities");
    let codes = |caps: &[Capability]| caps.iter().map(|c| c.code()).collect::<Vec<i32>>();
    assert_eq!(
        hello.connector_capabilities,
        codes(&doc.connector_capabilities),
        "{name}: connector capabilities"
    );
    assert_eq!(
        hello.resource_type_capabilities.len(),
        doc.resource_types.len(),
        "{name}: one entry per type"
    );
    let syncers = handle.syncers();
    for (sent, t) in hello
        .resource_type_capabilities
        .iter()
        .zip(&doc.resource_types)
    {
        let rt = sent.resource_type.as_ref().expect("a resource type");
        assert_eq!(rt.id, t.resource_type, "{name}: sorted by type id");
        assert_eq!(
            sent.capabilities,
            codes(&t.capabilities),
            "{name}: {}",
            rt.id
        );
        let syncer = syncers
            .iter()
            .find(|s| s.resource_type().id == t.resource_type)
            .expect("a syncer per type");
        assert_eq!(
            t.capabilities.contains(&Capability::TargetedSync),
            syncer.getter().is_some(),
            "{name}: {} advertises targeted sync exactly when it has a getter",
            rt.id
        );
    }
    let any_getter = syncers.iter().any(|s| s.getter().is_some());
    assert_eq!(
        doc.connector_capabilities
            .contains(&Capability::ServiceModeTargetedSync),
        any_getter,
        "{name}: service-mode targeted sync"
    );
}

fn handle(c: impl Connector + 'static) -> ConnectorHandle {
    ConnectorHandle::new(c).expect("valid resource types")
}

#[tokio::test]
async fn hello_and_the_capabilities_document_agree_for_every_connector() {
    let valimail = ValimailSimulator::start().await;
    let sendgrid = SendgridSimulator::start().await;
    let ironclad = IroncladSimulator::start().await;
    let op = FakeOpRunner::seeded();
    let slack = Provider::load(&Source::Shipped("slack".into())).unwrap();
    let scim = ScimSimulator::start(ScimState::seeded(shape_for(&slack))).await;
    let handles = [
        (
            "valimail",
            handle(Valimail::new(valimail.config()).unwrap()),
        ),
        (
            "sendgrid",
            handle(Sendgrid::new(sendgrid.config()).unwrap()),
        ),
        (
            "ironclad",
            handle(Ironclad::new(ironclad.config(false)).unwrap()),
        ),
        ("1password", handle(op.connector(vec![]))),
        (
            "scim (slack)",
            handle(Scim::new(scim.config(slack)).unwrap()),
        ),
        ("memory", handle(MemoryConnector::seeded())),
    ];
    let mut with_targeted = 0;
    for (name, h) in &handles {
        assert_agree(name, h);
        with_targeted += usize::from(
            h.capabilities()
                .connector_capabilities
                .contains(&Capability::ServiceModeTargetedSync),
        );
    }
    // Every connector here has a getter for at least one type.
    assert_eq!(with_targeted, handles.len());
}
