//! `touchpoint apply`: bring another environment (staging, production) to
//! exactly the finalized history. `finalize` ran each migration once on the
//! first database and patched the files; `apply` only runs, on a target
//! whose tracking table says what it already has, and never writes files.
//!
//! Order of work, so that nothing runs before everything is known: load
//! the finalized migrations; take the target's advisory lock; compare the
//! checksum of every migration the target has with its file (a divergent
//! one stops everything); then run the pending ones in NN order as one
//! batch through the tracking layer's runner, stopping at the first
//! failure. `--baseline NN` records instead of running.

use crate::commands::finalize::applied_by_static;
use crate::commands::rollback::is_rolled_back;
use crate::commands::ExitStatus;
use crate::db::{self, tracking};
use crate::error::{Error, Result};
use crate::header::{self, State};
use crate::history::{self, Migration};
use crate::report::{self, Diagnostic, Format};
use crate::workspace::Workspace;
use postgres::Client;
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;
use tracking::{ExecFailure, ExecNote, ExecOutcome, Tracker, TrackingRow};

#[derive(Debug, Clone, clap::Args)]
pub struct ApplyOpts {
    /// The target database (or DATABASE_URL, or [database] url).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Run the pending migrations in a transaction that is rolled back,
    /// and report what would happen.
    #[arg(long)]
    pub dry_run: bool,
    /// Stop after this sequence number.
    #[arg(long, value_name = "NN")]
    pub to: Option<u32>,
    /// Run the whole batch in one transaction: all of it or none.
    #[arg(long)]
    pub single_transaction: bool,
    /// Record the finalized migrations up to NN as applied without
    /// running them, for a database that already has them.
    #[arg(long, value_name = "NN", conflicts_with_all = ["to", "single_transaction", "allow_out_of_order"])]
    pub baseline: Option<u32>,
    /// Apply a pending migration even when a later one is applied.
    #[arg(long)]
    pub allow_out_of_order: bool,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

impl Default for ApplyOpts {
    fn default() -> Self {
        ApplyOpts {
            database_url: None,
            dry_run: false,
            to: None,
            single_transaction: false,
            baseline: None,
            allow_out_of_order: false,
            format: Format::Human,
        }
    }
}

/// What one `apply` did, as `--format json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The target with its password removed.
    pub target: String,
    pub dry_run: bool,
    pub single_transaction: bool,
    /// The batch number the rows of this run carry; `None` when nothing ran.
    pub batch: Option<i32>,
    /// The migrations this run touched, in order.
    pub migrations: Vec<Item>,
    /// Why it stopped, and warnings about the target.
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub version: String,
    pub name: String,
    pub file: PathBuf,
    pub status: ItemStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_time_ms: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<ExecNote>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Applied,
    /// Dry run: it ran and was rolled back.
    WouldApply,
    /// Recorded as applied without running (`--baseline`).
    Baselined,
    WouldBaseline,
    /// Rolled back and recorded as failed.
    Failed,
    /// Ran, then rolled back with the rest of a `--single-transaction`
    /// batch that failed later.
    RolledBack,
    /// After the failure: never started.
    NotRun,
}

/// A finalized migration of the workspace.
struct Candidate {
    m: Migration,
    version: String,
    number: u32,
    title: String,
    checksum: String,
    /// Its header says it was rolled back: current_schema no longer has it.
    rolled_back: bool,
}

impl Candidate {
    /// The tracking table holds the number as written (`05`); accept `5`
    /// too, so a history renumbered with padding still matches.
    fn is(&self, version: &str) -> bool {
        version == self.version || version.parse::<u32>().ok() == Some(self.number)
    }

    fn item(&self, status: ItemStatus) -> Item {
        Item {
            version: self.version.clone(),
            name: self.title.clone(),
            file: self.m.entry.display.clone(),
            status,
            execution_time_ms: None,
            notes: Vec::new(),
        }
    }
}

