//! `header-placeholder`
//!
//! What it does: flags template placeholders (`<describe ...>`,
//! `<reviewer>`, `<target>`, `<date>`) left in a header. In a draft, only the
//! prose sections (PROBLEM, SOLUTION, MIGRATION STRATEGY) are flagged, as
//! warnings; in a finalized migration, any placeholder is an error.
//!
//! Why is this bad? A placeholder is an unanswered question in the review
//! record; in a finalized migration it means a step was never recorded.
//!
//! Example: `--   <describe the problem this migration solves>`

use crate::header::{State, PLACEHOLDER_RE, PROSE_SECTIONS};
use crate::lint::Context;
use crate::report::{Diagnostic, Severity};

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let (true, Some(h)) = (cx.is_migration, cx.header) else {
        return;
    };
    let finalized = h.state() == State::Finalized;
    for s in &h.sections {
        if !finalized && !PROSE_SECTIONS.contains(&s.name.as_str()) {
            continue;
        }
        let lines = std::iter::once((s.line, s.inline.as_str()))
            .chain(s.body.iter().map(|b| (b.line, b.text.as_str())));
        for (line, text) in lines {
            if let Some(m) = PLACEHOLDER_RE.find(text) {
                let severity = if finalized {
                    Severity::Error
                } else {
                    Severity::Warning
                };
                out.push(
                    Diagnostic::new(
                        "header-placeholder",
                        severity,
                        format!("{}: placeholder {} left in the header", s.name, m.as_str()),
                    )
                    .file(&cx.file.path)
                    .line(line)
                    .help(if finalized {
                        "a finalized migration records what was done: fill it in"
                    } else {
                        "write this section before asking for review"
                    }),
                );
            }
        }
    }
}
