//! `touchpoint finalize FILE`: touchpoint 2. Execute a reviewed migration,
//! patch `current_schema` in place, prove that the patched files describe
//! exactly the database the migration produced, regenerate the bridge docs
//! of the affected tables, tick the header: all or nothing.
//!
//! Order of work, so that nothing is written before everything is known:
//! plan the patch in memory; on a throwaway database replay the old files,
//! run the migration, replay the patched files in a second database and
//! compare the catalogs; plan the docs, the header and the sum file; stage
//! all of it in the journal; commit the migration on the target; write the
//! files; remove the journal.

use crate::analysis;
use crate::bridge;
use crate::commands::ExitStatus;
use crate::db::{self, catalog, replay, tracking, Embedded};
use crate::error::{Error, Result};
use crate::header::{self, State};
use crate::history::{self, Migration, SumFile};
use crate::journal::{self, Journal, Phase, StagedFile};
use crate::patch;
use crate::report::{self, Diagnostic};
use crate::schema::Schema;
use crate::sql::SqlFile;
use crate::text;
use crate::workspace::Workspace;
use pg_query::NodeEnum;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct FinalizeOpts {
    pub file: PathBuf,
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Run the SQL in a transaction that is rolled back and print the diffs
    /// it would write.
    #[arg(long)]
    pub dry_run: bool,
    /// The migration was applied elsewhere: everything but the execution.
    #[arg(long, requires = "applied_via")]
    pub no_execute: bool,
    /// Where it was applied, for the header (with --no-execute).
    #[arg(long, value_name = "TEXT")]
    pub applied_via: Option<String>,
    /// A current_schema that does not replay is an error, not a warning.
    #[arg(long)]
    pub strict: bool,
    /// Execution date recorded in the header (YYYY-MM-DD), default today.
    #[arg(long)]
    pub date: Option<String>,
    /// Skip the no-drift proof on a throwaway database (prints a warning).
    #[arg(long, conflicts_with = "prove")]
    pub no_proof: bool,
    /// With --no-execute: run the no-drift proof too (off by default there).
    #[arg(long)]
    pub prove: bool,
}

/// Where the migration is committed.
enum Target {
    /// The throwaway database of the proof is the only execution.
    Embedded,
    Url(String),
    /// Applied elsewhere; the text says where.
    Elsewhere(String),
}

