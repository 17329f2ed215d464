//! The tracking table (`<tracking_schema>.migrations`), the advisory lock
//! that keeps two runners apart, and the execution of one migration with
//! its tracking row in the same transaction.
//!
//! Every attempt is a row: a failure is recorded too, in its own
//! transaction after the rollback, so that `status` can show what happened.
//! A version counts as applied while it has a successful row that was not
//! reverted; a partial unique index makes a second such row impossible.

use super::{error_text, query_error, quote_ident, replay};
use crate::error::{Error, Result};
use crate::sql::SqlFile;
use chrono::{DateTime, Utc};
use pg_query::NodeEnum;
use postgres::error::ErrorPosition;
use postgres::{Client, GenericClient, Row};
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// One row of the tracking table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackingRow {
    pub id: i64,
    pub version: String,
    pub name: String,
    pub checksum: String,
    #[serde(serialize_with = "rfc3339")]
    pub applied_at: DateTime<Utc>,
    pub execution_time_ms: Option<i64>,
    pub applied_by: Option<String>,
    pub success: bool,
    pub error: Option<String>,
    pub batch: Option<i32>,
    pub baseline: bool,
    #[serde(serialize_with = "rfc3339_opt")]
    pub reverted_at: Option<DateTime<Utc>>,
    pub reverted_by: Option<String>,
}

fn rfc3339<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

fn rfc3339_opt<S: serde::Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match t {
        Some(t) => rfc3339(t, s),
        None => s.serialize_none(),
    }
}

/// A row to insert; `applied_at` is the server's `now()`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub version: String,
    pub name: String,
    pub checksum: String,
    pub execution_time_ms: Option<i64>,
    pub applied_by: Option<String>,
    pub success: bool,
    pub error: Option<String>,
    pub batch: Option<i32>,
    /// Marked applied without running (`apply --baseline`).
    pub baseline: bool,
}

const COLUMNS: &str =
    "id, version, name, checksum, applied_at, execution_time_ms, applied_by, success, error, \
                       batch, baseline, reverted_at, reverted_by";

fn row(r: &Row) -> TrackingRow {
    let ts = |i: usize| r.get::<_, Option<SystemTime>>(i).map(DateTime::<Utc>::from);
    TrackingRow {
        id: r.get(0),
        version: r.get(1),
        name: r.get(2),
        checksum: r.get(3),
        applied_at: ts(4).unwrap_or_default(),
        execution_time_ms: r.get(5),
        applied_by: r.get(6),
        success: r.get(7),
        error: r.get(8),
        batch: r.get(9),
        baseline: r.get(10),
        reverted_at: ts(11),
        reverted_by: r.get(12),
    }
}

/// The tracking table of one schema.
#[derive(Debug, Clone)]
pub struct Tracker {
    schema: String,
}

impl Tracker {
    pub fn new(schema: &str) -> Tracker {
        Tracker {
            schema: schema.to_string(),
        }
    }

    pub fn from_config(db: &crate::workspace::Database) -> Tracker {
        Self::new(&db.tracking_schema)
    }

    pub fn schema(&self) -> &str {
        &self.schema
    }

    fn table(&self) -> String {
        format!("{}.migrations", quote_ident(&self.schema))
    }

    /// Create the schema, table and index when missing.
    pub fn ensure(&self, client: &mut impl GenericClient) -> Result<()> {
        let s = quote_ident(&self.schema);
        let sql = format!(
            "CREATE SCHEMA IF NOT EXISTS {s};
             CREATE TABLE IF NOT EXISTS {s}.migrations (
                 id                bigserial   PRIMARY KEY,
                 version           text        NOT NULL,
                 name              text        NOT NULL,
                 checksum          text        NOT NULL,
                 applied_at        timestamptz NOT NULL DEFAULT now(),
                 execution_time_ms bigint,
                 applied_by        text,
                 success           boolean     NOT NULL,
                 error             text,
                 batch             integer,
                 baseline          boolean     NOT NULL DEFAULT false,
                 reverted_at       timestamptz,
                 reverted_by       text
             );
             CREATE UNIQUE INDEX IF NOT EXISTS migrations_applied_version
                 ON {s}.migrations (version) WHERE success AND reverted_at IS NULL;
             COMMENT ON TABLE {s}.migrations IS 'Migrations run by touchpoint: one row per attempt';"
        );
        let mut result = client.batch_execute(&sql);
        // Two first runs racing on IF NOT EXISTS: the loser sees a unique
        // violation on the catalog; the winner's objects are what it wanted.
        if let Err(e) = &result {
            if e.code().map(|c| c.code()) == Some("23505") {
                result = client.batch_execute(&sql);
            }
        }
        result.map_err(|e| query_error("creating the tracking table", &e))
    }

