//! Tests of `store/pages.rs`.

use super::*;

/// Each paged list is answered from the index the module docs name, in a database
/// with exactly the c1z schema (no statistics, as in real files).
#[test]
fn every_paged_list_uses_an_index_of_the_schema() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(super::super::c1z::DDL).unwrap();
    register_match(&conn).unwrap();
    let cols = GRANT_COLUMNS.replace("{x}", "expansion");
    for (sql, index) in [
        (SQL_RESOURCES_OF_TYPE, "idx_resources_resource_type_id_v1"),
        (
            SQL_ENTITLEMENTS_OF_RESOURCE,
            "idx_entitlements_resource_id_v1",
        ),
        (
            SQL_GRANTS_OF_ENTITLEMENT,
            "idx_grants_entitlement_sync_grant_v1",
        ),
        (SQL_GRANTS_OF_PRINCIPAL, "idx_grants_principal_id_v1"),
        (
            SQL_GRANTS_ON_RESOURCE,
            "idx_grants_resource_type_id_resource_id_v1",
        ),
        (SQL_GRANT_OF, "idx_grants_entitlement_id_principal_id_v1"),
    ] {
        let sql = sql.replace("{cols}", &cols);
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let plan: Vec<String> = stmt
            .query_map(
                rusqlite::params_from_iter(vec![1i64; stmt.parameter_count()]),
                |r| r.get::<_, String>(3),
            )
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let plan = plan.join("; ");
        assert!(plan.contains(index), "{sql}\nplan: {plan}");
        assert!(
            !plan.contains("TEMP B-TREE"),
            "sorts instead of paging: {plan}"
        );
    }
}
