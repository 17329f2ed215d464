//! The command line: clap definitions and dispatch. `main` only parses,
//! calls `run` and maps the result to an exit code.

use crate::commands::{self, ExitStatus};
use crate::error::{Error, Result};
use crate::workspace::Workspace;
use clap::{Parser, Subcommand};
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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write touchpoint.toml, the folders and the templates.
    Init,
    /// Draft a dated migration with its full header and impact analysis.
    Research(commands::research::ResearchOpts),
    /// Check migration files: syntax, dangerous operations, idempotency,
    /// schema-aware rules and header rules. Never needs a database.
    Lint(commands::lint::LintOpts),
    /// Record the review of a migration with the checksum of its SQL.
    Approve(commands::approve::ApproveOpts),
    /// Execute a reviewed migration, patch current_schema, prove no drift,
    /// regenerate the docs and tick the header: all or nothing.
    Finalize(commands::finalize::FinalizeOpts),
    /// Regenerate (or verify with --check) the bridge docs from current_schema.
    Bridge(commands::bridge::BridgeOpts),
    /// The CI gate: naming, numbering, headers, emoji, checksums, syntax, docs.
    Check(commands::check::CheckOpts),
    /// Every migration with its state, and whether a database has it.
    Status(commands::status::StatusOpts),
    /// Give a migration that shares its number the next free one (renames
    /// the file, fixes the header's Migration line); refuses finalized ones.
    Renumber(commands::renumber::RenumberOpts),
    /// Bring another environment (staging, production) to exactly the
    /// finalized history: every finalized migration its tracking table
    /// lacks, in order, as one batch. Never changes files.
    Apply(commands::apply::ApplyOpts),
    /// Run a finalized migration's rollback script on a database, mark it
    /// reverted, and take current_schema and the docs back.
    Rollback(commands::rollback::RollbackOpts),
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
        Command::Research(o) => commands::research::run(&ws, &o, out, err),
        Command::Lint(o) => commands::lint::run(&ws, &o, out, err),
        Command::Approve(o) => commands::approve::run(&ws, &o, out, err),
        Command::Finalize(o) => commands::finalize::run(&ws, &o, out, err),
        Command::Bridge(o) => commands::bridge::run(&ws, &o),
        Command::Check(o) => commands::check::run(&ws, &o, out, err),
        Command::Status(o) => commands::status::run(&ws, &o, out),
        Command::Renumber(o) => commands::renumber::run(&ws, &o, out),
        Command::Apply(o) => commands::apply::run(&ws, &o, out, err),
        Command::Rollback(o) => commands::rollback::run(&ws, &o, out, err),
        Command::Completions { .. } | Command::Man { .. } => unreachable!("handled above"),
    }
}
