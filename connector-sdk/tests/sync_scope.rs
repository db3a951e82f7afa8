//! Narrowed syncs: resource-type filters, skip flags, unexpanded grants and targeted
//! (partial) syncs of single resources.

use std::time::Duration;

use connector_sdk::bid::{ResourceBid, parse_resource_bids};
use connector_sdk::prelude::*;
use connector_sdk::store::{C1zReader, GrantFilter};
use connector_sdk::sync::{SyncOptions, sync_to_file};
use connector_sdk::testing::MemoryConnector;

fn opts() -> SyncOptions {
    SyncOptions::default().with_checkpoint_interval(Duration::ZERO)
}

fn grant_ids(r: &C1zReader) -> Vec<String> {
    let mut v: Vec<String> = r
        .grants(&GrantFilter::default())
        .unwrap()
        .iter()
        .map(|g| g.id().to_string())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn only_the_selected_types_are_listed_and_foreign_principals_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.c1z");
    let c = MemoryConnector::seeded();
    let o = opts().with_resource_types(["group"]);
    let report = sync_to_file(&c, &path, &o, None).await.unwrap();
    assert!(report.completed);
    let r = C1zReader::open(&path).unwrap();
    let types: Vec<String> = r
        .resource_types()
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(types, ["group"]);
    assert_eq!(r.resources(None).unwrap().len(), 2);
    assert!(r.resources(Some("user")).unwrap().is_empty());
    // Group memberships (user principals) are still stored.
    assert!(grant_ids(&r).contains(&"group:g1:member:user:u1".to_string()));
    let scope = r.sync().scope().expect("a narrowed sync records its scope");
    assert_eq!(scope.resource_types, ["group"]);
    assert_eq!(scope.describe(), "sync of group");
}

#[tokio::test]
async fn an_unknown_resource_type_names_the_flag_and_the_known_types() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.c1z");
    let o = opts().with_resource_types(["group", "teams"]);
    let err = sync_to_file(&MemoryConnector::seeded(), &path, &o, None)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(
        msg.contains("--sync-resource-types (BATON_SYNC_RESOURCE_TYPES)"),
        "{msg}"
    );
    assert!(
        msg.contains("\"teams\"") && msg.contains("document, folder, group, user"),
        "{msg}"
    );
    assert!(!path.exists(), "nothing is written for a bad option");
}

#[tokio::test]
async fn skip_flags_leave_out_entitlements_and_grants() {
    let dir = tempfile::tempdir().unwrap();
    let c = MemoryConnector::seeded();
    let path = dir.path().join("a.c1z");
    let o = opts().with_skip_entitlements_and_grants(true);
    sync_to_file(&c, &path, &o, None).await.unwrap();
    let r = C1zReader::open(&path).unwrap();
    let stats = r.stats().unwrap();
    assert_eq!(
        (stats.resources, stats.entitlements, stats.grants),
        (12, 0, 0)
    );
    assert!(r.sync().scope().unwrap().skip_entitlements_and_grants);
    // Recorded as upstream records it; alone in the file, it is what a reader shows.
    assert_eq!(r.sync().sync_type, "resources_only");

    let path = dir.path().join("b.c1z");
    let o = opts().with_skip_grants(true);
    sync_to_file(&c, &path, &o, None).await.unwrap();
    let stats = C1zReader::open(&path).unwrap().stats().unwrap();
    assert_eq!(stats.resources, 12);
    assert!(stats.entitlements > 0);
    assert_eq!(stats.grants, 0);
}

#[tokio::test]
async fn a_resources_only_sync_after_a_full_one_leaves_the_full_one_the_default_view() {
    let dir = tempfile::tempdir().unwrap();
    let c = MemoryConnector::seeded();
    let path = dir.path().join("a.c1z");
    sync_to_file(&c, &path, &opts(), None).await.unwrap();
    let full = C1zReader::open(&path).unwrap().stats().unwrap();
    assert!(full.grants > 0);
    let o = opts().with_skip_entitlements_and_grants(true);
    sync_to_file(&c, &path, &o, None).await.unwrap();
    let r = C1zReader::open(&path).unwrap();
    let types: Vec<String> = r
        .syncs()
        .unwrap()
        .into_iter()
        .map(|s| s.sync_type)
        .collect();
    assert_eq!(types, ["full", "resources_only"]);
    // Readers that default to the last full sync still see every grant: the
    // resources-only sync does not say they all disappeared.
    assert_eq!(r.sync().sync_type, "full");
    assert_eq!(r.stats().unwrap().grants, full.grants);
}

#[tokio::test]
async fn skip_expand_grants_stores_the_grants_unexpanded() {
    let dir = tempfile::tempdir().unwrap();
    let c = MemoryConnector::seeded();
    let full = dir.path().join("full.c1z");
    sync_to_file(&c, &full, &opts(), None).await.unwrap();
    let unexpanded = dir.path().join("unexpanded.c1z");
    let o = opts().with_expand_grants(false);
    let report = sync_to_file(&c, &unexpanded, &o, None).await.unwrap();
    assert_eq!(report.expanded_grants, 0);
    let expanded = grant_ids(&C1zReader::open(&full).unwrap());
    let plain = grant_ids(&C1zReader::open(&unexpanded).unwrap());
    // d1 is readable by group g1, so its members read it once expanded.
    let derived = "document:d1:read:user:u2".to_string();
    assert!(expanded.contains(&derived), "{expanded:?}");
    assert!(!plain.contains(&derived), "{plain:?}");
    assert!(plain.contains(&"document:d1:read:group:g1".to_string()));
    let r = C1zReader::open(&unexpanded).unwrap();
    let g = r
        .grants(&GrantFilter::default().with_entitlement("document:d1:read"))
        .unwrap()
        .into_iter()
        .find(|g| g.principal().resource == "g1")
        .unwrap();
    assert!(
        g.expandable.is_some(),
        "kept expandable for a later expansion"
    );
    assert!(r.sync().scope().unwrap().skip_expand_grants);
}

