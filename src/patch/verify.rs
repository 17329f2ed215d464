//! The static half of the no-drift proof: the model of the patched files
//! against the model of the old files with the migration's statements
//! folded in after them, object by object, where each is written left out.
//!
//! It costs one model build (milliseconds), so `finalize` runs it always.
//! It can only see what the model understands: DDL inside `DO` blocks or
//! functions and anything the model does not fold stays for the proof on
//! a database. A difference here is not a verdict either (the model may
//! fold a statement differently from the patcher): `finalize` then asks
//! the database.

use crate::schema::{Schema, Site};
use crate::sql::SqlFile;
use pg_query::NodeEnum;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Where or how an object is written, not what it is: never compared.
const WHERE_WRITTEN: &[&str] = &[
    "site",
    "comment_site",
    "alter_sites",
    "rls_sites",
    "inline_comment",
    "in_alter",
    "origin",
    "inline_column",
    "implicit_name",
];

/// The differences between what the migration should have produced
/// (`expected`) and what the patched files describe (`patched`), one line
/// each, e.g. `table public.t: columns: c: type_name: "integer" in the
/// migration, "bigint" in current_schema`.
///
/// `touched`: the files whose objects can differ (the migration's and the
/// edited ones, as indexes into either model's files). Objects written
/// only in other files, and not changed by a statement there, are the same
/// statements on both sides: only their presence is compared, which keeps
/// this to milliseconds on a schema of a thousand tables.
pub fn model_drift(expected: &Schema, patched: &Schema, touched: &[usize]) -> Vec<String> {
    let mut out = Vec::new();
    let t = touched;
    compare(
        &mut out,
        "table",
        &expected.tables,
        &patched.tables,
        |x| x.name.to_string(),
        |x| {
            sites_touch(
                t,
                [&x.site]
                    .into_iter()
                    .chain(&x.alter_sites)
                    .chain(&x.rls_sites)
                    .chain(&x.comment_site),
            ) || x
                .columns
                .iter()
                .any(|c| sites_touch(t, [&c.site].into_iter().chain(&c.comment_site)))
                || x.constraints.iter().any(|k| t.contains(&k.site.file))
        },
    );
    compare(
        &mut out,
        "index",
        &expected.indexes,
        &patched.indexes,
        |x| format!("{}.{}", x.table.schema, x.name),
        |x| t.contains(&x.site.file),
    );
    compare(
        &mut out,
        "function",
        &expected.functions,
        &patched.functions,
        |x| x.signature(),
        |x| sites_touch(t, [&x.site].into_iter().chain(&x.alter_sites)),
    );
    compare(
        &mut out,
        "trigger",
        &expected.triggers,
        &patched.triggers,
        |x| format!("{} on {}", x.name, x.table),
        |x| t.contains(&x.site.file),
    );
    compare(
        &mut out,
        "policy",
        &expected.policies,
        &patched.policies,
        |x| format!("{} on {}", x.name, x.table),
        |x| sites_touch(t, [&x.site].into_iter().chain(&x.alter_sites)),
    );
    compare(
        &mut out,
        "view",
        &expected.views,
        &patched.views,
        |x| x.name.to_string(),
        |x| t.contains(&x.site.file),
    );
    compare(
        &mut out,
        "type",
        &expected.types,
        &patched.types,
        |x| x.name.to_string(),
        |x| sites_touch(t, [&x.site].into_iter().chain(&x.alter_sites)),
    );
    compare(
        &mut out,
        "extension",
        &expected.extensions,
        &patched.extensions,
        |x| x.name.clone(),
        |_| false,
    );
    compare(
        &mut out,
        "schema",
        &expected.schemas,
        &patched.schemas,
        |x| x.name.clone(),
        |_| false,
    );
    compare(
        &mut out,
        "sequence",
        &expected.sequences,
        &patched.sequences,
        |x| x.name.clone(),
        |_| false,
    );
    // Grants have no name: the statement's canonical form is the key, so a
    // grant counts only as present or missing.
    compare(
        &mut out,
        "grant",
        &expected.grants,
        &patched.grants,
        |x| canonical(x).to_string(),
        |_| false,
    );
    out
}

fn sites_touch<'a>(touched: &[usize], mut sites: impl Iterator<Item = &'a Site>) -> bool {
    sites.any(|s| touched.contains(&s.file))
}