    pub fn exists(&self, client: &mut impl GenericClient) -> Result<bool> {
        let qualified = self.table();
        client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&qualified])
            .map(|r| r.get(0))
            .map_err(|e| query_error("reading the tracking table", &e))
    }

    fn select(
        &self,
        client: &mut impl GenericClient,
        filter: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<TrackingRow>> {
        if !self.exists(client)? {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM {} {filter} ORDER BY id",
            self.table()
        );
        client
            .query(&sql, params)
            .map(|rows| rows.iter().map(row).collect())
            .map_err(|e| query_error("reading the tracking table", &e))
    }

    /// Every attempt, failures and reverted ones included, oldest first.
    pub fn history(&self, client: &mut impl GenericClient) -> Result<Vec<TrackingRow>> {
        self.select(client, "", &[])
    }

    /// The migrations in effect: successful and not reverted, in order.
    pub fn applied(&self, client: &mut impl GenericClient) -> Result<Vec<TrackingRow>> {
        self.select(client, "WHERE success AND reverted_at IS NULL", &[])
    }

    /// The row in effect for a version, if it is applied.
    pub fn lookup(
        &self,
        client: &mut impl GenericClient,
        version: &str,
    ) -> Result<Option<TrackingRow>> {
        let version = version.to_string();
        Ok(self
            .select(
                client,
                "WHERE version = $1 AND success AND reverted_at IS NULL",
                &[&version],
            )?
            .pop())
    }

    /// Insert a row; returns its id. Pass a transaction to make the row
    /// part of the same unit of work as the migration.
    pub fn record(&self, client: &mut impl GenericClient, rec: &Record) -> Result<i64> {
        let sql = format!(
            "INSERT INTO {} (version, name, checksum, execution_time_ms, applied_by, success, error, batch, baseline)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            self.table()
        );
        client
            .query_one(
                &sql,
                &[
                    &rec.version,
                    &rec.name,
                    &rec.checksum,
                    &rec.execution_time_ms,
                    &rec.applied_by,
                    &rec.success,
                    &rec.error,
                    &rec.batch,
                    &rec.baseline,
                ],
            )
            .map(|r| r.get(0))
            .map_err(|e| match e.code().map(|c| c.code()) {
                Some("23505") => Error::new(
                    "already-applied",
                    format!("migration {} is already recorded as applied", rec.version),
                )
                .help("another run applied it meanwhile; run `touchpoint status`"),
                _ => query_error("recording the migration", &e),
            })
    }

    /// Mark the applied row of a version as reverted. False when the
    /// version was not applied.
    pub fn mark_reverted(
        &self,
        client: &mut impl GenericClient,
        version: &str,
        by: &str,
    ) -> Result<bool> {
        let sql = format!(
            "UPDATE {} SET reverted_at = now(), reverted_by = $2 WHERE version = $1 AND success AND reverted_at IS NULL",
            self.table()
        );
        client
            .execute(&sql, &[&version, &by])
            .map(|n| n > 0)
            .map_err(|e| query_error("recording the rollback", &e))
    }

    /// The batch number for the next `apply`: one more than the highest.
    pub fn next_batch(&self, client: &mut impl GenericClient) -> Result<i32> {
        if !self.exists(client)? {
            return Ok(1);
        }
        let sql = format!("SELECT coalesce(max(batch), 0) + 1 FROM {}", self.table());
        client
            .query_one(&sql, &[])
            .map(|r| r.get(0))
            .map_err(|e| query_error("reading the tracking table", &e))
    }

    /// The advisory lock key: the same for every touchpoint using this
    /// tracking schema on this database, whatever machine it runs on.
    pub fn lock_key(&self) -> i64 {
        // FNV-1a: stable across builds, unlike std's hasher.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in format!("touchpoint:{}", self.schema).bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h as i64
    }

    /// Run `f` holding the session advisory lock, waiting up to `wait` for
    /// another holder to let go. The lock is released afterwards, also when
    /// `f` fails; a lost connection releases it on the server side.
    pub fn with_advisory_lock<T, E: From<Error>>(
        &self,
        client: &mut Client,
        wait: Duration,
        f: impl FnOnce(&mut Client) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let key = self.lock_key();
        let start = Instant::now();
        loop {
            let got: bool = client
                .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
                .map_err(|e| query_error("taking the advisory lock", &e))?
                .get(0);
            if got {
                break;
            }
            let elapsed = start.elapsed();
            if elapsed >= wait {
                return Err(self.lock_error(client, key, wait).into());
            }
            std::thread::sleep((wait - elapsed).min(Duration::from_millis(100)));
        }
        let result = f(client);
        let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&key]);
        result
    }

    fn lock_error(&self, client: &mut Client, key: i64, wait: Duration) -> Error {
        // A bigint advisory key shows in pg_locks split in two 32-bit halves.
        let (hi, lo) = ((key as u64 >> 32) as i64, (key as u64 & 0xffff_ffff) as i64);
        let holder = client
            .query_opt(
                "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.client_addr::text, 'local'),
                        to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ')
                   FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                  WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                    AND l.classid::bigint = $1 AND l.objid::bigint = $2
                    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                &[&hi, &lo],
            )
            .ok()
            .flatten()
            .map(|r| {
                format!(
                    " (server process {}, application \"{}\", client {}, connected since {})",
                    r.get::<_, i32>(0),
                    r.get::<_, String>(1),
                    r.get::<_, String>(2),
                    r.get::<_, Option<String>>(3).unwrap_or_default()
                )
            })
            .unwrap_or_default();
        Error::new(
            "locked",
            format!(
                "another touchpoint holds the migration lock on this database{holder}; waited {}s",
                wait.as_secs_f32().round()
            ),
        )
        .help("wait for the other run to finish, or raise [database] advisory_lock_wait_seconds in touchpoint.toml")
    }

    /// Run a migration: every statement and the tracking row in one
    /// transaction, with `lock_timeout` and `statement_timeout` set for it.
    ///
    /// Statements PostgreSQL refuses inside a transaction block (CREATE
    /// INDEX CONCURRENTLY and the like) run on their own between
    /// transactions, in file order; the outcome says so. The file's own
    /// BEGIN/COMMIT are left out: the migration already is one transaction.
    /// On failure the transaction is rolled back and the failure recorded
    /// in a transaction of its own. With `dry_run` everything is rolled
    /// back and nothing is recorded. Take the advisory lock around it.
    pub fn execute_migration(
        &self,
        client: &mut Client,
        m: &Migration,
        opts: &ExecOptions,
    ) -> std::result::Result<ExecOutcome, ExecFailure> {
        if let Some(done) = self.applied_check(client, m)? {
            return Ok(done);
        }
        if !opts.dry_run {
            self.ensure(client)?;
        }
        self.run(client, m, opts, Flow::Own, Mode::Apply)
            .map(ExecOutcome::Applied)
    }

    /// `AlreadyApplied` when the version is applied with the same checksum,
    /// `Divergent` when with another one, `None` when it is not applied.
    fn applied_check(
        &self,
        client: &mut impl GenericClient,
        m: &Migration,
    ) -> std::result::Result<Option<ExecOutcome>, ExecFailure> {
        if !self.exists(client)? {
            return Ok(None);
        }
        match self.lookup(client, m.version)? {
            Some(row) if row.checksum == m.checksum => {
                Ok(Some(ExecOutcome::AlreadyApplied(Box::new(row))))
            }
            Some(row) => Err(ExecFailure::Divergent {
                file: m.file.to_path_buf(),
                checksum: m.checksum.to_string(),
                recorded: Box::new(row),
            }),
            None => Ok(None),
        }
    }

    /// `execute_migration` with everything rolled back and nothing recorded.
    pub fn dry_run(
        &self,
        client: &mut Client,
        m: &Migration,
        opts: &ExecOptions,
    ) -> std::result::Result<ExecOutcome, ExecFailure> {
        let opts = ExecOptions {
            dry_run: true,
            ..opts.clone()
        };
        self.execute_migration(client, m, &opts)
    }

    /// Run several migrations in order, stopping at the first failure; every
    /// one is recorded with its own `batch` and `applied_by`. `progress` is
    /// called after each migration, with its index in `ms`.
    ///
    /// By default each migration is its own unit of work, exactly as
    /// `execute_migration` runs it: a failure leaves the earlier ones
    /// committed. With `single_transaction` all of them run in one
    /// transaction (each under a savepoint): a failure rolls back the whole
    /// batch and only the failure is recorded, afterwards. Statements that
    /// cannot run in a transaction block are refused in that mode before
    /// anything runs. A dry run (`opts.dry_run`) always takes the
    /// single-transaction path and rolls it back at the end, so that each
    /// migration is tried on the schema the earlier ones produced.
    pub fn execute_batch(
        &self,
        client: &mut Client,
        ms: &[Migration],
        opts: &ExecOptions,
        single_transaction: bool,
        progress: &mut dyn FnMut(usize, &std::result::Result<ExecOutcome, ExecFailure>),
    ) -> Batch {
        let mut batch = Batch::default();
        if !single_transaction && !opts.dry_run {
            for (i, m) in ms.iter().enumerate() {
                let r = self.execute_migration(client, m, opts);
                progress(i, &r);
                match r {
                    Ok(o) => batch.done.push(o),
                    Err(f) => {
                        batch.failure = Some((i, f));
                        break;
                    }
                }
            }
            return batch;
        }
        let started = Instant::now();
        let result = self.nested_batch(client, ms, opts, progress, &mut batch);
        if let Err(f) = result {
            batch.failure.get_or_insert((batch.done.len(), f));
        }
        batch.rolled_back = opts.dry_run || batch.failure.is_some();
        // The failure row is written only now, after the rollback, or it
        // would have been rolled back with everything else.
        if !opts.dry_run {
            if let Some((i, ExecFailure::Statement(f))) = &mut batch.failure {
                let m = &ms[*i];
                let rec = Record {
                    version: m.version.to_string(),
                    name: m.name.to_string(),
                    checksum: m.checksum.to_string(),
                    execution_time_ms: Some(started.elapsed().as_millis() as i64),
                    applied_by: Some(m.applied_by.to_string()),
                    success: false,
                    error: Some(failure_text(f)),
                    batch: m.batch,
                    baseline: false,
                };
                f.recorded = self.record_failure(client, &rec);
            }
        }
        batch
    }

    /// The single-transaction path of `execute_batch`. Commits only when
    /// every migration succeeded and this is not a dry run.
    fn nested_batch(
        &self,
        client: &mut Client,
        ms: &[Migration],
        opts: &ExecOptions,
        progress: &mut dyn FnMut(usize, &std::result::Result<ExecOutcome, ExecFailure>),
        batch: &mut Batch,
    ) -> std::result::Result<(), ExecFailure> {
        let mut tx = client
            .transaction()
            .map_err(|e| query_error("starting the batch's transaction", &e))?;
        // Rolled back with the rest in a dry run; needed for the rows the
        // migrations write inside it.
        self.ensure(&mut tx)?;
        for (i, m) in ms.iter().enumerate() {
            let r = match self.applied_check(&mut tx, m) {
                Ok(Some(done)) => Ok(done),
                Ok(None) => self
                    .run(&mut tx, m, opts, Flow::Nested, Mode::Apply)
                    .map(|mut ex| {
                        if opts.dry_run {
                            // The row it wrote goes with the rollback.
                            ex.id = None;
                            ex.dry_run = true;
                        }
                        ExecOutcome::Applied(ex)
                    }),
                Err(f) => Err(f),
            };
            progress(i, &r);
            match r {
                Ok(o) => batch.done.push(o),
                Err(f) => {
                    batch.failure = Some((i, f));
                    // Dropping `tx` rolls the whole batch back.
                    return Ok(());
                }
            }
        }
        if opts.dry_run {
            tx.rollback()
                .map_err(|e| query_error("rolling back the dry run", &e))?;
        } else {
            tx.commit()
                .map_err(|e| query_error("committing the batch", &e))?;
        }
        Ok(())
    }

    fn record_failure(&self, client: &mut Client, rec: &Record) -> bool {
        // The batch's rollback may have taken a just-created table with it.
        if self.ensure(client).is_err() {
            return false;
        }
        let recorded = client.transaction().ok().and_then(|mut tx| {
            self.record(&mut tx, rec).ok()?;
            tx.commit().ok()
        });
        recorded.is_some()
    }

    /// Run a migration's rollback script (`m.statements`) and mark its
    /// applied row reverted, by `m.applied_by`, in the same transaction:
    /// the script and the mark commit together or not at all. The version
    /// must be applied with `m.checksum` (the migration's, not the
    /// script's): a migration whose file changed since it ran is refused
    /// as `Divergent`. Nothing is recorded on failure: the database is as
    /// it was. With `opts.dry_run` everything is rolled back. Take the
    /// advisory lock around it.
    pub fn revert_migration(
        &self,
        client: &mut Client,
        m: &Migration,
        opts: &ExecOptions,
    ) -> std::result::Result<RevertOutcome, ExecFailure> {
        let row = if self.exists(client)? {
            self.lookup(client, m.version)?
        } else {
            None
        };
        let Some(row) = row else {
            // Reverted already (an earlier run died before it wrote the
            // files, or another workspace did it): say so, run nothing.
            let reverted = self
                .history(client)?
                .into_iter()
                .rev()
                .find(|r| r.version == m.version && r.success);
            return match reverted {
                Some(r) if r.reverted_at.is_some() => Ok(RevertOutcome::AlreadyReverted(Box::new(r))),
                _ => Err(ExecFailure::Database(
                    Error::new(
                        "not-applied",
                        format!("migration {} is not applied on this database: there is nothing to roll back", m.version),
                    )
                    .file(m.file)
                    .help("check the target with `touchpoint status --database-url URL`; a migration applied outside touchpoint can be recorded with `touchpoint apply --baseline NN`"),
                )),
            };
        };
        if row.checksum != m.checksum {
            return Err(ExecFailure::Divergent {
                file: m.file.to_path_buf(),
                checksum: m.checksum.to_string(),
                recorded: Box::new(row),
            });
        }
        self.run(client, m, opts, Flow::Own, Mode::Revert { row_id: row.id })
            .map(RevertOutcome::Reverted)
    }

    /// The execution engine shared by apply, dry run, batch and revert.
    fn run<C: GenericClient>(
        &self,
        client: &mut C,
        m: &Migration,
        opts: &ExecOptions,
        flow: Flow,
        mode: Mode,
    ) -> std::result::Result<Execution, ExecFailure> {
        let steps = plan(m.statements, server_version_num(client)?);
        let nested_real = flow == Flow::Nested && !opts.dry_run;
        if let Some((step, reason)) = steps.iter().find_map(|s| match &s.kind {
            StepKind::Reject(r) => Some((s, r.clone())),
            StepKind::Outside(what) if nested_real => Some((
                s,
                format!("{what} cannot run inside a transaction block, and --single-transaction runs the whole batch in one: apply without --single-transaction"),
            )),
            _ => None,
        }) {
            return Err(ExecFailure::Statement(Box::new(StatementFailure {
                file: m.file.to_path_buf(),
                line: step.stmt.line,
                column: Some(step.stmt.column),
                statement: replay::first_line(&step.stmt.sql),
                message: reason,
                sqlstate: None,
                committed_before: false,
                recorded: false,
            })));
        }
        // Inside a caller's transaction nothing can run on its own; a real
        // nested run has refused such statements above.
        let (segments, notes) = segments(&steps, opts.dry_run || flow == Flow::Nested);
        let mut run = Run {
            tracker: self,
            m,
            opts,
            mode,
            rollback_each: opts.dry_run && flow == Flow::Own,
            record_failures: flow == Flow::Own && !opts.dry_run && mode == Mode::Apply,
            started: Instant::now(),
            executed: 0,
            committed: false,
        };
        let last = segments.len() - 1;
        for (i, seg) in segments.iter().enumerate() {
            let outcome = match seg {
                Segment::Alone(step) => run.alone(client, step),
                Segment::Transaction(steps) => run.transaction(client, steps, i == last),
            };
            match outcome {
                Ok(Some(id)) => {
                    return Ok(Execution {
                        id: Some(id),
                        dry_run: false,
                        execution_time_ms: run.elapsed_ms(),
                        statements: run.executed,
                        transactions: segments
                            .iter()
                            .filter(|s| matches!(s, Segment::Transaction(_)))
                            .count(),
                        notes,
                    })
                }
                Ok(None) => {}
                Err(StepError::Statement(step, e)) => return Err(run.fail(client, step, &e)),
                Err(StepError::Other(e)) => return Err(e),
            }
        }
        Ok(Execution {
            id: None,
            dry_run: true,
            execution_time_ms: run.elapsed_ms(),
            statements: run.executed,
            transactions: 1,
            notes,
        })
    }
}

