//! `touchpoint bridge [--check] [TABLE...]`, `touchpoint bridge --new TABLE
//! --group G`: regenerate (or verify) the bridge docs from current_schema.

use super::ExitStatus;
use crate::bridge::{self, DocChange, Plan};
use crate::error::{Error, Result};
use crate::report::{self, Diagnostic, Format, Severity};
use crate::schema::Schema;
use crate::workspace::Workspace;
use std::fmt::Write as _;
use std::io::Write as _;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct BridgeOpts {
    /// Tables to regenerate (default: every documented table).
    pub tables: Vec<String>,
    /// Write nothing; print a diff and fail if anything would change.
    #[arg(long)]
    pub check: bool,
    /// Create a new set of docs for this table.
    #[arg(long, value_name = "TABLE")]
    pub new: Option<String>,
    /// Group (sub-folder) for --new.
    #[arg(long)]
    pub group: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

pub fn run(ws: &Workspace, opts: &BridgeOpts) -> Result<ExitStatus> {
    let (out, status) = execute(ws, opts)?;
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`touchpoint bridge --check | head`) is not an error.
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
    Ok(status)
}

/// The whole command, output returned rather than printed, so tests see
/// exactly what users see.
pub fn execute(ws: &Workspace, opts: &BridgeOpts) -> Result<(String, ExitStatus)> {
    if opts.new.is_some() && opts.check {
        return Err(Error::usage("--new and --check cannot be combined")
            .help("create the docs first, then run --check"));
    }
    if opts.group.is_some() && opts.new.is_none() {
        return Err(
            Error::usage("--group only applies to --new").help("pass --new TABLE --group GROUP")
        );
    }
    let schema = Schema::load(ws)?;
    let plan = match &opts.new {
        Some(table) => {
            if !opts.tables.is_empty() {
                return Err(Error::usage(
                    "--new takes one table; do not pass TABLE arguments as well",
                ));
            }
            let group = opts.group.clone().unwrap_or_else(|| {
                ws.config
                    .bridge
                    .tables
                    .iter()
                    .find(|t| t.table == *table)
                    .and_then(|t| t.group.clone())
                    .unwrap_or_default()
            });
            Plan {
                changes: bridge::new_docs(ws, &schema, table, &group)?,
                diagnostics: Vec::new(),
            }
        }
        None => bridge::plan_report(ws, &schema, &opts.tables, &[])?,
    };
    if !opts.check {
        bridge::write(ws, &plan.changes)?;
    }
    let failed = plan.has_errors() || (opts.check && !plan.changes.is_empty());
    let status = if failed {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    };
    let out = match opts.format {
        Format::Json => render_json(ws, opts, &plan),
        Format::Human => render_human(ws, opts, &plan),
        Format::Github => render_github(ws, opts, &plan),
    };
    Ok((out, status))
}

fn shown(ws: &Workspace, c: &DocChange) -> String {
    ws.display(&c.path).display().to_string().replace('\\', "/")
}

fn diff(ws: &Workspace, c: &DocChange) -> String {
    let path = shown(ws, c);
    let old = c.old.as_deref().unwrap_or("");
    let a = if c.old.is_some() {
        format!("a/{path}")
    } else {
        "/dev/null".to_string()
    };
    similar::TextDiff::from_lines(old, &c.new)
        .unified_diff()
        .context_radius(3)
        .header(&a, &format!("b/{path}"))
        .to_string()
}

fn columns_note(c: &DocChange) -> String {
    let mut parts = Vec::new();
    if !c.added_columns.is_empty() {
        parts.push(format!("added {}", c.added_columns.join(", ")));
    }
    if !c.dropped_columns.is_empty() {
        parts.push(format!("dropped {}", c.dropped_columns.join(", ")));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join("; "))
    }
}

fn render_human(ws: &Workspace, opts: &BridgeOpts, plan: &Plan) -> String {
    let mut out = String::new();
    let n = plan.changes.len();
    let docs = |n: usize| format!("{n} bridge doc{}", if n == 1 { "" } else { "s" });
    if opts.check {
        for c in &plan.changes {
            out.push_str(&diff(ws, c));
        }
        if n > 0 {
            let _ = writeln!(
                out,
                "\n{} out of date; run `touchpoint bridge` to update them",
                docs(n)
            );
        }
    } else {
        for c in &plan.changes {
            let verb = if c.old.is_some() {
                "updated"
            } else {
                "created"
            };
            let _ = writeln!(out, "{verb} {}{}", shown(ws, c), columns_note(c));
        }
    }
    if !plan.diagnostics.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&report::render_human(&plan.diagnostics));
    }
    if n == 0 && !plan.has_errors() {
        out.push_str("bridge docs are up to date\n");
    }
    out
}

fn render_json(ws: &Workspace, opts: &BridgeOpts, plan: &Plan) -> String {
    let files: Vec<serde_json::Value> = plan
        .changes
        .iter()
        .map(|c| {
            serde_json::json!({
                "path": shown(ws, c),
                "status": if c.old.is_some() { "updated" } else { "created" },
                "added_columns": c.added_columns,
                "dropped_columns": c.dropped_columns,
                "diff": diff(ws, c),
            })
        })
        .collect();
    let count = |s| plan.diagnostics.iter().filter(|d| d.severity == s).count();
    let doc = serde_json::json!({
        "check": opts.check,
        "written": !opts.check && !plan.changes.is_empty(),
        "files": files,
        "diagnostics": plan.diagnostics,
        "summary": {
            "changed": plan.changes.len(),
            "errors": count(Severity::Error),
            "warnings": count(Severity::Warning),
        }
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// Workflow annotations: one per out-of-date doc (with --check) and one
/// per diagnostic; the diff itself goes to the log as in human output.
fn render_github(ws: &Workspace, opts: &BridgeOpts, plan: &Plan) -> String {
    let mut diags = Vec::new();
    if opts.check {
        for c in &plan.changes {
            diags.push(out_of_date(ws, c));
        }
    }
    diags.extend(plan.diagnostics.iter().cloned());
    let mut out = String::new();
    if opts.check {
        for c in &plan.changes {
            out.push_str(&diff(ws, c));
        }
    }
    out.push_str(&report::render_github(&diags));
    out
}

/// The finding for a doc that `touchpoint bridge` would rewrite (used by
/// `touchpoint check` too).
pub fn out_of_date(ws: &Workspace, c: &DocChange) -> Diagnostic {
    Diagnostic::error(
        "bridge-out-of-date",
        format!(
            "bridge doc is out of date with current_schema{}",
            columns_note(c)
        ),
    )
    .file(shown(ws, c))
    .help("run `touchpoint bridge` and commit the result")
}
