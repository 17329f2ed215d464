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
pub fn scan(path: &Path, text: &str) -> Vec<Diagnostic> {
    let index = LineIndex::new(text);
    crate::text::find_emoji(text)
        .into_iter()
        .map(|(offset, c)| {
            let (line, col) = index.line_col(text, offset);
            Diagnostic::new("emoji", Severity::Error, format!("emoji U+{:04X} in the file", c as u32))
                .file(path)
                .at(line, col)
                .help("the house rule bans emoji: write a word instead ([X] for done, WARNING: for a warning)")
        })
        .collect()
}
