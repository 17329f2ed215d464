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

use crate::ast::{self, QualName};
use crate::report::{Diagnostic, Severity};
use crate::sql::SqlFile;
use pg_query::protobuf::{self, Node};
use pg_query::{NodeEnum, NodeRef};
use std::collections::HashMap;

pub const CODE: &str = "schema-order";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Relation,
    Function,
    Type,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Relation => "table or view",
            Kind::Function => "function",
            Kind::Type => "type",
        }
    }
}

/// A place in replay order: file index, then byte offset.
type Pos = (usize, usize);

/// A use of an object: what, and the byte offset in the file.
struct Use {
    kind: Kind,
    name: QualName,
    offset: usize,
}

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

/// Objects a statement needs to exist when it runs.
fn uses(node: &NodeEnum) -> Vec<Use> {
    let mut out = Vec::new();
    match node {
        NodeEnum::CreateStmt(c) => {
            for rv in &c.inh_relations {
                expr(rv, &mut out);
            }
            for e in &c.table_elts {
                element(e, &mut out);
            }
        }
        NodeEnum::AlterTableStmt(a) => {
            range_var(a.relation.as_ref(), &mut out);
            for cmd in &a.cmds {
                if let Some(NodeEnum::AlterTableCmd(c)) = &cmd.node {
                    if let Some(def) = &c.def {
                        element(def, &mut out);
                    }
                }
            }
        }
        NodeEnum::CreatePolicyStmt(p) => {
            range_var(p.table.as_ref(), &mut out);
            for e in [&p.qual, &p.with_check].into_iter().flatten() {
                expr(e, &mut out);
            }
        }
        NodeEnum::CreateTrigStmt(t) => {
            range_var(t.relation.as_ref(), &mut out);
            let location = t.relation.as_ref().map_or(0, |r| r.location);
            function(&t.funcname, location, &mut out);
        }
        NodeEnum::IndexStmt(i) => {
            range_var(i.relation.as_ref(), &mut out);
            for p in &i.index_params {
                if let Some(NodeEnum::IndexElem(e)) = &p.node {
                    if let Some(x) = &e.expr {
                        expr(x, &mut out);
                    }
                }
            }
            if let Some(w) = &i.where_clause {
                expr(w, &mut out);
            }
        }
        NodeEnum::CreateFunctionStmt(f) => {
            for p in &f.parameters {
                if let Some(NodeEnum::FunctionParameter(fp)) = &p.node {
                    if let Some(t) = &fp.arg_type {
                        type_name(t, &mut out);
                    }
                }
            }
            if let Some(t) = &f.return_type {
                type_name(t, &mut out);
            }
        }
        NodeEnum::CommentStmt(_) | NodeEnum::DropStmt(_) => {}
        // Views, DML, grants and the rest: the parser's own walk finds
        // the relations and calls in them.
        other => walk(other, &mut out),
    }
    out
}

/// A table element or an ALTER TABLE definition: a column or a constraint.
fn element(n: &Node, out: &mut Vec<Use>) {
    match &n.node {
        Some(NodeEnum::ColumnDef(c)) => {
            if let Some(t) = &c.type_name {
                type_name(t, out);
            }
            for k in &c.constraints {
                element(k, out);
            }
            if let Some(d) = &c.raw_default {
                expr(d, out);
            }
        }
        Some(NodeEnum::Constraint(k)) => {
            range_var(k.pktable.as_ref(), out);
            if let Some(e) = &k.raw_expr {
                expr(e, out);
            }
        }
        Some(NodeEnum::TableLikeClause(l)) => range_var(l.relation.as_ref(), out),
        _ => {}
    }
}

fn expr(n: &Node, out: &mut Vec<Use>) {
    if let Some(node) = &n.node {
        walk(node, out);
    }
}

fn walk(node: &NodeEnum, out: &mut Vec<Use>) {
    for (r, _, _, _) in node.nodes() {
        match r {
            NodeRef::RangeVar(rv) => range_var(Some(rv), out),
            NodeRef::FuncCall(f) => function(&f.funcname, f.location, out),
            NodeRef::TypeCast(c) => {
                if let Some(t) = &c.type_name {
                    type_name(t, out);
                }
            }
            _ => {}
        }
    }
}

fn range_var(rv: Option<&protobuf::RangeVar>, out: &mut Vec<Use>) {
    if let Some(rv) = rv {
        out.push(Use {
            kind: Kind::Relation,
            name: QualName::new(&rv.schemaname, &rv.relname),
            offset: rv.location.max(0) as usize,
        });
    }
}

fn function(names: &[Node], location: i32, out: &mut Vec<Use>) {
    if !names.is_empty() {
        out.push(Use {
            kind: Kind::Function,
            name: ast::qual_from_list(names),
            offset: location.max(0) as usize,
        });
    }
}

fn type_name(t: &protobuf::TypeName, out: &mut Vec<Use>) {
    if !t.names.is_empty() {
        out.push(Use {
            kind: Kind::Type,
            name: ast::qual_from_list(&t.names),
            offset: t.location.max(0) as usize,
        });
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
