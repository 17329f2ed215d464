//! Small helpers over `pg_query` parse trees: names, types and expressions
//! rendered the way PostgreSQL itself shows them.

use pg_query::protobuf::{self, Node, TypeName};
use pg_query::{NodeEnum, NodeRef};

/// A schema-qualified name. Unqualified names are taken to live in `public`,
/// the default `search_path` of the schemas touchpoint is written for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct QualName {
    pub schema: String,
    pub name: String,
}

impl QualName {
    pub fn new(schema: &str, name: &str) -> Self {
        QualName {
            schema: if schema.is_empty() {
                "public".into()
            } else {
                schema.into()
            },
            name: name.into(),
        }
    }
    /// Parse `name` or `schema.name` as a user typed it (unquoted: folded
    /// to lower case, as PostgreSQL does).
    pub fn parse(s: &str) -> Self {
        let fold = |p: &str| {
            if p.starts_with('"') && p.ends_with('"') && p.len() >= 2 {
                p[1..p.len() - 1].replace("\"\"", "\"")
            } else {
                p.to_lowercase()
            }
        };
        match s.split_once('.') {
            Some((a, b)) => QualName::new(&fold(a), &fold(b)),
            None => QualName::new("public", &fold(s)),
        }
    }
}

impl std::fmt::Display for QualName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

pub fn node_str(n: &Node) -> Option<&str> {
    match n.node.as_ref()? {
        NodeEnum::String(s) => Some(&s.sval),
        _ => None,
    }
}

/// The strings of a name list such as `funcname` or `names`.
pub fn strings(nodes: &[Node]) -> Vec<String> {
    nodes
        .iter()
        .filter_map(node_str)
        .map(str::to_string)
        .collect()
}

/// A qualified name from a name list (`[schema, name]` or `[name]`).
pub fn qual_from_list(nodes: &[Node]) -> QualName {
    let parts = strings(nodes);
    match parts.as_slice() {
        [.., s, n] => QualName::new(s, n),
        [n] => QualName::new("", n),
        [] => QualName::new("", ""),
    }
}

pub fn range_var(rv: &Option<protobuf::RangeVar>) -> QualName {
    match rv {
        Some(rv) => QualName::new(&rv.schemaname, &rv.relname),
        None => QualName::new("", ""),
    }
}

/// A type as PostgreSQL's `format_type` shows it: `integer`, `text[]`,
/// `numeric(10,3)`, `timestamp with time zone`, `public.job_status`.
pub fn type_name(t: &TypeName) -> String {
    let names = strings(&t.names);
    let (schema, base) = match names.as_slice() {
        [.., s, n] => (Some(s.as_str()), n.as_str()),
        [n] => (None, n.as_str()),
        [] => (None, ""),
    };
    let mods: Vec<String> = t.typmods.iter().map(expr_text).collect();
    let mods_txt = if mods.is_empty() {
        String::new()
    } else {
        format!("({})", mods.join(","))
    };
    let builtin = schema.is_none() || schema == Some("pg_catalog");
    let mut out = if builtin {
        match base {
            "int4" | "int" | "integer" => "integer".into(),
            "int8" | "bigint" => "bigint".into(),
            "int2" | "smallint" => "smallint".into(),
            "float4" | "real" => "real".into(),
            "float8" => "double precision".into(),
            "bool" | "boolean" => "boolean".into(),
            "varchar" => format!("character varying{mods_txt}"),
            "bpchar" => format!("character{mods_txt}"),
            "numeric" | "decimal" => format!("numeric{mods_txt}"),
            "timestamptz" => format!("timestamp{mods_txt} with time zone"),
            "timestamp" => format!("timestamp{mods_txt} without time zone"),
            "timetz" => format!("time{mods_txt} with time zone"),
            "time" => format!("time{mods_txt} without time zone"),
            "interval" => "interval".into(),
            "serial" | "serial4" => "integer".into(),
            "bigserial" | "serial8" => "bigint".into(),
            "smallserial" | "serial2" => "smallint".into(),
            other => format!("{other}{mods_txt}"),
        }
    } else {
        format!("{}.{}{mods_txt}", schema.unwrap_or("public"), base)
    };
    if t.pct_type {
        out.push_str("%TYPE");
    }
    for _ in &t.array_bounds {
        out.push_str("[]");
    }
    if t.setof {
        out = format!("SETOF {out}");
    }
    out
}

/// `serial`/`bigserial`: a column whose type implies a sequence default.
pub fn is_serial(t: &TypeName) -> bool {
    let names = strings(&t.names);
    matches!(
        names.last().map(String::as_str),
        Some("serial" | "serial4" | "bigserial" | "serial8" | "smallserial" | "serial2")
    )
}

