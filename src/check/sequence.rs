//! `duplicate-number`
//!
//! What it does: every sequence number is used once across the whole
//! history, subfolders and files named in other conventions included
//! (`003_x.sql` has number 3 like `2025-03-01_03_y.sql`). Each file that
//! shares a number gets a finding naming the others and the next free
//! number.
//!
//! Why is this bad? The number is the order migrations run in and the
//! version the tracking table records: two files with one number run in an
//! order nobody chose, and a database that has one of them looks as if it
//! had both.
//!
//! Example: `2026-11-20_05_add_priority.sql` and `2026-11-21_05_add_index.sql`,
//! written on two branches.
//!
//! A duplicate among files that `[check] baseline` grandfathers only is a
//! warning: it is history that cannot be renamed any more.

use super::Loaded;
use crate::header::State;
use crate::history::Entry;
use crate::report::{Diagnostic, Severity};
use regex::Regex;
use std::collections::BTreeMap;

pub const CODE: &str = "duplicate-number";

pub fn check(all: &[Loaded]) -> Vec<Diagnostic> {
    let mut by_number: BTreeMap<u32, Vec<&Loaded>> = BTreeMap::new();
    for l in all {
        if let Some(n) = l.entry.number {
            by_number.entry(n).or_default().push(l);
        }
    }
    let entries: Vec<&Entry> = all.iter().map(|l| &l.entry).collect();
    let next = number_text(next_free(entries.iter().copied()), entries.iter().copied());
    let mut out = Vec::new();
    for (n, group) in by_number.iter().filter(|(_, g)| g.len() > 1) {
        let severity = if group.iter().all(|l| l.grandfathered) {
            Severity::Warning
        } else {
            Severity::Error
        };
        for l in group {
            let others: Vec<String> = group
                .iter()
                .filter(|o| o.entry.path != l.entry.path)
                .map(|o| o.entry.display.display().to_string())
                .collect();
            let shown = l.entry.number_text.clone().unwrap_or_else(|| n.to_string());
            let help = if l.state == State::Finalized {
                format!(
                    "this migration is finalized and keeps its number; move the others with \
                     `touchpoint renumber FILE` (the next free number is {next})"
                )
            } else {
                format!(
                    "run `touchpoint renumber {}` to give it the next free number, {next}",
                    l.entry.display.display()
                )
            };
            out.push(
                Diagnostic::new(
                    CODE,
                    severity,
                    format!(
                        "sequence number {shown} is also used by {}",
                        others.join(", ")
                    ),
                )
                .file(&l.entry.display)
                .help(help),
            );
        }
    }
    out
}

/// The next free number over the whole history.
pub fn next_free<'a>(entries: impl Iterator<Item = &'a Entry>) -> u32 {
    entries.filter_map(|e| e.number).max().map_or(1, |n| n + 1)
}

/// A number written as wide as the history writes them (at least two
/// digits), as `research` names new files.
pub fn number_text<'a>(n: u32, entries: impl Iterator<Item = &'a Entry>) -> String {
    let width = entries
        .filter(|e| e.conventional)
        .filter_map(|e| e.number_text.as_ref())
        .map(String::len)
        .max()
        .unwrap_or(2)
        .max(2);
    format!("{n:0width$}")
}

/// The file name with its number replaced, read through the naming
/// pattern's `nn` group; `None` when the name does not match the pattern.
pub fn renamed(file_name: &str, pattern: &Regex, new_number: &str) -> Option<String> {
    let nn = pattern.captures(file_name)?.name("nn")?;
    Some(format!(
        "{}{new_number}{}",
        &file_name[..nn.start()],
        &file_name[nn.end()..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(name: &str, state: State) -> Loaded {
        let p = Regex::new(&crate::workspace::Check::default().naming_pattern).unwrap();
        Loaded {
            entry: Entry::new(name.into(), name.into(), &p),
            state,
            hash: None,
            grandfathered: false,
        }
    }

    #[test]
    fn each_file_sharing_a_number_names_the_others_and_the_next_free() {
        let all = vec![
            loaded("003_notes.sql", State::Finalized),
            loaded("2025-03-01_03_a.sql", State::Draft),
            loaded("2025-03-02_03_b.sql", State::Draft),
            loaded("2025-03-09_07_c.sql", State::Draft),
        ];
        let d = check(&all);
        assert_eq!(d.len(), 3);
        assert!(d[0]
            .message
            .contains("2025-03-01_03_a.sql, 2025-03-02_03_b.sql"));
        assert!(d[0].help.as_deref().unwrap().contains("finalized"));
        assert!(d[1].help.as_deref().unwrap().contains(
            "touchpoint renumber 2025-03-01_03_a.sql` to give it the next free number, 08"
        ));
    }

    #[test]
    fn renamed_keeps_date_and_slug() {
        let p = Regex::new(&crate::workspace::Check::default().naming_pattern).unwrap();
        assert_eq!(
            renamed("2025-03-01_03_a_03.sql", &p, "08").as_deref(),
            Some("2025-03-01_08_a_03.sql")
        );
        assert_eq!(renamed("003_x.sql", &p, "08"), None);
    }
}
