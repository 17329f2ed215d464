//! The detailed tier: one JSON object per table, `fields` keyed by column.
//! Per field the structural keys are touchpoint's; every other key, and
//! every top-level key but `database_source` and `fields`, is a person's.

use super::facts::{ColumnFacts, TableFacts, DETAILED_KEYS};
use super::json::{self, Reconciled, Style};
use super::placeholder;
use crate::error::Result;
use crate::report::Diagnostic;
use serde_json::{Map, Value};

/// Keys some hand-written docs use for a structural fact. When a field has
/// the alias and not the canonical key, the alias is rewritten in place, so
/// that such a doc is kept in sync without growing a second spelling.
const ALIASES: [(&str, &str); 4] = [
    ("type", "data_type"),
    ("default", "default_value"),
    ("references", "foreign_key"),
    ("allowed_values", "enum_values"),
];

/// Where the column entries live and how they are keyed.
enum Container {
    /// `"fields": {"col": {...}}`, the documented form.
    Object(String),
    /// `"columns": [{"name": "col", ...}]`, seen in older hand-written docs.
    Array(String, String),
}

pub struct Outcome {
    pub text: String,
    pub added: Vec<String>,
    pub dropped: Vec<String>,
    pub warnings: Vec<Diagnostic>,
}

pub fn regenerate(old: &str, facts: &TableFacts, renames: &[(String, String)]) -> Result<Outcome> {
    let doc = json::parse_object(old)?;
    let style = Style::detect(old);
    let mut warnings = Vec::new();

    // Keep the author's form of the reference: `path:12-48` (the default)
    // or `path (lines 12-48)`.
    let source = match doc.get("database_source").and_then(Value::as_str) {
        Some(s) if s.contains("(line") => facts.source_text(),
        _ => facts.source_compact(),
    };
    let doc = json::set_key(doc, "database_source", Value::from(source), |m| {
        m.keys()
            .position(|k| ["fields", "columns", "field_definitions"].contains(&k.as_str()))
            .unwrap_or(m.len())
    });

    let container = find_container(&doc);
    let (key, reconciled) = match &container {
        Container::Object(key) => {
            let existing: Vec<(String, Value)> = match doc.get(key) {
                Some(Value::Object(m)) => m.clone().into_iter().collect(),
                _ => Vec::new(),
            };
            let r = json::reconcile(existing, facts, renames, |name, old| {
                field(
                    facts.column(name).expect("reconcile passes table columns"),
                    old,
                    None,
                    &mut warnings,
                )
            });
            let obj: Map<String, Value> = r.entries.iter().cloned().collect();
            (key.clone(), (Value::Object(obj), r.added, r.dropped))
        }
        Container::Array(key, name_key) => {
            let existing: Vec<(String, Value)> = match doc.get(key) {
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| {
                        (
                            v.get(name_key)
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string(),
                            v.clone(),
                        )
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let Reconciled {
                entries,
                added,
                dropped,
            } = json::reconcile(existing, facts, renames, |name, old| {
                field(
                    facts.column(name).expect("reconcile passes table columns"),
                    old,
                    Some(name_key),
                    &mut warnings,
                )
            });
            let arr = entries.into_iter().map(|(_, v)| v).collect();
            (key.clone(), (Value::Array(arr), added, dropped))
        }
    };
    let (fields, added, dropped) = reconciled;
    let doc = json::set_key(doc, &key, fields, |m| m.len());
    let new_value = Value::Object(doc);
    // An unchanged document keeps its bytes, whatever its formatting.
    let text = style.render_if_changed(old, &new_value);
    Ok(Outcome {
        text,
        added,
        dropped,
        warnings,
    })
}

fn find_container(doc: &Map<String, Value>) -> Container {
    for key in ["fields", "columns", "field_definitions"] {
        match doc.get(key) {
            Some(Value::Object(_)) => return Container::Object(key.into()),
            Some(Value::Array(items)) => {
                let name_key = ["name", "column_name", "column"]
                    .into_iter()
                    .find(|nk| {
                        items
                            .iter()
                            .any(|i| i.get(nk).is_some_and(Value::is_string))
                    })
                    .unwrap_or("name");
                return Container::Array(key.into(), name_key.into());
            }
            _ => {}
        }
    }
    Container::Object("fields".into())
}

/// Rewrite one field: structural keys regenerated where they stand, keys
/// touchpoint no longer has a fact for removed, new ones placed next to
/// their canonical neighbours; every other key untouched and in order.
fn field(
    col: &ColumnFacts,
    old: Option<Value>,
    name_key: Option<&str>,
    warnings: &mut Vec<Diagnostic>,
) -> Value {
    let old = match old {
        None => {
            let mut m = Map::new();
            if let Some(nk) = name_key {
                m.insert(nk.to_string(), Value::from(col.name.clone()));
            }
            m.insert(
                "description".into(),
                Value::from(placeholder::column(&col.name)),
            );
            m
        }
        Some(Value::Object(m)) => m,
        // A bare string is a description written in shorthand.
        Some(Value::String(s)) => {
            let mut m = Map::new();
            m.insert("description".into(), Value::String(s));
            m
        }
        Some(other) => {
            warnings.push(Diagnostic::warning(
                "bridge-unknown-field",
                format!(
                    "field {} is neither an object nor a string; left as it is",
                    col.name
                ),
            ));
            return other;
        }
    };
    let generated = col.detailed_keys();
    // The key each canonical fact is stored under in this field.
    let slot = |canon: &str| -> String {
        if old.contains_key(canon) {
            return canon.to_string();
        }
        ALIASES
            .iter()
            .find(|(c, a)| *c == canon && old.contains_key(*a))
            .map(|(_, a)| a.to_string())
            .unwrap_or_else(|| canon.to_string())
    };
    let slots: Vec<(usize, String)> = DETAILED_KEYS
        .iter()
        .enumerate()
        .map(|(i, k)| (i, slot(k)))
        .collect();
    let canon_of = |key: &str| slots.iter().find(|(_, s)| s == key).map(|(i, _)| *i);
    let value_of = |i: usize| {
        generated
            .iter()
            .find(|(k, _)| *k == DETAILED_KEYS[i])
            .map(|(_, v)| v.clone())
    };

    let mut out: Vec<(String, Value)> = Vec::new();
    for (k, v) in old {
        match canon_of(&k) {
            Some(i) => {
                if let Some(new) = value_of(i) {
                    out.push((k, new));
                }
            }
            None => out.push((k, v)),
        }
    }
    for (gk, value) in &generated {
        let i = DETAILED_KEYS
            .iter()
            .position(|c| c == gk)
            .expect("detailed_keys only uses DETAILED_KEYS");
        let key = &slots[i].1;
        if out.iter().any(|(k, _)| k == key) {
            continue;
        }
        let pos = out
            .iter()
            .rposition(|(k, _)| canon_of(k).is_some_and(|j| j < i))
            .map(|p| p + 1)
            .or_else(|| {
                out.iter()
                    .position(|(k, _)| canon_of(k).is_some_and(|j| j > i))
            })
            .unwrap_or_else(|| {
                // No structural key yet: after the name of an array entry.
                name_key
                    .and_then(|nk| out.iter().position(|(k, _)| k == nk))
                    .map(|p| p + 1)
                    .unwrap_or(0)
            });
        out.insert(pos, (key.clone(), value.clone()));
    }
    Value::Object(out.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::facts::Unique;

    fn facts(cols: Vec<ColumnFacts>) -> TableFacts {
        TableFacts {
            name: crate::ast::QualName::new("", "t"),
            display_name: "t".into(),
            comment: None,
            source_path: "current_schema/01.sql".into(),
            line: 1,
            end_line: 4,
            sql: String::new(),
            columns: cols,
        }
    }

    fn col(name: &str, ty: &str, nullable: bool) -> ColumnFacts {
        ColumnFacts {
            name: name.into(),
            type_name: ty.into(),
            compact_type: ty.into(),
            nullable,
            default: None,
            generated: None,
            identity: None,
            primary_key: false,
            unique: Unique::No,
            references: None,
            checks: vec![],
            allowed_values: vec![],
            db_comment: None,
        }
    }

    #[test]
    fn structural_keys_rewritten_prose_kept_in_order() {
        let old = "{\n    \"fields\": {\n        \"a\": {\n            \"description\": \"A.\",\n            \"type\": \"int\",\n            \"unique\": true,\n            \"x\": 1\n        }\n    }\n}\n";
        let mut a = col("a", "text", false);
        a.default = Some("'x'".into());
        let out = regenerate(old, &facts(vec![a]), &[]).unwrap();
        let v: Value = serde_json::from_str(&out.text).unwrap();
        let keys: Vec<&String> = v["fields"]["a"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["description", "type", "nullable", "default", "x"]);
        assert!(out.text.contains("\n    \"database_source\""));
        let mut a = col("a", "text", false);
        a.default = Some("'x'".into());
        assert_eq!(
            regenerate(&out.text, &facts(vec![a]), &[]).unwrap().text,
            out.text
        );
    }

    #[test]
    fn aliases_are_rewritten_in_place() {
        let old = r#"{"fields": {"a": {"data_type": "int", "description": "d"}}}"#;
        let out = regenerate(old, &facts(vec![col("a", "bigint", true)]), &[]).unwrap();
        let v: Value = serde_json::from_str(&out.text).unwrap();
        assert_eq!(v["fields"]["a"]["data_type"], "bigint");
        assert!(v["fields"]["a"].get("type").is_none());
    }

    #[test]
    fn array_form_is_kept() {
        let old = r#"{"columns": [{"name": "b", "note": "n"}, {"name": "gone"}]}"#;
        let out = regenerate(
            old,
            &facts(vec![col("a", "int", true), col("b", "int", true)]),
            &[],
        )
        .unwrap();
        let v: Value = serde_json::from_str(&out.text).unwrap();
        assert_eq!(v["columns"][0]["name"], "a");
        assert_eq!(v["columns"][1]["note"], "n");
        assert_eq!(out.dropped, ["gone"]);
        assert_eq!(out.added, ["a"]);
        let keys: Vec<&String> = v["columns"][0].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["name", "type", "nullable", "description"]);
    }
}