pub fn run(
    ws: &Workspace,
    opts: &FinalizeOpts,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitStatus> {
    let wait = Duration::from_secs(ws.config.database.advisory_lock_wait_seconds);
    let _lock = journal::lock(ws, wait)?;
    recover(ws, opts.database_url.as_deref(), err)?;

    let path = ws.resolve_user_path(&opts.file)?;
    let m = Migration::load(ws, &path)?;
    let display = m.entry.display.clone();
    if m.state() == State::Finalized {
        let _ = writeln!(
            out,
            "{} is already finalized: nothing to do",
            display.display()
        );
        return Ok(ExitStatus::Success);
    }
    // The history's order (tracking versions, `apply` on other
    // environments, the sum file) needs the file in migration_history/
    // with a sequence number in its name.
    if !path.starts_with(ws.history_dir()) {
        return Err(Error::usage(format!(
            "{} is not under {}",
            display.display(),
            ws.config.paths.migration_history.display()
        ))
        .help("finalize works on migrations in the history folder; create one with touchpoint research"));
    }
    if m.entry.number.is_none() {
        return Err(Error::usage(format!(
            "{} has no sequence number in its name",
            display.display()
        ))
        .file(&display)
        .help("name it YYYY-MM-DD_NN_slug.sql (touchpoint research picks the next free NN)"));
    }
    if m.header.is_none() {
        return Err(Error::new("header", "the migration has no header comment block")
            .file(&display)
            .help("finalize records the change in the header: start from `touchpoint research SLUG --sql FILE`"));
    }
    if m.sql.statements.is_empty() {
        return Err(Error::new(
            "empty-migration",
            "the migration has no SQL statements: there is nothing to finalize",
        )
        .file(&display)
        .help("write the SQL below the header (then run touchpoint research --refresh and approve it again)"));
    }
    if let Some(d) = &opts.date {
        if chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
            return Err(Error::usage(format!("--date {d} is not a date"))
                .help("use YYYY-MM-DD, e.g. 2026-11-21"));
        }
    }
    let sum = m.checksum();
    let unwritten = m
        .header
        .as_ref()
        .map(header::unwritten_prose)
        .unwrap_or_default();
    if !unwritten.is_empty() {
        let d = Diagnostic::error(
            "header-placeholder",
            format!(
                "{} still hold(s) the template placeholder",
                unwritten.join(", ")
            ),
        )
        .file(&display)
        .help("a finalized migration is the record of the change: describe it first");
        let _ = write!(out, "{}", report::render_human(&[d]));
        return Ok(ExitStatus::Failure);
    }
    if let Some(failure) = review_gate(ws, &m, &sum) {
        let _ = write!(out, "{}", report::render_human(&[failure]));
        return Ok(ExitStatus::Failure);
    }
    let target = match (&opts.no_execute, &opts.applied_via) {
        (true, Some(via)) => Target::Elsewhere(via.clone()),
        (true, None) => {
            return Err(Error::usage("--no-execute needs --applied-via TEXT").help(
                "say where it was applied, e.g. --applied-via 'Supabase SQL editor (production)'",
            ))
        }
        _ => match db::resolve_url(opts.database_url.as_deref(), &ws.config) {
            Some(u) => Target::Url(u),
            None => Target::Embedded,
        },
    };
    // An unreachable target, a wrong password or a malformed URL is known
    // in a moment: say so before the proof, not after it.
    if let Target::Url(u) = &target {
        drop(db::connect(u)?);
    }
    let statements = tracking::statements_from(&m.sql)?;
    let version = m.entry.version();
    let title = m.title();

    // 1. The patch, in memory.
    let schema = Schema::load(ws)?;
    let note = ws
        .config
        .finalize
        .notes
        .then(|| format!("-- Migration {version}: {title}"));
    let patched = patch::patch(&schema, &m.sql, &patch::Options { note })?;
    let new_files = patched.after.clone();
    let new_schema = Schema::build(new_files.clone());

    // 2. The proof, on a throwaway database. Where it does not run, the
    // models of old files + migration and of the patched files are
    // compared instead; a difference there sends the question to the
    // database after all.
    let expected = std::cell::OnceCell::new();
    let expected = || expected.get_or_init(|| schema.with_file(Arc::new(m.sql.clone())));
    // The files whose objects can differ: the migration's (last in
    // `expected`) and the ones the patch edited.
    let touched: Vec<usize> = patched
        .files
        .iter()
        .map(|f| f.index)
        .chain([schema.files.len()])
        .collect();
    let model_drift = || patch::verify::model_drift(expected(), &new_schema, &touched);
    let on_database = |err: &mut dyn Write| {
        prove(
            ws,
            &schema.files,
            &new_files,
            &m,
            &statements,
            &sum,
            opts.strict,
            err,
        )
    };
    let proof = if opts.no_proof {
        Proof::Skipped("--no-proof was given".into())
    } else if !proof_wanted(ws, opts) {
        // What the model cannot settle goes to the database after all.
        let mut doubt = model_drift();
        if !patched.unmapped.is_empty() {
            doubt.push(format!(
                "{} statement(s) the patcher cannot map",
                patched.unmapped.len()
            ));
        }
        doubt.extend(patch::verify::beyond_the_model(&m.sql, expected()));
        if doubt.is_empty() {
            let _ = writeln!(
                err,
                "note: the migration ran elsewhere (--no-execute): the patched files were checked against the schema model, not on a throwaway database; add --prove (or set [finalize] prove_no_execute = true) for that proof"
            );
            Proof::NotWanted
        } else {
            let _ = writeln!(
                err,
                "the schema model alone cannot vouch for the patched files ({}); asking a throwaway database",
                doubt.join("; ")
            );
            on_database(err)?
        }
    } else {
        on_database(err)?
    };
    match &proof {
        Proof::Drift(diffs) => {
            let mut d: Vec<Diagnostic> = patched.unmapped.clone();
            for x in diffs {
                d.push(
                    Diagnostic::error("drift", format!("{x}"))
                        .file(&display)
                        .help("the patched current_schema differs here from the database the migration produced; edit current_schema by hand for this object, then finalize again"),
                );
            }
            let _ = write!(out, "{}", report::render_human(&d));
            let _ = writeln!(out, "finalize stopped before writing anything: current_schema would not match the migrated database");
            return Ok(ExitStatus::Failure);
        }
        Proof::Skipped(_) | Proof::NotWanted => {
            if let Proof::Skipped(why) = &proof {
                let _ = writeln!(err, "WARNING: no-drift proof skipped: {why}");
                for d in model_drift() {
                    let _ = writeln!(err, "WARNING: schema model: {d}");
                }
            }
            // Without the database's view of what changed, a statement the
            // patcher cannot map would leave current_schema behind.
            if !patched.unmapped.is_empty() {
                let _ = write!(out, "{}", report::render_human(&patched.unmapped));
                return Ok(ExitStatus::Failure);
            }
        }
        Proof::Passed => {}
    }

    // 3. Docs, header, sum file.
    let docs = bridge::discover(ws)?;
    let a = analysis::analyze(&schema, &m.sql, &docs, &|p| ws.display(p), 0);
    let mut tables: Vec<String> = a
        .affected_tables
        .iter()
        .filter(|t| new_schema.table(t).is_some())
        .map(|t| t.to_string())
        .collect();
    let edited: Vec<usize> = patched.files.iter().map(|f| f.index).collect();
    let mut moved = 0;
    for t in bridge::documented_in(&new_schema, &docs, &edited) {
        if !tables.contains(&t) {
            tables.push(t);
            moved += 1;
        }
    }
    let doc_changes = if tables.is_empty() {
        Vec::new()
    } else {
        bridge::plan(ws, &new_schema, &tables, &renames(&m.sql))?
    };
    let date = opts
        .date
        .clone()
        .unwrap_or_else(|| chrono::Local::now().date_naive().to_string());
    let mut schema_boxes: Vec<(String, Vec<String>)> = Vec::new();
    for c in &patched.changes {
        let p = c.path.display().to_string();
        match schema_boxes.iter_mut().find(|(x, _)| *x == p) {
            Some((_, notes)) => notes.push(format!("Line {}: {}", c.line, c.what)),
            None => schema_boxes.push((p, vec![format!("Line {}: {}", c.line, c.what)])),
        }
    }
    let doc_boxes = a
        .docs
        .iter()
        .map(|(p, exists)| {
            let reason = if *exists {
                String::new()
            } else {
                "no doc of this tier exists for the table".to_string()
            };
            (*exists, p.display().to_string(), reason)
        })
        .collect();
    let executed = match (&target, &proof) {
        // Nothing ran: say so, instead of claiming an execution.
        (Target::Embedded, Proof::Skipped(_)) => format!(
            "Not executed on {date}: touchpoint finalize patched the files from the SQL alone (the no-drift proof was skipped); run it with touchpoint apply"
        ),
        (Target::Embedded, _) => {
            format!("Applied to embedded throwaway database on {date} via touchpoint finalize")
        }
        (Target::Url(u), _) => format!(
            "Applied to {} on {date} via touchpoint finalize",
            db::redact(u)
        ),
        (Target::Elsewhere(via), _) => {
            format!("Applied to {via} on {date} (recorded by touchpoint finalize --no-execute)")
        }
    };
    let new_migration = header::tick(
        &m.sql.text,
        &header::Ticks {
            schema_files: schema_boxes,
            docs: doc_boxes,
            executed,
        },
    )
    .map_err(|e| e.file(&display))?;
    let sum_path = ws.history_dir().join(history::SUM_FILE);
    let old_sum = std::fs::read_to_string(&sum_path).ok();
    let mut sums = old_sum.as_deref().map(SumFile::parse).unwrap_or_default();
    sums.set(
        &history::sum_key(ws, &path),
        &history::file_hash(new_migration.as_bytes()),
    );

    let mut staged: Vec<StagedFile> = Vec::new();
    let mut stage = |rel: PathBuf, old: Option<&str>, new: String| {
        if old != Some(new.as_str()) {
            staged.push(StagedFile {
                path: rel,
                old_hash: old.map(|o| history::file_hash(o.as_bytes())),
                new,
            });
        }
    };
    for f in &patched.files {
        stage(f.path.clone(), Some(&f.old), f.new.clone());
    }
    for d in &doc_changes {
        stage(ws.display(&d.path), d.old.as_deref(), d.new.clone());
    }
    stage(display.clone(), Some(&m.sql.text), new_migration);
    stage(ws.display(&sum_path), old_sum.as_deref(), sums.render());

    if opts.dry_run {
        if let Target::Url(u) = &target {
            let _ = writeln!(
                err,
                "dry run of the migration on {} (rolled back)",
                db::redact(u)
            );
            let mut client = db::connect(u)?;
            let tm = tracking_migration(&display, &version, &title, &sum, &statements);
            tracking::Tracker::from_config(&ws.config.database)
                .dry_run(
                    &mut client,
                    &tm,
                    &tracking::ExecOptions::from_config(&ws.config.database, true),
                )
                .map_err(Error::from)?;
        }
        for f in &staged {
            let old = std::fs::read_to_string(ws.root.join(&f.path)).unwrap_or_default();
            let d = similar::TextDiff::from_lines(&old, &f.new);
            let name = f.path.display().to_string();
            let _ = write!(
                out,
                "{}",
                d.unified_diff()
                    .context_radius(2)
                    .header(&format!("a/{name}"), &format!("b/{name}"))
            );
        }
        print_reported(out, &patched);
        let _ = writeln!(out, "dry run: nothing was written");
        return Ok(ExitStatus::Success);
    }

    // 4. Stage, commit on the target, write.
    let mut j = Journal {
        migration: display.clone(),
        version: version.clone(),
        checksum: sum.clone(),
        target: match &target {
            Target::Url(u) => Some(db::redact(u)),
            _ => None,
        },
        phase: if matches!(target, Target::Url(_)) {
            Phase::Prepared
        } else {
            Phase::Committed
        },
        files: staged,
    };
    let untouched = |e: Error| {
        let d = e.diagnostic().clone();
        Error::from(Diagnostic {
            message: format!("{}; nothing was executed or changed", d.message),
            ..d
        })
    };
    journal::verify(ws, &j)?;
    journal::write(ws, &j).map_err(untouched)?;
    // Every new content goes to a temporary file beside its target before
    // the migration commits: a read-only folder or a full disk stops
    // finalize here, with the database and every file unchanged.
    let staged = match journal::stage_verified(ws, &j) {
        Ok(s) => s,
        Err(e) => {
            journal::remove(ws)?;
            return Err(untouched(e));
        }
    };
    if let Target::Url(u) = &target {
        let _ = writeln!(err, "executing the migration on {}", db::redact(u));
        let result = execute_on(ws, u, &display, &version, &title, &sum, &statements);
        match result {
            Ok(msg) => {
                let _ = writeln!(err, "{msg}");
            }
            Err(e) => {
                drop(staged);
                journal::remove(ws)?;
                return Err(e);
            }
        }
        j.phase = Phase::Committed;
        journal::write(ws, &j)?;
    }
    staged.commit()?;
    journal::remove(ws)?;

    for f in &j.files {
        let _ = writeln!(out, "wrote {}", f.path.display());
    }
    print_reported(out, &patched);
    // Doc files are named after their table; finalize writes files but does
    // not move or delete them, so a renamed table's docs are the user's to
    // move (check names them until then).
    for (old, new) in table_renames(&m.sql) {
        let docs = bridge::docs_for(&docs, &old.name);
        if !docs.is_empty() {
            let _ = writeln!(
                out,
                "note: table {old} is now {new}: its {} bridge doc(s) keep the old file name; rename each to {}.md/.json (git mv) and run touchpoint bridge {new}",
                docs.len(),
                new
            );
        }
    }
    if moved > 0 {
        let _ = writeln!(
            out,
            "note: the docs of {moved} other documented table(s) in the edited files were checked, and refreshed where their line numbers moved"
        );
    }
    let _ = writeln!(out, "finalized {}", display.display());
    Ok(ExitStatus::Success)
}

