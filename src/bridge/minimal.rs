//! The minimal tier: `{"table": ..., "required": [...], "fields": {"col":
//! "type? (note)"}}`. In each value the type, the `?` of a nullable column
//! and the `(a|b|c)` allowed-values group are touchpoint's; whatever
//! follows (a person's note) is kept byte for byte.

use super::facts::{ColumnFacts, TableFacts};
use super::json::{self, Style};
use crate::error::Result;
use crate::report::Diagnostic;
use regex::Regex;
use serde_json::{Map, Value};
use std::sync::LazyLock;

/// A type as people spell it in compact docs: `text`, `numeric(10,3)`,
/// `character varying(20)[]`, `timestamp with time zone`, then `?`.
static TYPE_PART: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^\s*(?:"[^"]*"(?:\."[^"]*")?|double\s+precision|(?:character|bit)\s+varying|[A-Za-z_][\w.$]*)(?:\s*\([\d,\s]*\))?(?:\s+with(?:out)?\s+time\s+zone)?(?:\s*\[\d*\])*(?:\s*\?)?"#,
    )
    .expect("type regex")
});

/// `(a|b|c)`: a group that is nothing but an allowed-values list.
static VALUES_GROUP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*\(\s*[^\s()|,]+(?:\s*\|\s*[^\s()|,]+)+\s*\)").expect("values regex")
});

/// A value that starts with `a|b|c` instead of a type.
static LEADING_VALUES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*[^\s()|,?]+(?:\s*\|\s*[^\s()|,?]+)+\??").expect("leading values regex")
});

/// `a|b|c` anywhere inside a group, as in `(subset of a|b|c)`.
static VALUES_LIST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[^\s()|,]+(?:\s*\|\s*[^\s()|,]+)+").expect("list regex"));

pub struct Outcome {
    pub text: String,
    pub added: Vec<String>,
    pub dropped: Vec<String>,
    pub warnings: Vec<Diagnostic>,
}

fn type_part(col: &ColumnFacts) -> String {
    let mut s = col.compact_type.clone();
    if col.nullable {
        s.push('?');
    }
    s
}

/// The value a field gets: the type part regenerated; the allowed values
/// written as `(a|b|c)` right after it, or replacing the `a|b|c` list in
/// the first group when a person wrapped it in words (`(subset of a|b)`);
/// everything else kept byte for byte.
pub fn field_value(old: Option<&str>, col: &ColumnFacts) -> String {
    let ty = type_part(col);
    let list = col.allowed_values.join("|");
    let Some(old) = old else {
        return if list.is_empty() {
            ty
        } else {
            format!("{ty} ({list})")
        };
    };
    // Some docs write only the values (`"observation|intervention"`); that
    // list stands where the type goes and is touchpoint's as well.
    if let Some(m) = LEADING_VALUES.find(old) {
        let rest = &old[m.end()..];
        return if list.is_empty() {
            format!("{ty}{rest}")
        } else {
            format!("{ty} ({list}){rest}")
        };
    }
    let type_end = TYPE_PART.find(old).map(|m| m.end()).unwrap_or(0);
    let rest = &old[type_end..];
    if list.is_empty() {
        // Values the schema no longer has: drop a group that was only the
        // list, but never words a person wrote around one.
        let note = VALUES_GROUP.find(rest).map(|m| m.end()).unwrap_or(0);
        return format!("{ty}{}", &rest[note..]);
    }
    if let Some(inner) = first_group(rest) {
        let group = &rest[inner.clone()];
        let found = group
            .find(&list)
            .map(|i| i..i + list.len())
            .or_else(|| VALUES_LIST.find(group).map(|m| m.range()));
        if let Some(r) = found {
            let (start, end) = (inner.start + r.start, inner.start + r.end);
            return format!("{ty}{}{list}{}", &rest[..start], &rest[end..]);
        }
    }
    format!("{ty} ({list}){rest}")
}

/// Byte range of the inside of the parenthesized group `rest` starts with
/// (after optional spaces).
fn first_group(rest: &str) -> Option<std::ops::Range<usize>> {
    let open = rest.len() - rest.trim_start().len();
    if !rest[open..].starts_with('(') {
        return None;
    }
    let mut depth = 0usize;
    for (i, c) in rest[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + 1..open + i);
                }
            }
            _ => {}
        }
    }
    None
}

