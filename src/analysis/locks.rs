//! Which lock a statement takes and whether it rewrites or scans the table.
//! The facts come from the PostgreSQL documentation (ALTER TABLE, explicit
//! locking) and hold for PostgreSQL 11 and later.

use crate::ast::{self, QualName};
use pg_query::protobuf::{self, AlterTableType, ConstrType};
use pg_query::NodeEnum;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    /// `ACCESS EXCLUSIVE`, `SHARE` ...; `None` when no table lock matters.
    pub level: Option<&'static str>,
    pub tables: Vec<QualName>,
    pub rewrite: bool,
    pub scan: bool,
    /// Cannot run inside a transaction block.
    pub no_transaction: bool,
    /// Why, in a few words.
    pub note: String,
}

impl Lock {
    fn on(
        level: &'static str,
        table: QualName,
        rewrite: bool,
        scan: bool,
        note: impl Into<String>,
    ) -> Lock {
        Lock {
            level: Some(level),
            tables: vec![table],
            rewrite,
            scan,
            no_transaction: false,
            note: note.into(),
        }
    }
    fn none(note: impl Into<String>) -> Lock {
        Lock {
            level: None,
            tables: Vec::new(),
            rewrite: false,
            scan: false,
            no_transaction: false,
            note: note.into(),
        }
    }

    /// `ACCESS EXCLUSIVE on public.t; no rewrite, no scan (why)`.
    pub fn describe(&self) -> String {
        let mut s = match self.level {
            Some(l) => {
                let tables: Vec<String> = self.tables.iter().map(ToString::to_string).collect();
                format!(
                    "{l} on {}; {}, {}",
                    tables.join(" and "),
                    if self.rewrite {
                        "REWRITES the table"
                    } else {
                        "no rewrite"
                    },
                    if self.scan { "full scan" } else { "no scan" }
                )
            }
            None => "no table lock of note".to_string(),
        };
        if self.no_transaction {
            s.push_str("; cannot run inside a transaction block");
        }
        if !self.note.is_empty() {
            s.push_str(&format!(" ({})", self.note));
        }
        s
    }
}

/// Functions whose result changes per row: a default using one makes
/// ADD COLUMN rewrite the table.
const VOLATILE: &[&str] = &[
    "random",
    "gen_random_uuid",
    "uuid_generate_v4",
    "uuid_generate_v1",
    "clock_timestamp",
    "timeofday",
    "nextval",
    "txid_current",
    "setseed",
];

fn volatile_default(n: &protobuf::Node) -> bool {
    n.node.as_ref().is_some_and(|node| {
        node.nodes().iter().any(|(r, _, _, _)| match r {
            pg_query::NodeRef::FuncCall(f) => {
                let name = ast::strings(&f.funcname);
                name.last().is_some_and(|n| VOLATILE.contains(&n.as_str()))
            }
            _ => false,
        })
    })
}

