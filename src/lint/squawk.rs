//! The dangerous-operation rules of squawk (squawk-linter), reused as they
//! are. Their violations become touchpoint diagnostics with the same code.
//!
//! Settings: migrations run inside a transaction (touchpoint finalize and
//! apply wrap each one), so squawk is told to assume one. Its
//! `require-concurrent-index-creation` is replaced by touchpoint's
//! schema-aware `index-not-concurrent`, which knows whether the table is new;
//! the timeout rules are moot because touchpoint sets `lock_timeout` and
//! `statement_timeout` itself (touchpoint.toml [database]). squawk's style
//! preferences (integer widths, identity, text over varchar) are not
//! dangerous operations: they are off unless `[lint] include` names them.

use crate::report::{Diagnostic, Severity};
use crate::sql::SqlFile;
use squawk_linter::{Linter, Rule};

const REPLACED: &[&str] = &[
    "require-concurrent-index-creation",
    "require-lock-timeout",
    "require-statement-timeout",
    "require-timeout-settings",
];

/// Style rules, off by default.
pub const STYLE: &[&str] = &[
    "prefer-bigint-over-int",
    "prefer-bigint-over-smallint",
    "prefer-identity",
    "prefer-text-field",
    "prefer-timestamptz",
    "ban-char-field",
];

pub fn lint(file: &SqlFile, exclude: &[String], include: &[String]) -> Vec<Diagnostic> {
    let parse_rules = |names: &[String]| -> Vec<Rule> {
        names
            .iter()
            .filter_map(|n| n.parse::<Rule>().ok())
            .collect()
    };
    let mut excluded = parse_rules(exclude);
    excluded.extend(REPLACED.iter().filter_map(|n| n.parse::<Rule>().ok()));
    excluded.extend(
        STYLE
            .iter()
            .filter(|n| !include.iter().any(|i| i == *n))
            .filter_map(|n| n.parse::<Rule>().ok()),
    );
    let mut linter = Linter::with_rules(&parse_rules(include), &excluded);
    linter.settings.assume_in_transaction = true;
    // squawk's parser does not know psql meta-commands: blank them out,
    // keeping every offset.
    let mut text = file.text.clone();
    for m in &file.metas {
        text.replace_range(
            m.span.start..m.span.end,
            &" ".repeat(m.span.end - m.span.start),
        );
    }
    let parsed = squawk_syntax::SourceFile::parse(&text);
    linter
        .lint(&parsed, &text)
        .into_iter()
        .map(|v| {
            let offset: usize = v.text_range.start().into();
            let (line, col) = file.index.line_col(&file.text, offset);
            let mut d = Diagnostic::new(&v.code.to_string(), Severity::Warning, v.message)
                .file(&file.path)
                .at(line, col);
            d.help = v.help;
            d
        })
        .collect()
}
