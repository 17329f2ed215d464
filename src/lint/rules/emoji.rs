//! `emoji`
//!
//! What it does: flags any emoji or pictograph in a file touchpoint reads
//! (migrations, schema files, bridge docs).
//!
//! Why is this bad? The house rule bans them: they carry no meaning a word
//! would not, break alignment in terminals and diffs, and hide ticked boxes
//! behind symbols a checker cannot read.
//!
//! Example: `-- Status: done (rocket emoji)`

use crate::lint::Context;
use crate::report::{Diagnostic, LineIndex, Severity};
use std::path::Path;

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    out.extend(scan(&cx.file.path, &cx.file.text));
}

/// Every emoji of a text, as diagnostics (used by `check` on docs too).
/// One finding per emoji as people see it: a sequence of adjacent code
/// points (a sign and its variation selector, a ZWJ family) is one.
pub fn scan(path: &Path, text: &str) -> Vec<Diagnostic> {
    let mut runs: Vec<(usize, usize, Vec<char>)> = Vec::new();
    for (offset, c) in crate::text::find_emoji(text) {
        match runs.last_mut() {
            Some((_, end, chars)) if *end == offset => {
                *end = offset + c.len_utf8();
                chars.push(c);
            }
            _ => runs.push((offset, offset + c.len_utf8(), vec![c])),
        }
    }
    if runs.is_empty() {
        return Vec::new();
    }
    let index = LineIndex::new(text);
    runs.into_iter()
        .map(|(offset, _, chars)| {
            let (line, col) = index.line_col(text, offset);
            let points: Vec<String> = chars.iter().map(|c| format!("U+{:04X}", *c as u32)).collect();
            Diagnostic::new("emoji", Severity::Error, format!("emoji {} in the file", points.join(" ")))
                .file(path)
                .at(line, col)
                .help("the house rule bans emoji: write a word instead ([X] for done, WARNING: for a warning)")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_sequence_is_one_finding() {
        let d = super::scan(
            std::path::Path::new("a.md"),
            "ok \u{26A0}\u{FE0F} and \u{2705}\n",
        );
        let got: Vec<(usize, String)> = d
            .into_iter()
            .map(|d| (d.column.unwrap(), d.message))
            .collect();
        assert_eq!(
            got,
            vec![
                (4, "emoji U+26A0 U+FE0F in the file".to_string()),
                (11, "emoji U+2705 in the file".to_string())
            ]
        );
    }
}
