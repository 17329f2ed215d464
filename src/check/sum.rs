//! Finalized migrations unchanged since finalize: the sum file
//! `migration_history/touchpoint.sum` (see `history::SumFile`).
//!
//! - `sum-mismatch`: a finalized migration's bytes differ from its entry.
//! - `sum-missing`: a finalized migration has no entry (adopting touchpoint
//!   on an existing history: `touchpoint check --write-sum` once).
//! - `sum-deleted`: an entry names a file that is gone (deleted or renamed).
//! - `sum-chain`: the first line's chained hash does not match the entries
//!   (an entry edited, reordered or added by hand, or a bad merge).
//!
//! Why? A finalized migration is history: the databases that ran it ran
//! these bytes. Editing it afterwards makes the history lie.

use super::Loaded;
use crate::error::Result;
use crate::header::State;
use crate::history::{self, SumFile, SUM_FILE};
use crate::report::{Diagnostic, Severity};
use crate::workspace::Workspace;
use std::collections::HashMap;
use std::path::PathBuf;

const WRITE_SUM: &str = "touchpoint check --write-sum";

fn sum_display(ws: &Workspace) -> PathBuf {
    ws.display(&ws.history_dir().join(SUM_FILE))
}

pub fn check(ws: &Workspace, all: &[Loaded], sums: Option<&SumFile>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let display = sum_display(ws);
    let empty = SumFile::default();
    let sums = sums.unwrap_or(&empty);
    let by_key: HashMap<String, &Loaded> = all
        .iter()
        .map(|l| (history::sum_key(ws, &l.entry.path), l))
        .collect();
    let recorded_any = !sums.entries.is_empty() || !sums.chain.is_empty();
    if recorded_any && sums.chain != sums.computed_chain() {
        out.push(
            Diagnostic::new(
                "sum-chain",
                Severity::Error,
                "the chained hash on the first line does not match the entries: \
                 the sum file was edited by hand or merged badly",
            )
            .file(&display)
            .line(chain_line(ws))
            .help(format!(
                "restore it from git; if every finalized migration is as it should be, \
                 rewrite it with `{WRITE_SUM}`"
            )),
        );
    }
    for (key, hash, line) in &sums.entries {
        match by_key.get(key) {
            None => out.push(
                Diagnostic::new(
                    "sum-deleted",
                    Severity::Error,
                    format!("finalized migration {key} is recorded in the sum file but no longer exists"),
                )
                .file(&display)
                .line(*line)
                .help(format!(
                    "a finalized migration is history: restore it from git; if it was renamed on purpose, run `{WRITE_SUM}`"
                )),
            ),
            Some(l) if l.hash.as_deref() != Some(hash.as_str()) => out.push(
                Diagnostic::new(
                    "sum-mismatch",
                    Severity::Error,
                    format!(
                        "finalized migration changed since it was finalized ({} line {line} records other bytes)",
                        display.display()
                    ),
                )
                .file(&l.entry.display)
                .help(format!(
                    "revert the edit (`git checkout -- {}`) and write a new migration for the change; \
                     if the edit is deliberate (say, removing emoji while adopting touchpoint), \
                     record it with `{WRITE_SUM}`",
                    l.entry.display.display()
                )),
            ),
            Some(_) => {}
        }
    }
    let recorded: std::collections::HashSet<&str> =
        sums.entries.iter().map(|(k, _, _)| k.as_str()).collect();
    for l in all.iter().filter(|l| l.state == State::Finalized) {
        if !recorded.contains(history::sum_key(ws, &l.entry.path).as_str()) {
            out.push(
                Diagnostic::new(
                    "sum-missing",
                    Severity::Error,
                    format!(
                        "finalized migration is not recorded in {}",
                        display.display()
                    ),
                )
                .file(&l.entry.display)
                .help(format!(
                    "run `{WRITE_SUM}` once when adopting touchpoint; after that, \
                     `touchpoint finalize` records each migration it finalizes"
                )),
            );
        }
    }
    out
}

/// Line of the `h1:` chain line (after the comment lines).
fn chain_line(ws: &Workspace) -> usize {
    std::fs::read_to_string(ws.history_dir().join(SUM_FILE))
        .ok()
        .and_then(|t| {
            t.lines()
                .position(|l| l.trim_start().starts_with("h1:"))
                .map(|i| i + 1)
        })
        .unwrap_or(1)
}

/// Record every finalized migration on disk, replacing the sum file.
pub fn write(ws: &Workspace, all: &[Loaded]) -> Result<SumFile> {
    let mut sums = SumFile::default();
    for l in all.iter().filter(|l| l.state == State::Finalized) {
        if let Some(h) = &l.hash {
            sums.set(&history::sum_key(ws, &l.entry.path), h);
        }
    }
    let rendered = sums.render();
    crate::text::write_atomic(&ws.history_dir().join(SUM_FILE), &rendered)?;
    // Line numbers as a later read would see them.
    Ok(SumFile::parse(&rendered))
}