fn print_reported(out: &mut dyn Write, patched: &patch::Outcome) {
    for r in &patched.reported {
        let _ = writeln!(out, "note: {r}");
    }
}

/// `None` when the migration may be finalized; else why not.
fn review_gate(ws: &Workspace, m: &Migration, sum: &str) -> Option<Diagnostic> {
    if !ws.config.review.required {
        return None;
    }
    let d = |msg: &str, help: &str| {
        Some(
            Diagnostic::error("review", msg)
                .file(&m.entry.display)
                .help(help),
        )
    };
    match m.header.as_ref().and_then(|h| h.review()) {
        None => d(
            "the migration has not been approved",
            "run `touchpoint approve FILE --by NAME` after review (or set [review] required = false)",
        ),
        Some(r) if r.checksum.as_deref() != Some(sum) => d(
            &format!("the SQL changed after it was approved by {} on {}", r.by, r.date),
            "have the change reviewed and run `touchpoint approve` again",
        ),
        Some(_) => None,
    }
}

enum Proof {
    Passed,
    Drift(Vec<catalog::CatalogDiff>),
    Skipped(String),
    /// `--no-execute` without `--prove`.
    NotWanted,
}

/// Whether the no-drift proof runs. With `--no-execute` the migration ran
/// elsewhere: there is no local database it produced, and recording it is
/// a file operation the user expects to be instant, so the proof (two
/// replays of the whole schema on a throwaway cluster) is opt-in there.
fn proof_wanted(ws: &Workspace, opts: &FinalizeOpts) -> bool {
    !opts.no_execute || opts.prove || ws.config.finalize.prove_no_execute
}