/// Whether `run` owns its transactions or works inside the caller's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Own,
    /// Inside an open transaction: each "transaction" is a savepoint.
    Nested,
}

/// What the final transaction writes to the tracking table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A new row for the migration.
    Apply,
    /// The applied row `row_id` marked reverted.
    Revert { row_id: i64 },
}

/// What `execute_batch` did.
#[derive(Debug, Default)]
pub struct Batch {
    /// One outcome per migration that succeeded, in order.
    pub done: Vec<ExecOutcome>,
    /// The migration that failed (its index in the input) and why; the
    /// ones after it did not run.
    pub failure: Option<(usize, ExecFailure)>,
    /// The batch ran in one transaction that was rolled back (a dry run,
    /// or a failure under `single_transaction`): nothing in `done` stayed.
    pub rolled_back: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevertOutcome {
    /// The script ran and the row is marked reverted (`id` is the row's).
    Reverted(Execution),
    /// The version's last successful row is reverted already: nothing ran.
    AlreadyReverted(Box<TrackingRow>),
}

/// The tracking row's `error` text of a failed statement.
fn failure_text(f: &StatementFailure) -> String {
    format!("line {}: {}: {}", f.line, f.statement, f.message)
}

/// A piece of a migration's execution: a transaction, or one statement
/// that cannot run inside one.
enum Segment<'s, 'a> {
    Transaction(Vec<&'s Step<'a>>),
    Alone(&'s Step<'a>),
}

/// Group the steps into segments in file order. The last segment is always
/// a transaction: the tracking row rides in it.
fn segments<'s, 'a>(steps: &'s [Step<'a>], dry_run: bool) -> (Vec<Segment<'s, 'a>>, Vec<ExecNote>) {
    let mut segments: Vec<Segment> = Vec::new();
    let mut notes = Vec::new();
    for step in steps {
        let note = |message: String| ExecNote {
            line: step.stmt.line,
            message,
        };
        match &step.kind {
            StepKind::Skip(reason) => notes.push(note(reason.clone())),
            StepKind::Outside(what) if dry_run => notes.push(note(format!(
                "{what} not run: it cannot run inside the dry run's rolled-back transaction"
            ))),
            StepKind::Outside(what) => {
                notes.push(note(format!(
                    "{what} cannot run inside a transaction block: ran on its own, outside the migration's transaction"
                )));
                segments.push(Segment::Alone(step));
            }
            StepKind::Run => match segments.last_mut() {
                Some(Segment::Transaction(v)) => v.push(step),
                _ => segments.push(Segment::Transaction(vec![step])),
            },
            StepKind::Reject(_) => {}
        }
    }
    if !matches!(segments.last(), Some(Segment::Transaction(_))) {
        segments.push(Segment::Transaction(Vec::new()));
    }
    (segments, notes)
}

