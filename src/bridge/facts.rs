//! The structural facts of one table, derived once from the schema model and
//! shared by the three tiers, so that every tier says the same thing.

use crate::ast::QualName;
use crate::schema::{Column, ConstraintKind, Schema, Table, TypeKind};
use pg_query::NodeEnum;
use serde_json::{json, Value};

/// What a doc states about one column. Everything here is owned by
/// touchpoint and rewritten from `current_schema` on every run.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnFacts {
    pub name: String,
    /// `format_type` spelling, `public.` dropped as `format_type` does with
    /// the default search path.
    pub type_name: String,
    /// Compact spelling for the minimal tier (`timestamptz`, `varchar(20)`).
    pub compact_type: String,
    pub nullable: bool,
    pub default: Option<String>,
    pub generated: Option<String>,
    pub identity: Option<String>,
    pub primary_key: bool,
    pub unique: Unique,
    pub references: Option<Reference>,
    /// CHECK expressions of the constraints whose first column this is, in
    /// definition order.
    pub checks: Vec<String>,
    /// `IN (...)` values of a single-column check, or the labels of the
    /// column's enum type.
    pub allowed_values: Vec<String>,
    /// `COMMENT ON COLUMN`, else the inline `--` comment.
    pub db_comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Unique {
    No,
    /// A unique constraint on this column alone.
    Alone,
    /// Unique together with other columns (the full column list).
    With(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    pub table: String,
    pub columns: Vec<String>,
    pub on_delete: String,
    pub on_update: Option<String>,
}

impl ColumnFacts {
    /// Values an insert must supply: NOT NULL and nothing fills it in.
    pub fn required(&self) -> bool {
        !self.nullable
            && self.default.is_none()
            && self.generated.is_none()
            && self.identity.is_none()
    }

    /// The structural keys of a detailed-tier field, in canonical order.
    /// Keys whose fact is absent are left out (and removed from docs).
    pub fn detailed_keys(&self) -> Vec<(&'static str, Value)> {
        let mut out: Vec<(&'static str, Value)> = vec![
            ("type", json!(self.type_name)),
            ("nullable", json!(self.nullable)),
        ];
        if let Some(d) = &self.default {
            out.push(("default", json!(d)));
        }
        if let Some(g) = &self.generated {
            out.push(("generated", json!(g)));
        }
        if let Some(i) = &self.identity {
            out.push(("identity", json!(i)));
        }
        if self.primary_key {
            out.push(("primary_key", json!(true)));
        }
        match &self.unique {
            Unique::No => {}
            Unique::Alone => out.push(("unique", json!(true))),
            Unique::With(cols) => out.push(("unique", json!(cols))),
        }
        if let Some(r) = &self.references {
            let mut m = serde_json::Map::new();
            m.insert("table".into(), json!(r.table));
            match r.columns.as_slice() {
                [one] => m.insert("column".into(), json!(one)),
                many => m.insert("columns".into(), json!(many)),
            };
            m.insert("on_delete".into(), json!(r.on_delete));
            if let Some(u) = &r.on_update {
                m.insert("on_update".into(), json!(u));
            }
            out.push(("references", Value::Object(m)));
        }
        match self.checks.as_slice() {
            [] => {}
            [one] => out.push(("check", json!(one))),
            many => out.push(("check", json!(many))),
        }
        if !self.allowed_values.is_empty() {
            out.push(("allowed_values", json!(self.allowed_values)));
        }
        if let Some(c) = &self.db_comment {
            out.push(("db_comment", json!(c)));
        }
        out
    }
}

/// Structural keys of a detailed-tier field, in the order new keys are
/// placed. Any other key of a field belongs to people.
pub const DETAILED_KEYS: [&str; 11] = [
    "type",
    "nullable",
    "default",
    "generated",
    "identity",
    "primary_key",
    "unique",
    "references",
    "check",
    "allowed_values",
    "db_comment",
];

#[derive(Debug, Clone)]
pub struct TableFacts {
    pub name: QualName,
    /// The name docs use: unqualified in `public`, else `schema.table`.
    pub display_name: String,
    pub comment: Option<String>,
    pub source_path: String,
    pub line: usize,
    pub end_line: usize,
    /// The CREATE TABLE text with its `;`, followed by every later
    /// `ALTER TABLE` in `current_schema` that changes a column or a
    /// constraint (so that columns added that way are not missing).
    pub sql: String,
    pub columns: Vec<ColumnFacts>,
}

impl TableFacts {
    pub fn build(schema: &Schema, table: &Table) -> TableFacts {
        let file = &schema.files[table.site.file];
        let mut sql = format!("{};", table.site.span.text(&file.text));
        for site in &table.alter_sites {
            let f = &schema.files[site.file];
            let is_structural = f
                .statements
                .iter()
                .find(|s| s.span == site.span)
                .is_some_and(|s| changes_columns(&s.node));
            if is_structural {
                sql.push_str("\n\n");
                sql.push_str(site.span.text(&f.text));
                sql.push(';');
            }
        }
        TableFacts {
            name: table.name.clone(),
            display_name: display_table(&table.name),
            comment: table.comment.clone(),
            source_path: table.site.path.display().to_string().replace('\\', "/"),
            line: table.site.line,
            end_line: table.site.end_line,
            sql,
            columns: table
                .columns
                .iter()
                .map(|c| column_facts(schema, table, c))
                .collect(),
        }
    }

    /// `current_schema/03_documents.sql (lines 14-44)`, for markdown.
    pub fn source_text(&self) -> String {
        if self.line == self.end_line {
            format!("{} (line {})", self.source_path, self.line)
        } else {
            format!(
                "{} (lines {}-{})",
                self.source_path, self.line, self.end_line
            )
        }
    }

    /// `current_schema/03_documents.sql:14-44`, for JSON.
    pub fn source_compact(&self) -> String {
        if self.line == self.end_line {
            format!("{}:{}", self.source_path, self.line)
        } else {
            format!("{}:{}-{}", self.source_path, self.line, self.end_line)
        }
    }

    pub fn column(&self, name: &str) -> Option<&ColumnFacts> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn column_names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }
}

