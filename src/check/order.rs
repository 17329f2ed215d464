//! `schema-order`
//!
//! What it does: finds statements in `current_schema` that use a table,
//! view, sequence, function or type which `current_schema` itself defines
//! only later in replay order (file-name order, then top to bottom): a
//! foreign key to a table of a later file, a policy, default, check or
//! index calling a function defined further down, a column of a type
//! created afterwards, a view or trigger over something not there yet.
//! Objects `current_schema` does not define at all (built-ins, extensions,
//! the Supabase stand-ins) are not its business.
//!
//! Why is this bad? The schema files must build an empty database in
//! order; each of these statements fails there. This rule finds them
//! without a database; `check --replay` proves the whole replay on one.
//!
//! Example: `CREATE POLICY p ON t USING (public.is_owner(owner_id))` in
//! `01_core.sql` while `02_functions.sql` creates `public.is_owner`.
//!
//! Function bodies kept as strings (plpgsql, `AS $$ ... $$`) are not
//! followed: PostgreSQL resolves their names when they run.

use crate::ast::{self, uses, Kind, QualName};
use crate::report::{Diagnostic, Severity};
use crate::sql::SqlFile;
use pg_query::protobuf;
use pg_query::NodeEnum;
use std::collections::HashMap;

pub const CODE: &str = "schema-order";

/// A place in replay order: file index, then byte offset.
type Pos = (usize, usize);

pub fn check<F: std::borrow::Borrow<SqlFile>>(files: &[F]) -> Vec<Diagnostic> {
    let files: Vec<&SqlFile> = files.iter().map(|f| f.borrow()).collect();
    // First definition of every object, in replay order.
    let mut defined: HashMap<(Kind, QualName), (Pos, usize)> = HashMap::new();
    for (fi, f) in files.iter().enumerate() {
        for s in &f.statements {
            for (kind, name) in definitions(&s.node) {
                defined
                    .entry((kind, name))
                    .or_insert(((fi, s.span.start), fi));
            }
        }
    }
    let mut out = Vec::new();
    for (fi, f) in files.iter().enumerate() {
        let mut last_span = None;
        for s in &f.statements {
            // One text can parse into several nodes; report it once.
            if last_span == Some(s.span) {
                continue;
            }
            last_span = Some(s.span);
            let own = definitions(&s.node);
            let mut seen: Vec<(Kind, QualName)> = Vec::new();
            for u in uses(&s.node) {
                let key = (u.kind, u.name);
                if own.contains(&key) || seen.contains(&key) {
                    continue;
                }
                let Some(((def_file, def_offset), def_fi)) = defined.get(&key) else {
                    continue;
                };
                if (*def_file, *def_offset) <= (fi, s.span.start) {
                    continue;
                }
                let def = &files[*def_fi];
                let def_line = def.index.line(*def_offset);
                let at = s.span.start + u.offset.min(s.span.end - s.span.start);
                let (line, col) = f.index.line_col(&f.text, at);
                out.push(
                    Diagnostic::new(
                        CODE,
                        Severity::Error,
                        format!(
                            "{} {} is used here but only defined later, at {}:{def_line}",
                            key.0.word(),
                            key.1,
                            def.path.display()
                        ),
                    )
                    .file(&f.path)
                    .at(line, col)
                    .help(
                        "current_schema replays in file-name order: move the definition before its \
                         first use (`touchpoint check --replay` proves the replay on a real database)",
                    ),
                );
                seen.push(key);
            }
        }
    }
    out
}

/// Objects a statement creates.
fn definitions(node: &NodeEnum) -> Vec<(Kind, QualName)> {
    let rel = |rv: &Option<protobuf::RangeVar>| vec![(Kind::Relation, ast::range_var(rv))];
    match node {
        NodeEnum::CreateStmt(c) => rel(&c.relation),
        NodeEnum::ViewStmt(v) => rel(&v.view),
        NodeEnum::CreateSeqStmt(c) => rel(&c.sequence),
        NodeEnum::CreateTableAsStmt(c) => c.into.as_ref().map(|i| rel(&i.rel)).unwrap_or_default(),
        NodeEnum::CreateFunctionStmt(f) => vec![(Kind::Function, ast::qual_from_list(&f.funcname))],
        NodeEnum::CreateEnumStmt(e) => vec![(Kind::Type, ast::qual_from_list(&e.type_name))],
        NodeEnum::CreateDomainStmt(d) => vec![(Kind::Type, ast::qual_from_list(&d.domainname))],
        NodeEnum::CreateRangeStmt(r) => vec![(Kind::Type, ast::qual_from_list(&r.type_name))],
        NodeEnum::CompositeTypeStmt(c) => vec![(Kind::Type, ast::range_var(&c.typevar))],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn run(files: &[(&str, &str)]) -> Vec<String> {
        let parsed: Vec<SqlFile> = files
            .iter()
            .map(|(p, t)| crate::sql::parse(Path::new(p), t.to_string()).unwrap())
            .collect();
        check(&parsed)
            .into_iter()
            .map(|d| {
                format!(
                    "{}:{}:{} {}",
                    d.file.unwrap().display(),
                    d.line.unwrap(),
                    d.column.unwrap(),
                    d.message
                )
            })
            .collect()
    }

    #[test]
    fn later_definitions_are_found_and_earlier_ones_pass() {
        let got = run(&[
            (
                "01.sql",
                "create table a (id int primary key, b_id int references b (id), k mood);\n\
                 create policy p on a using (is_owner(id));\n\
                 create table self (id int primary key, parent int references self (id));\n\
                 select now();\n",
            ),
            (
                "02.sql",
                "create table b (id int primary key, a_id int references a (id));\n\
                 create type mood as enum ('ok');\n\
                 create function is_owner(int) returns boolean language sql as $$ select true $$;\n\
                 create trigger t before insert on b for each row execute function later_fn();\n\
                 create function later_fn() returns trigger language plpgsql as $$ begin return new; end $$;\n\
                 create view v as select * from a join b on true;\n",
            ),
        ]);
        assert_eq!(
            got,
            vec![
                "01.sql:1:57 table or view public.b is used here but only defined later, at 02.sql:1",
                "01.sql:1:67 type public.mood is used here but only defined later, at 02.sql:2",
                "01.sql:2:29 function public.is_owner is used here but only defined later, at 02.sql:3",
                "02.sql:4:35 function public.later_fn is used here but only defined later, at 02.sql:5",
            ]
        );
    }
}
