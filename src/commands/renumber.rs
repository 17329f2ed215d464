//! `touchpoint renumber FILE`: give a migration the next free sequence
//! number. Same folder, same date and slug; the header's `Migration` line
//! is updated when it carries the number. Nothing else changes. A finalized
//! migration is refused: databases and the sum file know it by its name.

use crate::check::sequence;
use crate::commands::ExitStatus;
use crate::error::{Error, Result};
use crate::header::State;
use crate::history;
use crate::workspace::Workspace;
use regex::Regex;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct RenumberOpts {
    pub file: PathBuf,
}

pub fn run(ws: &Workspace, opts: &RenumberOpts, out: &mut dyn Write) -> Result<ExitStatus> {
    let path = ws.resolve_user_path(&opts.file)?;
    if !path.starts_with(ws.history_dir()) {
        return Err(Error::usage(format!(
            "{} is not in {}",
            opts.file.display(),
            ws.config.paths.migration_history.display()
        ))
        .help("renumber renames migrations of the history"));
    }
    // Only the header is read: a draft whose SQL does not parse yet can
    // still be renumbered.
    let entries = history::list(ws)?;
    let entry = entries
        .iter()
        .find(|e| e.path == path)
        .cloned()
        .ok_or_else(|| {
            Error::usage(format!("{} is not a migration", opts.file.display()))
                .help("pass a .sql file under the migration history folder")
        })?;
    let display = entry.display.clone();
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&display, e))?;
    let header = crate::header::parse(&text);
    let state = header.as_ref().map_or(State::Draft, |h| h.state());
    if state == State::Finalized {
        return Err(Error::usage(format!("{} is finalized", display.display()))
            .file(&display)
            .help("a finalized migration keeps its name (databases and touchpoint.sum know it by it); renumber the other files that share its number"));
    }
    let old = entry.number;
    let shared = entries
        .iter()
        .filter(|e| e.path != path && e.number.is_some() && e.number == old)
        .count();
    let next = sequence::next_free(entries.iter());
    if old.is_some() && shared == 0 && old.map(|n| n + 1) == Some(next) {
        let _ = writeln!(
            out,
            "{} already has the last number, {}: nothing to do",
            display.display(),
            entry.number_text.as_deref().unwrap_or_default()
        );
        return Ok(ExitStatus::Success);
    }
    let new_text = sequence::number_text(next, entries.iter());
    let pattern = history::naming_pattern(ws)?;
    let new_name = sequence::renamed(&entry.file_name, &pattern, &new_text).ok_or_else(|| {
        Error::usage(format!(
            "{} does not follow the naming pattern, so its number cannot be found in the name",
            display.display()
        ))
        .help(format!(
            "rename it by hand to YYYY-MM-DD_{new_text}_slug.sql (the next free number is {new_text})"
        ))
    })?;
    let new_path = path.with_file_name(&new_name);
    if new_path.exists() {
        return Err(Error::usage(format!(
            "{} already exists",
            ws.display(&new_path).display()
        )));
    }
    let (new_text_body, header_changed) = match &entry.number_text {
        Some(old_text) => fix_migration_line(&text, header.as_ref(), old_text, &new_text),
        None => (text.clone(), false),
    };
    // Write the new file first: a crash in between leaves two files with
    // the same content, which check reports, rather than none.
    crate::text::write_atomic(&new_path, &new_text_body)?;
    std::fs::remove_file(&path).map_err(|e| Error::io(&display, e))?;
    let _ = writeln!(
        out,
        "renamed {} -> {}",
        display.display(),
        ws.display(&new_path).display()
    );
    if header_changed {
        let _ = writeln!(out, "updated the Migration line of the header");
    }
    Ok(ExitStatus::Success)
}

/// Replace the number in the header's `Migration` line (`-- Migration: 05
/// Add x`, `-- Migration 05: Add x`), as a whole token only.
fn fix_migration_line(
    text: &str,
    header: Option<&crate::header::Header>,
    old: &str,
    new: &str,
) -> (String, bool) {
    let Some(h) = header else {
        return (text.to_string(), false);
    };
    let token = Regex::new(&format!(
        r"(^|[^0-9A-Za-z_]){}($|[^0-9A-Za-z_])",
        regex::escape(old)
    ))
    .expect("escaped number");
    let line_re = Regex::new(r"^--\s*Migration\b").expect("valid regex");
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let n = i + 1;
        if !changed && n >= h.start_line && n <= h.end_line && line_re.is_match(line.trim_start()) {
            if let Some(m) = token.captures(line) {
                let whole = m.get(0).expect("match");
                let (pre, post) = (&m[1], &m[2]);
                out.push_str(&line[..whole.start()]);
                out.push_str(&format!("{pre}{new}{post}"));
                out.push_str(&line[whole.end()..]);
                changed = true;
                continue;
            }
        }
        out.push_str(line);
    }
    (out, changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_line_number_is_replaced_as_a_token() {
        let src =
            "-- ====\n-- Migration 04: Add 04b flag\n-- Date: 2025-03-04\n-- ====\nselect 4;\n";
        let h = crate::header::parse(src);
        let (out, changed) = fix_migration_line(src, h.as_ref(), "04", "09");
        assert!(changed);
        assert_eq!(
            out,
            "-- ====\n-- Migration 09: Add 04b flag\n-- Date: 2025-03-04\n-- ====\nselect 4;\n"
        );
        let src = "-- Migration: Add priority\nselect 4;\n";
        let h = crate::header::parse(src);
        assert!(!fix_migration_line(src, h.as_ref(), "04", "09").1);
    }
}
