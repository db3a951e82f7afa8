//! The SDK's modules form layers, and no import runs from a lower module to a higher one:
//! the vocabulary (errors, models, configuration) knows nothing of HTTP, HTTP nothing of
//! SCIM, the connector contract nothing of the engine, the engine nothing of the CLI or
//! service mode. `docs/architecture.md` draws the same map.
//!
//! The test walks the crate's module tree from `src/lib.rs` with `syn`, leaves out test
//! code (`#[cfg(test)]` items and modules), and reads every `crate::…` path in `use`
//! items and in code. A hidden re-export (`#[doc(hidden)] pub use crate::…`) is a shim
//! kept where a moved item used to be, not a dependency, and is not counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Each top-level module's layer. A module may use modules of lower layers only.
const LAYERS: &[(&str, u8)] = &[
    ("error", 0),
    ("time", 0),
    ("printable", 0),
    ("lenient", 0),
    ("ratelimit", 0),
    ("config", 1),
    ("model", 1),
    ("retry", 1),
    ("schema", 2),
    ("bid", 2),
    ("command", 2),
    ("page", 2),
    ("http", 3),
    ("scim", 4),
    ("connector", 5),
    ("store", 5),
    ("sync", 6),
    ("explorer", 7),
    ("service", 7),
    ("cli", 8),
    ("testing", 9),
];

/// Names at the crate root that re-export a module living elsewhere.
const ALIASES: &[(&str, &str)] = &[
    ("account", "connector"),
    ("action", "connector"),
    ("context", "connector"),
    ("delete", "connector"),
    ("getter", "connector"),
    ("handle", "connector"),
    ("provision", "connector"),
    ("read_only", "connector"),
    ("syncer", "connector"),
    ("flags", "config"),
];

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Meta>()
                .is_ok_and(|meta| needs_test(&meta))
    })
}

/// Whether a `cfg` predicate holds only in test builds: `test`, or `any`/`all` of
/// predicates one of which is `test` (`not(test)` is the opposite).
fn needs_test(meta: &syn::Meta) -> bool {
    match meta {
        syn::Meta::Path(p) => p.is_ident("test"),
        syn::Meta::List(l) if l.path.is_ident("not") => false,
        syn::Meta::List(l) => l
            .parse_args_with(
                syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
            )
            .is_ok_and(|metas| metas.iter().any(needs_test)),
        syn::Meta::NameValue(_) => false,
    }
}

fn is_hidden_reexport(item: &syn::ItemUse) -> bool {
    matches!(item.vis, syn::Visibility::Public(_))
        && item.attrs.iter().any(|a| {
            a.path().is_ident("doc")
                && a.parse_args::<syn::Path>()
                    .is_ok_and(|p| p.is_ident("hidden"))
        })
}

/// What one file uses: `crate::<name>` for every path in its non-test code, and the
/// files of the modules it declares (outside test code).
#[derive(Default)]
struct Uses {
    crate_names: BTreeSet<String>,
    child_modules: Vec<String>,
    /// Whether a path starts with `reqwest::`.
    reqwest: bool,
}

impl<'ast> Visit<'ast> for Uses {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs: &[syn::Attribute] = match item {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Use(u) => &u.attrs,
            syn::Item::Struct(s) => &s.attrs,
            syn::Item::Enum(e) => &e.attrs,
            syn::Item::Const(c) => &c.attrs,
            syn::Item::Static(s) => &s.attrs,
            syn::Item::Trait(t) => &t.attrs,
            syn::Item::Type(t) => &t.attrs,
            syn::Item::Macro(m) => &m.attrs,
            _ => &[],
        };
        if is_cfg_test(attrs) {
            return;
        }
        if let syn::Item::Use(u) = item
            && is_hidden_reexport(u)
        {
            return;
        }
        if let syn::Item::Mod(m) = item
            && m.content.is_none()
        {
            self.child_modules.push(m.ident.to_string());
        }
        syn::visit::visit_item(self, item);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if !is_cfg_test(&f.attrs) {
            syn::visit::visit_impl_item_fn(self, f);
        }
    }

    fn visit_use_tree(&mut self, tree: &'ast syn::UseTree) {
        if let syn::UseTree::Path(p) = tree {
            if p.ident == "crate" {
                collect_use_roots(&p.tree, &mut self.crate_names);
                return;
            }
            self.reqwest |= p.ident == "reqwest";
        }
        syn::visit::visit_use_tree(self, tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let mut segments = path.segments.iter();
        self.reqwest |= path.segments.len() > 1 && path.segments[0].ident == "reqwest";
        if let (Some(first), Some(second)) = (segments.next(), segments.next())
            && first.ident == "crate"
        {
            self.crate_names.insert(second.ident.to_string());
        }
        syn::visit::visit_path(self, path);
    }
}

