//! `touchpoint approve FILE [--by NAME]`: record the review in the header,
//! with the SHA-256 of the executable SQL, so that `finalize` can refuse a
//! migration whose SQL changed after review.

use crate::commands::ExitStatus;
use crate::error::{Error, Result};
use crate::header::{self, State};
use crate::history::Migration;
use crate::text;
use crate::workspace::Workspace;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct ApproveOpts {
    pub file: PathBuf,
    /// Reviewer name (default: git config user.name).
    #[arg(long)]
    pub by: Option<String>,
    /// Review date (YYYY-MM-DD), default today.
    #[arg(long)]
    pub date: Option<String>,
}

pub fn run(
    ws: &Workspace,
    opts: &ApproveOpts,
    out: &mut dyn Write,
    _err: &mut dyn Write,
) -> Result<ExitStatus> {
    let path = ws.resolve_user_path(&opts.file)?;
    let m = Migration::load(ws, &path)?;
    let display = m.entry.display.clone();
    let h = m.header.as_ref().ok_or_else(|| {
        Error::new(
            "header",
            "the migration has no header to record the review in",
        )
        .file(&display)
        .help("create migrations with `touchpoint research`, which writes the header")
    })?;
    if m.state() == State::Finalized {
        return Err(
            Error::usage(format!("{} is already finalized", display.display()))
                .help("a finalized migration is history; nothing to approve"),
        );
    }
    if m.sql.statements.is_empty() {
        return Err(Error::usage("the migration has no SQL statements to approve").file(&display));
    }
    let unwritten = header::unwritten_prose(h);
    if !unwritten.is_empty() {
        let d = crate::report::Diagnostic::error("header-placeholder", format!("{} still hold(s) the template placeholder", unwritten.join(", ")))
            .file(&display)
            .help("describe the change before review: edit the header, or pass --problem/--solution/--strategy to research");
        let _ = write!(out, "{}", crate::report::render_human(&[d]));
        return Ok(ExitStatus::Failure);
    }
    let by = opts.by.clone().or_else(default_reviewer).ok_or_else(|| {
        Error::usage("who reviewed it? pass --by NAME").help("or set git config user.name")
    })?;
    if by.contains('\n') || by.trim().is_empty() {
        return Err(Error::usage("--by must be a name on one line"));
    }
    let date = opts
        .date
        .clone()
        .unwrap_or_else(|| chrono::Local::now().date_naive().to_string());
    // The review line is only read back with a YYYY-MM-DD date: anything
    // else would be written and then not count as an approval.
    if chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").is_err() {
        return Err(Error::usage(format!("--date {date} is not a date"))
            .help("use YYYY-MM-DD, e.g. 2026-11-21"));
    }
    let sum = m.checksum();
    let line = format!(
        "   [X] Reviewed by {} on {date} (sql sha256: {sum})",
        by.trim()
    );
    let new = header::set_section_body(&m.sql.text, "REVIEW", &[line], Some("MIGRATION EXECUTED"))
        .map_err(|e| e.file(&m.entry.display))?;
    text::write_atomic(&path, &new)?;
    let _ = writeln!(
        out,
        "approved {} by {} (sql sha256: {sum})",
        display.display(),
        by.trim()
    );
    Ok(ExitStatus::Success)
}

/// `git config user.name`, else the login name.
fn default_reviewer() -> Option<String> {
    std::process::Command::new("git")
        .args(["config", "user.name"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("USER").ok())
}
