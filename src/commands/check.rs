//! `touchpoint check`: the CI gate. The rules live in `crate::check`; this
//! wires options to them and renders the findings.

use crate::check::{self, Checked};
use crate::commands::ExitStatus;
use crate::error::Result;
use crate::report::{self, Format, Severity};
use crate::workspace::Workspace;
use std::io::Write;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct CheckOpts {
    /// Also replay current_schema on the embedded throwaway database.
    #[arg(long)]
    pub replay: bool,
    /// Run the per-file rules only on files changed since this git
    /// revision (numbering and the sum file are always checked).
    #[arg(long, value_name = "GIT_REV")]
    pub since: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Lowest severity that makes the exit code 1 (default: error).
    #[arg(long, value_enum)]
    pub fail_on: Option<Severity>,
    /// First record every finalized migration on disk in
    /// migration_history/touchpoint.sum (once, when adopting touchpoint).
    #[arg(long)]
    pub write_sum: bool,
}

pub fn run(
    ws: &Workspace,
    opts: &CheckOpts,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitStatus> {
    let outcome = check::run(
        ws,
        &check::Options {
            replay: opts.replay,
            since: opts.since.clone(),
            write_sum: opts.write_sum,
        },
    )?;
    let diags = &outcome.diagnostics;
    let c = &outcome.checked;
    if let Some(n) = c.sum_written {
        // stderr: stdout stays one document in --format json.
        let _ = writeln!(
            err,
            "wrote {}: {n} finalized migration{}",
            ws.display(&ws.history_dir().join(crate::history::SUM_FILE))
                .display(),
            if n == 1 { "" } else { "s" }
        );
    }
    let text = match opts.format {
        Format::Json => report::render_json_with(
            diags,
            serde_json::json!({ "checked": c })
                .as_object()
                .cloned()
                .unwrap_or_default(),
        ),
        Format::Human => {
            let mut s = report::render_human(diags);
            if !diags.is_empty() {
                s.push('\n');
            }
            s.push_str(&checked_line(c, diags.is_empty()));
            s
        }
        Format::Github => report::render_github(diags),
    };
    let _ = out.write_all(text.as_bytes());
    let fail_on = opts.fail_on.unwrap_or(Severity::Error);
    Ok(if diags.iter().any(|d| d.severity >= fail_on) {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// `checked 5 migrations, 6 schema files, 17 bridge docs: no findings`.
fn checked_line(c: &Checked, clean: bool) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let mut s = format!(
        "checked {}, {}, {}",
        plural(c.migrations, "migration"),
        plural(c.schema_files, "schema file"),
        plural(c.bridge_docs, "bridge doc")
    );
    if c.replay {
        s.push_str(", replayed current_schema");
    }
    if let (Some(rev), Some(n)) = (&c.since, c.changed_files) {
        s.push_str(&format!(
            " (per-file rules on {} changed since {rev})",
            plural(n, "migration")
        ));
    }
    if clean {
        s.push_str(": no findings");
    }
    s.push('\n');
    s
}
