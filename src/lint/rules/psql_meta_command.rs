//! `psql-meta-command`
//!
//! What it does: flags psql backslash commands (`\echo`, `\set`, `\i`) in a
//! migration file.
//!
//! Why is this bad? They are instructions to psql, not SQL: touchpoint, the
//! Supabase SQL editor and every other client skip them or fail on them.
//! Schema files may keep them (touchpoint replays around them); a migration
//! should say what it does in comments.
//!
//! `\i`, `\ir`, `\include`, `\connect` and `\gexec` are errors: skipping
//! them changes what the migration does.
//!
//! Example: `\echo 'adding priority'`

use crate::lint::Context;
use crate::report::{Diagnostic, Severity};

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    if !cx.is_migration {
        return;
    }
    for m in &cx.file.metas {
        let cmd = m
            .span
            .text(&cx.file.text)
            .split_whitespace()
            .next()
            .unwrap_or("\\");
        // These change what runs (a file's SQL, another database, a
        // query's output executed as SQL): skipping them silently would
        // apply something else than what was reviewed.
        let changes_what_runs = matches!(
            cmd.trim_start_matches('\\'),
            "i" | "ir" | "include" | "include_relative" | "c" | "connect" | "gexec"
        );
        let d = if changes_what_runs {
            cx.diag(
                "psql-meta-command",
                Severity::Error,
                m.span.start,
                format!("psql meta-command {cmd} changes what runs, and touchpoint does not run psql commands"),
            )
            .help("put the SQL itself in the migration; touchpoint would skip this line and apply less than was reviewed")
        } else {
            cx.diag(
                "psql-meta-command",
                Severity::Warning,
                m.span.start,
                format!("psql meta-command {cmd} is not SQL"),
            )
            .help("touchpoint skips it when executing; write the note as a -- comment")
        };
        out.push(d);
    }
}
