//! No third-party implementation types in the SDK's public signatures.
//!
//! A connector sees the SDK's own types plus the vocabulary crates it names on purpose
//! (`url`, `serde_json`, `secrecy`, `http` for methods and headers, `chrono`, `tokio`,
//! `futures`, `clap` for the CLI config…). The crates the SDK *uses* to do its work —
//! `reqwest`, `prost`, `tonic`, `rusqlite`, `governor`, `backon`, `wiremock`, `zstd`,
//! `hyper` — must not appear in a public signature, so upgrading or replacing one never
//! breaks a connector.
//!
//! The check parses every source file with `syn` and looks at what a user can name: the
//! signatures of `pub` functions and methods (inherent and of `pub` traits), `pub` fields,
//! variants of `pub` enums, `pub type` aliases, `pub use` re-exports and trait impls on the
//! SDK's types. A path is resolved through the file's `use` items, so `use reqwest::Method;`
//! followed by `pub fn f(m: Method)` is caught. Test support is exempt: the `testing`
//! module (wiremock servers, fault proxies) and the fake ConductorOne with its wire messages
//! (`service/fake/`, `service/proto.rs`, behind the `fake-c1` feature).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Crates whose types must not reach the public API.
const FORBIDDEN: &[&str] = &[
    "reqwest",
    "prost",
    "prost_types",
    "tonic",
    "tonic_prost",
    "rusqlite",
    "governor",
    "backon",
    "wiremock",
    "zstd",
    "hyper",
    "hyper_util",
    "hyper_rustls",
];

/// Files (relative to `src/`) that are test support, exempt from the check.
fn exempt(rel: &Path) -> bool {
    let s = rel.to_string_lossy().replace('\\', "/");
    s.starts_with("testing/") || s.starts_with("service/fake/") || s == "service/proto.rs"
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `use` items of a file: the name in scope → the first segment of the path it comes from.
fn imports(file: &syn::File) -> HashMap<String, String> {
    fn walk(tree: &syn::UseTree, root: Option<&str>, out: &mut HashMap<String, String>) {
        match tree {
            syn::UseTree::Path(p) => {
                let first = root.map(str::to_string).unwrap_or(p.ident.to_string());
                walk(&p.tree, Some(&first), out);
            }
            syn::UseTree::Name(n) => {
                let name = n.ident.to_string();
                let from = root.map(str::to_string).unwrap_or(name.clone());
                out.insert(name, from);
            }
            syn::UseTree::Rename(r) => {
                let from = root.map(str::to_string).unwrap_or(r.ident.to_string());
                out.insert(r.rename.to_string(), from);
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    walk(t, root, out);
                }
            }
            syn::UseTree::Glob(_) => {}
        }
    }
    let mut out = HashMap::new();
    for item in &file.items {
        if let syn::Item::Use(u) = item {
            walk(&u.tree, None, &mut out);
        }
    }
    out
}

/// Collects the forbidden paths named inside one signature, field or type.
struct Paths<'a> {
    imports: &'a HashMap<String, String>,
    found: Vec<String>,
}

impl<'ast> Visit<'ast> for Paths<'_> {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        let first = path.segments.first().map(|s| s.ident.to_string());
        if let Some(first) = first {
            let origin = self.imports.get(&first).cloned().unwrap_or(first.clone());
            let origin = origin.trim_start_matches("::").to_string();
            if FORBIDDEN.contains(&origin.as_str()) {
                let text: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
                self.found
                    .push(format!("{} (from {origin})", text.join("::")));
            }
        }
        syn::visit::visit_path(self, path);
    }
}

fn is_pub(vis: &syn::Visibility) -> bool {
    matches!(vis, syn::Visibility::Public(_))
}