/// Old files + migration versus patched files, on a throwaway cluster.
#[allow(clippy::too_many_arguments)]
fn prove(
    ws: &Workspace,
    old: &[Arc<SqlFile>],
    new: &[Arc<SqlFile>],
    m: &Migration,
    statements: &[tracking::MigrationStatement],
    sum: &str,
    strict: bool,
    err: &mut dyn Write,
) -> Result<Proof> {
    let _ = writeln!(err, "starting the embedded database");
    let emb = match Embedded::start() {
        Ok(e) => e,
        Err(e) if !strict => return Ok(Proof::Skipped(format!("no throwaway database: {e}"))),
        Err(e) => return Err(e),
    };
    let prelude = &ws.config.database.prelude;
    emb.create_database("tp_before", None)?;
    emb.create_database("tp_after", None)?;
    let version = m.entry.version();
    let title = m.title();
    let _ = writeln!(
        err,
        "replaying current_schema ({} files) and running the migration; replaying the patched files alongside",
        old.len()
    );
    // The two replays are independent: run them on two connections at
    // once (the server works on both in parallel).
    let (before, after) = std::thread::scope(|scope| {
        let before = scope.spawn(|| -> Result<Result<postgres::Client, Proof>> {
            let mut c = emb.connect("tp_before")?;
            replay::apply_prelude(&mut c, prelude)?;
            if let Err(f) = replay::replay(&mut c, old) {
                let e: Error = f.into();
                if strict {
                    return Err(e);
                }
                return Ok(Err(Proof::Skipped(format!(
                    "current_schema does not replay on an empty database: {e}; the migration was not tried against it"
                ))));
            }
            let tm = tracking_migration(&m.entry.display, &version, &title, sum, statements);
            tracking::Tracker::from_config(&ws.config.database)
                .execute_migration(&mut c, &tm, &tracking::ExecOptions::from_config(&ws.config.database, false))
                .map_err(|f| {
                    let e: Error = f.into();
                    let d = e.diagnostic().clone();
                    Error::from(Diagnostic {
                        message: format!("the migration fails on the schema it was written for: {}", d.message),
                        ..d
                    })
                })?;
            Ok(Ok(c))
        });
        let after = scope.spawn(|| -> Result<postgres::Client> {
            let mut c = emb.connect("tp_after")?;
            replay::apply_prelude(&mut c, prelude)?;
            replay::replay(&mut c, new).map_err(|f| {
                let e: Error = f.into();
                let d = e.diagnostic().clone();
                Error::from(Diagnostic {
                    message: format!("the patched current_schema does not replay: {}", d.message),
                    help: Some(
                        "touchpoint placed an object before something it needs; move it by hand in current_schema and finalize again"
                            .into(),
                    ),
                    ..d
                })
            })?;
            Ok(c)
        });
        let panicked = || Error::new("internal", "a replay thread panicked");
        (
            before.join().unwrap_or_else(|_| Err(panicked())),
            after.join().unwrap_or_else(|_| Err(panicked())),
        )
    });
    let mut before = match before? {
        Ok(c) => c,
        Err(skipped) => return Ok(skipped),
    };
    let mut after = after?;
    let _ = writeln!(err, "comparing catalogs");
    let diffs = catalog::drift(&mut before, &mut after, &ws.config.database.tracking_schema)?;
    Ok(if diffs.is_empty() {
        Proof::Passed
    } else {
        Proof::Drift(diffs)
    })
}