enum StepError<'s, 'a> {
    Statement(&'s Step<'a>, postgres::Error),
    Other(ExecFailure),
}

impl From<Error> for StepError<'_, '_> {
    fn from(e: Error) -> Self {
        StepError::Other(ExecFailure::Database(e))
    }
}

impl From<ExecFailure> for StepError<'_, '_> {
    fn from(e: ExecFailure) -> Self {
        StepError::Other(e)
    }
}

/// The state of one `run`.
struct Run<'r> {
    tracker: &'r Tracker,
    m: &'r Migration<'r>,
    opts: &'r ExecOptions,
    mode: Mode,
    /// Roll back every transaction instead of committing (a dry run that
    /// owns its transactions).
    rollback_each: bool,
    /// Write a failure row after a failed statement.
    record_failures: bool,
    started: Instant,
    executed: usize,
    /// Something was committed already: a later failure leaves the
    /// database changed.
    committed: bool,
}

impl Run<'_> {
    fn elapsed_ms(&self) -> i64 {
        self.started.elapsed().as_millis() as i64
    }

    fn record(&self, success: bool, error: Option<String>) -> Record {
        Record {
            version: self.m.version.to_string(),
            name: self.m.name.to_string(),
            checksum: self.m.checksum.to_string(),
            execution_time_ms: Some(self.elapsed_ms()),
            applied_by: Some(self.m.applied_by.to_string()),
            success,
            error,
            batch: self.m.batch,
            baseline: false,
        }
    }

    /// A statement that cannot run in a transaction block, with the
    /// timeouts set for the session around it.
    fn alone<'s, 'a, C: GenericClient>(
        &mut self,
        client: &mut C,
        step: &'s Step<'a>,
    ) -> Result<Option<i64>, StepError<'s, 'a>> {
        set_timeouts(client, self.opts, false)?;
        let result = client.batch_execute(&step.stmt.sql);
        let _ = client.batch_execute("RESET lock_timeout; RESET statement_timeout");
        result.map_err(|e| StepError::Statement(step, e))?;
        self.executed += 1;
        self.committed = true;
        Ok(None)
    }

    /// One transaction (a savepoint when `client` is a transaction); the
    /// final one also writes the tracking row (or marks it reverted) and
    /// returns its id. A dry run rolls back instead of committing.
    fn transaction<'s, 'a, C: GenericClient>(
        &mut self,
        client: &mut C,
        steps: &[&'s Step<'a>],
        last: bool,
    ) -> Result<Option<i64>, StepError<'s, 'a>> {
        let mut tx = client
            .transaction()
            .map_err(|e| query_error("starting the migration's transaction", &e))?;
        set_timeouts(&mut tx, self.opts, true)?;
        for step in steps {
            // Dropping `tx` on the way out rolls it back.
            tx.batch_execute(&step.stmt.sql)
                .map_err(|e| StepError::Statement(step, e))?;
            self.executed += 1;
        }
        if self.rollback_each {
            tx.rollback()
                .map_err(|e| query_error("rolling back the dry run", &e))?;
            return Ok(None);
        }
        let id = match (last, self.mode) {
            (false, _) => None,
            (true, Mode::Apply) => Some(self.tracker.record(&mut tx, &self.record(true, None))?),
            (true, Mode::Revert { row_id }) => {
                if !self
                    .tracker
                    .mark_reverted(&mut tx, self.m.version, self.m.applied_by)?
                {
                    // Someone reverted it between the lookup and now.
                    return Err(StepError::Other(ExecFailure::Database(
                        Error::new(
                            "not-applied",
                            format!(
                                "migration {} stopped being applied while its rollback ran",
                                self.m.version
                            ),
                        )
                        .help("another run reverted it meanwhile; run `touchpoint status`"),
                    )));
                }
                Some(row_id)
            }
        };
        tx.commit()
            .map_err(|e| query_error("committing the migration", &e))?;
        self.committed = true;
        Ok(id)
    }

    /// Describe a failed statement and record the attempt, after the
    /// rollback, in a transaction of its own.
    fn fail<C: GenericClient>(
        &self,
        client: &mut C,
        step: &Step,
        e: &postgres::Error,
    ) -> ExecFailure {
        let db = e.as_db_error();
        let (line, column) = match db.and_then(|d| d.position()) {
            Some(ErrorPosition::Original(p)) => super::position_in(
                &step.stmt.sql,
                step.stmt.line,
                step.stmt.column,
                *p as usize,
            ),
            _ => (step.stmt.line, step.stmt.column),
        };
        let mut failure = StatementFailure {
            file: self.m.file.to_path_buf(),
            line,
            column: Some(column),
            statement: replay::first_line(&step.stmt.sql),
            message: error_text(e),
            sqlstate: db.map(|d| d.code().code().to_string()),
            committed_before: self.committed,
            recorded: false,
        };
        if self.record_failures && !e.is_closed() {
            let rec = self.record(false, Some(failure_text(&failure)));
            let recorded = client.transaction().ok().and_then(|mut tx| {
                self.tracker.record(&mut tx, &rec).ok()?;
                tx.commit().ok()
            });
            failure.recorded = recorded.is_some();
        }
        ExecFailure::Statement(Box::new(failure))
    }
}

