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

/// Placeholder descriptions left in a doc: one finding per doc, at the
/// first, naming the lines of the others (a doc created by `touchpoint
/// bridge --new` has one per column; a finding each would bury the rest).
pub fn placeholders(display: &Path, tier: Tier, text: &str) -> Vec<Diagnostic> {
    let mut found: Vec<(usize, usize, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        // Cheap test first: most lines hold no placeholder at all.
        if !line.contains(placeholder::PREFIX) {
            continue;
        }
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
            found.push((i + 1, col, crate::text::one_line(rest[..end].trim(), 80)));
        }
    }
    let Some((line, col, first)) = found.first().cloned() else {
        return Vec::new();
    };
    let message = if found.len() == 1 {
        format!("placeholder description left: \"{first}\"")
    } else {
        let mut lines: Vec<String> = found.iter().take(10).map(|f| f.0.to_string()).collect();
        if found.len() > 10 {
            lines.push("...".into());
        }
        format!(
            "{} placeholder descriptions left (lines {}), the first: \"{first}\"",
            found.len(),
            lines.join(", ")
        )
    };
    vec![
        Diagnostic::new("bridge-placeholder", Severity::Warning, message)
            .file(display)
            .at(line, col)
            .help("describe the columns in words; touchpoint keeps what you write"),
    ]
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
        assert_eq!(
            d[0].message,
            "placeholder description left: \"TODO: describe priority\""
        );
        let md = "| priority | smallint | TODO: describe priority |\n- TODO: list the values\nsee the TODO: list\n";
        let d = placeholders(Path::new("d.md"), Tier::Source, md);
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].message,
            "2 placeholder descriptions left (lines 1, 2), the first: \"TODO: describe priority\""
        );
    }
}