fn tracking_migration<'a>(
    file: &'a std::path::Path,
    version: &'a str,
    name: &'a str,
    checksum: &'a str,
    statements: &'a [tracking::MigrationStatement],
) -> tracking::Migration<'a> {
    tracking::Migration {
        file,
        version,
        name,
        checksum,
        statements,
        applied_by: applied_by_static(),
        batch: None,
    }
}

/// `user@host`, computed once.
pub(crate) fn applied_by_static() -> &'static str {
    static BY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BY.get_or_init(|| {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".into());
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into());
        format!("{user}@{host}")
    })
}

fn execute_on(
    ws: &Workspace,
    url: &str,
    display: &std::path::Path,
    version: &str,
    title: &str,
    sum: &str,
    statements: &[tracking::MigrationStatement],
) -> Result<String> {
    let mut client = db::connect(url)?;
    let tracker = tracking::Tracker::from_config(&ws.config.database);
    let tm = tracking_migration(display, version, title, sum, statements);
    let opts = tracking::ExecOptions::from_config(&ws.config.database, false);
    let wait = Duration::from_secs(ws.config.database.advisory_lock_wait_seconds);
    let outcome = tracker.with_advisory_lock(&mut client, wait, |c| {
        tracker
            .execute_migration(c, &tm, &opts)
            .map_err(Error::from)
    })?;
    Ok(match outcome {
        tracking::ExecOutcome::Applied(e) => format!(
            "applied in {} ms ({} statements)",
            e.execution_time_ms, e.statements
        ),
        tracking::ExecOutcome::AlreadyApplied(row) => format!(
            "already applied on {} (same checksum): files only",
            row.applied_at.date_naive()
        ),
    })
}