/// The public surface of one file, as (what, violations).
fn check_file(file: &syn::File, rel: &str) -> Vec<String> {
    let imports = imports(file);
    let mut problems = Vec::new();
    let mut nested = Vec::new();
    let mut check = |what: String, node: &dyn Fn(&mut Paths)| {
        let mut v = Paths {
            imports: &imports,
            found: Vec::new(),
        };
        node(&mut v);
        for f in v.found {
            problems.push(format!("{rel}: {what} names {f}"));
        }
    };
    for item in &file.items {
        match item {
            syn::Item::Fn(f) if is_pub(&f.vis) => {
                check(format!("fn {}", f.sig.ident), &|v| {
                    v.visit_signature(&f.sig)
                });
            }
            syn::Item::Struct(s) if is_pub(&s.vis) => {
                for field in s.fields.iter().filter(|f| is_pub(&f.vis)) {
                    check(format!("struct {} field", s.ident), &|v| {
                        v.visit_type(&field.ty)
                    });
                }
                check(format!("struct {} generics", s.ident), &|v| {
                    v.visit_generics(&s.generics)
                });
            }
            syn::Item::Enum(e) if is_pub(&e.vis) => {
                for var in &e.variants {
                    check(format!("enum {}::{}", e.ident, var.ident), &|v| {
                        v.visit_fields(&var.fields)
                    });
                }
            }
            syn::Item::Type(t) if is_pub(&t.vis) => {
                check(format!("type {}", t.ident), &|v| v.visit_type(&t.ty));
            }
            syn::Item::Const(c) if is_pub(&c.vis) => {
                check(format!("const {}", c.ident), &|v| v.visit_type(&c.ty));
            }
            syn::Item::Static(s) if is_pub(&s.vis) => {
                check(format!("static {}", s.ident), &|v| v.visit_type(&s.ty));
            }
            syn::Item::Use(u) if is_pub(&u.vis) => {
                check("pub use".to_string(), &|v| {
                    let mut first = &u.tree;
                    while let syn::UseTree::Group(g) = first {
                        match g.items.first() {
                            Some(t) => first = t,
                            None => return,
                        }
                    }
                    let root = match first {
                        syn::UseTree::Path(p) => p.ident.to_string(),
                        syn::UseTree::Name(n) => n.ident.to_string(),
                        syn::UseTree::Rename(r) => r.ident.to_string(),
                        _ => return,
                    };
                    if FORBIDDEN.contains(&root.trim_start_matches("::")) {
                        v.found.push(format!("a re-export of {root}"));
                    }
                });
            }
            syn::Item::Trait(t) if is_pub(&t.vis) => {
                for ti in &t.items {
                    if let syn::TraitItem::Fn(f) = ti {
                        check(format!("trait {}::{}", t.ident, f.sig.ident), &|v| {
                            v.visit_signature(&f.sig)
                        });
                    }
                }
                check(format!("trait {} bounds", t.ident), &|v| {
                    v.visit_generics(&t.generics);
                    for b in &t.supertraits {
                        v.visit_type_param_bound(b);
                    }
                });
            }
            syn::Item::Impl(i) => {
                if let Some((_, path, _)) = &i.trait_ {
                    // A trait impl is public when its type is: `impl From<reqwest::Error> for Error`.
                    check("trait impl".to_string(), &|v| {
                        v.visit_path(path);
                        v.visit_type(&i.self_ty);
                    });
                } else {
                    for ii in &i.items {
                        if let syn::ImplItem::Fn(f) = ii
                            && is_pub(&f.vis)
                        {
                            check(format!("method {}", f.sig.ident), &|v| {
                                v.visit_signature(&f.sig)
                            });
                        }
                    }
                }
            }
            syn::Item::Mod(m) if m.content.is_some() => {
                // Inline modules: `#[cfg(test)] mod tests { … }` is not public API.
                let is_test = m.attrs.iter().any(|a| {
                    a.path().is_ident("cfg")
                        && a.meta
                            .require_list()
                            .is_ok_and(|l| l.tokens.to_string().contains("test"))
                });
                if !is_test && let Some((_, items)) = &m.content {
                    nested.push(syn::File {
                        shebang: None,
                        attrs: Vec::new(),
                        items: items.clone(),
                    });
                }
            }
            _ => {}
        }
    }
    for inner in &nested {
        problems.extend(check_file(inner, rel));
    }
    problems
}