/// An ALTER TABLE statement that changes what the table's columns are.
/// ENABLE ROW LEVEL SECURITY, indexes and the like do not belong in the
/// table-structure block.
pub(crate) fn changes_columns(node: &NodeEnum) -> bool {
    use pg_query::protobuf::AlterTableType as T;
    match node {
        NodeEnum::AlterTableStmt(a) => a.cmds.iter().any(|c| match &c.node {
            Some(NodeEnum::AlterTableCmd(cmd)) => matches!(
                T::try_from(cmd.subtype),
                Ok(T::AtAddColumn
                    | T::AtDropColumn
                    | T::AtColumnDefault
                    | T::AtSetNotNull
                    | T::AtDropNotNull
                    | T::AtAlterColumnType
                    | T::AtAddConstraint
                    | T::AtDropConstraint)
            ),
            _ => false,
        }),
        NodeEnum::RenameStmt(r) => {
            use pg_query::protobuf::ObjectType as O;
            matches!(
                O::try_from(r.rename_type),
                Ok(O::ObjectColumn | O::ObjectTabconstraint)
            )
        }
        _ => false,
    }
}

/// The unqualified name of the relation an ALTER TABLE or RENAME names.
pub(crate) fn altered_relation(node: &NodeEnum) -> Option<&str> {
    match node {
        NodeEnum::AlterTableStmt(a) => a.relation.as_ref().map(|r| r.relname.as_str()),
        NodeEnum::RenameStmt(r) => r.relation.as_ref().map(|r| r.relname.as_str()),
        _ => None,
    }
}

pub fn display_table(name: &QualName) -> String {
    if name.schema == "public" {
        name.name.clone()
    } else {
        name.to_string()
    }
}

/// `format_type` leaves out the schema of types on the default search path.
pub fn display_type(type_name: &str) -> String {
    type_name
        .strip_prefix("public.")
        .unwrap_or(type_name)
        .to_string()
}