pub fn run(
    ws: &Workspace,
    opts: &ApplyOpts,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitStatus> {
    let url = db::resolve_url(opts.database_url.as_deref(), &ws.config).ok_or_else(|| {
        Error::usage("apply needs a target database").help(
            "pass --database-url URL, or set DATABASE_URL or [database] url in touchpoint.toml",
        )
    })?;
    let (cands, others) = load(ws)?;
    let mut report = Report {
        target: db::redact(&url),
        dry_run: opts.dry_run,
        single_transaction: opts.single_transaction,
        batch: None,
        migrations: Vec::new(),
        diagnostics: Vec::new(),
    };
    let mut client = db::connect(&url)?;
    let tracker = Tracker::from_config(&ws.config.database);
    let wait = Duration::from_secs(ws.config.database.advisory_lock_wait_seconds);
    let _ = writeln!(
        err,
        "{} {}",
        if opts.baseline.is_some() {
            "baselining"
        } else if opts.dry_run {
            "dry run of apply on"
        } else {
            "applying to"
        },
        report.target
    );
    let status = tracker.with_advisory_lock(&mut client, wait, |c| {
        work(ws, opts, &tracker, c, &cands, &others, &mut report, err)
    })?;
    let _ = write!(out, "{}", render(&report, opts.format));
    Ok(status)
}

/// (version, file) of a migration that is not finalized.
type Unfinalized = (String, PathBuf);

/// Every finalized migration, and the version of every other file (drafts,
/// approved ones), for the warnings about what the target has.
fn load(ws: &Workspace) -> Result<(Vec<Candidate>, Vec<Unfinalized>)> {
    let mut cands: Vec<Candidate> = Vec::new();
    let mut others = Vec::new();
    for entry in history::list(ws)? {
        let m = match Migration::load(ws, &entry.path) {
            Ok(m) => m,
            Err(e) => {
                // A draft that does not parse yet is none of apply's
                // business; a finalized one that does not is.
                let text = std::fs::read_to_string(&entry.path).unwrap_or_default();
                if header::parse(&text).map(|h| h.state()) == Some(State::Finalized) {
                    return Err(e);
                }
                others.push((entry.version(), entry.display.clone()));
                continue;
            }
        };
        if m.state() != State::Finalized {
            others.push((entry.version(), entry.display.clone()));
            continue;
        }
        let Some(number) = entry.number else {
            return Err(Error::new(
                "unnumbered-migration",
                "a finalized migration has no sequence number: apply cannot place it in order",
            )
            .file(&entry.display)
            .help("name it YYYY-MM-DD_NN_slug.sql with the number it was finalized under"));
        };
        if let Some(first) = cands.iter().find(|c| c.number == number) {
            return Err(Error::new(
                "duplicate-number",
                format!(
                    "finalized migrations {} and {} share the number {}: apply cannot tell which one a database has",
                    first.m.entry.display.display(),
                    entry.display.display(),
                    entry.version()
                ),
            )
            .file(&entry.display)
            .help("give each migration its own number (`touchpoint check` reports this too)"));
        }
        cands.push(Candidate {
            version: entry.version(),
            number,
            title: m.title(),
            checksum: m.checksum(),
            rolled_back: is_rolled_back(&m),
            m,
        });
    }
    cands.sort_by_key(|c| c.number);
    Ok((cands, others))
}

#[allow(clippy::too_many_arguments)]
fn work(
    ws: &Workspace,
    opts: &ApplyOpts,
    tracker: &Tracker,
    c: &mut Client,
    cands: &[Candidate],
    others: &[Unfinalized],
    report: &mut Report,
    err: &mut dyn Write,
) -> Result<ExitStatus> {
    let applied = tracker.applied(c)?;
    if !verify(ws, cands, others, &applied, report) {
        let _ = writeln!(err, "stopped before running anything");
        return Ok(ExitStatus::Error);
    }
    let is_applied = |cand: &Candidate| applied.iter().any(|r| cand.is(&r.version));
    if let Some(upto) = opts.baseline {
        let todo: Vec<&Candidate> = cands
            .iter()
            .filter(|x| x.number <= upto && !x.rolled_back && !is_applied(x))
            .collect();
        return baseline(opts, tracker, c, &todo, report, err);
    }
    let pending: Vec<&Candidate> = cands
        .iter()
        .filter(|x| !x.rolled_back && !is_applied(x))
        .filter(|x| opts.to.is_none_or(|to| x.number <= to))
        .collect();
    // A migration below one the target has was written for a schema the
    // target has moved past: running it silently could do harm.
    let highest = cands
        .iter()
        .filter(|x| is_applied(x))
        .map(|x| (x.number, x.version.clone()))
        .max();
    if let (Some((hn, hv)), false) = (&highest, opts.allow_out_of_order) {
        let late: Vec<&&Candidate> = pending.iter().filter(|x| x.number < *hn).collect();
        if !late.is_empty() {
            for x in late {
                report.diagnostics.push(
                    Diagnostic::error(
                        "out-of-order",
                        format!("migration {} is pending, but the later migration {hv} is already applied on the target", x.version),
                    )
                    .file(&x.m.entry.display)
                    .help("pass --allow-out-of-order if it does not depend on the later ones; if it was applied by hand, record it with --baseline"),
                );
            }
            let _ = writeln!(err, "stopped before running anything");
            return Ok(ExitStatus::Error);
        }
    }
    if pending.is_empty() {
        let _ = writeln!(
            err,
            "nothing to apply: the target has every finalized migration{}",
            opts.to.map(|t| format!(" up to {t}")).unwrap_or_default()
        );
        return Ok(ExitStatus::Success);
    }
    // Statements are read before anything runs: a psql meta-command in
    // the fourth migration must not stop the batch after the third.
    let mut statements = Vec::new();
    for x in &pending {
        statements.push(tracking::statements_from(&x.m.sql)?);
    }
    let batch = tracker.next_batch(c)?;
    report.batch = Some(batch);
    let by = applied_by_static();
    let ms: Vec<tracking::Migration> = pending
        .iter()
        .zip(&statements)
        .map(|(x, s)| tracking::Migration {
            file: &x.m.entry.display,
            version: &x.version,
            name: &x.title,
            checksum: &x.checksum,
            statements: s,
            applied_by: by,
            batch: Some(batch),
        })
        .collect();
    let total = ms.len();
    let exec_opts = tracking::ExecOptions::from_config(&ws.config.database, opts.dry_run);
    let mut progress = |i: usize, r: &std::result::Result<ExecOutcome, ExecFailure>| {
        let x = pending[i];
        let what = match r {
            Ok(ExecOutcome::Applied(ex)) if ex.dry_run => {
                format!("ok, rolled back ({} ms)", ex.execution_time_ms)
            }
            Ok(ExecOutcome::Applied(ex)) => format!("applied ({} ms)", ex.execution_time_ms),
            Ok(ExecOutcome::AlreadyApplied(_)) => "already applied".to_string(),
            Err(_) => "FAILED".to_string(),
        };
        let _ = writeln!(
            err,
            "[{}/{total}] {} {}: {what}",
            i + 1,
            x.version,
            x.m.entry.display.display()
        );
        if let Ok(ExecOutcome::Applied(ex)) = r {
            for n in &ex.notes {
                let _ = writeln!(err, "      note: line {}: {}", n.line, n.message);
            }
        }
    };
    let result = tracker.execute_batch(c, &ms, &exec_opts, opts.single_transaction, &mut progress);
    for (i, x) in pending.iter().enumerate() {
        let mut item = x.item(ItemStatus::NotRun);
        if let Some(o) = result.done.get(i) {
            item.status = if opts.dry_run {
                ItemStatus::WouldApply
            } else if result.rolled_back {
                ItemStatus::RolledBack
            } else {
                ItemStatus::Applied
            };
            if let ExecOutcome::Applied(ex) = o {
                item.execution_time_ms = Some(ex.execution_time_ms);
                item.notes = ex.notes.clone();
            }
        } else if result.failure.as_ref().is_some_and(|(f, _)| *f == i) {
            item.status = ItemStatus::Failed;
        }
        report.migrations.push(item);
    }
    match result.failure {
        None => Ok(ExitStatus::Success),
        Some((i, f)) => {
            let recorded = matches!(&f, ExecFailure::Statement(s) if s.recorded);
            let e: Error = f.into();
            report.diagnostics.push(e.diagnostic().clone());
            if !recorded && !opts.dry_run {
                report.diagnostics.push(
                    Diagnostic::warning(
                        "not-recorded",
                        format!(
                            "the failure of {} could not be written to the tracking table",
                            pending[i].version
                        ),
                    )
                    .help("check the connection; `touchpoint status` will not show this attempt"),
                );
            }
            Ok(ExitStatus::Error)
        }
    }
}

/// Compare what the target has with the files. False when a divergent
/// migration must stop everything; warnings for the rest.
fn verify(
    ws: &Workspace,
    cands: &[Candidate],
    others: &[Unfinalized],
    applied: &[TrackingRow],
    report: &mut Report,
) -> bool {
    let mut ok = true;
    for row in applied {
        if let Some(x) = cands.iter().find(|x| x.is(&row.version)) {
            if row.checksum != x.checksum {
                let f = ExecFailure::Divergent {
                    file: x.m.entry.display.clone(),
                    checksum: x.checksum.clone(),
                    recorded: Box::new(row.clone()),
                };
                report.diagnostics.push(Error::from(f).diagnostic().clone());
                ok = false;
            } else if x.rolled_back {
                report.diagnostics.push(
                    Diagnostic::warning(
                        "rolled-back-but-applied",
                        format!("migration {} is rolled back in the workspace but still applied on the target", x.version),
                    )
                    .file(&x.m.entry.display)
                    .help(format!(
                        "roll it back there too: `touchpoint rollback {} --database-url URL --no-patch`",
                        x.m.entry.display.display()
                    )),
                );
            }
            continue;
        }
        let (msg, file) = match others.iter().find(|(v, _)| *v == row.version) {
            Some((_, p)) => (
                format!(
                    "migration {} is applied on the target but is not finalized in the workspace",
                    row.version
                ),
                Some(p.clone()),
            ),
            None => (
                format!(
                    "migration {} ({}) is applied on the target but is not in {}",
                    row.version,
                    row.name,
                    ws.display(&ws.history_dir()).display()
                ),
                None,
            ),
        };
        let mut d = Diagnostic::warning("unknown-applied", msg)
            .help("find out where it came from; apply leaves it alone");
        if let Some(p) = file {
            d = d.file(p);
        }
        report.diagnostics.push(d);
    }
    ok
}

/// `--baseline NN`: one row per migration, `baseline = true`, nothing run,
/// all rows in one transaction.
fn baseline(
    opts: &ApplyOpts,
    tracker: &Tracker,
    c: &mut Client,
    todo: &[&Candidate],
    report: &mut Report,
    err: &mut dyn Write,
) -> Result<ExitStatus> {
    if todo.is_empty() {
        let _ = writeln!(
            err,
            "nothing to baseline: the target has every finalized migration up to {}",
            opts.baseline.unwrap_or(0)
        );
        return Ok(ExitStatus::Success);
    }
    let status = if opts.dry_run {
        ItemStatus::WouldBaseline
    } else {
        ItemStatus::Baselined
    };
    if !opts.dry_run {
        tracker.ensure(c)?;
        let batch = tracker.next_batch(c)?;
        report.batch = Some(batch);
        let mut tx = c.transaction().map_err(|e| {
            Error::new(
                "database",
                format!(
                    "starting the baseline's transaction: {}",
                    db::error_text(&e)
                ),
            )
        })?;
        for x in todo {
            tracker.record(
                &mut tx,
                &tracking::Record {
                    version: x.version.clone(),
                    name: x.title.clone(),
                    checksum: x.checksum.clone(),
                    execution_time_ms: None,
                    applied_by: Some(applied_by_static().to_string()),
                    success: true,
                    error: None,
                    batch: Some(batch),
                    baseline: true,
                },
            )?;
        }
        tx.commit().map_err(|e| {
            Error::new(
                "database",
                format!("committing the baseline: {}", db::error_text(&e)),
            )
        })?;
    }
    for (i, x) in todo.iter().enumerate() {
        let _ = writeln!(
            err,
            "[{}/{}] {} {}: {}",
            i + 1,
            todo.len(),
            x.version,
            x.m.entry.display.display(),
            if opts.dry_run {
                "would be recorded as applied (baseline, not run)"
            } else {
                "recorded as applied (baseline, not run)"
            }
        );
        report.migrations.push(x.item(status));
    }
    Ok(ExitStatus::Success)
}

/// The report on stdout: JSON, or a few lines for people (the progress
/// went to stderr as it happened).
pub fn render(r: &Report, format: Format) -> String {
    if format == Format::Json {
        let mut s = serde_json::to_string_pretty(r).unwrap_or_default();
        s.push('\n');
        return s;
    }
    let mut out = String::new();
    if !r.diagnostics.is_empty() {
        out.push_str(&report::render(&r.diagnostics, format));
    }
    if format == Format::Github {
        return out;
    }
    let count = |s: ItemStatus| r.migrations.iter().filter(|m| m.status == s).count();
    let plural = |n: usize| format!("{n} migration{}", if n == 1 { "" } else { "s" });
    let list = |s: ItemStatus| {
        r.migrations
            .iter()
            .filter(|m| m.status == s)
            .map(|m| m.version.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let batch = r.batch.map(|b| format!(" (batch {b})")).unwrap_or_default();
    let line = if r.migrations.is_empty() {
        if r.diagnostics
            .iter()
            .any(|d| d.severity == report::Severity::Error)
        {
            format!("nothing was run on {}", r.target)
        } else {
            format!("{} is up to date: nothing to apply", r.target)
        }
    } else if count(ItemStatus::Failed) > 0 {
        let mut parts = Vec::new();
        if count(ItemStatus::Applied) > 0 {
            parts.push(format!(
                "applied and recorded: {}",
                list(ItemStatus::Applied)
            ));
        }
        if count(ItemStatus::RolledBack) > 0 {
            parts.push(format!(
                "rolled back with the single transaction: {}",
                list(ItemStatus::RolledBack)
            ));
        }
        if count(ItemStatus::WouldApply) > 0 {
            parts.push(format!(
                "ran in the dry run: {}",
                list(ItemStatus::WouldApply)
            ));
        }
        parts.push(format!("failed: {}", list(ItemStatus::Failed)));
        if count(ItemStatus::NotRun) > 0 {
            parts.push(format!("not run: {}", list(ItemStatus::NotRun)));
        }
        format!("apply stopped on {}{batch}; {}", r.target, parts.join("; "))
    } else if count(ItemStatus::WouldApply) > 0 {
        format!(
            "dry run: {} would be applied to {} ({}); nothing was changed",
            plural(count(ItemStatus::WouldApply)),
            r.target,
            list(ItemStatus::WouldApply)
        )
    } else if count(ItemStatus::WouldBaseline) > 0 {
        format!(
            "dry run: {} would be recorded as applied on {} without running ({}); nothing was changed",
            plural(count(ItemStatus::WouldBaseline)),
            r.target,
            list(ItemStatus::WouldBaseline)
        )
    } else if count(ItemStatus::Baselined) > 0 {
        format!(
            "baselined {} on {}{batch} ({}): recorded as applied, not run",
            plural(count(ItemStatus::Baselined)),
            r.target,
            list(ItemStatus::Baselined)
        )
    } else {
        format!(
            "applied {} to {}{batch} ({})",
            plural(count(ItemStatus::Applied)),
            r.target,
            list(ItemStatus::Applied)
        )
    };
    out.push_str(&line);
    out.push('\n');
    out
}