#[tokio::test]
async fn a_targeted_sync_is_a_partial_sync_with_the_new_grant_and_the_full_sync_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.c1z");
    let c = MemoryConnector::seeded();
    let full = sync_to_file(&c, &path, &opts(), None).await.unwrap();
    let before = grant_ids(&C1zReader::open(&path).unwrap());
    // A grant made directly on the tenant (not through the connector).
    c.update(|s| {
        s.groups.get_mut("g2").unwrap().members.insert("u5".into());
    });
    let o = opts().with_targeted(parse_resource_bids("bid:r:user/u5,bid:r:group/g2").unwrap());
    let partial = sync_to_file(&c, &path, &o, None).await.unwrap();
    assert!(partial.completed);
    assert_eq!(partial.stats.resources, 2);

    // The default view is still the full sync, unchanged.
    let r = C1zReader::open(&path).unwrap();
    assert_eq!(r.sync().sync_id, full.sync_id);
    assert_eq!(grant_ids(&r), before);
    assert!(!before.contains(&"group:g2:member:user:u5".to_string()));

    // The partial sync, as upstream stores one.
    let syncs = r.syncs().unwrap();
    let run = syncs.iter().find(|s| s.sync_id == partial.sync_id).unwrap();
    assert_eq!(run.sync_type, "partial");
    assert_eq!(run.parent_sync_id, full.sync_id);
    assert_eq!(
        run.scope().unwrap().describe(),
        "partial sync of 2 resources"
    );
    let p = C1zReader::open(&path).unwrap().with_latest_sync().unwrap();
    assert_eq!(p.sync().sync_id, partial.sync_id);
    let mut ids: Vec<String> = p
        .resources(None)
        .unwrap()
        .iter()
        .map(|r| r.id.to_string())
        .collect();
    ids.sort();
    assert_eq!(ids, ["group:g2", "user:u5"]);
    let grants = grant_ids(&p);
    assert!(
        grants.contains(&"group:g2:member:user:u5".to_string()),
        "{grants:?}"
    );
    assert!(
        grants.iter().all(|g| g.starts_with("group:g2:")),
        "{grants:?}"
    );

    // Retention: later full syncs keep two full syncs and drop partials of dropped ones.
    sync_to_file(&c, &path, &opts(), None).await.unwrap();
    let kept = C1zReader::open(&path).unwrap().syncs().unwrap();
    assert!(kept.iter().any(|s| s.sync_id == partial.sync_id));
    sync_to_file(&c, &path, &opts(), None).await.unwrap();
    let kept = C1zReader::open(&path).unwrap().syncs().unwrap();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(kept.iter().all(|s| s.sync_type == "full"));
}

#[tokio::test]
async fn a_targeted_sync_of_a_deleted_user_records_it_as_gone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.c1z");
    let c = MemoryConnector::seeded();
    sync_to_file(&c, &path, &opts(), None).await.unwrap();
    c.update(|s| {
        s.users.remove("u3");
    });
    let o = opts().with_targeted(vec![
        ResourceBid::new(ResourceId::new("user", "u3")),
        ResourceBid::new(ResourceId::new("user", "u1")),
    ]);
    let report = sync_to_file(&c, &path, &o, None).await.unwrap();
    assert!(report.completed);
    assert_eq!(report.stats.resources, 1);
    assert_eq!(report.warning_count, 1, "{:?}", report.warnings);
    assert!(report.warnings[0].contains("bid:r:user/u3") && report.warnings[0].contains("gone"));
    let r = C1zReader::open(&path)
        .unwrap()
        .with_sync(&report.sync_id)
        .unwrap();
    assert_eq!(r.sync().warnings(), report.warnings);
}

#[tokio::test]
async fn a_targeted_resource_of_an_unknown_or_unfetchable_type_names_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.c1z");
    for (bid, expect) in [
        ("bid:r:team/t1", "unknown resource type"),
        ("bid:r:folder/f1", "cannot be fetched one by one"),
    ] {
        let o = opts().with_targeted(parse_resource_bids(bid).unwrap());
        let err = sync_to_file(&MemoryConnector::seeded(), &path, &o, None)
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("--sync-resources (BATON_SYNC_RESOURCES)"),
            "{msg}"
        );
        assert!(msg.contains(expect), "{msg}");
    }
}

#[tokio::test]
async fn a_partial_sync_file_still_opens_with_the_c1z_checks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.c1z");
    let c = MemoryConnector::seeded();
    // A file holding only a partial sync: the reader falls back to it.
    let o = opts().with_targeted(parse_resource_bids("bid:r:group/g1").unwrap());
    let partial = sync_to_file(&c, &path, &o, None).await.unwrap();
    let r = C1zReader::open(&path).unwrap();
    assert_eq!(r.sync().sync_id, partial.sync_id);
    assert_eq!(r.sync().parent_sync_id, "");
    assert_eq!(r.stats().unwrap(), partial.stats);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..5], b"C1ZF\0");
}