/// The short spellings people use in compact docs.
pub fn compact_type(type_name: &str) -> String {
    let t = display_type(type_name);
    let dims = t.len() - t.trim_end_matches("[]").len();
    let (base, arrays) = t.split_at(t.len() - dims);
    let base = if let Some(rest) = base.strip_prefix("character varying") {
        format!("varchar{rest}")
    } else if let Some(rest) = base.strip_prefix("character") {
        format!("char{rest}")
    } else if let Some(p) = base
        .strip_prefix("timestamp")
        .and_then(|r| r.strip_suffix(" with time zone"))
    {
        format!("timestamptz{p}")
    } else if let Some(p) = base
        .strip_prefix("timestamp")
        .and_then(|r| r.strip_suffix(" without time zone"))
    {
        format!("timestamp{p}")
    } else if let Some(p) = base
        .strip_prefix("time")
        .and_then(|r| r.strip_suffix(" with time zone"))
    {
        format!("timetz{p}")
    } else if let Some(p) = base
        .strip_prefix("time")
        .and_then(|r| r.strip_suffix(" without time zone"))
    {
        format!("time{p}")
    } else {
        base.to_string()
    };
    format!("{base}{arrays}")
}

fn column_facts(schema: &Schema, table: &Table, col: &Column) -> ColumnFacts {
    let mine = |cols: &[String]| cols.contains(&col.name);
    let mut primary_key = false;
    let mut unique = Unique::No;
    let mut references = None;
    let mut checks = Vec::new();
    let mut allowed_values: Vec<String> = Vec::new();
    for k in &table.constraints {
        if !mine(&k.columns) {
            continue;
        }
        match k.kind {
            ConstraintKind::PrimaryKey => primary_key = true,
            ConstraintKind::Unique => {
                if k.columns.len() == 1 {
                    unique = Unique::Alone;
                } else if unique == Unique::No {
                    unique = Unique::With(k.columns.clone());
                }
            }
            ConstraintKind::ForeignKey => {
                if references.is_some() {
                    continue;
                }
                let Some(r) = &k.references else { continue };
                let target_cols = if r.columns.is_empty() {
                    // `REFERENCES t` without columns means t's primary key.
                    schema
                        .table(&r.table)
                        .map(Table::primary_key)
                        .unwrap_or_default()
                } else {
                    r.columns.clone()
                };
                // In a composite key, name the column this one points at.
                let columns = match k.columns.iter().position(|c| *c == col.name) {
                    Some(i) if k.columns.len() > 1 && i < target_cols.len() => {
                        vec![target_cols[i].clone()]
                    }
                    _ => target_cols,
                };
                references = Some(Reference {
                    table: r.table.to_string(),
                    columns,
                    on_delete: r.on_delete.clone().unwrap_or_else(|| "NO ACTION".into()),
                    on_update: r.on_update.clone(),
                });
            }
            // A check over several columns is listed once, under the
            // first column it names, as PostgreSQL names it after that one.
            ConstraintKind::Check if k.columns.first() != Some(&col.name) => {}
            ConstraintKind::Check => {
                if let Some(e) = &k.expression {
                    checks.push(e.clone());
                }
                if k.columns.len() == 1 && lists_values(k.expression.as_deref().unwrap_or("")) {
                    for v in &k.allowed_values {
                        if !allowed_values.contains(v) {
                            allowed_values.push(v.clone());
                        }
                    }
                }
            }
            ConstraintKind::Exclusion => {}
        }
    }
    if let Some(values) = enum_values(schema, &col.type_name) {
        for v in values {
            if !allowed_values.contains(v) {
                allowed_values.push(v.clone());
            }
        }
    }
    ColumnFacts {
        name: col.name.clone(),
        type_name: display_type(&col.type_name),
        compact_type: compact_type(&col.type_name),
        nullable: !col.not_null && !primary_key,
        default: col
            .default
            .as_deref()
            .map(|d| catalog_default(d, &col.type_name)),
        generated: col.generated.clone(),
        identity: col.identity.clone(),
        primary_key,
        unique,
        references,
        checks,
        allowed_values,
        db_comment: col
            .comment
            .clone()
            .or_else(|| col.inline_comment.clone())
            .filter(|c| !c.is_empty()),
    }
}

