//! `index-not-concurrent`
//!
//! What it does: flags `CREATE INDEX` without `CONCURRENTLY` on a table that
//! already exists in `current_schema`. An index on a table created in the
//! same migration is fine: nobody else can be writing to it.
//!
//! Why is this bad? A plain CREATE INDEX takes a SHARE lock and blocks every
//! write to the table until the index is built. `CONCURRENTLY` lets writes
//! continue (touchpoint runs such statements outside the transaction).
//!
//! Example: `CREATE INDEX idx_jobs_status ON job_queue (status);`

use crate::ast;
use crate::lint::Context;
use crate::report::{Diagnostic, Severity};
use pg_query::NodeEnum;

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some(schema) = cx.schema else { return };
    let mut created = Vec::new();
    for stmt in &cx.file.statements {
        match &stmt.node {
            NodeEnum::CreateStmt(c) => created.push(ast::range_var(&c.relation)),
            NodeEnum::IndexStmt(i) if !i.concurrent => {
                let t = ast::range_var(&i.relation);
                if schema.table(&t).is_some() && !created.contains(&t) {
                    out.push(
                        cx.diag(
                            "index-not-concurrent",
                            Severity::Warning,
                            stmt.span.start,
                            format!("CREATE INDEX on existing table {t} blocks writes while it builds"),
                        )
                        .help("use CREATE INDEX CONCURRENTLY; touchpoint runs it outside the transaction"),
                    );
                }
            }
            _ => {}
        }
    }
}
