//! `missing-if-exists`
//!
//! What it does: flags statements that fail when re-run: CREATE without
//! `IF NOT EXISTS` / `OR REPLACE`, DROP without `IF EXISTS`, ADD/DROP COLUMN
//! without the guard, CREATE POLICY or ADD CONSTRAINT without a preceding
//! `DROP ... IF EXISTS` (PostgreSQL has no IF NOT EXISTS for those).
//!
//! Why is this bad? A migration applied by hand in one environment (the
//! Supabase dashboard, say) and then by touchpoint in another must not
//! fail halfway on objects that already exist.
//!
//! Example: `CREATE INDEX idx_a ON t (a);` instead of
//! `CREATE INDEX IF NOT EXISTS idx_a ON t (a);`

use crate::ast;
use crate::lint::Context;
use crate::report::{Diagnostic, Severity};
use pg_query::protobuf::{AlterTableType, ObjectType};
use pg_query::NodeEnum;

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    // Objects dropped with IF EXISTS earlier in the file: re-creating them
    // afterwards is idempotent.
    let mut guarded: Vec<String> = Vec::new();
    for stmt in &cx.file.statements {
        let mut flag = |what: &str, fix: &str| {
            out.push(
                cx.diag(
                    "missing-if-exists",
                    Severity::Warning,
                    stmt.span.start,
                    format!("{what} fails if re-run"),
                )
                .help(fix.to_string()),
            );
        };
        match &stmt.node {
            NodeEnum::CreateStmt(c) if !c.if_not_exists => flag("CREATE TABLE", "use CREATE TABLE IF NOT EXISTS"),
            NodeEnum::IndexStmt(i) if !i.if_not_exists => flag("CREATE INDEX", "use CREATE INDEX IF NOT EXISTS"),
            NodeEnum::CreateExtensionStmt(e) if !e.if_not_exists => flag("CREATE EXTENSION", "use CREATE EXTENSION IF NOT EXISTS"),
            NodeEnum::CreateSchemaStmt(s) if !s.if_not_exists => flag("CREATE SCHEMA", "use CREATE SCHEMA IF NOT EXISTS"),
            NodeEnum::CreateSeqStmt(s) if !s.if_not_exists => flag("CREATE SEQUENCE", "use CREATE SEQUENCE IF NOT EXISTS"),
            NodeEnum::CreateFunctionStmt(f) if !f.replace => flag("CREATE FUNCTION", "use CREATE OR REPLACE FUNCTION"),
            NodeEnum::ViewStmt(v) if !v.replace => flag("CREATE VIEW", "use CREATE OR REPLACE VIEW"),
            NodeEnum::CreateTrigStmt(t) if !t.replace && !guarded.contains(&format!("trigger {}", t.trigname)) => {
                flag("CREATE TRIGGER", "use CREATE OR REPLACE TRIGGER (PostgreSQL 14+) or DROP TRIGGER IF EXISTS first")
            }
            NodeEnum::CreatePolicyStmt(p) if !guarded.contains(&format!("policy {}", p.policy_name)) => {
                flag("CREATE POLICY", "PostgreSQL has no CREATE POLICY IF NOT EXISTS: put DROP POLICY IF EXISTS before it")
            }
            NodeEnum::DropStmt(d) => {
                if !d.missing_ok {
                    flag("DROP", "use DROP ... IF EXISTS");
                }
                let kind = ObjectType::try_from(d.remove_type).unwrap_or(ObjectType::Undefined);
                for o in &d.objects {
                    if let Some(NodeEnum::List(l)) = &o.node {
                        if let Some(name) = ast::strings(&l.items).last() {
                            match kind {
                                ObjectType::ObjectPolicy => guarded.push(format!("policy {name}")),
                                ObjectType::ObjectTrigger => guarded.push(format!("trigger {name}")),
                                _ => {}
                            }
                        }
                    }
                }
            }
            NodeEnum::AlterTableStmt(a) => {
                for cmd in &a.cmds {
                    let Some(NodeEnum::AlterTableCmd(c)) = &cmd.node else { continue };
                    match AlterTableType::try_from(c.subtype) {
                        Ok(AlterTableType::AtAddColumn) if !c.missing_ok => {
                            flag("ADD COLUMN", "use ADD COLUMN IF NOT EXISTS")
                        }
                        Ok(AlterTableType::AtDropColumn) if !c.missing_ok => {
                            flag("DROP COLUMN", "use DROP COLUMN IF EXISTS")
                        }
                        Ok(AlterTableType::AtDropConstraint) => {
                            if c.missing_ok {
                                guarded.push(format!("constraint {}", c.name));
                            } else {
                                flag("DROP CONSTRAINT", "use DROP CONSTRAINT IF EXISTS");
                            }
                        }
                        Ok(AlterTableType::AtAddConstraint) => {
                            if let Some(NodeEnum::Constraint(k)) = c.def.as_deref().and_then(|d| d.node.as_ref()) {
                                if !guarded.contains(&format!("constraint {}", k.conname)) {
                                    flag(
                                        "ADD CONSTRAINT",
                                        "PostgreSQL has no ADD CONSTRAINT IF NOT EXISTS: put DROP CONSTRAINT IF EXISTS before it",
                                    );
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}
