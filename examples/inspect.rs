//! Inspects a `.c1z` sync file (ours or upstream's): resource types, resources,
//! entitlements, grants, stats, syncs, and the diff between the last two syncs.
//!
//! ```text
//! cargo run --example baton -- sync.c1z resources -t user
//! cargo run --example baton -- sync.c1z grants -e group:g1:member --output json
//! cargo run --example baton -- sync.c1z diff
//! cargo run --example baton -- serve sync.c1z        # the access explorer, a web page
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use connector_sdk::cli::StoreLimitArgs;
use connector_sdk::explorer::{self, ExploreArgs};
use connector_sdk::model::{Resource, ResourceId};
use connector_sdk::printable::{exit_code, printable};
use connector_sdk::store::{C1zReader, GrantFilter, ResourceChange};
use connector_sdk::{Error, Result};
use serde::Serialize;

#[derive(Parser, Debug)]
#[command(
    name = "baton",
    about = "Inspect a .c1z sync file: stats, resources, entitlements, grants, syncs, diffs",
    version,
    after_help = "Browse a file in a web page instead (the access explorer): baton serve FILE [--listen 127.0.0.1:8080]"
)]
struct Args {
    /// The .c1z file to read.
    file: PathBuf,
    /// What to show.
    #[command(subcommand)]
    what: What,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Output::Table, global = true)]
    output: Output,
    /// Read this sync instead of the latest finished one.
    #[arg(long, global = true)]
    sync_id: Option<String>,
    /// What reading the file may cost (it is untrusted input).
    #[command(flatten)]
    limits: StoreLimitArgs,
}

#[derive(Subcommand, Debug)]
enum What {
    /// The resource types.
    ResourceTypes,
    /// The resources, optionally of one type or under one parent: one table per type,
    /// types and ids in order (JSON: one array in that order).
    Resources {
        /// Only resources of this type.
        #[arg(short = 't', long = "resource-type")]
        resource_type: Option<String>,
        /// Only children of this resource (`type:id`).
        #[arg(short = 'r', long = "parent")]
        parent: Option<String>,
    },
    /// The entitlements, optionally of one resource.
    Entitlements {
        /// Only entitlements on this resource (`type:id`).
        #[arg(short = 'r', long)]
        resource: Option<String>,
        /// Only entitlements on resources of this type.
        #[arg(short = 't', long = "resource-type")]
        resource_type: Option<String>,
    },
    /// The grants, filtered by entitlement, resource or principal.
    Grants {
        /// Only grants of this entitlement id.
        #[arg(short = 'e', long)]
        entitlement: Option<String>,
        /// Only grants of entitlements on this resource (`type:id`).
        #[arg(short = 'r', long)]
        resource: Option<String>,
        /// Only grants held by this principal (`type:id`).
        #[arg(short = 'p', long)]
        principal: Option<String>,
        /// Only grants of entitlements on resources of this type.
        #[arg(short = 't', long = "resource-type")]
        resource_type: Option<String>,
    },
    /// Counts per type.
    Stats,
    /// The syncs the file holds.
    Syncs,
    /// What changed since the previous sync in the file: resources, entitlements and
    /// grants added (+) or removed (-), and resources whose record changed (~: status,
    /// profile, display name…, with each field's old and new value).
    Diff,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Output {
    Table,
    Json,
}

fn parse_id(flag: &str, raw: &str) -> Result<ResourceId> {
    match raw.split_once(':') {
        Some((t, id)) if !t.is_empty() && !id.is_empty() => Ok(ResourceId::new(t, id)),
        _ => Err(Error::invalid_argument(format!(
            "{flag} {raw:?}: expected a resource as TYPE:ID, e.g. user:u1"
        ))),
    }
}

/// The message of the error that ends a run whose reader closed stdout (`baton … | head`):
/// not a failure, the run ends quietly with exit 0 (as `ls | head` does).
const STDOUT_CLOSED: &str = "stdout was closed";

/// Writes one line on stdout; a closed pipe ends the run (see [`STDOUT_CLOSED`]).
fn say(line: impl std::fmt::Display) -> Result<()> {
    use std::io::Write as _;
    writeln!(std::io::stdout().lock(), "{line}").map_err(|e| {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            connector_sdk::Error::new(connector_sdk::error::ErrorKind::Cancelled, STDOUT_CLOSED)
        } else {
            e.into()
        }
    })
}

/// Prints rows as aligned columns under a header.
fn table(header: &[&str], rows: Vec<Vec<String>>) -> Result<()> {
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|row| row.iter().map(|c| printable(c).into_owned()).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        say(padded.join("  ").trim_end())
    };

    line(header.iter().map(|h| h.to_string()).collect())?;
    line(widths.iter().map(|w| "-".repeat(*w)).collect())?;
    let n = rows.len();
    for row in rows {
        line(row)?;
    }
    say(format!("({n} rows)"))
}

