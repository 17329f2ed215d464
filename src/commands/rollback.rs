//! `touchpoint rollback FILE`: run a finalized migration's rollback script
//! on a database, mark its tracking row reverted, and take
//! `current_schema` and the bridge docs back through the same patcher and
//! doc sync that finalize uses, with a `ROLLED BACK` note in the header.
//!
//! The rollback script is the `/* */` block after the `-- ROLLBACK SCRIPT`
//! banner. It is read as if it were a migration: the patcher applies it to
//! `current_schema`, and a throwaway database proves that the patched
//! files describe exactly what the old files plus the script produce.
//! Order of work mirrors finalize: plan everything in memory, prove, ask,
//! stage the files in the journal, commit on the target, write the files.

use crate::analysis;
use crate::bridge;
use crate::commands::finalize::{self, applied_by_static};
use crate::commands::ExitStatus;
use crate::db::{self, catalog, replay, tracking, Embedded};
use crate::error::{Error, Result};
use crate::header::{self, State};
use crate::history::{self, Migration, SumFile};
use crate::journal::{self, Journal, Phase, StagedFile};
use crate::patch;
use crate::report::{self, Diagnostic};
use crate::schema::Schema;
use crate::sql::{self, SqlFile};
use crate::workspace::Workspace;
use regex::Regex;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

/// The header section a rollback adds. A migration that has it is no
/// longer part of `current_schema`: `apply` skips it and `check` can tell
/// why its changes are missing.
pub const ROLLED_BACK_SECTION: &str = "ROLLED BACK";

#[derive(Debug, Clone, Default, clap::Args)]
pub struct RollbackOpts {
    pub file: PathBuf,
    /// The database to roll back (or DATABASE_URL, or [database] url);
    /// without one, the script is tried on a throwaway database and
    /// only the files change.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Leave current_schema, the docs and the header alone.
    #[arg(long)]
    pub no_patch: bool,
    /// Run the script in a transaction that is rolled back and print
    /// the file changes; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Date recorded in the header (YYYY-MM-DD), default today.
    #[arg(long)]
    pub date: Option<String>,
}

/// True when the migration's header records a rollback.
pub fn is_rolled_back(m: &Migration) -> bool {
    m.header
        .as_ref()
        .is_some_and(|h| h.section(ROLLED_BACK_SECTION).is_some())
}

static BANNER_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^--\s*rollback(\s+script)?\s*:?\s*$").unwrap());

/// The rollback script of a migration, parsed as a SQL file whose line
/// numbers are those of the migration file (everything outside the block
/// is blanked, newlines kept), so that errors point into the migration.
/// `Ok(None)`: there is no rollback block, or it holds no statement.
pub fn rollback_script(m: &Migration) -> Result<Option<SqlFile>> {
    let text = &m.sql.text;
    let header_end = m.header.as_ref().map_or(0, |h| h.end_line);
    let mut offset = 0;
    let mut banner_end = None;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        offset += line.len();
        if i + 1 > header_end && BANNER_RE.is_match(line.trim()) {
            banner_end = Some(offset);
        }
    }
    let Some(from) = banner_end else {
        return Ok(None);
    };
    let Some(block) = m
        .sql
        .comments
        .iter()
        .find(|c| c.start >= from && text[c.start..].starts_with("/*"))
    else {
        return Ok(None);
    };
    let (start, end) = (
        block.start + 2,
        block.end.saturating_sub(2).max(block.start + 2),
    );
    let masked: String = text
        .char_indices()
        .map(|(i, c)| {
            if (start..end).contains(&i) || c == '\n' {
                c
            } else {
                ' '
            }
        })
        .collect();
    let script = sql::parse(&m.entry.display, masked)?;
    if script.statements.is_empty() {
        return Ok(None);
    }
    Ok(Some(script))
}

/// A generated skeleton still carrying a step that research could not
/// invert: the line and its text.
fn hand_step(script: &SqlFile) -> Option<(usize, String)> {
    if !script.text.contains(header::GENERATED_MARKER) {
        return None;
    }
    script.comments.iter().find_map(|c| {
        let t = c.text(&script.text);
        (t.starts_with("--") && t.contains("by hand"))
            .then(|| (script.line(c.start), t.trim().to_string()))
    })
}