/// Binary-coercible type changes that skip the rewrite.
fn binary_coercible(from: &str, to: &str) -> bool {
    let base = |t: &str| t.split('(').next().unwrap_or(t).trim().to_string();
    let modv = |t: &str| -> Vec<u32> {
        t.split_once('(')
            .map(|(_, m)| {
                m.trim_end_matches(')')
                    .split(',')
                    .filter_map(|x| x.trim().parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    let (fb, tb) = (base(from), base(to));
    match (fb.as_str(), tb.as_str()) {
        ("character varying", "text") => true,
        ("character varying", "character varying") => {
            let (f, t) = (modv(from), modv(to));
            t.is_empty() || (!f.is_empty() && t[0] >= f[0])
        }
        ("numeric", "numeric") => {
            let (f, t) = (modv(from), modv(to));
            t.is_empty() || (f.len() == 2 && t.len() == 2 && t[1] == f[1] && t[0] >= f[0])
        }
        ("cidr", "inet") => true,
        _ => false,
    }
}

/// The locks of one statement. `old_type` gives a column's current type
/// (for ALTER COLUMN TYPE); `is_new` says whether a table is created by
/// this same migration (its locks contend with nobody).
pub fn locks(
    node: &NodeEnum,
    old_type: &dyn Fn(&QualName, &str) -> Option<String>,
    is_new: &dyn Fn(&QualName) -> bool,
) -> Vec<Lock> {
    let mut out = match node {
        NodeEnum::AlterTableStmt(a) => {
            let t = ast::range_var(&a.relation);
            a.cmds
                .iter()
                .filter_map(|c| match &c.node {
                    Some(NodeEnum::AlterTableCmd(c)) => Some(alter_cmd(&t, c, old_type)),
                    _ => None,
                })
                .collect()
        }
        NodeEnum::IndexStmt(i) => {
            let t = ast::range_var(&i.relation);
            if i.concurrent {
                vec![Lock {
                    no_transaction: true,
                    ..Lock::on(
                        "SHARE UPDATE EXCLUSIVE",
                        t,
                        false,
                        true,
                        "writes continue; a failure leaves an INVALID index to drop by hand",
                    )
                }]
            } else {
                vec![Lock::on(
                    "SHARE",
                    t,
                    false,
                    true,
                    "blocks writes while the index builds",
                )]
            }
        }
        NodeEnum::CreateStmt(c) => {
            let mut v = Vec::new();
            for e in c.table_elts.iter().chain(c.constraints.iter()) {
                let cons: Vec<&protobuf::Constraint> = match &e.node {
                    Some(NodeEnum::ColumnDef(d)) => d
                        .constraints
                        .iter()
                        .filter_map(|k| match &k.node {
                            Some(NodeEnum::Constraint(k)) => Some(k),
                            _ => None,
                        })
                        .map(|k| &**k)
                        .collect(),
                    Some(NodeEnum::Constraint(k)) => vec![k],
                    _ => vec![],
                };
                for k in cons {
                    if ConstrType::try_from(k.contype) == Ok(ConstrType::ConstrForeign) {
                        let r = ast::range_var(&k.pktable);
                        if !v.iter().any(|l: &Lock| l.tables.contains(&r)) {
                            v.push(Lock::on(
                                "SHARE ROW EXCLUSIVE",
                                r,
                                false,
                                false,
                                "referenced by a foreign key of the new table; blocks its writes briefly",
                            ));
                        }
                    }
                }
            }
            if v.is_empty() {
                v.push(Lock::none("new table"));
            }
            v
        }
        NodeEnum::CreateTrigStmt(t) => vec![Lock::on(
            "SHARE ROW EXCLUSIVE",
            ast::range_var(&t.relation),
            false,
            false,
            "blocks writes briefly",
        )],
        NodeEnum::CreatePolicyStmt(p) => vec![Lock::on(
            "ACCESS EXCLUSIVE",
            ast::range_var(&p.table),
            false,
            false,
            "brief",
        )],
        NodeEnum::AlterPolicyStmt(p) => vec![Lock::on(
            "ACCESS EXCLUSIVE",
            ast::range_var(&p.table),
            false,
            false,
            "brief",
        )],
        NodeEnum::RenameStmt(r) if r.relation.is_some() => {
            vec![Lock::on(
                "ACCESS EXCLUSIVE",
                ast::range_var(&r.relation),
                false,
                false,
                "catalog change only",
            )]
        }
        NodeEnum::DropStmt(d) => {
            use protobuf::ObjectType as O;
            let kind = O::try_from(d.remove_type).unwrap_or(O::Undefined);
            let names: Vec<QualName> = d
                .objects
                .iter()
                .filter_map(|o| match &o.node {
                    Some(NodeEnum::List(l)) => Some(ast::qual_from_list(&l.items)),
                    _ => None,
                })
                .collect();
            match kind {
                O::ObjectTable => names
                    .into_iter()
                    .map(|n| Lock::on("ACCESS EXCLUSIVE", n, false, false, "the table and its data are gone"))
                    .collect(),
                O::ObjectIndex if d.concurrent => vec![Lock {
                    no_transaction: true,
                    ..Lock::none("DROP INDEX CONCURRENTLY: SHARE UPDATE EXCLUSIVE on the table, writes continue")
                }],
                O::ObjectIndex => vec![Lock::none("DROP INDEX: ACCESS EXCLUSIVE on the index's table while it drops")],
                O::ObjectTrigger => vec![Lock::none("ACCESS EXCLUSIVE on the trigger's table, briefly")],
                O::ObjectPolicy => vec![Lock::none("ACCESS EXCLUSIVE on the policy's table, briefly")],
                _ => vec![Lock::none("")],
            }
        }
        NodeEnum::TruncateStmt(t) => t
            .relations
            .iter()
            .filter_map(|r| match &r.node {
                Some(NodeEnum::RangeVar(rv)) => Some(Lock::on(
                    "ACCESS EXCLUSIVE",
                    QualName::new(&rv.schemaname, &rv.relname),
                    false,
                    false,
                    "all rows removed",
                )),
                _ => None,
            })
            .collect(),
        NodeEnum::UpdateStmt(u) => vec![Lock::on(
            "ROW EXCLUSIVE",
            ast::range_var(&u.relation),
            false,
            true,
            "rewrites every row it updates; batch large backfills",
        )],
        NodeEnum::DeleteStmt(d) => vec![Lock::on(
            "ROW EXCLUSIVE",
            ast::range_var(&d.relation),
            false,
            true,
            "locks the rows it deletes",
        )],
        NodeEnum::InsertStmt(i) => vec![Lock::on(
            "ROW EXCLUSIVE",
            ast::range_var(&i.relation),
            false,
            false,
            "",
        )],
        NodeEnum::CommentStmt(_) => vec![Lock::none(
            "SHARE UPDATE EXCLUSIVE on the object; catalog change only",
        )],
        NodeEnum::AlterEnumStmt(_) => vec![Lock::none(
            "a new enum value cannot be used in the same transaction that adds it",
        )],
        NodeEnum::ReindexStmt(r) => {
            let concurrent = r.params.iter().any(
                |p| matches!(&p.node, Some(NodeEnum::DefElem(d)) if d.defname == "concurrently"),
            );
            vec![Lock {
                no_transaction: concurrent,
                ..Lock::none("REINDEX blocks writes to the table unless CONCURRENTLY")
            }]
        }
        NodeEnum::VacuumStmt(_) => vec![Lock {
            no_transaction: true,
            ..Lock::none("VACUUM")
        }],
        _ => vec![Lock::none("")],
    };
    for l in &mut out {
        if l.level.is_some() && l.tables.iter().all(is_new) {
            l.note = "table created in this migration: nobody else holds it".into();
            l.rewrite = false;
            l.scan = false;
        }
    }
    out
}

fn alter_cmd(
    t: &QualName,
    c: &protobuf::AlterTableCmd,
    old_type: &dyn Fn(&QualName, &str) -> Option<String>,
) -> Lock {
    let sub = AlterTableType::try_from(c.subtype).unwrap_or(AlterTableType::Undefined);
    let def = c.def.as_deref().and_then(|d| d.node.as_ref());
    let ae =
        |rewrite, scan, note: &str| Lock::on("ACCESS EXCLUSIVE", t.clone(), rewrite, scan, note);
    match sub {
        AlterTableType::AtAddColumn => {
            let Some(NodeEnum::ColumnDef(d)) = def else {
                return ae(false, false, "");
            };
            let mut has_default = d.raw_default.is_some();
            let mut not_null = d.is_not_null;
            let mut rewrite_why = None;
            if d.type_name.as_ref().is_some_and(ast::is_serial) {
                rewrite_why = Some("serial default is volatile (nextval)");
            }
            for k in &d.constraints {
                let Some(NodeEnum::Constraint(k)) = &k.node else {
                    continue;
                };
                match ConstrType::try_from(k.contype) {
                    Ok(ConstrType::ConstrDefault) => {
                        has_default = true;
                        if k.raw_expr.as_deref().is_some_and(volatile_default) {
                            rewrite_why = Some("volatile default is evaluated for every row");
                        }
                    }
                    Ok(ConstrType::ConstrGenerated) => rewrite_why = Some("stored generated column is computed for every row"),
                    Ok(ConstrType::ConstrIdentity) => rewrite_why = Some("identity column fills every row"),
                    Ok(ConstrType::ConstrNotnull) | Ok(ConstrType::ConstrPrimary) => not_null = true,
                    Ok(ConstrType::ConstrCheck)
                        if rewrite_why.is_none() => {
                            return ae(false, true, "inline CHECK is validated against every row");
                        }
                    Ok(ConstrType::ConstrForeign) => {
                        return Lock {
                            tables: vec![t.clone(), ast::range_var(&k.pktable)],
                            ..ae(false, true, "inline foreign key is validated against every row; SHARE ROW EXCLUSIVE on the referenced table")
                        }
                    }
                    _ => {}
                }
            }
            match rewrite_why {
                Some(why) => ae(true, true, why),
                None if not_null && !has_default => ae(
                    false,
                    true,
                    "NOT NULL without a default fails unless the table is empty",
                ),
                None if has_default => ae(
                    false,
                    false,
                    "constant default, stored in the catalog (PostgreSQL 11+)",
                ),
                None => ae(false, false, "nullable column without default"),
            }
        }
        AlterTableType::AtSetNotNull => ae(
            false,
            true,
            "every row is checked unless a valid CHECK (col IS NOT NULL) proves it",
        ),
        AlterTableType::AtAlterColumnType => {
            let new = match def {
                Some(NodeEnum::ColumnDef(d)) => d.type_name.as_ref().map(ast::type_name),
                _ => None,
            };
            let old = old_type(t, &c.name);
            match (old, new) {
                (Some(o), Some(n)) if binary_coercible(&o, &n) => {
                    ae(false, false, &format!("{o} to {n} is binary-coercible"))
                }
                (Some(o), Some(n)) => ae(
                    true,
                    true,
                    &format!("{o} to {n} rewrites every row and rebuilds its indexes"),
                ),
                _ => ae(true, true, "type change rewrites unless binary-coercible"),
            }
        }
        AlterTableType::AtAddConstraint => {
            let Some(NodeEnum::Constraint(k)) = def else {
                return ae(false, false, "");
            };
            let not_valid = k.skip_validation;
            match ConstrType::try_from(k.contype) {
                Ok(ConstrType::ConstrForeign) => Lock {
                    tables: vec![t.clone(), ast::range_var(&k.pktable)],
                    ..Lock::on(
                        "SHARE ROW EXCLUSIVE",
                        t.clone(),
                        false,
                        !not_valid,
                        if not_valid {
                            "NOT VALID: existing rows are not checked; VALIDATE CONSTRAINT later"
                        } else {
                            "existing rows are checked; add it NOT VALID and VALIDATE separately to avoid the long lock"
                        },
                    )
                },
                Ok(ConstrType::ConstrCheck) => ae(
                    false,
                    !not_valid,
                    if not_valid {
                        "NOT VALID: existing rows are not checked"
                    } else {
                        "existing rows are checked under the lock; consider NOT VALID + VALIDATE"
                    },
                ),
                Ok(ConstrType::ConstrPrimary) | Ok(ConstrType::ConstrUnique) if !k.indexname.is_empty() => {
                    ae(false, false, "uses an existing index")
                }
                Ok(ConstrType::ConstrPrimary) | Ok(ConstrType::ConstrUnique) => {
                    ae(false, true, "builds a unique index under the lock; build it CONCURRENTLY first and add USING INDEX")
                }
                _ => ae(false, true, ""),
            }
        }
        AlterTableType::AtValidateConstraint => Lock::on(
            "SHARE UPDATE EXCLUSIVE",
            t.clone(),
            false,
            true,
            "reads and writes continue",
        ),
        AlterTableType::AtDropColumn => ae(
            false,
            false,
            "catalog change only; space is reclaimed by later rewrites",
        ),
        AlterTableType::AtEnableRowSecurity | AlterTableType::AtDisableRowSecurity => {
            ae(false, false, "catalog change only")
        }
        AlterTableType::AtEnableTrig
        | AlterTableType::AtDisableTrig
        | AlterTableType::AtEnableTrigAll
        | AlterTableType::AtDisableTrigAll => {
            Lock::on("SHARE ROW EXCLUSIVE", t.clone(), false, false, "")
        }
        AlterTableType::AtSetStatistics => {
            Lock::on("SHARE UPDATE EXCLUSIVE", t.clone(), false, false, "")
        }
        _ => ae(false, false, "catalog change only"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock_of(sql: &str) -> Lock {
        let r = pg_query::parse(sql, 0).unwrap();
        let node = r.protobuf.stmts[0]
            .stmt
            .as_ref()
            .unwrap()
            .node
            .clone()
            .unwrap();
        locks(&node, &|_, _| Some("character varying(50)".into()), &|_| {
            false
        })
        .remove(0)
    }

    #[test]
    fn add_column_facts() {
        let l = lock_of("alter table t add column c int");
        assert_eq!(
            (l.level, l.rewrite, l.scan),
            (Some("ACCESS EXCLUSIVE"), false, false)
        );
        assert!(!lock_of("alter table t add column c int default 5").rewrite);
        assert!(lock_of("alter table t add column c uuid default gen_random_uuid()").rewrite);
        assert!(lock_of("alter table t add column c int generated always as (1) stored").rewrite);
        assert!(lock_of("alter table t add column c int not null").scan);
    }

    #[test]
    fn constraint_and_index_facts() {
        let fk = lock_of("alter table t add constraint f foreign key (a) references u(id)");
        assert_eq!(fk.level, Some("SHARE ROW EXCLUSIVE"));
        assert_eq!(fk.tables.len(), 2);
        assert!(fk.scan);
        assert!(
            !lock_of("alter table t add constraint f foreign key (a) references u(id) not valid")
                .scan
        );
        assert_eq!(
            lock_of("alter table t validate constraint f").level,
            Some("SHARE UPDATE EXCLUSIVE")
        );
        assert_eq!(lock_of("create index i on t (a)").level, Some("SHARE"));
        let c = lock_of("create index concurrently i on t (a)");
        assert!(c.no_transaction);
        assert_eq!(c.level, Some("SHARE UPDATE EXCLUSIVE"));
        assert_eq!(
            lock_of("create trigger tr after insert on t for each row execute function f()").level,
            Some("SHARE ROW EXCLUSIVE")
        );
    }

    #[test]
    fn type_change_rewrite_depends_on_coercibility() {
        assert!(!lock_of("alter table t alter column c type text").rewrite);
        assert!(!lock_of("alter table t alter column c type varchar(100)").rewrite);
        assert!(lock_of("alter table t alter column c type integer using c::integer").rewrite);
    }
}