/// An expression as SQL text, in PostgreSQL's canonical spelling.
pub fn expr_text(n: &Node) -> String {
    if let Some(NodeEnum::AConst(c)) = &n.node {
        if let Some(v) = &c.val {
            use protobuf::a_const::Val;
            return match v {
                Val::Ival(i) => i.ival.to_string(),
                Val::Fval(f) => f.fval.clone(),
                Val::Sval(s) => format!("'{}'", s.sval.replace('\'', "''")),
                Val::Boolval(b) => if b.boolval { "true" } else { "false" }.into(),
                Val::Bsval(b) => b.bsval.clone(),
            };
        }
    }
    // Fast path for the most common defaults (`now()`, `gen_random_uuid()`):
    // the deparser would spell them the same, at a hundred times the cost.
    if let Some(NodeEnum::FuncCall(f)) = &n.node {
        if f.args.is_empty()
            && !f.agg_star
            && !f.agg_distinct
            && !f.func_variadic
            && f.over.is_none()
            && f.agg_filter.is_none()
            && f.agg_order.is_empty()
        {
            let name = strings(&f.funcname);
            if name.iter().all(|p| {
                p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            }) {
                return format!("{}()", name.join("."));
            }
        }
    }
    let target = protobuf::ResTarget {
        val: Some(Box::new(n.clone())),
        ..Default::default()
    };
    let select = protobuf::SelectStmt {
        target_list: vec![Node {
            node: Some(NodeEnum::ResTarget(Box::new(target))),
        }],
        // Protobuf's 0 means "undefined", which the C deparser rejects.
        op: protobuf::SetOperation::SetopNone as i32,
        limit_option: protobuf::LimitOption::Default as i32,
        ..Default::default()
    };
    match NodeEnum::SelectStmt(Box::new(select)).deparse(Default::default()) {
        Ok(s) => s.strip_prefix("SELECT ").unwrap_or(&s).to_string(),
        Err(_) => "<expression>".into(),
    }
}

/// String constants listed by an `IN (...)` or `= ANY (ARRAY[...])` check.
pub fn in_list_values(n: &Node) -> Option<Vec<String>> {
    let consts = |items: &[Node]| -> Option<Vec<String>> {
        items
            .iter()
            .map(|i| match &i.node {
                Some(NodeEnum::AConst(c)) => match &c.val {
                    Some(protobuf::a_const::Val::Sval(s)) => Some(s.sval.clone()),
                    Some(protobuf::a_const::Val::Ival(v)) => Some(v.ival.to_string()),
                    _ => None,
                },
                Some(NodeEnum::TypeCast(tc)) => tc.arg.as_deref().and_then(|a| match &a.node {
                    Some(NodeEnum::AConst(c)) => match &c.val {
                        Some(protobuf::a_const::Val::Sval(s)) => Some(s.sval.clone()),
                        _ => None,
                    },
                    _ => None,
                }),
                _ => None,
            })
            .collect()
    };
    match &n.node {
        Some(NodeEnum::AExpr(e)) => {
            // Only `x IN (...)` and `x = ANY (ARRAY[...])` list values;
            // `BETWEEN a AND b` also carries a two-item list.
            use protobuf::AExprKind as K;
            let kind = K::try_from(e.kind).unwrap_or(K::Undefined);
            // `tags <@ ARRAY[...]` (every element from the list) counts too.
            let contained = kind == K::AexprOp && strings(&e.name).iter().any(|n| n == "<@");
            if !matches!(kind, K::AexprIn | K::AexprOpAny) && !contained {
                return None;
            }
            match &e.rexpr.as_deref()?.node {
                Some(NodeEnum::List(l)) => consts(&l.items),
                Some(NodeEnum::AArrayExpr(a)) => consts(&a.elements),
                Some(NodeEnum::TypeCast(tc)) => match &tc.arg.as_deref()?.node {
                    Some(NodeEnum::AArrayExpr(a)) => consts(&a.elements),
                    _ => None,
                },
                _ => None,
            }
        }
        Some(NodeEnum::BoolExpr(b)) => {
            // `status IS NULL OR status IN (...)`: the IN list still tells
            // the allowed values.
            b.args.iter().find_map(in_list_values)
        }
        _ => None,
    }
}

/// Column names referenced by an expression, in the order they appear.
pub fn column_refs(n: &NodeEnum) -> Vec<String> {
    let mut out = Vec::new();
    for (node, _, _, _) in n.nodes() {
        if let pg_query::NodeRef::ColumnRef(c) = node {
            if let Some(name) = c.fields.iter().rev().find_map(node_str) {
                if !out.iter().any(|o| o == name) {
                    out.push(name.to_string());
                }
            }
        }
    }
    out
}

