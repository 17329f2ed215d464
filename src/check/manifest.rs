//! `not-in-manifest`
//!
//! What it does: with a `[manifest]` in `touchpoint.toml`, a migration that
//! creates or alters a table (`CREATE TABLE`, `CREATE TABLE AS`, `ALTER
//! TABLE`, `ALTER TABLE ... RENAME`) or an enum (`CREATE TYPE ... AS ENUM`,
//! `ALTER TYPE ... ADD VALUE / RENAME VALUE`) that the manifest does not
//! list is flagged. An empty list (say, no `enums`) checks nothing of that
//! kind. A name without a schema in the manifest matches that name in any
//! schema; names in migrations without a schema are `public`.
//!
//! Why is this bad? The manifest is the team's list of canonical objects:
//! a migration creating `patient_medications_v2` next to
//! `patient_medications` is usually a mistake, not a design.
//!
//! Example: `CREATE TABLE public.scratch (...)` with `tables =
//! ["public.job_queue"]`.
//!
//! Severity: an error in a draft or approved migration, a warning in a
//! finalized one (history, which cannot be changed any more).

use crate::ast::{self, QualName};
use crate::header::State;
use crate::report::{Diagnostic, Severity};
use crate::sql::SqlFile;
use crate::workspace::Manifest;
use pg_query::protobuf::ObjectType;
use pg_query::NodeEnum;

pub const CODE: &str = "not-in-manifest";

pub fn check(m: &Manifest, file: &SqlFile, state: State) -> Vec<Diagnostic> {
    let severity = if state == State::Finalized {
        Severity::Warning
    } else {
        Severity::Error
    };
    let mut out = Vec::new();
    for s in &file.statements {
        for (kind, name) in touched(&s.node) {
            let list = match kind {
                Kind::Table => &m.tables,
                Kind::Enum => &m.enums,
            };
            if list.is_empty() || listed(list, &name) {
                continue;
            }
            let (line, col) = file.index.line_col(&file.text, s.span.start);
            out.push(
                Diagnostic::new(
                    CODE,
                    severity,
                    format!(
                        "{} {name} is not in the [manifest] {} of touchpoint.toml",
                        kind.word(),
                        kind.key()
                    ),
                )
                .file(&file.path)
                .at(line, col)
                .help(format!(
                    "use a {} the manifest lists, or add {name} to [manifest] {} if it is meant to be canonical",
                    kind.word(),
                    kind.key()
                )),
            );
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Table,
    Enum,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Table => "table",
            Kind::Enum => "enum",
        }
    }
    fn key(self) -> &'static str {
        match self {
            Kind::Table => "tables",
            Kind::Enum => "enums",
        }
    }
}

fn listed(list: &[String], name: &QualName) -> bool {
    list.iter().any(|entry| {
        if entry.contains('.') {
            QualName::parse(entry) == *name
        } else {
            QualName::parse(entry).name == name.name
        }
    })
}

/// Tables and enums a statement creates or alters.
fn touched(node: &NodeEnum) -> Vec<(Kind, QualName)> {
    let is = |t: i32, want: ObjectType| ObjectType::try_from(t) == Ok(want);
    match node {
        NodeEnum::CreateStmt(c) => vec![(Kind::Table, ast::range_var(&c.relation))],
        NodeEnum::CreateTableAsStmt(c) if is(c.objtype, ObjectType::ObjectTable) => c
            .into
            .as_ref()
            .map(|i| vec![(Kind::Table, ast::range_var(&i.rel))])
            .unwrap_or_default(),
        NodeEnum::AlterTableStmt(a) if is(a.objtype, ObjectType::ObjectTable) => {
            vec![(Kind::Table, ast::range_var(&a.relation))]
        }
        NodeEnum::RenameStmt(r) if is(r.rename_type, ObjectType::ObjectTable) => {
            let old = ast::range_var(&r.relation);
            let new = QualName::new(&old.schema, &r.newname);
            vec![(Kind::Table, old), (Kind::Table, new)]
        }
        NodeEnum::RenameStmt(r) if is(r.rename_type, ObjectType::ObjectColumn) => {
            vec![(Kind::Table, ast::range_var(&r.relation))]
        }
        NodeEnum::CreateEnumStmt(e) => vec![(Kind::Enum, ast::qual_from_list(&e.type_name))],
        NodeEnum::AlterEnumStmt(e) => vec![(Kind::Enum, ast::qual_from_list(&e.type_name))],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn unlisted_tables_and_enums_are_flagged() {
        let m = Manifest {
            tables: vec!["public.job_queue".into(), "users".into()],
            enums: vec!["public.job_status".into()],
        };
        let f = crate::sql::parse(
            Path::new("m.sql"),
            "ALTER TABLE job_queue ADD COLUMN p int;\n\
             ALTER TABLE auth.users ADD COLUMN x int;\n\
             CREATE TABLE public.scratch (id int);\n\
             ALTER TYPE public.job_status ADD VALUE 'x';\n\
             CREATE TYPE mood AS ENUM ('a');\n\
             ALTER TABLE job_queue RENAME TO jobs;\n"
                .into(),
        )
        .unwrap();
        let got: Vec<String> = check(&m, &f, State::Draft)
            .into_iter()
            .map(|d| format!("{}:{}", d.line.unwrap(), d.message))
            .collect();
        assert_eq!(
            got,
            vec![
                "3:table public.scratch is not in the [manifest] tables of touchpoint.toml",
                "5:enum public.mood is not in the [manifest] enums of touchpoint.toml",
                "6:table public.jobs is not in the [manifest] tables of touchpoint.toml",
            ]
        );
        assert!(check(&m, &f, State::Finalized)
            .iter()
            .all(|d| d.severity == Severity::Warning));
    }
}