/// A quoted literal default as the catalog stores it, cast to the column's
/// type (`'uploaded'::text`, `'{}'::text[]`), which is also how `\d` and
/// `information_schema` show it. Other defaults are shown as written.
pub fn catalog_default(default: &str, type_name: &str) -> String {
    let quoted = default.len() >= 2
        && default.starts_with('\'')
        && default.ends_with('\'')
        && !default[1..default.len() - 1]
            .replace("''", "")
            .contains('\'');
    if !quoted || type_name.is_empty() {
        return default.to_string();
    }
    let ty = display_type(type_name);
    // Casts drop the type modifier: character varying(20) -> character varying.
    let dims = ty.len() - ty.trim_end_matches("[]").len();
    let (base, arrays) = ty.split_at(ty.len() - dims);
    let mut cast = String::new();
    let mut depth = 0;
    for c in base.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ if depth == 0 => cast.push(c),
            _ => {}
        }
    }
    let cast = cast.split_whitespace().collect::<Vec<_>>().join(" ");
    let cast = if cast == "character" {
        "bpchar".to_string()
    } else {
        cast
    };
    format!("{default}::{cast}{arrays}")
}

/// Only a list check (`IN (...)`, `= ANY (ARRAY[...])`, `<@ ARRAY[...]`)
/// states allowed values; the model also reads the bounds of a `BETWEEN`
/// as a list, which they are not.
fn lists_values(expression: &str) -> bool {
    let e = expression.to_uppercase();
    e.contains(" IN (") || e.contains("ANY (") || e.contains("<@")
}

fn enum_values<'a>(schema: &'a Schema, type_name: &str) -> Option<&'a Vec<String>> {
    let base = type_name.trim_end_matches("[]");
    let name = match base.split_once('.') {
        Some((s, n)) => QualName::new(s, n),
        None => QualName::new("", base),
    };
    match &schema.type_def(&name)?.kind {
        TypeKind::Enum { values } => Some(values),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_types() {
        assert_eq!(compact_type("timestamp with time zone"), "timestamptz");
        assert_eq!(
            compact_type("timestamp(3) with time zone[]"),
            "timestamptz(3)[]"
        );
        assert_eq!(compact_type("character varying(20)"), "varchar(20)");
        assert_eq!(compact_type("character(2)"), "char(2)");
        assert_eq!(compact_type("time without time zone"), "time");
        assert_eq!(compact_type("public.confidence_score"), "confidence_score");
        assert_eq!(compact_type("auth.role"), "auth.role");
        assert_eq!(compact_type("text[]"), "text[]");
    }

    #[test]
    fn literal_defaults_carry_the_catalog_cast() {
        assert_eq!(catalog_default("'x'", "text"), "'x'::text");
        assert_eq!(catalog_default("'{}'", "text[]"), "'{}'::text[]");
        assert_eq!(
            catalog_default("'a'", "character varying(20)"),
            "'a'::character varying"
        );
        assert_eq!(catalog_default("'a'", "character(2)"), "'a'::bpchar");
        assert_eq!(
            catalog_default("'now'", "timestamp(3) with time zone"),
            "'now'::timestamp with time zone"
        );
        assert_eq!(
            catalog_default("'p'", "public.job_status"),
            "'p'::job_status"
        );
        assert_eq!(catalog_default("'{}'::jsonb", "jsonb"), "'{}'::jsonb");
        assert_eq!(catalog_default("'it''s'", "text"), "'it''s'::text");
        assert_eq!(catalog_default("'a' || 'b'", "text"), "'a' || 'b'");
        assert_eq!(
            catalog_default("now()", "timestamp with time zone"),
            "now()"
        );
        assert_eq!(catalog_default("0", "integer"), "0");
    }
}