/// Renamed tables: (old, new).
fn table_renames(m: &SqlFile) -> Vec<(crate::ast::QualName, String)> {
    m.statements
        .iter()
        .filter_map(|s| match &s.node {
            NodeEnum::RenameStmt(r)
                if pg_query::protobuf::ObjectType::try_from(r.rename_type)
                    == Ok(pg_query::protobuf::ObjectType::ObjectTable) =>
            {
                Some((crate::ast::range_var(&r.relation), r.newname.clone()))
            }
            _ => None,
        })
        .collect()
}

/// Renamed columns, so the docs keep their prose under the new name.
pub(crate) fn renames(m: &SqlFile) -> Vec<(String, String, String)> {
    m.statements
        .iter()
        .filter_map(|s| match &s.node {
            NodeEnum::RenameStmt(r)
                if pg_query::protobuf::ObjectType::try_from(r.rename_type)
                    == Ok(pg_query::protobuf::ObjectType::ObjectColumn) =>
            {
                Some((
                    crate::ast::range_var(&r.relation).to_string(),
                    r.subname.clone(),
                    r.newname.clone(),
                ))
            }
            _ => None,
        })
        .collect()
}

/// Finish what an interrupted finalize left in the journal. `url` is the
/// `--database-url` of the run that recovers: the journal only holds the
/// redacted URL, so the live one comes from the command line, the
/// environment or the configuration.
pub fn recover(ws: &Workspace, url: Option<&str>, err: &mut dyn Write) -> Result<()> {
    // Temporary files of a write that was killed halfway.
    text::sweep_stale_temp_files(&ws.root.join(".touchpoint"));
    let Some(j) = journal::read(ws)? else {
        return Ok(());
    };
    journal::sweep_temp_files(ws, &j);
    let forward = match (j.phase, &j.target) {
        (Phase::Committed, _) => true,
        (Phase::Prepared, None) => false,
        (Phase::Prepared, Some(_)) => {
            match db::resolve_url(url, &ws.config) {
                // Asking another database whether it has the migration
                // would answer the wrong question.
                Some(u) if j.target.as_deref() != Some(db::redact(&u).as_str()) => {
                    return Err(Error::new(
                        "journal",
                        format!(
                            "an interrupted finalize ran against {}, not {}",
                            j.target.as_deref().unwrap_or("?"),
                            db::redact(&u)
                        ),
                    )
                    .file(ws.display(&journal::path(ws)))
                    .help("pass that database's --database-url so that touchpoint can tell whether the migration committed there"))
                }
                Some(u) => {
                    let mut c = db::connect(&u)?;
                    let t = tracking::Tracker::from_config(&ws.config.database);
                    t.exists(&mut c)?
                        && t.lookup(&mut c, &j.version)?
                            .is_some_and(|r| r.checksum == j.checksum && r.success)
                }
                None => return Err(Error::new(
                    "journal",
                    "an interrupted finalize waits for its database to tell whether it committed",
                )
                .file(ws.display(&journal::path(ws)))
                .help("pass --database-url (or set DATABASE_URL) to the database it ran against and run finalize again")),
            }
        }
    };
    if forward {
        let _ = writeln!(
            err,
            "completing the interrupted finalize of {}",
            j.migration.display()
        );
        journal::apply(ws, &j)?;
    } else {
        let _ = writeln!(
            err,
            "discarding the interrupted finalize of {} (its migration never committed)",
            j.migration.display()
        );
    }
    journal::remove(ws)
}