/// Objects of one kind: present on one side only, or (where `touches`
/// says either side may have changed) different once canonical.
fn compare<T: Serialize>(
    out: &mut Vec<String>,
    kind: &str,
    want: &[T],
    have: &[T],
    key: impl Fn(&T) -> String,
    touches: impl Fn(&T) -> bool,
) {
    let want: BTreeMap<String, &T> = want.iter().map(|x| (key(x), x)).collect();
    let have: BTreeMap<String, &T> = have.iter().map(|x| (key(x), x)).collect();
    for (k, w) in &want {
        match have.get(k) {
            None => out.push(format!(
                "{kind} {k}: in the migration, not in current_schema"
            )),
            Some(h) if touches(w) || touches(h) => {
                let (wv, hv) = (canonical(*w), canonical(*h));
                if wv != hv {
                    out.push(format!("{kind} {k}: {}", detail(&wv, &hv)));
                }
            }
            Some(_) => {}
        }
    }
    for k in have.keys().filter(|k| !want.contains_key(*k)) {
        out.push(format!(
            "{kind} {k}: in current_schema, not in the migration's result"
        ));
    }
}

/// What a migration may do that the model cannot check, one reason each:
/// a statement that runs code of the schema's own (a `CALL`, or a query
/// calling a function defined in `current_schema` or the migration),
/// which may change the schema where no model of the text sees it; a
/// column renamed on a table a view reads (PostgreSQL rewrites the view,
/// keeping the view's own column name; the model does not model view
/// columns). For these only a database can tell.
pub fn beyond_the_model(migration: &SqlFile, model: &Schema) -> Vec<String> {
    let mut why = Vec::new();
    for stmt in &migration.statements {
        let line = stmt.line;
        match &stmt.node {
            NodeEnum::CallStmt(_) => why.push(format!("line {line} calls a procedure")),
            NodeEnum::SelectStmt(_)
            | NodeEnum::InsertStmt(_)
            | NodeEnum::UpdateStmt(_)
            | NodeEnum::DeleteStmt(_) => {
                let called = stmt
                    .node
                    .nodes()
                    .into_iter()
                    .find_map(|(n, _, _, _)| match n {
                        pg_query::NodeRef::FuncCall(f) => {
                            let q = crate::ast::qual_from_list(&f.funcname);
                            model.functions_named(&q).next().is_some().then_some(q)
                        }
                        _ => None,
                    });
                if let Some(q) = called {
                    why.push(format!(
                        "line {line} calls {q}, which may change the schema where no model sees it"
                    ));
                }
            }
            NodeEnum::RenameStmt(r)
                if pg_query::protobuf::ObjectType::try_from(r.rename_type)
                    == Ok(pg_query::protobuf::ObjectType::ObjectColumn) =>
            {
                let t = crate::ast::range_var(&r.relation);
                // Views the migration itself creates are written against
                // the new name already.
                if let Some(v) = model
                    .views
                    .iter()
                    .find(|v| v.reads.contains(&t) && v.site.path != migration.path)
                {
                    why.push(format!(
                        "line {line} renames a column of {t}, which view {} reads",
                        v.name
                    ));
                }
            }
            _ => {}
        }
    }
    why
}

/// The object as JSON without where it is written; lists of named things
/// (columns, constraints) sorted by name, because their order in the text
/// is not the database's concern (the catalog comparison does not compare
/// column order either).
fn canonical<T: Serialize>(item: &T) -> Value {
    fn strip(v: Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.into_iter()
                    .filter(|(k, _)| !WHERE_WRITTEN.contains(&k.as_str()))
                    .map(|(k, v)| (k, strip(v)))
                    .collect(),
            ),
            Value::Array(a) => {
                let mut a: Vec<Value> = a.into_iter().map(strip).collect();
                if a.iter()
                    .all(|x| x.get("name").is_some_and(Value::is_string))
                {
                    a.sort_by(|x, y| x["name"].as_str().cmp(&y["name"].as_str()));
                }
                Value::Array(a)
            }
            other => other,
        }
    }
    strip(serde_json::to_value(item).unwrap_or(Value::Null))
}