fn set_timeouts(
    client: &mut impl GenericClient,
    opts: &ExecOptions,
    local: bool,
) -> std::result::Result<(), ExecFailure> {
    for (name, value) in [
        ("lock_timeout", &opts.lock_timeout),
        ("statement_timeout", &opts.statement_timeout),
    ] {
        if value.trim().is_empty() {
            continue;
        }
        client
            .query_one("SELECT set_config($1, $2, $3)", &[&name, value, &local])
            .map_err(|e| {
                Error::new(
                    "config",
                    format!("[database] {name} = \"{value}\": {}", error_text(&e)),
                )
                .file(crate::workspace::CONFIG_FILE)
                .help("use a PostgreSQL duration such as \"5s\" or \"15min\"")
            })?;
    }
    Ok(())
}

pub fn server_version_num(client: &mut impl GenericClient) -> Result<i32> {
    client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .map(|r| r.get(0))
        .map_err(|e| query_error("reading the server version", &e))
}

/// One statement of a migration and where it starts in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatement {
    pub sql: String,
    /// 1-based line and column of the statement's first character.
    pub line: usize,
    pub column: usize,
}

impl From<(&str, usize)> for MigrationStatement {
    fn from((sql, line): (&str, usize)) -> Self {
        MigrationStatement {
            sql: sql.to_string(),
            line,
            column: 1,
        }
    }
}

/// The statements of a migration file, in order. Harmless psql
/// meta-commands (`\echo`, `\set`, ...) are left out; the others are an
/// error at their line, since they would change what runs.
pub fn statements_from(file: &SqlFile) -> Result<Vec<MigrationStatement>> {
    if let Some(m) = file
        .metas
        .iter()
        .find(|m| !replay::meta_is_harmless(m.span.text(&file.text)))
    {
        let text = m.span.text(&file.text);
        return Err(Error::new(
            "unsupported-meta-command",
            format!("psql meta-command \\{} cannot run in a migration", replay::meta_name(text)),
        )
        .file(&file.path)
        .line(m.line)
        .help("a migration is plain SQL run through one connection; inline the SQL or remove the meta-command"));
    }
    let mut out: Vec<MigrationStatement> = Vec::new();
    let mut last = None;
    for s in &file.statements {
        if last == Some(s.span) {
            continue;
        }
        last = Some(s.span);
        let (line, column) = file.index.line_col(&file.text, s.span.start);
        out.push(MigrationStatement {
            sql: s.text(&file.text).to_string(),
            line,
            column,
        });
    }
    Ok(out)
}

/// What to run and how to record it.
#[derive(Debug, Clone)]
pub struct Migration<'a> {
    /// The file as shown to users, for messages.
    pub file: &'a Path,
    pub version: &'a str,
    pub name: &'a str,
    pub checksum: &'a str,
    pub statements: &'a [MigrationStatement],
    pub applied_by: &'a str,
    pub batch: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOptions {
    pub lock_timeout: String,
    pub statement_timeout: String,
    pub dry_run: bool,
}

