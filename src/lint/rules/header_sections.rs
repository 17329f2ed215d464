//! `header-sections`
//!
//! What it does: a migration must start with the house header, with every
//! required section (PROBLEM, SOLUTION, AFFECTED TABLES, SOURCE OF TRUTH
//! SCHEMA UPDATED, SCHEMA DOCUMENTATION UPDATED, MIGRATION STRATEGY,
//! MIGRATION EXECUTED), each once, between an opening and a closing
//! `-- ====` banner.
//!
//! Why is this bad? The header is the review record: a missing section is a
//! question the reviewer cannot answer, a duplicated one is ambiguous.
//!
//! Example: a header without `-- MIGRATION STRATEGY:`.

use crate::header::REQUIRED_SECTIONS;
use crate::lint::Context;
use crate::report::{Diagnostic, Severity};

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    if !cx.is_migration {
        return;
    }
    let Some(h) = cx.header else {
        out.push(
            cx.diag("header-sections", Severity::Error, 0, "the migration has no header comment block")
                .help("start the file with the header from templates/migration.sql.tera (touchpoint research writes it)"),
        );
        return;
    };
    if !crate::header::is_closed(&cx.file.text, h) {
        out.push(
            Diagnostic::new(
                "header-sections",
                Severity::Error,
                "the header opens with a `-- ====` banner and never closes it",
            )
            .file(&cx.file.path)
            .line(h.start_line)
            .help(format!(
                "end the header with the same banner line (after line {}); without it the header runs into the first comments of the SQL",
                h.end_line
            )),
        );
    }
    for name in REQUIRED_SECTIONS {
        if h.section(name).is_none() {
            out.push(
                Diagnostic::new(
                    "header-sections",
                    Severity::Error,
                    format!("header has no {name} section"),
                )
                .file(&cx.file.path)
                .line(h.start_line)
                .help(format!(
                    "add `-- {name}:` with its content (see templates/migration.sql.tera)"
                )),
            );
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for s in &h.sections {
        if seen.contains(&s.name.as_str()) {
            out.push(
                Diagnostic::new(
                    "header-sections",
                    Severity::Error,
                    format!("section {} appears twice", s.name),
                )
                .file(&cx.file.path)
                .line(s.line)
                .help("merge the two sections into one"),
            );
        }
        seen.push(&s.name);
    }
}
