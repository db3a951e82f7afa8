//! Vault permissions: the two models (basic `allow_*`, granular on BUSINESS accounts), the
//! entitlement slugs (spaces for underscores), and the dependency rules op enforces when it
//! cannot prompt: a grant includes every prerequisite, a revoke every dependent.

use std::collections::BTreeSet;

/// Permissions of non-business accounts.
pub const BASIC: [&str; 3] = ["allow_viewing", "allow_editing", "allow_managing"];

/// Permissions of BUSINESS accounts.
pub const BUSINESS: [&str; 12] = [
    "view_items",
    "create_items",
    "edit_items",
    "archive_items",
    "delete_items",
    "view_and_copy_passwords",
    "view_item_history",
    "import_items",
    "export_items",
    "copy_and_share_items",
    "print_items",
    "manage_vault",
];

/// Every name `--limit-vault-permissions` accepts.
pub const LIMITABLE: [&str; 16] = [
    "allow_editing",
    "allow_managing",
    "allow_viewing",
    "archive_items",
    "copy_and_share_items",
    "create_items",
    "delete_items",
    "edit_items",
    "export_items",
    "import_items",
    "manage_vault",
    "member",
    "print_items",
    "view_and_copy_passwords",
    "view_item_history",
    "view_items",
];

/// The permission model of an account type: granular for `BUSINESS`, basic otherwise.
pub fn model(account_type: &str) -> &'static [&'static str] {
    if account_type == "BUSINESS" {
        &BUSINESS
    } else {
        &BASIC
    }
}

/// The entitlement slug of a permission: `allow_viewing` → `allow viewing`.
pub fn slug(permission: &str) -> String {
    permission.replace('_', " ")
}

/// The permission of an entitlement slug: `allow viewing` → `allow_viewing`.
pub fn permission(slug: &str) -> String {
    slug.replace(' ', "_")
}

/// The prerequisites of a permission.
fn prerequisites(p: &str) -> &'static [&'static str] {
    match p {
        "create_items" | "view_and_copy_passwords" => &["view_items"],
        "edit_items" => &["view_and_copy_passwords", "view_items"],
        "archive_items" | "delete_items" => {
            &["edit_items", "view_and_copy_passwords", "view_items"]
        }
        "view_item_history" => &["view_and_copy_passwords", "view_items"],
        "import_items" => &["create_items", "view_items"],
        "export_items" | "copy_and_share_items" | "print_items" => {
            &["view_item_history", "view_and_copy_passwords", "view_items"]
        }
        "allow_editing" => &["allow_viewing"],
        _ => &[],
    }
}

fn walk(p: &str, out: &mut Vec<String>) {
    for dep in prerequisites(p) {
        walk(dep, out);
    }
    if !out.iter().any(|x| x == p) {
        out.push(p.to_string());
    }
}

/// The permissions to send when granting `p` (prerequisites first, each once). The vault
/// `member` entitlement grants every item permission (business) or view and edit (basic).
///
/// ```
/// use connector_onepassword::permissions::grant_list;
/// assert_eq!(grant_list("edit_items", true), ["view_items", "view_and_copy_passwords", "edit_items"]);
/// assert_eq!(grant_list("allow_editing", false), ["allow_viewing", "allow_editing"]);
/// assert_eq!(grant_list("member", false), ["allow_viewing", "allow_editing"]);
/// ```
pub fn grant_list(p: &str, business: bool) -> Vec<String> {
    let roots: Vec<&str> = match (p, business) {
        ("member", true) => BUSINESS
            .iter()
            .copied()
            .filter(|x| *x != "manage_vault")
            .collect(),
        ("member", false) => vec!["allow_viewing", "allow_editing"],
        ("manager", true) => vec!["view_items", "manage_vault"],
        ("manager", false) => vec!["allow_managing"],
        (p, _) => vec![p],
    };
    let mut out = Vec::new();
    for r in roots {
        walk(r, &mut out);
    }
    out
}

/// The permissions to send when revoking `p`: `p` and everything that depends on it.
///
/// ```
/// use connector_onepassword::permissions::revoke_list;
/// assert_eq!(revoke_list("edit_items", true).into_iter().collect::<Vec<_>>(), ["archive_items", "delete_items", "edit_items"]);
/// assert_eq!(revoke_list("member", false).len(), 3);
/// ```
pub fn revoke_list(p: &str, business: bool) -> BTreeSet<String> {
    let all: &[&str] = if business { &BUSINESS } else { &BASIC };
    match p {
        "member" => return all.iter().map(|s| s.to_string()).collect(),
        "manager" => {
            return [if business {
                "manage_vault"
            } else {
                "allow_managing"
            }
            .to_string()]
            .into();
        }
        _ => {}
    }
    let mut out: BTreeSet<String> = [p.to_string()].into();
    loop {
        let before = out.len();
        for candidate in all {
            if prerequisites(candidate).iter().any(|d| out.contains(*d)) {
                out.insert(candidate.to_string());
            }
        }
        if out.len() == before {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn grant_lists_match_the_spec_table() {
        assert_eq!(
            grant_list("create_items", true),
            v(&["view_items", "create_items"])
        );
        assert_eq!(grant_list("manage_vault", true), v(&["manage_vault"]));
        assert_eq!(
            grant_list("archive_items", true),
            v(&[
                "view_items",
                "view_and_copy_passwords",
                "edit_items",
                "archive_items"
            ])
        );
        assert_eq!(
            grant_list("import_items", true),
            v(&["view_items", "create_items", "import_items"])
        );
        assert_eq!(
            grant_list("print_items", true),
            v(&[
                "view_items",
                "view_and_copy_passwords",
                "view_item_history",
                "print_items"
            ])
        );
        assert_eq!(grant_list("allow_managing", false), v(&["allow_managing"]));
        let member = grant_list("member", true);
        assert_eq!(member.len(), 11);
        assert!(!member.contains(&"manage_vault".to_string()));
        assert!(
            !member.contains(&"member".to_string()),
            "never the literal member"
        );
    }

    #[test]
    fn revoke_lists_remove_dependents_not_prerequisites() {
        let r = |p: &str, b: bool| revoke_list(p, b).into_iter().collect::<Vec<_>>();
        assert_eq!(
            r("view_items", true).len(),
            11,
            "everything but manage_vault"
        );
        assert_eq!(
            r("view_and_copy_passwords", true),
            v(&[
                "archive_items",
                "copy_and_share_items",
                "delete_items",
                "edit_items",
                "export_items",
                "print_items",
                "view_and_copy_passwords",
                "view_item_history"
            ])
        );
        assert_eq!(
            r("create_items", true),
            v(&["create_items", "import_items"])
        );
        assert_eq!(
            r("allow_viewing", false),
            v(&["allow_editing", "allow_viewing"])
        );
        assert_eq!(r("allow_editing", false), v(&["allow_editing"]));
        assert_eq!(r("print_items", true), v(&["print_items"]));
        assert_eq!(r("member", true).len(), 12);
    }

    #[test]
    fn slugs_round_trip() {
        for p in BUSINESS.iter().chain(BASIC.iter()) {
            assert_eq!(permission(&slug(p)), *p);
        }
        assert_eq!(slug("view_and_copy_passwords"), "view and copy passwords");
    }
}