impl ExecOptions {
    pub fn from_config(db: &crate::workspace::Database, dry_run: bool) -> ExecOptions {
        ExecOptions {
            lock_timeout: db.lock_timeout.clone(),
            statement_timeout: db.statement_timeout.clone(),
            dry_run,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecNote {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Execution {
    /// The tracking row written; `None` for a dry run.
    pub id: Option<i64>,
    pub dry_run: bool,
    pub execution_time_ms: i64,
    /// Statements executed.
    pub statements: usize,
    /// Transactions used: 1 unless statements had to run outside one.
    pub transactions: usize,
    /// Statements skipped or run outside the transaction, and why.
    pub notes: Vec<ExecNote>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecOutcome {
    Applied(Execution),
    /// Same version, same checksum: nothing ran.
    AlreadyApplied(Box<TrackingRow>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementFailure {
    pub file: PathBuf,
    pub line: usize,
    pub column: Option<usize>,
    /// First line of the statement that failed.
    pub statement: String,
    /// Server message with detail and hint.
    pub message: String,
    pub sqlstate: Option<String>,
    /// Statements that had to run outside the transaction were committed
    /// before the failure: the database is not as it was.
    pub committed_before: bool,
    /// The failure row was written to the tracking table.
    pub recorded: bool,
}

#[derive(Debug, Clone)]
pub enum ExecFailure {
    /// The version is applied with another checksum: the file changed.
    Divergent {
        file: PathBuf,
        checksum: String,
        recorded: Box<TrackingRow>,
    },
    Statement(Box<StatementFailure>),
    /// The connection or the tracking table failed, not the migration.
    Database(Error),
}

impl From<Error> for ExecFailure {
    fn from(e: Error) -> Self {
        ExecFailure::Database(e)
    }
}

impl fmt::Display for ExecFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Error::from(self.clone()))
    }
}

impl From<ExecFailure> for Error {
    fn from(f: ExecFailure) -> Error {
        match f {
            ExecFailure::Database(e) => e,
            ExecFailure::Divergent {
                file,
                checksum,
                recorded,
            } => Error::new(
                "divergent-migration",
                format!(
                    "migration {} was applied on {} with checksum {}, but the file now has checksum {}",
                    recorded.version,
                    recorded.applied_at.format("%Y-%m-%d %H:%M UTC"),
                    recorded.checksum,
                    checksum
                ),
            )
            .file(file)
            .help("an applied migration must not change: restore the file from version control and put the change in a new migration"),
            ExecFailure::Statement(s) => {
                let help = match s.sqlstate.as_deref() {
                    Some("55P03") => "another session holds a lock this statement needs (lock_timeout): retry when it is quieter or raise [database] lock_timeout".to_string(),
                    Some("57014") => "the statement ran longer than [database] statement_timeout: raise it or make the statement cheaper".to_string(),
                    _ if s.committed_before => "statements before it ran outside the transaction and stay committed: check the database before running again".to_string(),
                    _ => "the migration's transaction was rolled back and the database is unchanged; fix the statement and run again".to_string(),
                };
                let mut message = format!("{}\n  in: {}", s.message, s.statement);
                if s.committed_before {
                    message.push_str("\n  note: earlier statements ran outside the transaction and were committed");
                }
                let err = Error::new("migration-failed", message).file(&s.file).help(help);
                match s.column {
                    Some(c) => err.at(s.line, c),
                    None => err.line(s.line),
                }
            }
        }
    }
}

#[derive(Debug)]
enum StepKind {
    Run,
    /// A statement PostgreSQL refuses in a transaction block.
    Outside(String),
    Skip(String),
    Reject(String),
}

#[derive(Debug)]
struct Step<'a> {
    stmt: &'a MigrationStatement,
    kind: StepKind,
}

fn plan(statements: &[MigrationStatement], server_version: i32) -> Vec<Step<'_>> {
    statements
        .iter()
        .map(|stmt| Step {
            stmt,
            kind: classify(&stmt.sql, server_version),
        })
        .collect()
}

/// How a statement fits in the migration's transaction. A statement the
/// parser rejects runs anyway, so that the server reports it in its words.
fn classify(sql: &str, server_version: i32) -> StepKind {
    use pg_query::protobuf::{AlterTableType, ReindexObjectType, TransactionStmtKind as T};
    let Ok(parsed) = pg_query::parse(sql, 0) else {
        return StepKind::Run;
    };
    let Some(node) = parsed
        .protobuf
        .stmts
        .first()
        .and_then(|s| s.stmt.as_ref())
        .and_then(|n| n.node.as_ref())
    else {
        return StepKind::Run;
    };
    let outside = |what: &str| StepKind::Outside(what.to_string());
    match node {
        NodeEnum::TransactionStmt(t) => match t.kind() {
            T::TransStmtBegin | T::TransStmtStart => {
                StepKind::Skip("BEGIN left out: the migration already runs in one transaction".into())
            }
            T::TransStmtCommit => StepKind::Skip("COMMIT left out: the migration commits once, with its tracking row".into()),
            T::TransStmtSavepoint | T::TransStmtRelease | T::TransStmtRollbackTo => StepKind::Run,
            T::TransStmtRollback => StepKind::Reject(
                "ROLLBACK in a migration would throw it away: remove it (use --dry-run to try a migration)".into(),
            ),
            _ => StepKind::Reject("two-phase commit statements cannot run in a migration".into()),
        },
        NodeEnum::IndexStmt(s) if s.concurrent => outside("CREATE INDEX CONCURRENTLY"),
        NodeEnum::DropStmt(s) if s.concurrent => outside("DROP INDEX CONCURRENTLY"),
        NodeEnum::ReindexStmt(s) => {
            let concurrently = s.params.iter().any(|p| {
                matches!(&p.node, Some(NodeEnum::DefElem(d)) if d.defname.eq_ignore_ascii_case("concurrently"))
            });
            if concurrently {
                outside("REINDEX CONCURRENTLY")
            } else if matches!(s.kind(), ReindexObjectType::ReindexObjectSystem | ReindexObjectType::ReindexObjectDatabase) {
                outside("REINDEX DATABASE")
            } else {
                StepKind::Run
            }
        }
        NodeEnum::VacuumStmt(s) if s.is_vacuumcmd => outside("VACUUM"),
        NodeEnum::CreatedbStmt(_) => outside("CREATE DATABASE"),
        NodeEnum::DropdbStmt(_) => outside("DROP DATABASE"),
        NodeEnum::AlterSystemStmt(_) => outside("ALTER SYSTEM"),
        NodeEnum::CreateTableSpaceStmt(_) => outside("CREATE TABLESPACE"),
        NodeEnum::DropTableSpaceStmt(_) => outside("DROP TABLESPACE"),
        NodeEnum::AlterEnumStmt(s) if !s.new_val.is_empty() && s.old_val.is_empty() && server_version < 120000 => {
            outside("ALTER TYPE ... ADD VALUE (before PostgreSQL 12)")
        }
        NodeEnum::AlterTableStmt(s) => {
            let detach_concurrently = s.cmds.iter().any(|c| match &c.node {
                Some(NodeEnum::AlterTableCmd(cmd)) => {
                    cmd.subtype() == AlterTableType::AtDetachPartition
                        && matches!(cmd.def.as_ref().and_then(|d| d.node.as_ref()), Some(NodeEnum::PartitionCmd(p)) if p.concurrent)
                }
                _ => false,
            });
            if detach_concurrently {
                outside("DETACH PARTITION CONCURRENTLY")
            } else {
                StepKind::Run
            }
        }
        _ => StepKind::Run,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::test_support::{client, fresh_db};

    fn stmts(sql: &str) -> Vec<MigrationStatement> {
        let f = crate::sql::parse(Path::new("m.sql"), sql.to_string()).unwrap();
        statements_from(&f).unwrap()
    }

    fn migration<'a>(
        version: &'a str,
        checksum: &'a str,
        statements: &'a [MigrationStatement],
    ) -> Migration<'a> {
        Migration {
            file: Path::new("migration_history/2024-01-01_01_m.sql"),
            version,
            name: "m",
            checksum,
            statements,
            applied_by: "tester",
            batch: Some(1),
        }
    }

    fn opts(dry_run: bool) -> ExecOptions {
        ExecOptions::from_config(&crate::workspace::Database::default(), dry_run)
    }

    fn table_exists(c: &mut Client, name: &str) -> bool {
        c.query_one("select to_regclass($1) is not null", &[&name])
            .unwrap()
            .get(0)
    }

    #[test]
    fn success_records_one_row_in_the_same_transaction() {
        let mut c = client(&fresh_db());
        let t = Tracker::new("touchpoint");
        let s = stmts("create table a (id int);\n-- note\ninsert into a values (1);\n");
        let out = t
            .execute_migration(&mut c, &migration("01", "abc", &s), &opts(false))
            .unwrap();
        let ExecOutcome::Applied(ex) = out else {
            panic!("{out:?}")
        };
        assert_eq!((ex.statements, ex.transactions, ex.dry_run), (2, 1, false));
        assert!(ex.notes.is_empty());
        let rows = t.applied(&mut c).unwrap();
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(
            (r.version.as_str(), r.checksum.as_str(), r.success, r.batch),
            ("01", "abc", true, Some(1))
        );
        assert_eq!(r.applied_by.as_deref(), Some("tester"));
        assert_eq!(Some(r.id), ex.id);
        assert_eq!(t.lookup(&mut c, "01").unwrap().as_ref(), Some(r));
        assert_eq!(t.next_batch(&mut c).unwrap(), 2);
        assert!(serde_json::to_string(r)
            .unwrap()
            .contains("\"applied_at\":\"20"));

        // Same version and checksum: nothing runs again.
        let again = t
            .execute_migration(&mut c, &migration("01", "abc", &s), &opts(false))
            .unwrap();
        assert!(
            matches!(again, ExecOutcome::AlreadyApplied(ref r) if r.id == rows[0].id),
            "{again:?}"
        );
        let n: i64 = c.query_one("select count(*) from a", &[]).unwrap().get(0);
        assert_eq!(n, 1);

        // Same version, other checksum: the file changed after it ran.
        let err = t
            .execute_migration(&mut c, &migration("01", "xyz", &s), &opts(false))
            .unwrap_err();
        assert!(matches!(err, ExecFailure::Divergent { .. }), "{err:?}");
        let e: Error = err.into();
        assert_eq!(e.diagnostic().code, "divergent-migration");
        assert!(
            e.to_string().contains("checksum abc") && e.to_string().contains("checksum xyz"),
            "{e}"
        );

        // Reverting frees the version.
        assert!(t.mark_reverted(&mut c, "01", "tester").unwrap());
        assert_eq!(t.lookup(&mut c, "01").unwrap(), None);
        assert_eq!(t.history(&mut c).unwrap().len(), 1);
    }

    #[test]
    fn failure_rolls_back_and_is_recorded() {
        let mut c = client(&fresh_db());
        let t = Tracker::new("tp_track");
        let s = stmts("create table a (id int);\n\ninsert into a values\n  (1), ('x');\n");
        let err = t
            .execute_migration(&mut c, &migration("02", "abc", &s), &opts(false))
            .unwrap_err();
        let ExecFailure::Statement(f) = &err else {
            panic!("{err:?}")
        };
        assert_eq!((f.line, f.column), (4, Some(9)), "{f:?}");
        assert!(
            f.message.contains("invalid input syntax for type integer"),
            "{}",
            f.message
        );
        assert!(f.recorded && !f.committed_before);
        assert!(!table_exists(&mut c, "a"), "rolled back");
        let h = t.history(&mut c).unwrap();
        assert_eq!(h.len(), 1);
        assert!(!h[0].success);
        assert!(
            h[0].error
                .as_deref()
                .unwrap()
                .starts_with("line 4: insert into a values: invalid input"),
            "{:?}",
            h[0].error
        );
        assert_eq!(t.applied(&mut c).unwrap(), vec![]);
        let e: Error = err.into();
        assert_eq!(e.diagnostic().code, "migration-failed");
        assert!(e
            .diagnostic()
            .help
            .as_deref()
            .unwrap()
            .contains("unchanged"));
    }

    #[test]
    fn dry_run_changes_nothing() {
        let mut c = client(&fresh_db());
        let t = Tracker::new("touchpoint");
        let s = stmts("create table a (id int);\ncreate index concurrently a_id on a (id);\n");
        let out = t
            .dry_run(&mut c, &migration("03", "abc", &s), &opts(false))
            .unwrap();
        let ExecOutcome::Applied(ex) = out else {
            panic!()
        };
        assert!(ex.dry_run && ex.id.is_none());
        assert_eq!(ex.statements, 1);
        assert!(ex.notes[0].message.contains("not run"), "{:?}", ex.notes);
        assert!(!table_exists(&mut c, "a"));
        assert!(
            !t.exists(&mut c).unwrap(),
            "a dry run does not even create the tracking table"
        );
        let err = t
            .execute_migration(
                &mut c,
                &migration("03", "abc", &stmts("select 1/0;")),
                &opts(true),
            )
            .unwrap_err();
        assert!(matches!(err, ExecFailure::Statement(ref f) if !f.recorded));
    }

    #[test]
    fn concurrently_runs_outside_the_transaction() {
        let mut c = client(&fresh_db());
        let t = Tracker::new("touchpoint");
        let s = stmts(
            "create table a (id int);\ncreate index concurrently a_id on a (id);\ncomment on index a_id is 'x';\n",
        );
        let out = t
            .execute_migration(&mut c, &migration("04", "abc", &s), &opts(false))
            .unwrap();
        let ExecOutcome::Applied(ex) = out else {
            panic!()
        };
        assert_eq!((ex.statements, ex.transactions), (3, 2));
        assert_eq!(ex.notes.len(), 1);
        assert_eq!(ex.notes[0].line, 2);
        assert!(ex.notes[0].message.contains("CREATE INDEX CONCURRENTLY"));
        assert!(table_exists(&mut c, "a_id"));
        assert_eq!(t.applied(&mut c).unwrap().len(), 1);

        // A failure after a statement that ran on its own says the database
        // was changed.
        let s = stmts("drop index concurrently a_id;\nselect 1/0;\n");
        let err = t
            .execute_migration(&mut c, &migration("05", "abc", &s), &opts(false))
            .unwrap_err();
        let ExecFailure::Statement(f) = err else {
            panic!()
        };
        assert!(f.committed_before && f.recorded);
        assert!(!table_exists(&mut c, "a_id"));
    }

    #[test]
    fn file_level_begin_commit_is_the_one_transaction() {
        let mut c = client(&fresh_db());
        let t = Tracker::new("touchpoint");
        let s = stmts("BEGIN;\ncreate table a (id int);\ninsert into a values (1);\nCOMMIT;\n");
        let out = t
            .execute_migration(&mut c, &migration("06", "abc", &s), &opts(false))
            .unwrap();
        let ExecOutcome::Applied(ex) = out else {
            panic!()
        };
        assert_eq!((ex.statements, ex.transactions), (2, 1));
        assert_eq!(
            ex.notes.iter().map(|n| n.line).collect::<Vec<_>>(),
            vec![1, 4]
        );

        // A failure after the file's own COMMIT still undoes everything.
        let s = stmts("begin;\ncreate table b (id int);\ncommit;\nselect 1/0;\n");
        let err = t
            .execute_migration(&mut c, &migration("07", "abc", &s), &opts(false))
            .unwrap_err();
        assert!(matches!(err, ExecFailure::Statement(ref f) if f.line == 4 && !f.committed_before));
        assert!(!table_exists(&mut c, "b"));

        let s = stmts("create table c (id int);\nrollback;\n");
        let err = t
            .execute_migration(&mut c, &migration("08", "abc", &s), &opts(false))
            .unwrap_err();
        assert!(
            matches!(err, ExecFailure::Statement(ref f) if f.line == 2 && f.message.contains("ROLLBACK"))
        );
        assert!(!table_exists(&mut c, "c"));
    }

    #[test]
    fn advisory_lock_keeps_two_runners_apart() {
        let url = fresh_db();
        let mut first = client(&url);
        let mut second = client(&url);
        let t = Tracker::new("touchpoint");
        let inner: Result<()> = t.with_advisory_lock(&mut first, Duration::from_secs(1), |_| {
            let started = Instant::now();
            let err = t
                .with_advisory_lock(&mut second, Duration::from_millis(300), |_| {
                    Ok::<_, Error>(())
                })
                .unwrap_err();
            assert!(started.elapsed() >= Duration::from_millis(300));
            assert_eq!(err.diagnostic().code, "locked");
            assert!(
                err.to_string()
                    .contains("another touchpoint holds the migration lock"),
                "{err}"
            );
            assert!(
                err.to_string().contains("application \"touchpoint\""),
                "{err}"
            );
            Ok(())
        });
        inner.unwrap();
        // Released: the second runner gets it now, and an error inside the
        // closure releases it as well.
        let r: Result<()> =
            t.with_advisory_lock(&mut second, Duration::ZERO, |_| Err(Error::usage("boom")));
        assert_eq!(r.unwrap_err().diagnostic().code, "usage");
        t.with_advisory_lock(&mut first, Duration::ZERO, |_| Ok::<_, Error>(()))
            .unwrap();
    }

    #[test]
    fn revert_runs_the_script_and_marks_the_row_in_one_transaction() {
        let mut c = client(&fresh_db());
        let t = Tracker::new("touchpoint");
        let up = stmts("create table a (id int);\n");
        t.execute_migration(&mut c, &migration("01", "abc", &up), &opts(false))
            .unwrap();

        // A failing script changes nothing and records nothing.
        let bad = stmts("drop table a;\nselect 1/0;\n");
        let err = t
            .revert_migration(&mut c, &migration("01", "abc", &bad), &opts(false))
            .unwrap_err();
        assert!(matches!(err, ExecFailure::Statement(ref f) if f.line == 2 && !f.recorded));
        assert!(table_exists(&mut c, "a"));
        assert_eq!(t.history(&mut c).unwrap().len(), 1);

        // The file changed since it ran: refused.
        let down = stmts("drop table a;\n");
        let err = t
            .revert_migration(&mut c, &migration("01", "xyz", &down), &opts(false))
            .unwrap_err();
        assert!(matches!(err, ExecFailure::Divergent { .. }), "{err:?}");

        // Dry run: rolled back, still applied.
        let out = t
            .revert_migration(&mut c, &migration("01", "abc", &down), &opts(true))
            .unwrap();
        assert!(matches!(out, RevertOutcome::Reverted(ref e) if e.dry_run));
        assert!(table_exists(&mut c, "a"));
        assert!(t.lookup(&mut c, "01").unwrap().is_some());

        let out = t
            .revert_migration(&mut c, &migration("01", "abc", &down), &opts(false))
            .unwrap();
        let RevertOutcome::Reverted(ex) = out else {
            panic!("{out:?}")
        };
        assert!(!table_exists(&mut c, "a"));
        let h = t.history(&mut c).unwrap();
        assert_eq!(Some(h[0].id), ex.id);
        assert!(h[0].reverted_at.is_some());
        assert_eq!(h[0].reverted_by.as_deref(), Some("tester"));

        // Again: nothing runs, and it says so.
        let again = t
            .revert_migration(&mut c, &migration("01", "abc", &down), &opts(false))
            .unwrap();
        assert!(
            matches!(again, RevertOutcome::AlreadyReverted(_)),
            "{again:?}"
        );
        let err = t
            .revert_migration(&mut c, &migration("02", "abc", &down), &opts(false))
            .unwrap_err();
        assert_eq!(Error::from(err).diagnostic().code, "not-applied");
    }

    #[test]
    fn single_transaction_batch_is_all_or_nothing() {
        let mut c = client(&fresh_db());
        let t = Tracker::new("touchpoint");
        let one = stmts("create table a (id int);\n");
        let two = stmts("alter table a add column b int;\n");
        let three = stmts("select 1/0;\n");
        let ms = [
            migration("01", "1", &one),
            migration("02", "2", &two),
            migration("03", "3", &three),
        ];
        let mut seen = Vec::new();
        let b = t.execute_batch(&mut c, &ms, &opts(false), true, &mut |i, r| {
            seen.push((i, r.is_ok()))
        });
        assert_eq!(seen, vec![(0, true), (1, true), (2, false)]);
        assert!(b.rolled_back && b.done.len() == 2);
        let Some((2, ExecFailure::Statement(f))) = &b.failure else {
            panic!("{:?}", b.failure)
        };
        assert!(f.recorded);
        assert!(!table_exists(&mut c, "a"));
        let h = t.history(&mut c).unwrap();
        assert_eq!(h.len(), 1);
        assert!(!h[0].success && h[0].version == "03");

        // A dry run sees what the earlier migrations did, then rolls back.
        let b = t.execute_batch(&mut c, &ms[..2], &opts(true), false, &mut |_, _| {});
        assert!(b.failure.is_none() && b.rolled_back);
        assert!(matches!(&b.done[1], ExecOutcome::Applied(e) if e.dry_run && e.id.is_none()));
        assert!(!table_exists(&mut c, "a"));
        assert_eq!(t.history(&mut c).unwrap().len(), 1);

        // CONCURRENTLY cannot be in a single transaction: refused before it runs.
        let conc = stmts("create index concurrently a_b on a (b);\n");
        let ms2 = [migration("01", "1", &one), migration("04", "4", &conc)];
        let b = t.execute_batch(&mut c, &ms2, &opts(false), true, &mut |_, _| {});
        let Some((1, ExecFailure::Statement(f))) = &b.failure else {
            panic!("{:?}", b.failure)
        };
        assert!(f.message.contains("--single-transaction"), "{}", f.message);
        assert!(!table_exists(&mut c, "a"));

        // Without it, each migration commits on its own.
        let b = t.execute_batch(&mut c, &ms, &opts(false), false, &mut |_, _| {});
        assert!(!b.rolled_back && b.done.len() == 2);
        assert!(table_exists(&mut c, "a"));
        assert_eq!(t.applied(&mut c).unwrap().len(), 2);
    }

    #[test]
    fn classification() {
        let k = |sql: &str, v: i32| format!("{:?}", classify(sql, v));
        assert!(k("create index concurrently i on t (x)", 150000).starts_with("Outside"));
        assert!(k("create index i on t (x)", 150000).starts_with("Run"));
        assert!(k("drop index concurrently if exists i", 150000).starts_with("Outside"));
        assert!(k("reindex (concurrently) index i", 150000).starts_with("Outside"));
        assert!(k("reindex index concurrently i", 150000).starts_with("Outside"));
        assert!(k("vacuum analyze t", 150000).starts_with("Outside"));
        assert!(k("analyze t", 150000).starts_with("Run"));
        assert!(k("alter type mood add value 'x'", 110000).starts_with("Outside"));
        assert!(k("alter type mood add value 'x'", 150000).starts_with("Run"));
        assert!(k("alter type mood rename value 'a' to 'b'", 110000).starts_with("Run"));
        assert!(k("create database x", 150000).starts_with("Outside"));
        assert!(k("alter system set work_mem = '1MB'", 150000).starts_with("Outside"));
        assert!(k("alter table t detach partition p concurrently", 150000).starts_with("Outside"));
        assert!(k("start transaction", 150000).starts_with("Skip"));
        assert!(k("end", 150000).starts_with("Skip"));
        assert!(k("savepoint s", 150000).starts_with("Run"));
        assert!(k("rollback", 150000).starts_with("Reject"));
    }
}