fn emit<T: Serialize>(
    output: Output,
    value: &T,
    header: &[&str],
    rows: impl FnOnce() -> Vec<Vec<String>>,
) -> Result<()> {
    match output {
        Output::Json => say(serde_json::to_string_pretty(value)?)?,
        Output::Table => table(header, rows())?,
    }
    Ok(())
}

fn run(args: Args) -> Result<()> {
    let mut reader = C1zReader::open_with(&args.file, &args.limits.limits())?;
    if let Some(id) = &args.sync_id {
        reader = reader.with_sync(id)?;
    }
    let out = args.output;
    match args.what {
        What::ResourceTypes => {
            let types = reader.resource_types()?;
            emit(out, &types, &["ID", "NAME", "TRAITS"], || {
                types
                    .iter()
                    .map(|t| {
                        let traits: Vec<&str> = t.traits.iter().map(|x| x.as_str()).collect();
                        vec![t.id.clone(), t.display_name.clone(), traits.join(",")]
                    })
                    .collect()
            })
        }
        What::Resources {
            resource_type,
            parent,
        } => {
            let mut resources = match parent {
                Some(p) => {
                    let p = parse_id("--parent", &p)?;
                    let mut v = reader.children(&p)?;
                    if let Some(t) = &resource_type {
                        v.retain(|r| &r.id.resource_type == t);
                    }
                    v
                }
                None => reader.resources(resource_type.as_deref())?,
            };
            resources.sort_by(|a, b| {
                (&a.id.resource_type, &a.id.resource).cmp(&(&b.id.resource_type, &b.id.resource))
            });
            match out {
                Output::Json => emit(out, &resources, &[], Vec::new),
                Output::Table => {
                    // One table per resource type, types and ids in order.
                    for (i, group) in resources
                        .chunk_by(|a, b| a.id.resource_type == b.id.resource_type)
                        .enumerate()
                    {
                        if i > 0 {
                            say("")?;
                        }
                        say(format!(
                            "{} ({})",
                            printable(&group[0].id.resource_type),
                            group.len()
                        ))?;
                        table(
                            &["ID", "NAME", "PARENT", "STATUS"],
                            group.iter().map(resource_row).collect(),
                        )?;
                    }
                    if resources.is_empty() {
                        say("(0 rows)")?;
                    }
                    Ok(())
                }
            }
        }
        What::Entitlements {
            resource,
            resource_type,
        } => {
            let resource = resource.map(|r| parse_id("--resource", &r)).transpose()?;
            let mut ents = reader.entitlements(resource.as_ref())?;
            if let Some(t) = &resource_type {
                ents.retain(|e| &e.resource().resource_type == t);
            }
            emit(
                out,
                &ents,
                &["ID", "NAME", "PURPOSE", "GRANTABLE TO"],
                || {
                    ents.iter()
                        .map(|e| {
                            vec![
                                e.id().to_string(),
                                e.display_name.clone(),
                                format!("{:?}", e.purpose).to_lowercase(),
                                e.grantable_to.join(","),
                            ]
                        })
                        .collect()
                },
            )
        }
        What::Grants {
            entitlement,
            resource,
            principal,
            resource_type,
        } => {
            let mut filter = GrantFilter::default();
            filter.entitlement = entitlement;
            filter.resource = resource.map(|r| parse_id("--resource", &r)).transpose()?;
            filter.principal = principal.map(|p| parse_id("--principal", &p)).transpose()?;
            let mut grants = reader.grants(&filter)?;
            if let Some(t) = &resource_type {
                grants.retain(|g| &g.entitlement_resource().resource_type == t);
            }
            emit(out, &grants, &["ENTITLEMENT", "PRINCIPAL", "HOW"], || {
                grants
                    .iter()
                    .map(|g| {
                        let how = if !g.sources.is_empty() {
                            let s: Vec<&str> = g.sources.keys().map(String::as_str).collect();
                            format!("via {}", s.join(","))
                        } else if g.expandable.is_some() {
                            "direct, expandable".to_string()
                        } else {
                            "direct".to_string()
                        };
                        vec![
                            g.entitlement_id().to_string(),
                            g.principal().to_string(),
                            how,
                        ]
                    })
                    .collect()
            })
        }
        What::Stats => {
            let stats = reader.stats()?;
            emit(
                out,
                &stats,
                &["RESOURCE TYPE", "RESOURCES", "ENTITLEMENTS", "GRANTS"],
                || {
                    let mut rows: Vec<Vec<String>> = stats
                        .resources_by_resource_type
                        .iter()
                        .map(|(t, n)| {
                            vec![
                                t.clone(),
                                n.to_string(),
                                stats
                                    .entitlements_by_resource_type
                                    .get(t)
                                    .copied()
                                    .unwrap_or(0)
                                    .to_string(),
                                stats
                                    .grants_by_resource_type
                                    .get(t)
                                    .copied()
                                    .unwrap_or(0)
                                    .to_string(),
                            ]
                        })
                        .collect();
                    rows.push(vec![
                        "total".into(),
                        stats.resources.to_string(),
                        stats.entitlements.to_string(),
                        stats.grants.to_string(),
                    ]);
                    rows
                },
            )
        }
        What::Syncs => {
            let syncs = reader.syncs()?;
            emit(
                out,
                &syncs,
                &[
                    "SYNC ID", "TYPE", "SCOPE", "PARENT", "STARTED", "ENDED", "WARNINGS",
                ],
                || {
                    syncs
                        .iter()
                        .map(|s| {
                            vec![
                                s.sync_id.clone(),
                                s.sync_type.clone(),
                                s.scope().unwrap_or_default().describe(),
                                if s.parent_sync_id.is_empty() {
                                    "-".into()
                                } else {
                                    s.parent_sync_id.clone()
                                },
                                s.started_at.clone(),
                                s.ended_at.clone().unwrap_or_else(|| "(unfinished)".into()),
                                s.warnings().len().to_string(),
                            ]
                        })
                        .collect()
                },
            )
        }
        What::Diff => {
            let diff = reader.diff_with_previous()?;
            emit(
                out,
                &diff,
                &["CHANGE", "KIND", "ID", "WHAT CHANGED"],
                || {
                    let changed = diff.resources_changed.iter().map(|c| {
                        vec![
                            "~".into(),
                            "resource".into(),
                            c.id.clone(),
                            describe_change(c),
                        ]
                    });
                    id_rows("+", "resource", &diff.resources_added)
                        .chain(id_rows("-", "resource", &diff.resources_removed))
                        .chain(changed)
                        .chain(id_rows("+", "entitlement", &diff.entitlements_added))
                        .chain(id_rows("-", "entitlement", &diff.entitlements_removed))
                        .chain(id_rows("+", "grant", &diff.grants_added))
                        .chain(id_rows("-", "grant", &diff.grants_removed))
                        .collect()
                },
            )
        }
    }
}

