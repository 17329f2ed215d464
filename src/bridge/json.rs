//! Reading and writing the JSON tiers in the style the file already has, and
//! the column bookkeeping (rename, drop, insert in table order) both JSON
//! tiers share.

use super::facts::TableFacts;
use crate::error::{Error, Result};
use serde::Serialize;
use serde_json::{Map, Value};

/// How an existing file is laid out, so a rewrite looks like its author's.
#[derive(Debug, Clone)]
pub struct Style {
    pub indent: String,
    pub trailing_newline: bool,
    pub crlf: bool,
    pub bom: bool,
}

impl Style {
    pub fn detect(text: &str) -> Style {
        // The first indented line of a pretty-printed document is one level
        // deep, so its leading whitespace is the indent unit.
        let indent = text
            .lines()
            .skip(1)
            .map(|l| &l[..l.len() - l.trim_start().len()])
            .find(|ws| !ws.is_empty())
            .unwrap_or("  ")
            .to_string();
        Style {
            indent,
            trailing_newline: text.ends_with('\n') || text.is_empty(),
            crlf: text.contains("\r\n"),
            bom: text.starts_with(BOM),
        }
    }

    pub fn render(&self, value: &Value) -> String {
        let mut buf = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(self.indent.as_bytes());
        let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
        // Serializing a Value into memory cannot fail.
        value.serialize(&mut ser).expect("serialize JSON value");
        let mut s = String::from_utf8(buf).expect("serde_json writes UTF-8");
        if self.trailing_newline {
            s.push('\n');
        }
        if self.crlf {
            s = s.replace('\n', "\r\n");
        }
        if self.bom {
            s.insert(0, BOM);
        }
        s
    }

    /// The old bytes when they already hold `value` (whatever their
    /// formatting), else `value` rendered in this style.
    pub fn render_if_changed(&self, old: &str, value: &Value) -> String {
        let same = serde_json::from_str::<Value>(strip_bom(old)).is_ok_and(|v| v == *value);
        if same {
            old.to_string()
        } else {
            self.render(value)
        }
    }
}

const BOM: char = '\u{feff}';

fn strip_bom(text: &str) -> &str {
    text.strip_prefix(BOM).unwrap_or(text)
}

/// Parse a doc; a file that is not a JSON object is reported, never
/// overwritten.
pub fn parse_object(text: &str) -> Result<Map<String, Value>> {
    match serde_json::from_str::<Value>(strip_bom(text)) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Error::new("bridge-invalid-doc", "the document is not a JSON object")
            .line(1)
            .help("a bridge doc is one JSON object; fix the file by hand, touchpoint leaves it alone until then")),
        Err(e) => Err(Error::new("bridge-invalid-doc", format!("invalid JSON: {e}"))
            .at(e.line().max(1), e.column().max(1))
            .help("fix the JSON by hand; touchpoint leaves the file alone until it parses")),
    }
}

/// The outcome of reconciling a doc's per-column entries with the table.
#[derive(Debug, Default)]
pub struct Reconciled<T> {
    /// Entries in their final order: kept ones in the file's order, new
    /// ones inserted after the nearest earlier column of the table.
    pub entries: Vec<(String, T)>,
    pub added: Vec<String>,
    pub dropped: Vec<String>,
}

/// Rename, drop and add entries so that there is exactly one per column.
/// `regen(name, Some(old))` rewrites a kept entry, `regen(name, None)`
/// creates one. A rename whose new name already has an entry keeps that
/// entry and reports the old one dropped.
pub fn reconcile<T>(
    existing: Vec<(String, T)>,
    facts: &TableFacts,
    renames: &[(String, String)],
    mut regen: impl FnMut(&str, Option<T>) -> T,
) -> Reconciled<T> {
    let names: Vec<String> = existing.iter().map(|(k, _)| k.clone()).collect();
    let mut out: Vec<(String, T)> = Vec::new();
    let mut dropped = Vec::new();
    for (key, value) in existing {
        // `_comment`, `$schema` and the like describe the doc, not a column.
        if key.starts_with(['_', '$']) {
            out.push((key, value));
            continue;
        }
        let renamed = renames
            .iter()
            .find(|(old, new)| *old == key && facts.column(&key).is_none() && !names.contains(new))
            .map(|(_, new)| new.clone());
        let name = renamed.unwrap_or(key.clone());
        if facts.column(&name).is_none() || out.iter().any(|(k, _)| *k == name) {
            dropped.push(key);
            continue;
        }
        let v = regen(&name, Some(value));
        out.push((name, v));
    }
    let mut added = Vec::new();
    for (i, col) in facts.columns.iter().enumerate() {
        if out.iter().any(|(k, _)| *k == col.name) {
            continue;
        }
        let pos = facts.columns[..i]
            .iter()
            .rev()
            .find_map(|prev| out.iter().position(|(k, _)| *k == prev.name))
            .map(|p| p + 1)
            .unwrap_or(0);
        let v = regen(&col.name, None);
        out.insert(pos, (col.name.clone(), v));
        added.push(col.name.clone());
    }
    Reconciled {
        entries: out,
        added,
        dropped,
    }
}

/// Replace the value of `key` in place, or insert it at `at` (an index
/// into the map's order) when the map lacks it.
pub fn set_key(
    map: Map<String, Value>,
    key: &str,
    value: Value,
    at: impl FnOnce(&Map<String, Value>) -> usize,
) -> Map<String, Value> {
    if map.contains_key(key) {
        return map
            .into_iter()
            .map(|(k, v)| if k == key { (k, value.clone()) } else { (k, v) })
            .collect();
    }
    let pos = at(&map).min(map.len());
    let mut entries: Vec<(String, Value)> = map.into_iter().collect();
    entries.insert(pos, (key.to_string(), value));
    entries.into_iter().collect()
}

/// Index just after the first of `keys` found (searched in that order),
/// else `fallback`.
pub fn after_any(map: &Map<String, Value>, keys: &[&str], fallback: usize) -> usize {
    keys.iter()
        .find_map(|k| map.keys().position(|x| x == k))
        .map(|p| p + 1)
        .unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn style_detects_indent_and_newline() {
        let s = Style::detect("{\n    \"a\": 1\n}");
        assert_eq!(s.indent, "    ");
        assert!(!s.trailing_newline);
        let v: Value = serde_json::from_str("{\"a\": [1]}").unwrap();
        assert_eq!(s.render(&v), "{\n    \"a\": [\n        1\n    ]\n}");
        let s = Style::detect("{\n\t\"a\": 1\n}\n");
        assert_eq!(s.indent, "\t");
        assert!(s.trailing_newline);
        let old = "\u{feff}{\r\n  \"a\": 1\r\n}\r\n";
        let s = Style::detect(old);
        let v: Value = serde_json::from_str("{\"a\": 2}").unwrap();
        assert_eq!(s.render(&v), "\u{feff}{\r\n  \"a\": 2\r\n}\r\n");
        assert_eq!(
            s.render_if_changed(old, &parse_object(old).unwrap().into()),
            old
        );
    }

    #[test]
    fn set_key_keeps_order() {
        let m: Map<String, Value> = serde_json::from_str(r#"{"a":1,"b":2,"c":3}"#).unwrap();
        let m = set_key(m, "b", Value::from(9), |_| 0);
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"a":1,"b":9,"c":3}"#);
        let m = set_key(m, "x", Value::from(0), |m| after_any(m, &["a"], 0));
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"a":1,"x":0,"b":9,"c":3}"#
        );
    }
}