pub fn regenerate(old: &str, facts: &TableFacts, renames: &[(String, String)]) -> Result<Outcome> {
    let doc = json::parse_object(old)?;
    let style = Style::detect(old);
    let mut warnings = Vec::new();

    // Older docs spell the top-level keys differently; keep their spelling.
    let key = |canon: &'static str, alias: &'static str| -> &'static str {
        if !doc.contains_key(canon) && doc.contains_key(alias) {
            alias
        } else {
            canon
        }
    };
    let (table_key, required_key, fields_key) = (
        key("table", "table_name"),
        key("required", "required_fields"),
        key("fields", "columns"),
    );
    let doc = json::set_key(
        doc,
        table_key,
        Value::from(facts.display_name.clone()),
        |_| 0,
    );
    let required: Vec<Value> = facts
        .columns
        .iter()
        .filter(|c| c.required())
        .map(|c| Value::from(c.name.clone()))
        .collect();
    let doc = json::set_key(doc, required_key, Value::Array(required), |m| {
        json::after_any(m, &[table_key], 0)
    });

    let existing: Vec<(String, Value)> = match doc.get(fields_key) {
        Some(Value::Object(m)) => m.clone().into_iter().collect(),
        _ => Vec::new(),
    };
    let r = json::reconcile(existing, facts, renames, |name, old| {
        let col = facts.column(name).expect("reconcile passes table columns");
        match old {
            None => Value::from(field_value(None, col)),
            Some(Value::String(s)) => Value::from(field_value(Some(&s), col)),
            Some(other) => {
                warnings.push(Diagnostic::warning(
                    "bridge-unknown-field",
                    format!("field {name} is not a \"type? (note)\" string; left as it is"),
                ));
                other
            }
        }
    });
    let fields: Map<String, Value> = r.entries.into_iter().collect();
    let doc = json::set_key(doc, fields_key, Value::Object(fields), |m| {
        json::after_any(m, &[required_key, table_key], m.len())
    });
    let new_value = Value::Object(doc);
    let text = style.render_if_changed(old, &new_value);
    Ok(Outcome {
        text,
        added: r.added,
        dropped: r.dropped,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(ty: &str, nullable: bool, values: &[&str]) -> ColumnFacts {
        ColumnFacts {
            name: "c".into(),
            type_name: ty.into(),
            compact_type: ty.into(),
            nullable,
            default: None,
            generated: None,
            identity: None,
            primary_key: false,
            unique: crate::bridge::facts::Unique::No,
            references: None,
            checks: vec![],
            allowed_values: values.iter().map(|v| v.to_string()).collect(),
            db_comment: None,
        }
    }

    #[test]
    fn values_regenerated_notes_kept() {
        let text = col("text", false, &[]);
        let v = |old: &str, c: &ColumnFacts| field_value(Some(old), c);
        assert_eq!(v("text", &text), "text");
        assert_eq!(v("uuid? (may be a carer)", &text), "text (may be a carer)");
        assert_eq!(
            v(
                "numeric(10,3)? (3 decimals)",
                &col("numeric(10,3)", true, &[])
            ),
            "numeric(10,3)? (3 decimals)"
        );
        assert_eq!(v("text (a|b|c)", &text), "text");
        assert_eq!(v("text (a|b) (note)", &text), "text (note)");
        assert_eq!(
            v("text? (as printed, e.g. BD|TDS)", &text),
            "text (as printed, e.g. BD|TDS)"
        );
        assert_eq!(
            v(
                "timestamp with time zone? (when)",
                &col("timestamptz", true, &[])
            ),
            "timestamptz? (when)"
        );
        assert_eq!(
            v("text[] (user labels)", &col("text[]", false, &[])),
            "text[] (user labels)"
        );
        assert_eq!(v("text with care", &text), "text with care");
        assert_eq!(v("character varying(20)[]? x", &text), "text x");
        assert_eq!(v("", &text), "text");

        let ab = col("text", true, &["a", "b", "new"]);
        assert_eq!(v("text (a|b)", &ab), "text? (a|b|new)");
        assert_eq!(v("text (a | b) (note)", &ab), "text? (a|b|new) (note)");
        assert_eq!(
            v("text[] (subset of a|b)", &ab),
            "text? (subset of a|b|new)"
        );
        assert_eq!(v("text (note)", &ab), "text? (a|b|new) (note)");
        let spaced = col("text", false, &["high priority", "low"]);
        let once = v("text", &spaced);
        assert_eq!(once, "text (high priority|low)");
        assert_eq!(v(&once, &spaced), once);
        assert_eq!(field_value(None, &ab), "text? (a|b|new)");
        assert_eq!(v("a|b (pick one)", &ab), "text? (a|b|new) (pick one)");
        assert_eq!(v("a|b?", &text), "text");
    }

    #[test]
    fn top_level_spelling_is_kept() {
        let facts = TableFacts {
            name: crate::ast::QualName::new("", "t"),
            display_name: "t".into(),
            comment: None,
            source_path: "x.sql".into(),
            line: 1,
            end_line: 1,
            sql: String::new(),
            columns: vec![col("text", false, &[])],
        };
        let old = "{\n  \"table_name\": \"t\",\n  \"required_fields\": [],\n  \"columns\": {\"c\": \"TEXT (note)\"},\n  \"hints\": 1\n}\n";
        let out = regenerate(old, &facts, &[]).unwrap();
        assert_eq!(
            out.text,
            "{\n  \"table_name\": \"t\",\n  \"required_fields\": [\n    \"c\"\n  ],\n  \"columns\": {\n    \"c\": \"text (note)\"\n  },\n  \"hints\": 1\n}\n"
        );
    }
}
