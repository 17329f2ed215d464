//! `unknown-object`
//!
//! What it does: flags a table or column the migration uses that
//! `current_schema` does not define (and that the migration does not create
//! first).
//!
//! Why is this bad? Either the name is misspelled, or `current_schema` has
//! drifted from the database. Both are found far more cheaply here than at
//! `finalize`.
//!
//! Example: `ALTER TABLE public.job_que ADD COLUMN x int;`

use crate::ast::{self, QualName};
use crate::lint::Context;
use crate::report::{Diagnostic, Severity};
use pg_query::protobuf::{AlterTableType, ObjectType};
use pg_query::NodeEnum;

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let (Some(schema), Some(analysis)) = (cx.schema, cx.analysis) else {
        return;
    };
    for d in analysis
        .diagnostics
        .iter()
        .filter(|d| d.code == "unknown-table")
    {
        let mut d = d.clone();
        d.code = "unknown-object".into();
        out.push(d);
    }
    // Columns the migration itself adds, renames or drops, in order.
    let mut added: Vec<(QualName, String)> = Vec::new();
    let mut created: Vec<QualName> = Vec::new();
    for stmt in &cx.file.statements {
        let mut missing_col = |t: &QualName, col: &str, added: &[(QualName, String)]| {
            let known = schema.table(t).is_some_and(|tb| tb.column(col).is_some())
                || added.iter().any(|(a, c)| a == t && c == col);
            if !known && schema.table(t).is_some() {
                out.push(
                    cx.diag("unknown-object", Severity::Error, stmt.span.start, format!("column {t}.{col} does not exist in current_schema"))
                        .help("check the column name; if the database has it, current_schema has drifted: fix it first"),
                );
            }
        };
        match &stmt.node {
            NodeEnum::CreateStmt(c) => created.push(ast::range_var(&c.relation)),
            NodeEnum::AlterTableStmt(a)
                if ObjectType::try_from(a.objtype) == Ok(ObjectType::ObjectTable) =>
            {
                let t = ast::range_var(&a.relation);
                if created.contains(&t) {
                    continue;
                }
                for cmd in &a.cmds {
                    let Some(NodeEnum::AlterTableCmd(c)) = &cmd.node else {
                        continue;
                    };
                    match AlterTableType::try_from(c.subtype) {
                        Ok(AlterTableType::AtAddColumn) => {
                            if let Some(NodeEnum::ColumnDef(d)) =
                                c.def.as_deref().and_then(|d| d.node.as_ref())
                            {
                                added.push((t.clone(), d.colname.clone()));
                            }
                        }
                        Ok(AlterTableType::AtDropColumn) if c.missing_ok => {}
                        Ok(
                            AlterTableType::AtDropColumn
                            | AlterTableType::AtAlterColumnType
                            | AlterTableType::AtColumnDefault
                            | AlterTableType::AtSetNotNull
                            | AlterTableType::AtDropNotNull,
                        ) => missing_col(&t, &c.name, &added),
                        _ => {}
                    }
                }
            }
            NodeEnum::RenameStmt(r)
                if ObjectType::try_from(r.rename_type) == Ok(ObjectType::ObjectColumn) =>
            {
                let t = ast::range_var(&r.relation);
                if !created.contains(&t) {
                    missing_col(&t, &r.subname, &added);
                }
                added.push((t, r.newname.clone()));
            }
            _ => {}
        }
    }
}
