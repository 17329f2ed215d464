//! Bridge docs in sync with `current_schema`: the bridge module's own
//! check (`touchpoint bridge --check`), reported as findings.
//!
//! - `bridge-out-of-date`: `touchpoint bridge` would rewrite the doc.
//! - the bridge module's findings as they are (a doc for a table
//!   `current_schema` does not define, a doc that does not parse, ...).
//! - `bridge-placeholder` (warning): a description still reading
//!   `TODO: ...`, the placeholder a new column gets.
//!
//! Why? The docs brief people and AI models about each table; a doc that
//! says less than the schema, or other things, briefs them wrong.

use crate::bridge::{self, placeholder, Tier};
use crate::error::Result;
use crate::report::{Diagnostic, Severity};
use crate::schema::Schema;
use crate::workspace::Workspace;
use std::path::Path;

pub fn check(ws: &Workspace, schema: &Schema) -> Result<Vec<Diagnostic>> {
    let plan = bridge::plan_report(ws, schema, &[], &[])?;
    let mut out: Vec<Diagnostic> = plan
        .changes
        .iter()
        .map(|c| crate::commands::bridge::out_of_date(ws, c))
        .collect();
    out.extend(plan.diagnostics);
    Ok(out)
}

/// When a schema file does not parse, the docs cannot be compared with it.
pub fn skipped() -> Diagnostic {
    Diagnostic::new(
        "bridge-not-checked",
        Severity::Info,
        "bridge docs were not compared with current_schema: a schema file does not parse",
    )
    .help("fix the syntax error in current_schema; the docs are checked on the next run")
}

/// Placeholder descriptions left in a doc, one finding per line.
pub fn placeholders(display: &Path, tier: Tier, text: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        // JSON string values start after a quote; markdown descriptions
        // after a table pipe or a list marker.
        let starts: Vec<usize> = match tier {
            Tier::Source => line
                .match_indices(['|', '-', ':'])
                .map(|(p, _)| p + 1)
                .chain(std::iter::once(0))
                .collect(),
            Tier::Detailed | Tier::Minimal => line.match_indices('"').map(|(p, _)| p + 1).collect(),
        };
        if let Some(start) = starts
            .into_iter()
            .filter(|&p| placeholder::is_placeholder(&line[p..]))
            .min()
        {
            let start = start + (line[start..].len() - line[start..].trim_start().len());
            // The placeholder runs to the end of its JSON string or cell.
            let rest = &line[start..];
            let end = match tier {
                Tier::Source => rest.find('|'),
                Tier::Detailed | Tier::Minimal => rest.find('"'),
            }
            .unwrap_or(rest.len());
            let col = line[..start].chars().count() + 1;
            out.push(
                Diagnostic::new(
                    "bridge-placeholder",
                    Severity::Warning,
                    format!(
                        "placeholder description left: \"{}\"",
                        crate::text::one_line(rest[..end].trim(), 80)
                    ),
                )
                .file(display)
                .at(i + 1, col)
                .help("describe the column in words; touchpoint keeps what you write"),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_in_json_and_markdown() {
        let json = "{\n  \"fields\": {\n    \"priority\": {\n      \"description\": \"TODO: describe priority\"\n    },\n    \"x\": \"mentions TODO: later\"\n  }\n}\n";
        let d = placeholders(Path::new("d.json"), Tier::Detailed, json);
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].line, d[0].column), (Some(4), Some(23)));
        let md = "| priority | smallint | TODO: describe priority |\n- TODO: list the values\nsee the TODO: list\n";
        let d = placeholders(Path::new("d.md"), Tier::Source, md);
        assert_eq!(
            d.iter().map(|d| d.line.unwrap()).collect::<Vec<_>>(),
            vec![1, 2]
        );
    }
}
