//! `touchpoint lint`: syntax (the real PostgreSQL grammar), the
//! dangerous-operation rules of squawk, touchpoint's own rules that need the
//! schema model (which a stateless linter cannot have), and header rules.
//!
//! One rule, one file under `rules/`; the registry is `RULES`. squawk's
//! rules are reused through `squawk.rs`, not rewritten.

pub mod rules;
pub mod squawk;

use crate::analysis::Analysis;
use crate::header::Header;
use crate::report::{Diagnostic, Severity};
use crate::schema::Schema;
use crate::sql::SqlFile;

/// What a rule sees.
pub struct Context<'a> {
    pub file: &'a SqlFile,
    pub header: Option<&'a Header>,
    /// The schema model, when `current_schema` could be read.
    pub schema: Option<&'a Schema>,
    /// The impact analysis of the file against the schema.
    pub analysis: Option<&'a Analysis>,
    /// The file lives in `migration_history/` (header rules apply).
    pub is_migration: bool,
}

impl Context<'_> {
    pub fn diag(
        &self,
        code: &str,
        severity: Severity,
        offset: usize,
        message: impl Into<String>,
    ) -> Diagnostic {
        let (line, col) = self.file.index.line_col(&self.file.text, offset);
        Diagnostic::new(code, severity, message)
            .file(&self.file.path)
            .at(line, col)
    }
}

pub type RuleFn = fn(&Context, &mut Vec<Diagnostic>);

/// touchpoint's own rules: name and check function.
pub const RULES: &[(&str, RuleFn)] = &[
    ("unknown-object", rules::unknown_object::check),
    ("duplicate-column", rules::duplicate_column::check),
    ("index-not-concurrent", rules::index_not_concurrent::check),
    ("missing-if-exists", rules::missing_if_exists::check),
    ("psql-meta-command", rules::psql_meta_command::check),
    ("emoji", rules::emoji::check),
    ("header-sections", rules::header_sections::check),
    ("header-placeholder", rules::header_placeholder::check),
];

/// Lint one parsed file. `exclude` names rules (ours or squawk's) to skip.
pub fn lint(cx: &Context, exclude: &[String], include: &[String]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (name, rule) in RULES {
        if !exclude.iter().any(|e| e == name) {
            rule(cx, &mut out);
        }
    }
    out.retain(|d| !exclude.contains(&d.code));
    out.extend(squawk::lint(cx.file, exclude, include));
    sort(&mut out);
    out
}

/// Lint text that does not parse: only the rules that work on raw text.
pub fn lint_unparsed(path: &std::path::Path, text: &str, syntax: Diagnostic) -> Vec<Diagnostic> {
    let mut out = vec![syntax];
    out.extend(rules::emoji::scan(path, text));
    sort(&mut out);
    out
}

pub fn sort(d: &mut [Diagnostic]) {
    d.sort_by(|a, b| {
        (&a.file, a.line, a.column, &a.code).cmp(&(&b.file, b.line, b.column, &b.code))
    });
}

#[cfg(test)]
mod tests;