/// Rows of `inspect diff` for ids added or removed.
fn id_rows<'a>(
    change: &'a str,
    kind: &'a str,
    ids: &'a [String],
) -> impl Iterator<Item = Vec<String>> + 'a {
    ids.iter()
        .map(move |id| vec![change.into(), kind.into(), id.clone(), String::new()])
}

/// A row of `inspect resources` (the type is the group's heading).
fn resource_row(r: &Resource) -> Vec<String> {
    vec![
        r.id.resource.clone(),
        r.display_name.clone(),
        r.parent.as_ref().map(|p| p.to_string()).unwrap_or_default(),
        r.user
            .as_ref()
            .map(|u| format!("{:?}", u.status).to_lowercase())
            .unwrap_or_default(),
    ]
}

/// `field: before → after; …` for a changed resource.
fn describe_change(change: &ResourceChange) -> String {
    let show = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "(none)".to_string(),
        other => other.to_string(),
    };
    if change.fields.is_empty() {
        return "(stored record differs)".to_string();
    }
    change
        .fields
        .iter()
        .map(|f| format!("{}: {} → {}", f.field, show(&f.before), show(&f.after)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `inspect serve FILE`: the access explorer.
#[derive(Parser, Debug)]
#[command(
    name = "baton serve",
    bin_name = "baton serve",
    about = "Browse a .c1z in a web page: who has what, through what, and what changed (read-only)"
)]
struct ServeArgs {
    /// The .c1z file to browse.
    file: PathBuf,
    #[command(flatten)]
    args: ExploreArgs,
    /// What reading the file may cost (it is untrusted input).
    #[command(flatten)]
    limits: StoreLimitArgs,
}

fn serve(args: ServeArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(explorer::serve(
        &args.file,
        &args.limits.limits(),
        args.args.listen,
        args.args.allow_remote,
        &args.args.public_hosts,
    ))
}

fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|a| a == "serve") {
        return exit_code(serve(ServeArgs::parse_from(&argv[1..])));
    }
    match run(Args::parse()) {
        Err(e) if e.message() == STDOUT_CLOSED => ExitCode::SUCCESS,
        result => exit_code(result),
    }
}