fn collect_use_roots(tree: &syn::UseTree, out: &mut BTreeSet<String>) {
    match tree {
        syn::UseTree::Path(p) => {
            out.insert(p.ident.to_string());
        }
        syn::UseTree::Name(n) => {
            out.insert(n.ident.to_string());
        }
        syn::UseTree::Rename(r) => {
            out.insert(r.ident.to_string());
        }
        syn::UseTree::Group(g) => g.items.iter().for_each(|t| collect_use_roots(t, out)),
        syn::UseTree::Glob(_) => {}
    }
}

/// The file of module `name` declared in `file` (`foo.rs` or `foo/mod.rs` next to a
/// `mod.rs`/`lib.rs`, under `file`'s own directory otherwise).
fn child_file(file: &Path, name: &str) -> PathBuf {
    let stem = file.file_stem().unwrap().to_str().unwrap();
    let dir = if matches!(stem, "mod" | "lib") {
        file.parent().unwrap().to_path_buf()
    } else {
        file.parent().unwrap().join(stem)
    };
    let flat = dir.join(format!("{name}.rs"));
    if flat.exists() {
        flat
    } else {
        dir.join(name).join("mod.rs")
    }
}

/// Every non-test file of the crate's module tree with the top-level module it belongs
/// to, and the `crate::` names each uses.
fn module_tree(src: &Path) -> BTreeMap<PathBuf, (String, Uses)> {
    let mut out = BTreeMap::new();
    let lib = src.join("lib.rs");
    let mut todo: Vec<(PathBuf, Option<String>)> = vec![(lib, None)];
    while let Some((file, top)) = todo.pop() {
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
        let parsed =
            syn::parse_file(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", file.display()));
        let mut uses = Uses::default();
        uses.visit_file(&parsed);
        for child in &uses.child_modules {
            let top = top.clone().unwrap_or_else(|| child.clone());
            todo.push((child_file(&file, child), Some(top)));
        }
        if let Some(top) = top {
            out.insert(file, (top, uses));
        }
    }
    out
}

fn layer_of(name: &str) -> Option<(&'static str, u8)> {
    let name = ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map_or(name, |(_, module)| module);
    LAYERS.iter().find(|(m, _)| *m == name).copied()
}

#[test]
fn no_import_runs_from_a_lower_module_to_a_higher_one() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let tree = module_tree(&src);
    assert!(tree.len() > 100, "the walk found only {} files", tree.len());
    let mut wrong = Vec::new();
    for (file, (top, uses)) in &tree {
        let names = &uses.crate_names;
        let (top, level) = layer_of(top)
            .unwrap_or_else(|| panic!("module {top} has no layer in LAYERS: give it one"));
        for name in names {
            // Root re-exports of other crates and items (`crate::Error`, `crate::Url`…).
            let Some((used, used_level)) = layer_of(name) else {
                continue;
            };
            if used != top && used_level >= level {
                wrong.push(format!(
                    "{} ({top}, layer {level}) uses crate::{name} ({used}, layer {used_level})",
                    file.strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that run up or sideways:\n{}",
        wrong.join("\n")
    );
}

/// One HTTP stack: every request the SDK makes (a connector's API, an OAuth token,
/// ConductorOne's token) goes through `http::HttpClient`, with its limits, redirect
/// policy and retries; no other module builds a reqwest client of its own.
#[test]
fn only_the_http_module_uses_reqwest() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let others: Vec<String> = module_tree(&src)
        .iter()
        .filter(|(_, (top, uses))| uses.reqwest && top != "http")
        .map(|(file, _)| file.strip_prefix(&src).unwrap().display().to_string())
        .collect();
    assert!(others.is_empty(), "reqwest outside http/: {others:?}");
}

#[test]
fn the_walk_sees_test_code_and_shims_for_what_they_are() {
    let code = r#"
        use crate::http::HttpClient;
        #[doc(hidden)]
        pub use crate::scim::ScimPager;
        fn f() { let _ = crate::store::open(); }
        #[cfg(test)]
        mod tests { use crate::cli::run; }
        #[cfg(not(test))]
        fn g() { crate::sync::go(); }
        #[cfg(feature = "testing")]
        fn h() { crate::testing::kit(); }
        #[cfg(any(test, feature = "x"))]
        fn i() { crate::explorer::serve(); }
        #[cfg(test)]
        fn j() { let _ = reqwest::Client::new(); }
    "#;
    let mut uses = Uses::default();
    uses.visit_file(&syn::parse_file(code).unwrap());
    let names: Vec<&str> = uses.crate_names.iter().map(String::as_str).collect();
    assert_eq!(names, ["http", "store", "sync", "testing"]);
    assert!(!uses.reqwest, "reqwest in test code is not counted");
    let mut uses = Uses::default();
    uses.visit_file(&syn::parse_file("fn f(c: reqwest::Client) {}").unwrap());
    assert!(uses.reqwest);
}