/// Where the script runs.
enum Target {
    /// Only the throwaway database of the proof: files change, no real
    /// database does.
    Embedded,
    Url(String),
}

enum Proof {
    Passed,
    Drift(Vec<catalog::CatalogDiff>),
    Skipped(String),
}

pub fn run(
    ws: &Workspace,
    opts: &RollbackOpts,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitStatus> {
    // Refuse before any slow work: a prompt nobody can answer would hang.
    if !opts.yes && !opts.dry_run && !std::io::stdin().is_terminal() {
        return Err(Error::usage(
            "rollback asks for confirmation, and standard input is not a terminal",
        )
        .help("pass --yes to confirm without a prompt (or --dry-run to see what it would do)"));
    }
    let wait = Duration::from_secs(ws.config.database.advisory_lock_wait_seconds);
    let _lock = journal::lock(ws, wait)?;
    finalize::recover(ws, opts.database_url.as_deref(), err)?;

    let path = ws.resolve_user_path(&opts.file)?;
    let m = Migration::load(ws, &path)?;
    let display = m.entry.display.clone();
    if m.state() != State::Finalized {
        return Err(Error::new(
            "not-finalized",
            format!(
                "{} is {}: only a finalized migration can be rolled back",
                display.display(),
                m.state().as_str()
            ),
        )
        .file(&display)
        .help("a migration that was never finalized never ran: edit or delete the file instead"));
    }
    let Some(script) = rollback_script(&m)? else {
        return Err(Error::new(
            "no-rollback-script",
            "the migration has no rollback script: nothing says how to undo it",
        )
        .file(&display)
        .help("write the inverse statements inside the /* */ block after the `-- ROLLBACK SCRIPT` banner at the end of the file, then run rollback again"));
    };
    if let Some((line, text)) = hand_step(&script) {
        return Err(Error::new(
            "rollback-incomplete",
            format!("the generated rollback script leaves a step to do by hand: {text}"),
        )
        .file(&display)
        .line(line)
        .help(format!(
            "write that step, delete the line `{}` from the block, then run rollback again",
            header::GENERATED_MARKER
        )));
    }
    let statements = tracking::statements_from(&script)?;
    let version = m.entry.version();
    let title = m.title();
    let sum = m.checksum();
    let target = match db::resolve_url(opts.database_url.as_deref(), &ws.config) {
        Some(u) => Target::Url(u),
        None => Target::Embedded,
    };
    let where_ = match &target {
        Target::Url(u) => db::redact(u),
        Target::Embedded => "embedded throwaway database".to_string(),
    };
    let patch_files = !opts.no_patch && !is_rolled_back(&m);
    if !opts.no_patch && !patch_files {
        let _ = writeln!(
            err,
            "{} is rolled back in the workspace already: files stay as they are",
            display.display()
        );
        if matches!(target, Target::Embedded) {
            let _ = writeln!(out, "nothing to do");
            return Ok(ExitStatus::Success);
        }
    }

    // Fail fast on a target that does not have the migration (or has
    // another version of it), before the proof and the prompt; the real
    // check runs again under the lock.
    if let Target::Url(u) = &target {
        precheck(ws, u, &m.entry.display, &version, &sum)?;
    }

    // 1. The patch, in memory: the script applied to current_schema as if
    // it were a migration, without notes, and the notes finalize left for
    // this migration removed (what they point at is gone or restored).
    let schema = Schema::load(ws)?;
    let mut staged: Vec<StagedFile> = Vec::new();
    let mut patched = patch::Outcome::default();
    let mut new_files: Vec<Arc<SqlFile>> = schema.files.clone();
    let mut doc_notes: Vec<String> = Vec::new();
    if patch_files {
        patched = patch::patch(&schema, &script, &patch::Options { note: None })?;
        let note = format!("-- Migration {version}: {title}");
        new_files = patched.after.clone();
        for (i, f) in schema.files.iter().enumerate() {
            let text = &new_files[i].text;
            if text.lines().any(|l| l.trim() == note) {
                let kept: String = text
                    .split_inclusive('\n')
                    .filter(|l| l.trim() != note)
                    .collect();
                new_files[i] = Arc::new(sql::parse(&f.path, kept)?);
            }
        }
    }

    // 2. The proof, on a throwaway database. Without files to patch it
    // still shows, for a local run, that the script runs at all.
    let run_proof = patch_files || matches!(target, Target::Embedded);
    if run_proof {
        let proof = prove(
            ws,
            &schema.files,
            patch_files.then_some(new_files.as_slice()),
            &script,
            err,
        )?;
        match proof {
            Proof::Drift(diffs) => {
                let mut d: Vec<Diagnostic> = patched.unmapped.clone();
                for x in diffs {
                    d.push(
                        Diagnostic::error("drift", format!("{x}"))
                            .file(&display)
                            .help("current_schema patched back by the rollback script differs here from the database the script produces; fix the script or edit current_schema by hand"),
                    );
                }
                let _ = write!(out, "{}", report::render_human(&d));
                let _ = writeln!(out, "rollback stopped before changing anything: current_schema would not match the rolled-back database");
                return Ok(ExitStatus::Failure);
            }
            Proof::Skipped(why) => {
                let _ = writeln!(err, "WARNING: no-drift proof skipped: {why}");
                if !patched.unmapped.is_empty() {
                    let _ = write!(out, "{}", report::render_human(&patched.unmapped));
                    return Ok(ExitStatus::Failure);
                }
            }
            Proof::Passed => {}
        }
    }

    if !patch_files && matches!(target, Target::Embedded) {
        let _ = writeln!(
            out,
            "the rollback script runs on a throwaway database built from current_schema; nothing was changed (no target database, and --no-patch)"
        );
        return Ok(ExitStatus::Success);
    }

    later_warning(ws, &m, &schema, &script, err)?;

    // 3. Docs, header, sum file.
    if patch_files {
        let new_schema = Schema::build(new_files.clone());
        let docs = bridge::discover(ws)?;
        let mut tables: Vec<String> = Vec::new();
        for file in [&m.sql, &script] {
            let a = analysis::analyze(&schema, file, &docs, &|p| ws.display(p), 0);
            for t in a.affected_tables {
                let name = t.to_string();
                if tables.contains(&name) {
                    continue;
                }
                if new_schema.table(&t).is_some() {
                    tables.push(name);
                } else if !bridge::docs_for(&docs, &name).is_empty() {
                    doc_notes.push(format!(
                        "{name} is gone from current_schema; its bridge docs were left in place: delete them by hand"
                    ));
                }
            }
        }
        let edited: Vec<usize> = (0..schema.files.len())
            .filter(|&i| new_files[i].text != schema.files[i].text)
            .collect();
        for t in bridge::documented_in(&new_schema, &docs, &edited) {
            if !tables.contains(&t) {
                tables.push(t);
            }
        }
        let doc_changes = if tables.is_empty() {
            Vec::new()
        } else {
            bridge::plan(ws, &new_schema, &tables, &finalize::renames(&script))?
        };
        let date = opts
            .date
            .clone()
            .unwrap_or_else(|| chrono::Local::now().date_naive().to_string());
        let mut body = vec![format!(
            "   Rolled back on {where_} on {date} by {} via touchpoint rollback",
            applied_by_static()
        )];
        for (i, f) in schema.files.iter().enumerate() {
            if new_files[i].text != f.text {
                body.push(format!("   {}", f.path.display()));
                for c in patched.changes.iter().filter(|c| c.path == f.path) {
                    body.push(format!("      - Line {}: {}", c.line, c.what));
                }
            }
        }
        for d in &doc_changes {
            body.push(format!(
                "   {} (regenerated)",
                ws.display(&d.path).display()
            ));
        }
        let new_migration = add_rolled_back_note(&m.sql.text, &body)?;
        let sum_path = ws.history_dir().join(history::SUM_FILE);
        let old_sum = std::fs::read_to_string(&sum_path).ok();
        let mut sums = old_sum.as_deref().map(SumFile::parse).unwrap_or_default();
        sums.set(
            &history::sum_key(ws, &path),
            &history::file_hash(new_migration.as_bytes()),
        );
        let mut stage = |rel: PathBuf, old: Option<&str>, new: String| {
            if old != Some(new.as_str()) {
                staged.push(StagedFile {
                    path: rel,
                    old_hash: old.map(|o| history::file_hash(o.as_bytes())),
                    new,
                });
            }
        };
        for (i, f) in schema.files.iter().enumerate() {
            stage(f.path.clone(), Some(&f.text), new_files[i].text.clone());
        }
        for d in &doc_changes {
            stage(ws.display(&d.path), d.old.as_deref(), d.new.clone());
        }
        stage(display.clone(), Some(&m.sql.text), new_migration);
        stage(ws.display(&sum_path), old_sum.as_deref(), sums.render());
    }

    let tm = tracking::Migration {
        file: &display,
        version: &version,
        name: &title,
        checksum: &sum,
        statements: &statements,
        // The tracking layer records this as reverted_by.
        applied_by: applied_by_static(),
        batch: None,
    };

    if opts.dry_run {
        if let Target::Url(u) = &target {
            let _ = writeln!(
                err,
                "dry run of the rollback script on {where_} (rolled back)"
            );
            execute_on(ws, u, &tm, true)?;
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
        print_notes(out, &patched, &doc_notes);
        let _ = writeln!(out, "dry run: nothing was written");
        return Ok(ExitStatus::Success);
    }

    if !opts.yes
        && !confirm(
            &m,
            &version,
            &title,
            &where_,
            &statements,
            staged.len(),
            err,
        )?
    {
        let _ = writeln!(out, "rollback cancelled: nothing was changed");
        return Ok(ExitStatus::Failure);
    }

    // 4. Stage, commit on the target, write. The journal names no target
    // while prepared: finalize's recovery reads a prepared journal with a
    // target as "roll forward once the migration is applied", the inverse
    // of a rollback. A prepared journal without one is discarded, and a
    // rollback that committed on the target is found again by the next
    // run (the row reads reverted), which then writes the files.
    let mut j = Journal {
        migration: display.clone(),
        version: version.clone(),
        checksum: sum.clone(),
        target: None,
        phase: if matches!(target, Target::Url(_)) {
            Phase::Prepared
        } else {
            Phase::Committed
        },
        files: staged,
    };
    if !j.files.is_empty() {
        journal::verify(ws, &j)?;
        journal::write(ws, &j)?;
    }
    if let Target::Url(u) = &target {
        let _ = writeln!(err, "running the rollback script on {where_}");
        match execute_on(ws, u, &tm, false) {
            Ok(msg) => {
                let _ = writeln!(err, "{msg}");
            }
            Err(e) => {
                journal::remove(ws)?;
                return Err(e);
            }
        }
        if !j.files.is_empty() {
            j.phase = Phase::Committed;
            journal::write(ws, &j)?;
        }
    }
    if !j.files.is_empty() {
        journal::apply(ws, &j)?;
        journal::remove(ws)?;
    }
    for f in &j.files {
        let _ = writeln!(out, "wrote {}", f.path.display());
    }
    print_notes(out, &patched, &doc_notes);
    let _ = writeln!(out, "rolled back {} on {where_}", display.display());
    Ok(ExitStatus::Success)
}

fn print_notes(out: &mut dyn Write, patched: &patch::Outcome, doc_notes: &[String]) {
    for r in patched.reported.iter().chain(doc_notes) {
        let _ = writeln!(out, "note: {r}");
    }
}

/// Ask on the terminal. Only `y` or `yes` goes ahead.
fn confirm(
    m: &Migration,
    version: &str,
    title: &str,
    where_: &str,
    statements: &[tracking::MigrationStatement],
    files: usize,
    err: &mut dyn Write,
) -> Result<bool> {
    let _ = writeln!(
        err,
        "Roll back migration {version} ({title}) on {where_}, running {}:",
        m.entry.display.display()
    );
    for s in statements {
        let _ = writeln!(
            err,
            "  line {}: {}",
            s.line,
            crate::text::one_line(&s.sql, 100)
        );
    }
    if files > 0 {
        let _ = writeln!(
            err,
            "and take current_schema, the docs and the header back ({files} files)."
        );
    }
    let _ = write!(err, "Proceed? [y/N] ");
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::new("io", format!("reading the answer: {e}")))?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// Insert the `ROLLED BACK` section at the end of the header, before its
/// closing banner.
fn add_rolled_back_note(text: &str, body: &[String]) -> Result<String> {
    let h = header::parse(text)
        .ok_or_else(|| Error::new("header", "the file has no header comment block"))?;
    let closing = text
        .lines()
        .nth(h.end_line - 1)
        .is_some_and(|l| l.trim().starts_with("-- ===") || l.trim().starts_with("--===="));
    let at = if closing { h.end_line } else { h.end_line + 1 };
    let mut block = vec!["--".to_string(), format!("-- {ROLLED_BACK_SECTION}:")];
    block.extend(body.iter().map(|l| format!("--{l}")));
    Ok(crate::text::replace_lines(text, at, at - 1, &block))
}

/// Warn about later finalized migrations that touch the same tables: they
/// may depend on what this rollback removes (a function writing a dropped
/// column compiles and fails only when called).
fn later_warning(
    ws: &Workspace,
    m: &Migration,
    schema: &Schema,
    script: &SqlFile,
    err: &mut dyn Write,
) -> Result<()> {
    let Some(number) = m.entry.number else {
        return Ok(());
    };
    let docs = bridge::discover(ws)?;
    let show = |p: &std::path::Path| ws.display(p);
    let mine: Vec<String> = [&m.sql, script]
        .iter()
        .flat_map(|f| analysis::analyze(schema, f, &docs, &show, 0).affected_tables)
        .map(|t| t.to_string())
        .collect();
    for e in history::list(ws)? {
        if e.number.is_none_or(|n| n <= number) {
            continue;
        }
        let Ok(later) = Migration::load(ws, &e.path) else {
            continue;
        };
        if later.state() != State::Finalized || is_rolled_back(&later) {
            continue;
        }
        let shared: Vec<String> = analysis::analyze(schema, &later.sql, &docs, &show, 0)
            .affected_tables
            .iter()
            .map(|t| t.to_string())
            .filter(|t| mine.contains(t))
            .collect();
        if !shared.is_empty() {
            let _ = writeln!(
                err,
                "WARNING: the later migration {} also changes {}; roll it back first if it depends on this one",
                e.display.display(),
                shared.join(", ")
            );
        }
    }
    Ok(())
}

/// The target has the migration applied with this checksum, or has
/// reverted it already (the run then only writes the files).
fn precheck(
    ws: &Workspace,
    url: &str,
    file: &std::path::Path,
    version: &str,
    sum: &str,
) -> Result<()> {
    let mut client = db::connect(url)?;
    let tracker = tracking::Tracker::from_config(&ws.config.database);
    match tracker.lookup(&mut client, version)? {
        Some(row) if row.checksum != sum => Err(tracking::ExecFailure::Divergent {
            file: file.to_path_buf(),
            checksum: sum.to_string(),
            recorded: Box::new(row),
        }
        .into()),
        Some(_) => Ok(()),
        None => {
            let reverted = tracker
                .history(&mut client)?
                .iter()
                .any(|r| r.version == version && r.success && r.reverted_at.is_some());
            if reverted {
                Ok(())
            } else {
                Err(Error::new(
                    "not-applied",
                    format!("migration {version} is not applied on {}: there is nothing to roll back", db::redact(url)),
                )
                .file(file)
                .help("check the target with `touchpoint status --database-url URL`; a migration applied outside touchpoint can be recorded with `touchpoint apply --baseline NN`"))
            }
        }
    }
}

/// Run the script on the target under the advisory lock; what happened,
/// in one line.
fn execute_on(
    ws: &Workspace,
    url: &str,
    tm: &tracking::Migration,
    dry_run: bool,
) -> Result<String> {
    let mut client = db::connect(url)?;
    let tracker = tracking::Tracker::from_config(&ws.config.database);
    let opts = tracking::ExecOptions::from_config(&ws.config.database, dry_run);
    let wait = Duration::from_secs(ws.config.database.advisory_lock_wait_seconds);
    let outcome = tracker.with_advisory_lock(&mut client, wait, |c| {
        tracker.revert_migration(c, tm, &opts).map_err(Error::from)
    })?;
    Ok(match outcome {
        tracking::RevertOutcome::Reverted(e) if e.dry_run => format!(
            "the rollback script ran and was rolled back ({} statements, {} ms)",
            e.statements, e.execution_time_ms
        ),
        tracking::RevertOutcome::Reverted(e) => format!(
            "rolled back in {} ms ({} statements); the tracking row is marked reverted",
            e.execution_time_ms, e.statements
        ),
        tracking::RevertOutcome::AlreadyReverted(row) => format!(
            "already rolled back there on {} by {}: nothing to run",
            row.reverted_at
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default(),
            row.reverted_by.as_deref().unwrap_or("unknown")
        ),
    })
}

/// Old files + rollback script versus the patched-back files, on a
/// throwaway cluster. With `new` = `None`, only that the script runs.
fn prove(
    ws: &Workspace,
    old: &[Arc<SqlFile>],
    new: Option<&[Arc<SqlFile>]>,
    script: &SqlFile,
    err: &mut dyn Write,
) -> Result<Proof> {
    let _ = writeln!(err, "starting the embedded database");
    let emb = match Embedded::start() {
        Ok(e) => e,
        Err(e) => return Ok(Proof::Skipped(format!("no throwaway database: {e}"))),
    };
    let prelude = &ws.config.database.prelude;
    emb.create_database("tp_before", None)?;
    let mut before = emb.connect("tp_before")?;
    replay::apply_prelude(&mut before, prelude)?;
    let _ = writeln!(err, "replaying current_schema ({} files)", old.len());
    if let Err(f) = replay::replay(&mut before, old) {
        let e: Error = f.into();
        return Ok(Proof::Skipped(format!(
            "current_schema does not replay on an empty database: {e}; the rollback script was not tried against it"
        )));
    }
    let _ = writeln!(err, "running the rollback script on the throwaway database");
    if let Err(f) = replay::replay(&mut before, std::slice::from_ref(script)) {
        let e: Error = f.into();
        let d = e.diagnostic().clone();
        return Err(Error::from(Diagnostic {
            message: format!(
                "the rollback script fails on the schema in current_schema: {}",
                d.message
            ),
            help: Some(
                "fix the script in the migration's ROLLBACK SCRIPT block; nothing was changed"
                    .into(),
            ),
            ..d
        }));
    }
    let Some(new) = new else {
        return Ok(Proof::Passed);
    };
    emb.create_database("tp_after", None)?;
    let mut after = emb.connect("tp_after")?;
    replay::apply_prelude(&mut after, prelude)?;
    let _ = writeln!(err, "replaying the patched-back current_schema");
    if let Err(f) = replay::replay(&mut after, new) {
        let e: Error = f.into();
        let d = e.diagnostic().clone();
        return Err(Error::from(Diagnostic {
            message: format!("current_schema patched back does not replay: {}", d.message),
            help: Some("touchpoint left an object that needs what the script removed; fix current_schema by hand or the script, then run rollback again".into()),
            ..d
        }));
    }
    let _ = writeln!(err, "comparing catalogs");
    let diffs = catalog::drift(&mut before, &mut after, &ws.config.database.tracking_schema)?;
    Ok(if diffs.is_empty() {
        Proof::Passed
    } else {
        Proof::Drift(diffs)
    })
}
