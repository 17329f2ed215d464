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
        out.push(
            cx.diag(
                "psql-meta-command",
                Severity::Warning,
                m.span.start,
                format!("psql meta-command {cmd} is not SQL"),
            )
            .help("touchpoint skips it when executing; write the note as a -- comment"),
        );
    }
}
