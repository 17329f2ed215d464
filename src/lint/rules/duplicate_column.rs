//! `duplicate-column`
//!
//! What it does: flags `ADD COLUMN c` (without `IF NOT EXISTS`) when
//! `current_schema` already defines `c` on that table.
//!
//! Why is this bad? PostgreSQL rejects it (`column already exists`), or, if
//! the schema files are stale, the migration was already applied by hand.
//!
//! Example: `ALTER TABLE shell_files ADD COLUMN status text;`

use crate::ast;
use crate::lint::Context;
use crate::report::{Diagnostic, Severity};
use pg_query::protobuf::AlterTableType;
use pg_query::NodeEnum;

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some(schema) = cx.schema else { return };
    for stmt in &cx.file.statements {
        let NodeEnum::AlterTableStmt(a) = &stmt.node else {
            continue;
        };
        let t = ast::range_var(&a.relation);
        let Some(table) = schema.table(&t) else {
            continue;
        };
        for cmd in &a.cmds {
            let Some(NodeEnum::AlterTableCmd(c)) = &cmd.node else {
                continue;
            };
            if AlterTableType::try_from(c.subtype) != Ok(AlterTableType::AtAddColumn)
                || c.missing_ok
            {
                continue;
            }
            let Some(NodeEnum::ColumnDef(d)) = c.def.as_deref().and_then(|d| d.node.as_ref())
            else {
                continue;
            };
            if let Some(existing) = table.column(&d.colname) {
                out.push(
                    cx.diag(
                        "duplicate-column",
                        Severity::Error,
                        stmt.span.start + d.location.max(0) as usize,
                        format!("column {t}.{} already exists ({})", d.colname, existing.site.lines()),
                    )
                    .help("alter the existing column instead, or use ADD COLUMN IF NOT EXISTS if re-running is intended"),
                );
            }
        }
    }
}