/// How a file's module is declared by its parent: `None` for the crate root.
fn declared_visibility(src: &Path, rel: &Path) -> Option<Vec<syn::Visibility>> {
    let name = match rel.file_stem()?.to_str()? {
        "lib" if rel.parent() == Some(Path::new("")) => return None,
        "mod" => rel.parent()?.file_name()?.to_str()?.to_string(),
        other => other.to_string(),
    };
    let dir = if rel.ends_with("mod.rs") {
        rel.parent()?.parent()?
    } else {
        rel.parent()?
    };
    let parent = if dir == Path::new("") {
        src.join("lib.rs")
    } else if src.join(dir).join("mod.rs").exists() {
        src.join(dir).join("mod.rs")
    } else {
        src.join(dir.with_extension("rs"))
    };
    let text = std::fs::read_to_string(&parent).ok()?;
    let file = syn::parse_file(&text).ok()?;
    Some(
        file.items
            .iter()
            .filter_map(|i| match i {
                syn::Item::Mod(m) if m.ident == name => Some(m.vis.clone()),
                _ => None,
            })
            .collect(),
    )
}

/// A module every declaration of which is `pub(crate)` or narrower is internal, and so is
/// everything under it. (A private `mod x;` is still checked: its items may be re-exported
/// with `pub use`.)
fn internal(src: &Path, rel: &Path) -> bool {
    let Some(vis) = declared_visibility(src, rel) else {
        return false;
    };
    if !vis.is_empty()
        && vis
            .iter()
            .all(|v| matches!(v, syn::Visibility::Restricted(_)))
    {
        return true;
    }
    let parent = if rel.ends_with("mod.rs") {
        rel.parent().and_then(Path::parent)
    } else {
        rel.parent()
    };
    match parent {
        Some(dir) if dir != Path::new("") => {
            let as_mod = dir.join("mod.rs");
            let candidate = if src.join(&as_mod).exists() {
                as_mod
            } else {
                dir.with_extension("rs")
            };
            internal(src, &candidate)
        }
        _ => false,
    }
}

#[test]
fn no_implementation_crate_type_in_a_public_signature() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(files.len() > 40, "found only {} source files", files.len());
    let mut problems = Vec::new();
    for path in &files {
        let rel = path.strip_prefix(&src).unwrap();
        if exempt(rel) || internal(&src, rel) {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        let file = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        problems.extend(check_file(&file, &rel.to_string_lossy()));
    }
    assert!(
        problems.is_empty(),
        "implementation crates leak into the public API:\n  {}",
        problems.join("\n  ")
    );
}

/// The checker itself catches a leak written the ways the SDK's code is written.
#[test]
fn the_check_catches_a_leak() {
    let leaky: syn::File = syn::parse_quote! {
        use reqwest::Method;
        use prost::Message as ProtoMessage;
        pub struct Request { pub method: Method, private: reqwest::Client }
        pub fn encode(m: &impl ProtoMessage) -> Vec<u8> { Vec::new() }
        pub(crate) fn internal(c: reqwest::Client) {}
        impl From<reqwest::Error> for Error { fn from(e: reqwest::Error) -> Self { todo() } }
        pub use governor::Quota;
        pub trait Auth { fn attach(&self, r: reqwest::RequestBuilder); }
    };
    let problems = check_file(&leaky, "leaky.rs");
    let text = problems.join("\n");
    assert!(
        text.contains("struct Request field names Method (from reqwest)"),
        "{text}"
    );
    assert!(
        text.contains("fn encode names ProtoMessage (from prost)"),
        "{text}"
    );
    assert!(text.contains("trait impl names reqwest::Error"), "{text}");
    assert!(text.contains("a re-export of governor"), "{text}");
    assert!(
        text.contains("trait Auth::attach names reqwest::RequestBuilder"),
        "{text}"
    );
    assert!(
        !text.contains("internal"),
        "pub(crate) is not public: {text}"
    );
    assert!(!text.contains("private"), "{text}");
}