/// The first field that differs, as `field: A in the migration, B in
/// current_schema`, descending into named members (`column c: ...`).
fn detail(want: &Value, have: &Value) -> String {
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => {
            for (k, wv) in w {
                let hv = h.get(k).unwrap_or(&Value::Null);
                if wv != hv {
                    return format!("{k}: {}", detail(wv, hv));
                }
            }
            "differs".into()
        }
        (Value::Array(w), Value::Array(h)) => {
            let named = |a: &Vec<Value>| -> Option<BTreeMap<String, Value>> {
                a.iter()
                    .map(|x| {
                        x.get("name")
                            .and_then(Value::as_str)
                            .map(|n| (n.to_string(), x.clone()))
                    })
                    .collect()
            };
            if let (Some(wn), Some(hn)) = (named(w), named(h)) {
                for (n, wv) in &wn {
                    match hn.get(n) {
                        None => return format!("{n} missing in current_schema"),
                        Some(hv) if hv != wv => return format!("{n}: {}", detail(wv, hv)),
                        Some(_) => {}
                    }
                }
                if let Some(n) = hn.keys().find(|n| !wn.contains_key(*n)) {
                    return format!("{n} in current_schema only");
                }
            }
            format!(
                "{} in the migration, {} in current_schema",
                short(want),
                short(have)
            )
        }
        _ => format!(
            "{} in the migration, {} in current_schema",
            short(want),
            short(have)
        ),
    }
}

fn short(v: &Value) -> String {
    crate::text::one_line(&v.to_string(), 80)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql;
    use std::path::Path;
    use std::sync::Arc;

    fn model(files: &[&str]) -> Schema {
        Schema::build(
            files
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    Arc::new(sql::parse(Path::new(&format!("f{i}.sql")), t.to_string()).unwrap())
                })
                .collect(),
        )
    }

    const BASE: &str = "CREATE TABLE public.t (\n    id bigint PRIMARY KEY,\n    n text NOT NULL -- name\n);\nCREATE INDEX t_n ON public.t (n);\n";

    #[test]
    fn where_an_object_is_written_does_not_count() {
        let expected = model(&[BASE, "ALTER TABLE public.t ADD COLUMN c integer DEFAULT 0;"]);
        let patched = model(&["-- moved\n\nCREATE TABLE public.t (\n    id bigint PRIMARY KEY,\n    c integer DEFAULT 0,\n    n text NOT NULL\n);\n\nCREATE INDEX t_n ON public.t (n);\n"]);
        assert_eq!(
            model_drift(&expected, &patched, &[0, 1]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_wrong_patch_is_named() {
        let expected = model(&[BASE, "ALTER TABLE public.t ADD COLUMN c integer DEFAULT 0; CREATE INDEX t_c ON public.t (c);"]);
        let patched = model(&["CREATE TABLE public.t (\n    id bigint PRIMARY KEY,\n    n text NOT NULL,\n    c bigint DEFAULT 0\n);\nCREATE INDEX t_n ON public.t (n);\n"]);
        let d = model_drift(&expected, &patched, &[0, 1]);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(
            d[0].starts_with("table public.t: columns: c: type_name"),
            "{d:?}"
        );
        assert!(d[0].contains("integer") && d[0].contains("bigint"), "{d:?}");
        assert_eq!(
            d[1],
            "index public.t_c: in the migration, not in current_schema"
        );
    }

    #[test]
    fn a_statement_the_patch_missed_is_found_in_an_untouched_file() {
        // Nothing was edited: only the migration's file is "touched", and
        // the table it changes is compared through the column it added.
        let expected = model(&[
            BASE,
            "ALTER TABLE public.t ADD COLUMN c integer; COMMENT ON INDEX public.t_n IS 'x';",
        ]);
        let patched = model(&[BASE]);
        let d = model_drift(&expected, &patched, &[1]);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].contains("c missing in current_schema"), "{d:?}");
    }

    #[test]
    fn a_renamed_column_is_followed_into_check_expressions() {
        let expected = model(&[
            "CREATE TABLE public.t (id int PRIMARY KEY, a int CHECK (a > 0));",
            "ALTER TABLE public.t RENAME COLUMN a TO \"Amount\";",
        ]);
        let patched = model(&[
            // PostgreSQL keeps the check's name from before the rename.
            "CREATE TABLE public.t (id int PRIMARY KEY, \"Amount\" int CONSTRAINT t_a_check CHECK (\"Amount\" > 0));",
        ]);
        assert_eq!(
            model_drift(&expected, &patched, &[0, 1]),
            Vec::<String>::new()
        );
    }
}
