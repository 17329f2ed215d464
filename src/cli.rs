//! The command line: clap definitions and dispatch. `main` only parses,
//! calls `run` and maps the result to an exit code.

use crate::commands::{self, ExitStatus};
use crate::error::{Error, Result};
use crate::report::{Format, Severity};
use crate::workspace::Workspace;
use clap::{Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "touchpoint",
    version,
    about = "Research, review and finalize PostgreSQL migrations against a source-of-truth schema",
    long_about = None
)]
pub struct Cli {
    /// Workspace root (default: the nearest parent holding touchpoint.toml,
    /// else the current directory).
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
}

impl From<FailOn> for Severity {
    fn from(f: FailOn) -> Severity {
        match f {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write touchpoint.toml, the folders and the templates.
    Init,
    /// Draft a dated migration with its full header and impact analysis.
    Research {
        /// Short name of the change, e.g. add_job_priority.
        #[arg(required_unless_present = "refresh")]
        slug: Option<String>,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        issue: Option<String>,
        /// The migration SQL (a file, or - for standard input).
        #[arg(long, value_name = "FILE|-")]
        sql: Option<PathBuf>,
        /// Date of the migration (YYYY-MM-DD), default today.
        #[arg(long)]
        date: Option<String>,
        /// Re-run the analysis of an existing draft after its SQL changed.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["slug", "sql", "title", "date", "problem", "solution", "strategy"])]
        refresh: Option<PathBuf>,
        /// Text of the PROBLEM section (default: a placeholder to fill in).
        #[arg(long)]
        problem: Option<String>,
        /// Text of the SOLUTION section (default: a placeholder to fill in).
        #[arg(long)]
        solution: Option<String>,
        /// Text of the MIGRATION STRATEGY section (default: derived from the locks).
        #[arg(long)]
        strategy: Option<String>,
    },
    /// Check migration files: syntax, dangerous operations, idempotency,
    /// schema-aware rules and header rules. Never needs a database.
    Lint {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Lowest severity that makes the exit code 1.
        #[arg(long, value_enum)]
        fail_on: Option<FailOn>,
    },
    /// Record the review of a migration with the checksum of its SQL.
    Approve {
        file: PathBuf,
        /// Reviewer name (default: git config user.name).
        #[arg(long)]
        by: Option<String>,
        /// Review date (YYYY-MM-DD), default today.
        #[arg(long)]
        date: Option<String>,
    },
    /// Execute a reviewed migration, patch current_schema, prove no drift,
    /// regenerate the docs and tick the header: all or nothing.
    Finalize {
        file: PathBuf,
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
        #[arg(long)]
        dry_run: bool,
        #[arg(long, requires = "applied_via")]
        no_execute: bool,
        #[arg(long, value_name = "TEXT")]
        applied_via: Option<String>,
        #[arg(long)]
        strict: bool,
        /// Execution date recorded in the header (YYYY-MM-DD), default today.
        #[arg(long)]
        date: Option<String>,
        /// Skip the no-drift proof on a throwaway database (prints a warning).
        #[arg(long, conflicts_with = "prove")]
        no_proof: bool,
        /// With --no-execute: run the no-drift proof too (off by default there).
        #[arg(long)]
        prove: bool,
    },
    /// Regenerate (or verify with --check) the bridge docs from current_schema.
    Bridge {
        tables: Vec<String>,
        #[arg(long)]
        check: bool,
        #[arg(long, value_name = "TABLE")]
        new: Option<String>,
        #[arg(long)]
        group: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// The CI gate: naming, numbering, headers, emoji, checksums, syntax, docs.
    Check {
        /// Also replay current_schema on the embedded throwaway database.
        #[arg(long)]
        replay: bool,
        /// Run the per-file rules only on files changed since this git
        /// revision (numbering and the sum file are always checked).
        #[arg(long, value_name = "GIT_REV")]
        since: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Lowest severity that makes the exit code 1 (default: error).
        #[arg(long, value_enum)]
        fail_on: Option<FailOn>,
        /// First record every finalized migration on disk in
        /// migration_history/touchpoint.sum (once, when adopting touchpoint).
        #[arg(long)]
        write_sum: bool,
    },
    /// Every migration with its state, and whether a database has it.
    Status {
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Give a migration that shares its number the next free one (renames
    /// the file, fixes the header's Migration line); refuses finalized ones.
    Renumber { file: PathBuf },
    /// Bring another environment (staging, production) to exactly the
    /// finalized history: every finalized migration its tracking table
    /// lacks, in order, as one batch. Never changes files.
    Apply {
        /// The target database (or DATABASE_URL, or [database] url).
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
        /// Run the pending migrations in a transaction that is rolled back,
        /// and report what would happen.
        #[arg(long)]
        dry_run: bool,
        /// Stop after this sequence number.
        #[arg(long, value_name = "NN")]
        to: Option<u32>,
        /// Run the whole batch in one transaction: all of it or none.
        #[arg(long)]
        single_transaction: bool,
        /// Record the finalized migrations up to NN as applied without
        /// running them, for a database that already has them.
        #[arg(long, value_name = "NN", conflicts_with_all = ["to", "single_transaction", "allow_out_of_order"])]
        baseline: Option<u32>,
        /// Apply a pending migration even when a later one is applied.
        #[arg(long)]
        allow_out_of_order: bool,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Run a finalized migration's rollback script on a database, mark it
    /// reverted, and take current_schema and the docs back.
    Rollback {
        file: PathBuf,
        /// The database to roll back (or DATABASE_URL, or [database] url);
        /// without one, the script is tried on a throwaway database and
        /// only the files change.
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Leave current_schema, the docs and the header alone.
        #[arg(long)]
        no_patch: bool,
        /// Run the script in a transaction that is rolled back and print
        /// the file changes; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Date recorded in the header (YYYY-MM-DD), default today.
        #[arg(long)]
        date: Option<String>,
    },
    /// Print the completion script for a shell.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command into DIR.
    Man {
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// Run a parsed command line.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> Result<ExitStatus> {
    if let Command::Init = cli.command {
        let root = match &cli.root {
            Some(r) => r.clone(),
            None => std::env::current_dir().map_err(|e| Error::io(std::path::Path::new("."), e))?,
        };
        return commands::init::run(&root, out);
    }
    // Generated from the definitions above; no workspace needed.
    match &cli.command {
        Command::Completions { shell } => return commands::completions::completions(*shell, out),
        Command::Man { dir } => return commands::completions::man(dir.as_deref(), out),
        _ => {}
    }
    let ws = Workspace::discover(cli.root.as_deref())?;
    match cli.command {
        Command::Init => unreachable!("handled above"),
        Command::Research {
            slug,
            title,
            issue,
            sql,
            date,
            refresh,
            problem,
            solution,
            strategy,
        } => commands::research::run(
            &ws,
            &commands::research::ResearchOpts {
                slug,
                title,
                issue,
                sql,
                date,
                refresh,
                problem,
                solution,
                strategy,
            },
            out,
            err,
        ),
        Command::Lint {
            files,
            format,
            fail_on,
        } => commands::lint::run(
            &ws,
            &commands::lint::LintOpts {
                files,
                format,
                fail_on: fail_on.map(Into::into),
            },
            out,
            err,
        ),
        Command::Approve { file, by, date } => commands::approve::run(
            &ws,
            &commands::approve::ApproveOpts { file, by, date },
            out,
            err,
        ),
        Command::Finalize {
            file,
            database_url,
            dry_run,
            no_execute,
            applied_via,
            strict,
            date,
            no_proof,
            prove,
        } => commands::finalize::run(
            &ws,
            &commands::finalize::FinalizeOpts {
                file,
                database_url,
                dry_run,
                no_execute,
                applied_via,
                strict,
                date,
                no_proof,
                prove,
            },
            out,
            err,
        ),
        Command::Bridge {
            tables,
            check,
            new,
            group,
            format,
        } => commands::bridge::run(
            &ws,
            &commands::bridge::BridgeOpts {
                tables,
                check,
                new,
                group,
                format,
            },
        ),
        Command::Check {
            replay,
            since,
            format,
            fail_on,
            write_sum,
        } => commands::check::run(
            &ws,
            &commands::check::CheckOpts {
                replay,
                since,
                format,
                fail_on: fail_on.map(Into::into),
                write_sum,
            },
            out,
            err,
        ),
        Command::Status {
            database_url,
            format,
        } => commands::status::run(
            &ws,
            &commands::status::StatusOpts {
                database_url,
                format,
            },
            out,
        ),
        Command::Renumber { file } => {
            commands::renumber::run(&ws, &commands::renumber::RenumberOpts { file }, out)
        }
        Command::Apply {
            database_url,
            dry_run,
            to,
            single_transaction,
            baseline,
            allow_out_of_order,
            format,
        } => commands::apply::run(
            &ws,
            &commands::apply::ApplyOpts {
                database_url,
                dry_run,
                to,
                single_transaction,
                baseline,
                allow_out_of_order,
                format,
            },
            out,
            err,
        ),
        Command::Rollback {
            file,
            database_url,
            yes,
            no_patch,
            dry_run,
            date,
        } => commands::rollback::run(
            &ws,
            &commands::rollback::RollbackOpts {
                file,
                database_url,
                yes,
                no_patch,
                dry_run,
                date,
            },
            out,
            err,
        ),
        Command::Completions { .. } | Command::Man { .. } => unreachable!("handled above"),
    }
}
