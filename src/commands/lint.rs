//! `touchpoint lint FILE...`: never needs a database.

use crate::analysis;
use crate::bridge;
use crate::commands::ExitStatus;
use crate::error::Result;
use crate::header;
use crate::lint::{self, Context};
use crate::report::{self, Diagnostic, Format, Severity};
use crate::schema::Schema;
use crate::sql;
use crate::workspace::Workspace;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct LintOpts {
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Lowest severity that makes the exit code 1 (default: [lint] fail_on).
    #[arg(long, value_enum)]
    pub fail_on: Option<Severity>,
}

pub fn run(
    ws: &Workspace,
    opts: &LintOpts,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitStatus> {
    // Schema-aware rules need current_schema; without it the other rules
    // still run, and the reason is said once.
    let schema = match Schema::load(ws) {
        Ok(s) => Some(s),
        Err(e) => {
            let _ = writeln!(err, "warning: schema-aware rules skipped: {e}");
            None
        }
    };
    let docs = bridge::discover(ws).unwrap_or_default();
    let history = ws.history_dir();
    let mut all: Vec<Diagnostic> = Vec::new();
    let mut status = ExitStatus::Success;
    for file in &opts.files {
        let abs = file.canonicalize().unwrap_or_else(|_| file.clone());
        let display = ws.display(&abs);
        if let Err(e) = sql::check_size(&abs, &display) {
            all.push(e.diagnostic().clone());
            status = ExitStatus::Error;
            continue;
        }
        let text = match std::fs::read(&abs) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => {
                all.push(crate::Error::io(file, e).diagnostic().clone());
                status = ExitStatus::Error;
                continue;
            }
        };
        let parsed = sql::read_file(&abs, &display);
        let file_diags = match parsed {
            Err(e) => lint::lint_unparsed(&display, &text, e.diagnostic().clone()),
            Ok(f) => {
                let h = header::parse(&f.text);
                let is_migration =
                    abs.starts_with(&history) || h.as_ref().is_some_and(|h| h.title().is_some());
                // A finalized migration is already part of current_schema:
                // the schema-aware rules judge drafts against it, not history.
                let finalized = h
                    .as_ref()
                    .is_some_and(|h| h.state() == crate::header::State::Finalized);
                let schema = if finalized { None } else { schema.as_ref() };
                let a = schema.map(|s| analysis::analyze(s, &f, &docs, &|p| ws.display(p), 0));
                let cx = Context {
                    file: &f,
                    header: h.as_ref(),
                    schema,
                    analysis: a.as_ref(),
                    is_migration,
                };
                lint::lint(&cx, &ws.config.lint.exclude, &ws.config.lint.include)
            }
        };
        all.extend(file_diags);
    }
    let fail_on = opts
        .fail_on
        .unwrap_or(if ws.config.lint.fail_on == "warning" {
            Severity::Warning
        } else {
            Severity::Error
        });
    let _ = write!(out, "{}", report::render(&all, opts.format));
    if all.is_empty() && opts.format == Format::Human {
        let _ = writeln!(out, "{} file(s) linted: no findings", opts.files.len());
    }
    if status == ExitStatus::Success && all.iter().any(|d| d.severity >= fail_on) {
        status = ExitStatus::Failure;
    }
    Ok(status)
}