/// PostgreSQL's `makeObjectName`: `name1_name2_label`, truncated to fit in
/// NAMEDATALEN - 1 bytes by shortening the longer part first.
pub fn make_object_name(name1: &str, name2: Option<&str>, label: &str) -> String {
    const MAX: usize = 63;
    let mut n1 = name1.len();
    let mut n2 = name2.map_or(0, str::len);
    let overhead = label.len() + 1 + usize::from(name2.is_some());
    let avail = MAX.saturating_sub(overhead);
    while n1 + n2 > avail {
        if n1 > n2 {
            n1 -= 1;
        } else {
            n2 -= 1;
        }
    }
    let clip = |s: &str, mut n: usize| {
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s[..n].to_string()
    };
    let mut out = clip(name1, n1);
    if let Some(n) = name2 {
        out.push('_');
        out.push_str(&clip(n, n2));
    }
    out.push('_');
    out.push_str(label);
    out
}

/// Every relation named anywhere in a statement, with its location (byte
/// offset in the statement's text). `NodeEnum::nodes()` walks only the
/// statement kinds the pg_query crate extracts tables from (not CREATE
/// POLICY, ALTER PUBLICATION, ...); this walks the whole tree, through the
/// parse tree's serde form, and takes every RangeVar it meets. Meant for
/// rare, exhaustive work (renaming a table), not hot paths.
pub fn all_range_vars(n: &NodeEnum) -> Vec<(QualName, i32)> {
    fn walk(v: &serde_json::Value, out: &mut Vec<(QualName, i32)>) {
        match v {
            serde_json::Value::Object(m) => {
                if m.contains_key("relname") && m.contains_key("relpersistence") {
                    let s = |k: &str| m.get(k).and_then(|x| x.as_str()).unwrap_or("");
                    let loc = m.get("location").and_then(|x| x.as_i64()).unwrap_or(-1);
                    out.push((QualName::new(s("schemaname"), s("relname")), loc as i32));
                }
                m.values().for_each(|x| walk(x, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(v) = serde_json::to_value(n) {
        walk(&v, &mut out);
    }
    out.sort_by_key(|(_, l)| *l);
    out.dedup();
    out
}

// ---------------------------------------------------------------------------
// What a statement refers to. `NodeEnum::nodes()` walks only the statement
// kinds the pg_query crate extracts tables from; DDL such as CREATE POLICY,
// CREATE TRIGGER and index expressions are walked here by hand.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
/// What kind of object a statement refers to.
pub enum Kind {
    Relation,
    Function,
    Type,
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::Relation => "table or view",
            Kind::Function => "function",
            Kind::Type => "type",
        }
    }
}

/// A use of an object: what, and the byte offset in the file.
pub struct Use {
    pub kind: Kind,
    pub name: QualName,
    /// Byte offset in the statement's text.
    pub offset: usize,
}

/// Objects a statement needs to exist when it runs.
pub fn uses(node: &NodeEnum) -> Vec<Use> {
    let mut out = Vec::new();
    match node {
        NodeEnum::CreateStmt(c) => {
            for rv in &c.inh_relations {
                use_expr(rv, &mut out);
            }
            for e in &c.table_elts {
                use_element(e, &mut out);
            }
        }
        NodeEnum::AlterTableStmt(a) => {
            use_relation(a.relation.as_ref(), &mut out);
            for cmd in &a.cmds {
                if let Some(NodeEnum::AlterTableCmd(c)) = &cmd.node {
                    if let Some(def) = &c.def {
                        use_element(def, &mut out);
                    }
                }
            }
        }
        NodeEnum::CreatePolicyStmt(p) => {
            use_relation(p.table.as_ref(), &mut out);
            for e in [&p.qual, &p.with_check].into_iter().flatten() {
                use_expr(e, &mut out);
            }
        }
        NodeEnum::CreateTrigStmt(t) => {
            use_relation(t.relation.as_ref(), &mut out);
            let location = t.relation.as_ref().map_or(0, |r| r.location);
            use_function(&t.funcname, location, &mut out);
        }
        NodeEnum::IndexStmt(i) => {
            use_relation(i.relation.as_ref(), &mut out);
            for p in &i.index_params {
                if let Some(NodeEnum::IndexElem(e)) = &p.node {
                    if let Some(x) = &e.expr {
                        use_expr(x, &mut out);
                    }
                }
            }
            if let Some(w) = &i.where_clause {
                use_expr(w, &mut out);
            }
        }
        NodeEnum::CreateFunctionStmt(f) => {
            for p in &f.parameters {
                if let Some(NodeEnum::FunctionParameter(fp)) = &p.node {
                    if let Some(t) = &fp.arg_type {
                        use_type(t, &mut out);
                    }
                }
            }
            if let Some(t) = &f.return_type {
                use_type(t, &mut out);
            }
        }
        NodeEnum::CommentStmt(_) | NodeEnum::DropStmt(_) => {}
        // Views, DML, grants and the rest: the parser's own walk finds
        // the relations and calls in them.
        other => use_walk(other, &mut out),
    }
    out
}

/// A table element or an ALTER TABLE definition: a column or a constraint.
fn use_element(n: &Node, out: &mut Vec<Use>) {
    match &n.node {
        Some(NodeEnum::ColumnDef(c)) => {
            if let Some(t) = &c.type_name {
                use_type(t, out);
            }
            for k in &c.constraints {
                use_element(k, out);
            }
            if let Some(d) = &c.raw_default {
                use_expr(d, out);
            }
        }
        Some(NodeEnum::Constraint(k)) => {
            use_relation(k.pktable.as_ref(), out);
            if let Some(e) = &k.raw_expr {
                use_expr(e, out);
            }
        }
        Some(NodeEnum::TableLikeClause(l)) => use_relation(l.relation.as_ref(), out),
        _ => {}
    }
}

fn use_expr(n: &Node, out: &mut Vec<Use>) {
    if let Some(node) = &n.node {
        use_walk(node, out);
    }
}

fn use_walk(node: &NodeEnum, out: &mut Vec<Use>) {
    for (r, _, _, _) in node.nodes() {
        match r {
            NodeRef::RangeVar(rv) => use_relation(Some(rv), out),
            NodeRef::FuncCall(f) => use_function(&f.funcname, f.location, out),
            NodeRef::TypeCast(c) => {
                if let Some(t) = &c.type_name {
                    use_type(t, out);
                }
            }
            _ => {}
        }
    }
}

fn use_relation(rv: Option<&protobuf::RangeVar>, out: &mut Vec<Use>) {
    if let Some(rv) = rv {
        out.push(Use {
            kind: Kind::Relation,
            name: QualName::new(&rv.schemaname, &rv.relname),
            offset: rv.location.max(0) as usize,
        });
    }
}

fn use_function(names: &[Node], location: i32, out: &mut Vec<Use>) {
    if !names.is_empty() {
        out.push(Use {
            kind: Kind::Function,
            name: qual_from_list(names),
            offset: location.max(0) as usize,
        });
    }
}

fn use_type(t: &protobuf::TypeName, out: &mut Vec<Use>) {
    if !t.names.is_empty() {
        out.push(Use {
            kind: Kind::Type,
            name: qual_from_list(&t.names),
            offset: t.location.max(0) as usize,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col_type(sql: &str) -> String {
        let r = pg_query::parse(&format!("create table t (c {sql})"), 0).unwrap();
        let NodeEnum::CreateStmt(c) = r.protobuf.stmts[0]
            .stmt
            .as_ref()
            .unwrap()
            .node
            .as_ref()
            .unwrap()
        else {
            panic!()
        };
        let Some(NodeEnum::ColumnDef(d)) = &c.table_elts[0].node else {
            panic!()
        };
        type_name(d.type_name.as_ref().unwrap())
    }

    #[test]
    fn types_render_like_format_type() {
        assert_eq!(col_type("int"), "integer");
        assert_eq!(col_type("INTEGER[]"), "integer[]");
        assert_eq!(col_type("varchar(255)"), "character varying(255)");
        assert_eq!(col_type("numeric(10,3)"), "numeric(10,3)");
        assert_eq!(col_type("timestamptz"), "timestamp with time zone");
        assert_eq!(
            col_type("timestamp(3) with time zone"),
            "timestamp(3) with time zone"
        );
        assert_eq!(col_type("text"), "text");
        assert_eq!(col_type("public.job_status"), "public.job_status");
        assert_eq!(col_type("double precision"), "double precision");
        assert_eq!(col_type("bigserial"), "bigint");
    }

    #[test]
    fn only_in_lists_give_allowed_values() {
        let expr = |sql: &str| {
            let r = pg_query::parse(&format!("select {sql}"), 0).unwrap();
            let NodeEnum::SelectStmt(s) = r.protobuf.stmts[0]
                .stmt
                .as_ref()
                .unwrap()
                .node
                .clone()
                .unwrap()
            else {
                panic!()
            };
            let Some(NodeEnum::ResTarget(t)) = s.target_list[0].node.clone() else {
                panic!()
            };
            *t.val.unwrap()
        };
        assert_eq!(
            in_list_values(&expr("s in ('a', 'b')")),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            in_list_values(&expr("s = any (array['a'])")),
            Some(vec!["a".into()])
        );
        assert_eq!(in_list_values(&expr("n between 1 and 2000")), None);
    }

    #[test]
    fn object_names_truncate_like_postgres() {
        assert_eq!(
            make_object_name("shell_files", Some("status"), "check"),
            "shell_files_status_check"
        );
        let long = "a".repeat(40);
        let n = make_object_name(&long, Some(&"b".repeat(40)), "fkey");
        assert_eq!(n.len(), 63);
        assert!(n.ends_with("_fkey"));
    }
}
