//! What a database contains, read from pg_catalog, and the differences
//! between two such snapshots.
//!
//! The snapshot holds what a schema author wrote (names, types, defaults,
//! constraint and index definitions, policies, function bodies, grants,
//! comments) and leaves out what differs between two databases built from
//! the same SQL: OIDs, the names of sequences behind serial and identity
//! columns, the order of grants, and objects owned by extensions.

use crate::error::Result;
use postgres::{Client, Row};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub schemas: BTreeMap<String, Schema>,
    pub extensions: BTreeMap<String, Extension>,
    /// Tables, partitioned tables and foreign tables, keyed `schema.name`.
    pub tables: BTreeMap<String, Table>,
    /// Views and materialized views, keyed `schema.name`.
    pub views: BTreeMap<String, View>,
    /// Indexes that do not back a constraint, keyed `schema.index`.
    pub indexes: BTreeMap<String, Index>,
    /// Sequences not owned by a column, keyed `schema.name`.
    pub sequences: BTreeMap<String, Sequence>,
    /// Functions, procedures and aggregates, keyed `schema.name(identity args)`.
    pub functions: BTreeMap<String, Function>,
    /// Enums, domains, composite and range types, keyed `schema.name`.
    pub types: BTreeMap<String, TypeDef>,
    pub publications: BTreeMap<String, Publication>,
    /// `ALTER DEFAULT PRIVILEGES`, keyed `role in schema: objects` (Supabase
    /// projects use them to grant new tables to anon and authenticated).
    #[serde(default)]
    pub default_privileges: BTreeMap<String, Vec<String>>,
    /// Event triggers, keyed by name.
    #[serde(default)]
    pub event_triggers: BTreeMap<String, EventTrigger>,
    /// Rules other than a view's own, keyed `schema.table.rule`: the
    /// definition as PostgreSQL prints it.
    #[serde(default)]
    pub rules: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventTrigger {
    pub event: String,
    pub function: String,
    pub tags: Vec<String>,
    /// `O` (origin, the default), `D` (disabled), `R` (replica), `A` (always).
    pub enabled: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    pub grants: Vec<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    pub schema: String,
    pub version: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// `table`, `partitioned table` or `foreign table`.
    pub kind: String,
    pub unlogged: bool,
    pub partition_key: Option<String>,
    pub partition_of: Option<String>,
    pub partition_bound: Option<String>,
    pub inherits: Vec<String>,
    pub rls_enabled: bool,
    pub rls_forced: bool,
    /// `default`, `full`, `nothing` or `index` (logical replication, realtime).
    pub replica_identity: String,
    pub options: Vec<String>,
    pub grants: Vec<String>,
    pub comment: Option<String>,
    pub columns: BTreeMap<String, Column>,
    /// Column names in their physical order.
    pub column_order: Vec<String>,
    pub constraints: BTreeMap<String, Constraint>,
    pub policies: BTreeMap<String, Policy>,
    pub triggers: BTreeMap<String, Trigger>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Column {
    #[serde(rename = "type")]
    pub type_: String,
    pub not_null: bool,
    /// `nextval(<owned sequence>)` stands for the default of a serial column,
    /// whatever its sequence is called.
    pub default: Option<String>,
    /// Expression of a `GENERATED ALWAYS AS (...) STORED` column.
    pub generated: Option<String>,
    /// `always` or `by default` for identity columns.
    pub identity: Option<String>,
    /// Set only when it differs from the type's default collation.
    pub collation: Option<String>,
    /// The sequence behind a serial or identity column.
    pub sequence: Option<Sequence>,
    pub grants: Vec<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Constraint {
    /// `primary key`, `unique`, `check`, `foreign key`, `exclusion`, ...
    pub kind: String,
    pub definition: String,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    pub table: String,
    pub definition: String,
    /// False after a failed `CREATE INDEX CONCURRENTLY`.
    pub valid: bool,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// `ALL`, `SELECT`, `INSERT`, `UPDATE` or `DELETE`.
    pub command: String,
    pub permissive: bool,
    pub roles: Vec<String>,
    pub using: Option<String>,
    pub with_check: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    pub definition: String,
    /// `enabled`, `disabled`, `replica` or `always`.
    pub enabled: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    /// `view` or `materialized view`.
    pub kind: String,
    pub definition: String,
    pub options: Vec<String>,
    pub grants: Vec<String>,
    pub comment: Option<String>,
    pub column_comments: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sequence {
    #[serde(rename = "type")]
    pub type_: String,
    pub start: i64,
    pub increment: i64,
    pub min: i64,
    pub max: i64,
    pub cache: i64,
    pub cycle: bool,
    pub grants: Vec<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Function {
    /// `function`, `procedure`, `aggregate` or `window`.
    pub kind: String,
    /// Arguments with names, modes and defaults.
    pub arguments: String,
    pub result: Option<String>,
    pub language: String,
    pub body: String,
    pub security_definer: bool,
    /// `immutable`, `stable` or `volatile`.
    pub volatility: String,
    pub strict: bool,
    pub leakproof: bool,
    /// `safe`, `restricted` or `unsafe`.
    pub parallel: String,
    pub cost: f32,
    pub rows: f32,
    /// `SET` clauses, e.g. `search_path=public`.
    pub config: Vec<String>,
    pub grants: Vec<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeDef {
    /// `enum`, `domain`, `composite` or `range`.
    pub kind: String,
    /// Enum labels in their sort order.
    pub labels: Vec<String>,
    /// Domain base type or range subtype.
    pub base: Option<String>,
    pub not_null: bool,
    pub default: Option<String>,
    pub collation: Option<String>,
    /// Domain constraints: name and definition.
    pub constraints: BTreeMap<String, String>,
    /// Composite attributes in order: `name type`.
    pub attributes: Vec<String>,
    pub grants: Vec<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publication {
    pub all_tables: bool,
    /// Published actions, e.g. `insert`, `update`.
    pub actions: Vec<String>,
    pub tables: Vec<String>,
}

/// The schemas `introspect` should skip besides the system ones: the
/// tracking schema and those the Supabase prelude (or Supabase itself)
/// provides.
pub fn default_exclusions(tracking_schema: &str) -> Vec<String> {
    let mut v: Vec<String> = ["auth", "storage", "extensions"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    v.push(tracking_schema.to_string());
    v
}

/// SQL fragment: the namespace `n` is a user schema not in `$1`, and the
/// object `oid` of catalog `class` is not owned by an extension.
fn user_object(class: &str, oid: &str) -> String {
    format!(
        "n.nspname <> all($1::text[]) and n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema' \
         and not exists (select 1 from pg_depend e where e.classid = '{class}'::regclass \
         and e.objid = {oid} and e.deptype = 'e')"
    )
}

/// An aclitem[] as sorted text: grant order is not part of the schema.
fn acl(col: &str) -> String {
    format!("array(select x::text from unnest(coalesce({col}, '{{}}'::aclitem[])) x order by 1)")
}

/// Read every user schema except `exclude` (system schemas are always
/// skipped). Runs in a read-only transaction with a fixed `search_path`, so
/// that every name in the output is schema-qualified the same way.
pub fn introspect(client: &mut Client, exclude: &[String]) -> Result<Catalog> {
    let q = |e: postgres::Error| super::query_error("reading the catalog", &e);
    let mut tx = client
        .build_transaction()
        .read_only(true)
        .start()
        .map_err(q)?;
    tx.batch_execute(
        "SET LOCAL search_path = pg_catalog; SET LOCAL DateStyle = 'ISO, YMD'; \
         SET LOCAL IntervalStyle = 'postgres'; SET LOCAL extra_float_digits = 1",
    )
    .map_err(q)?;
    let version: i32 = tx
        .query_one("select current_setting('server_version_num')::int", &[])
        .map_err(q)?
        .get(0);
    let ex: Vec<String> = exclude.to_vec();
    let mut run = |sql: &str| -> Result<Vec<Row>> {
        if sql.contains("$1") {
            tx.query(sql, &[&ex]).map_err(q)
        } else {
            tx.query(sql, &[]).map_err(q)
        }
    };
    let mut cat = Catalog::default();

    for r in run(&format!(
        "select n.nspname, {}, obj_description(n.oid, 'pg_namespace') from pg_namespace n where {}",
        acl("n.nspacl"),
        user_object("pg_namespace", "n.oid")
    ))? {
        cat.schemas.insert(
            r.get(0),
            Schema {
                grants: r.get(1),
                comment: r.get(2),
            },
        );
    }

    for r in run("select e.extname, n.nspname, e.extversion from pg_extension e join pg_namespace n on n.oid = e.extnamespace")? {
        cat.extensions.insert(
            r.get(0),
            Extension {
                schema: r.get(1),
                version: r.get(2),
            },
        );
    }

    // Relations: tables, views, sequences.
    let rel_from = format!(
        "from pg_class c join pg_namespace n on n.oid = c.relnamespace where {}",
        user_object("pg_class", "c.oid")
    );
    for r in run(&format!(
        "select n.nspname || '.' || c.relname, c.relkind::text, c.relpersistence = 'u',
                case when c.relkind = 'p' then pg_get_partkeydef(c.oid) end,
                (select pn.nspname || '.' || pc.relname from pg_inherits i join pg_class pc on pc.oid = i.inhparent
                   join pg_namespace pn on pn.oid = pc.relnamespace where i.inhrelid = c.oid and c.relispartition),
                case when c.relispartition then pg_get_expr(c.relpartbound, c.oid) end,
                array(select pn.nspname || '.' || pc.relname from pg_inherits i join pg_class pc on pc.oid = i.inhparent
                   join pg_namespace pn on pn.oid = pc.relnamespace where i.inhrelid = c.oid and not c.relispartition
                   order by i.inhseqno),
                c.relrowsecurity, c.relforcerowsecurity,
                array(select x from unnest(coalesce(c.reloptions, '{{}}')) x order by 1),
                {}, obj_description(c.oid, 'pg_class'), c.relreplident::text
         {rel_from} and c.relkind in ('r', 'p', 'f')",
        acl("c.relacl")
    ))? {
        let kind: String = r.get(1);
        cat.tables.insert(
            r.get(0),
            Table {
                kind: match kind.as_str() {
                    "p" => "partitioned table",
                    "f" => "foreign table",
                    _ => "table",
                }
                .into(),
                unlogged: r.get(2),
                partition_key: r.get(3),
                partition_of: r.get(4),
                partition_bound: r.get(5),
                inherits: r.get(6),
                rls_enabled: r.get(7),
                rls_forced: r.get(8),
                options: r.get(9),
                grants: r.get(10),
                comment: r.get(11),
                replica_identity: match r.get::<_, String>(12).as_str() {
                    "f" => "full",
                    "n" => "nothing",
                    "i" => "index",
                    _ => "default",
                }
                .into(),
                ..Table::default()
            },
        );
    }

    // Sequences, with the column that owns them (serial and identity).
    let mut owned: BTreeMap<(String, String), (String, Sequence)> = BTreeMap::new();
    for r in run(&format!(
        "select n.nspname || '.' || c.relname, c.oid::regclass::text, format_type(s.seqtypid, null),
                s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
                {}, obj_description(c.oid, 'pg_class'),
                (select tn.nspname || '.' || t.relname from pg_depend d join pg_class t on t.oid = d.refobjid
                   join pg_namespace tn on tn.oid = t.relnamespace
                  where d.classid = 'pg_class'::regclass and d.objid = c.oid
                    and d.refclassid = 'pg_class'::regclass and d.refobjsubid > 0 and d.deptype in ('a', 'i')),
                (select a.attname from pg_depend d join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
                  where d.classid = 'pg_class'::regclass and d.objid = c.oid
                    and d.refclassid = 'pg_class'::regclass and d.refobjsubid > 0 and d.deptype in ('a', 'i'))
         from pg_class c join pg_namespace n on n.oid = c.relnamespace join pg_sequence s on s.seqrelid = c.oid
         where {} and c.relkind = 'S'",
        acl("c.relacl"),
        user_object("pg_class", "c.oid")
    ))? {
        let seq = Sequence {
            type_: r.get(2),
            start: r.get(3),
            increment: r.get(4),
            min: r.get(5),
            max: r.get(6),
            cache: r.get(7),
            cycle: r.get(8),
            grants: r.get(9),
            comment: r.get(10),
        };
        match (r.get::<_, Option<String>>(11), r.get::<_, Option<String>>(12)) {
            (Some(table), Some(column)) => {
                owned.insert((table, column), (r.get(1), seq));
            }
            _ => {
                cat.sequences.insert(r.get(0), seq);
            }
        }
    }

    for r in run(&format!(
        "select n.nspname || '.' || c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                pg_get_expr(d.adbin, d.adrelid), a.attgenerated::text, a.attidentity::text,
                case when a.attcollation <> t.typcollation then
                  (select quote_ident(co.collname) from pg_collation co where co.oid = a.attcollation) end,
                {}, col_description(c.oid, a.attnum)
         from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
              join pg_type t on t.oid = a.atttypid
              left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
         where {} and c.relkind in ('r', 'p', 'f') and a.attnum > 0 and not a.attisdropped
         order by 1, a.attnum",
        acl("a.attacl"),
        user_object("pg_class", "c.oid")
    ))? {
        let table: String = r.get(0);
        let name: String = r.get(1);
        let expr: Option<String> = r.get(4);
        let generated: String = r.get(5);
        let identity: String = r.get(6);
        let (generated, mut default) = if generated.is_empty() { (None, expr) } else { (expr, None) };
        let sequence = owned.remove(&(table.clone(), name.clone())).map(|(regclass, seq)| {
            if let Some(d) = &default {
                let literal = format!("nextval({}::regclass)", super::quote_literal(&regclass));
                default = Some(d.replace(&literal, "nextval(<owned sequence>)"));
            }
            seq
        });
        let col = Column {
            type_: r.get(2),
            not_null: r.get(3),
            default,
            generated,
            identity: match identity.as_str() {
                "a" => Some("always".into()),
                "d" => Some("by default".into()),
                _ => None,
            },
            collation: r.get(7),
            sequence,
            grants: r.get(8),
            comment: r.get(9),
        };
        if let Some(t) = cat.tables.get_mut(&table) {
            t.column_order.push(name.clone());
            t.columns.insert(name, col);
        }
    }
    // Owned by a column of a table outside the snapshot: keep it visible.
    for ((table, column), (_, seq)) in owned {
        cat.sequences
            .insert(format!("(owned by {table}.{column})"), seq);
    }

    for r in run(&format!(
        "select n.nspname || '.' || c.relname, co.conname, co.contype::text, pg_get_constraintdef(co.oid, true),
                obj_description(co.oid, 'pg_constraint')
         from pg_constraint co join pg_class c on c.oid = co.conrelid join pg_namespace n on n.oid = c.relnamespace
         where {}",
        user_object("pg_class", "c.oid")
    ))? {
        let kind: String = r.get(2);
        if let Some(t) = cat.tables.get_mut(&r.get::<_, String>(0)) {
            t.constraints.insert(
                r.get(1),
                Constraint {
                    kind: match kind.as_str() {
                        "p" => "primary key",
                        "u" => "unique",
                        "c" => "check",
                        "f" => "foreign key",
                        "x" => "exclusion",
                        "t" => "constraint trigger",
                        "n" => "not null",
                        other => other,
                    }
                    .into(),
                    definition: r.get(3),
                    comment: r.get(4),
                },
            );
        }
    }

    for r in run(&format!(
        "select n.nspname || '.' || ic.relname, n.nspname || '.' || c.relname, pg_get_indexdef(i.indexrelid),
                i.indisvalid, obj_description(ic.oid, 'pg_class')
         from pg_index i join pg_class ic on ic.oid = i.indexrelid join pg_class c on c.oid = i.indrelid
              join pg_namespace n on n.oid = c.relnamespace
         where {} and not exists (select 1 from pg_constraint co where co.conindid = i.indexrelid
                                    and co.conrelid = i.indrelid and co.contype in ('p', 'u', 'x'))",
        user_object("pg_class", "c.oid")
    ))? {
        cat.indexes.insert(
            r.get(0),
            Index {
                table: r.get(1),
                definition: r.get(2),
                valid: r.get(3),
                comment: r.get(4),
            },
        );
    }

    for r in run(&format!(
        "select n.nspname || '.' || c.relname, p.polname, p.polcmd::text, p.polpermissive,
                array(select case when x = 0 then 'public' else pg_get_userbyid(x)::text end
                        from unnest(p.polroles) x order by 1),
                pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
         from pg_policy p join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace
         where {}",
        user_object("pg_class", "c.oid")
    ))? {
        let cmd: String = r.get(2);
        if let Some(t) = cat.tables.get_mut(&r.get::<_, String>(0)) {
            t.policies.insert(
                r.get(1),
                Policy {
                    command: match cmd.as_str() {
                        "r" => "SELECT",
                        "a" => "INSERT",
                        "w" => "UPDATE",
                        "d" => "DELETE",
                        _ => "ALL",
                    }
                    .into(),
                    permissive: r.get(3),
                    roles: r.get(4),
                    using: r.get(5),
                    with_check: r.get(6),
                },
            );
        }
    }

    for r in run(&format!(
        "select n.nspname || '.' || c.relname, t.tgname, pg_get_triggerdef(t.oid, false), t.tgenabled::text
         from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
         where {} and not t.tgisinternal",
        user_object("pg_class", "c.oid")
    ))? {
        let enabled: String = r.get(3);
        if let Some(t) = cat.tables.get_mut(&r.get::<_, String>(0)) {
            t.triggers.insert(
                r.get(1),
                Trigger {
                    definition: r.get(2),
                    enabled: match enabled.as_str() {
                        "D" => "disabled",
                        "R" => "replica",
                        "A" => "always",
                        _ => "enabled",
                    }
                    .into(),
                },
            );
        }
    }

    for r in run(&format!(
        "select n.nspname || '.' || c.relname, c.relkind::text, pg_get_viewdef(c.oid, true),
                array(select x from unnest(coalesce(c.reloptions, '{{}}')) x order by 1),
                {}, obj_description(c.oid, 'pg_class'),
                array(select a.attname::text || '=' || col_description(c.oid, a.attnum) from pg_attribute a
                       where a.attrelid = c.oid and a.attnum > 0 and col_description(c.oid, a.attnum) is not null
                       order by a.attnum)
         {rel_from} and c.relkind in ('v', 'm')",
        acl("c.relacl")
    ))? {
        let kind: String = r.get(1);
        let comments: Vec<String> = r.get(6);
        cat.views.insert(
            r.get(0),
            View {
                kind: if kind == "m" { "materialized view" } else { "view" }.into(),
                definition: r.get(2),
                options: r.get(3),
                grants: r.get(4),
                comment: r.get(5),
                column_comments: comments
                    .into_iter()
                    .filter_map(|c| c.split_once('=').map(|(a, b)| (a.to_string(), b.to_string())))
                    .collect(),
            },
        );
    }

    let body = if version >= 140000 {
        "case when p.prosqlbody is not null then pg_get_function_sqlbody(p.oid) else p.prosrc end"
    } else {
        "p.prosrc"
    };
    for r in run(&format!(
        "select n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
                p.prokind::text, pg_get_function_arguments(p.oid), pg_get_function_result(p.oid), l.lanname::text,
                {body}, p.prosecdef, p.provolatile::text, p.proisstrict, p.proleakproof, p.proparallel::text,
                p.procost, p.prorows, array(select x from unnest(coalesce(p.proconfig, '{{}}')) x order by 1),
                {}, obj_description(p.oid, 'pg_proc')
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace join pg_language l on l.oid = p.prolang
         where {}",
        acl("p.proacl"),
        user_object("pg_proc", "p.oid")
    ))? {
        let kind: String = r.get(1);
        let vol: String = r.get(7);
        let par: String = r.get(10);
        cat.functions.insert(
            r.get(0),
            Function {
                kind: match kind.as_str() {
                    "p" => "procedure",
                    "a" => "aggregate",
                    "w" => "window",
                    _ => "function",
                }
                .into(),
                arguments: r.get(2),
                result: r.get(3),
                language: r.get(4),
                body: r.get(5),
                security_definer: r.get(6),
                volatility: match vol.as_str() {
                    "i" => "immutable",
                    "s" => "stable",
                    _ => "volatile",
                }
                .into(),
                strict: r.get(8),
                leakproof: r.get(9),
                parallel: match par.as_str() {
                    "s" => "safe",
                    "r" => "restricted",
                    _ => "unsafe",
                }
                .into(),
                cost: r.get(11),
                rows: r.get(12),
                config: r.get(13),
                grants: r.get(14),
                comment: r.get(15),
            },
        );
    }

    for r in run(&format!(
        "select n.nspname || '.' || t.typname, t.typtype::text,
                array(select e.enumlabel::text from pg_enum e where e.enumtypid = t.oid order by e.enumsortorder),
                case t.typtype when 'd' then format_type(t.typbasetype, t.typtypmod)
                               when 'r' then (select format_type(rg.rngsubtype, null) from pg_range rg where rg.rngtypid = t.oid) end,
                t.typnotnull, t.typdefault,
                case when t.typtype = 'd' and t.typcollation <> bt.typcollation then
                  (select quote_ident(co.collname) from pg_collation co where co.oid = t.typcollation) end,
                array(select co.conname || '=' || pg_get_constraintdef(co.oid, true) from pg_constraint co
                       where co.contypid = t.oid order by co.conname),
                array(select quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod) from pg_attribute a
                       where a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped order by a.attnum),
                {}, obj_description(t.oid, 'pg_type')
         from pg_type t join pg_namespace n on n.oid = t.typnamespace
              left join pg_type bt on bt.oid = t.typbasetype
              left join pg_class tc on tc.oid = t.typrelid
         where {} and (t.typtype in ('e', 'd', 'r') or (t.typtype = 'c' and tc.relkind = 'c'))",
        acl("t.typacl"),
        user_object("pg_type", "t.oid")
    ))? {
        let kind: String = r.get(1);
        let constraints: Vec<String> = r.get(7);
        cat.types.insert(
            r.get(0),
            TypeDef {
                kind: match kind.as_str() {
                    "e" => "enum",
                    "d" => "domain",
                    "r" => "range",
                    _ => "composite",
                }
                .into(),
                labels: r.get(2),
                base: r.get(3),
                not_null: r.get(4),
                default: r.get(5),
                collation: r.get(6),
                constraints: constraints
                    .into_iter()
                    .filter_map(|c| c.split_once('=').map(|(a, b)| (a.to_string(), b.to_string())))
                    .collect(),
                attributes: r.get(8),
                grants: r.get(9),
                comment: r.get(10),
            },
        );
    }

    for r in run(
        "select p.pubname, p.puballtables,
                array_remove(array[case when p.pubinsert then 'insert' end, case when p.pubupdate then 'update' end,
                                   case when p.pubdelete then 'delete' end, case when p.pubtruncate then 'truncate' end], null),
                array(select pt.schemaname || '.' || pt.tablename from pg_publication_tables pt
                       where pt.pubname = p.pubname and not p.puballtables order by 1)
         from pg_publication p",
    )? {
        cat.publications.insert(
            r.get(0),
            Publication {
                all_tables: r.get(1),
                actions: r.get(2),
                tables: r.get(3),
            },
        );
    }

    for r in run(
        "select pg_get_userbyid(d.defaclrole), coalesce(n.nspname, ''), d.defaclobjtype::text,
                array(select x::text from unnest(d.defaclacl) x order by 1)
         from pg_default_acl d left join pg_namespace n on n.oid = d.defaclnamespace
         where n.nspname is null or n.nspname <> all($1::text[])",
    )? {
        let (role, schema, kind): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        let objects = match kind.as_str() {
            "r" => "tables",
            "S" => "sequences",
            "f" => "functions",
            "T" => "types",
            "n" => "schemas",
            other => other,
        };
        let scope = if schema.is_empty() {
            "all schemas".to_string()
        } else {
            format!("schema {schema}")
        };
        cat.default_privileges
            .insert(format!("{role} in {scope}: {objects}"), r.get(3));
    }

    for r in run(
        "select e.evtname, e.evtevent, e.evtfoid::regprocedure::text,
                coalesce(e.evttags, '{}'::text[]), e.evtenabled::text
         from pg_event_trigger e
         where not exists (select 1 from pg_depend x where x.classid = 'pg_event_trigger'::regclass
                           and x.objid = e.oid and x.deptype = 'e')",
    )? {
        cat.event_triggers.insert(
            r.get(0),
            EventTrigger {
                event: r.get(1),
                function: r.get(2),
                tags: r.get(3),
                enabled: r.get(4),
            },
        );
    }

    for r in run(&format!(
        "select n.nspname || '.' || c.relname || '.' || w.rulename, pg_get_ruledef(w.oid)
         from pg_rewrite w join pg_class c on c.oid = w.ev_class
         join pg_namespace n on n.oid = c.relnamespace
         where w.rulename <> '_RETURN' and {}",
        user_object("pg_rewrite", "w.oid")
    ))? {
        cat.rules.insert(r.get(0), r.get(1));
    }

    tx.commit().map_err(q)?;
    Ok(cat)
}

/// How an object differs between the expected and the actual catalog.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiffKind {
    OnlyInExpected,
    OnlyInActual,
    Changed,
}

/// One difference, e.g. `column public.t.x: type integer vs bigint`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogDiff {
    /// The object as people name it: `column public.t.x`, `policy p on public.t`.
    pub object: String,
    pub kind: DiffKind,
    /// For `Changed`: what differs, expected value first.
    pub detail: String,
}

impl fmt::Display for CatalogDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            DiffKind::OnlyInExpected => write!(f, "{} only in expected", self.object),
            DiffKind::OnlyInActual => write!(f, "{} only in actual", self.object),
            DiffKind::Changed => write!(f, "{}: {}", self.object, self.detail),
        }
    }
}

/// Every difference between two catalogs, in a stable order (object kind,
/// then name, then field).
/// What the no-drift proofs of finalize and rollback call drift: the
/// catalog differences between the database the SQL produced and the one
/// the patched files produce. Column order is left out: a column added to
/// a table whose later columns come from ALTERs in the schema files (or
/// one that comes back after a rollback) sits in another position with the
/// same definition.
pub fn drift(
    produced: &mut Client,
    patched: &mut Client,
    tracking_schema: &str,
) -> Result<Vec<CatalogDiff>> {
    let exclude = default_exclusions(tracking_schema);
    let a = introspect(produced, &exclude)?;
    let b = introspect(patched, &exclude)?;
    Ok(diff(&a, &b)
        .into_iter()
        .filter(|d| !d.detail.contains("column order"))
        .collect())
}

pub fn diff(expected: &Catalog, actual: &Catalog) -> Vec<CatalogDiff> {
    let mut out = Vec::new();
    let d = &mut out;
    diff_map(
        d,
        &expected.extensions,
        &actual.extensions,
        |k| format!("extension {k}"),
        |d, o, a, b| fields(d, o, a, b, &[]),
    );
    diff_map(
        d,
        &expected.schemas,
        &actual.schemas,
        |k| format!("schema {k}"),
        |d, o, a, b| fields(d, o, a, b, &[]),
    );
    diff_map(
        d,
        &expected.types,
        &actual.types,
        |k| format!("type {k}"),
        |d, o, a, b| {
            fields(d, o, a, b, &["constraints"]);
            diff_map(
                d,
                &a.constraints,
                &b.constraints,
                |k| format!("constraint {k} on {o}"),
                |d, o, a, b| changed(d, o, "definition", a, b),
            );
        },
    );
    diff_map(
        d,
        &expected.sequences,
        &actual.sequences,
        |k| format!("sequence {k}"),
        |d, o, a, b| fields(d, o, a, b, &[]),
    );
    diff_map(
        d,
        &expected.tables,
        &actual.tables,
        |k| format!("table {k}"),
        diff_table,
    );
    diff_map(
        d,
        &expected.indexes,
        &actual.indexes,
        |k| format!("index {k}"),
        |d, o, a, b| fields(d, o, a, b, &[]),
    );
    diff_map(
        d,
        &expected.views,
        &actual.views,
        |k| format!("view {k}"),
        |d, o, a, b| {
            fields(d, o, a, b, &["column_comments"]);
            diff_map(
                d,
                &a.column_comments,
                &b.column_comments,
                |k| format!("comment on column {k} of {o}"),
                |d, o, a, b| changed(d, o, "text", a, b),
            );
        },
    );
    diff_map(
        d,
        &expected.functions,
        &actual.functions,
        |k| format!("function {k}"),
        |d, o, a, b| fields(d, o, a, b, &[]),
    );
    diff_map(
        d,
        &expected.publications,
        &actual.publications,
        |k| format!("publication {k}"),
        |d, o, a, b| fields(d, o, a, b, &[]),
    );
    diff_map(
        d,
        &expected.default_privileges,
        &actual.default_privileges,
        |k| format!("default privileges for {k}"),
        |d, o, a, b| changed(d, o, "grants", &a.join(", "), &b.join(", ")),
    );
    diff_map(
        d,
        &expected.event_triggers,
        &actual.event_triggers,
        |k| format!("event trigger {k}"),
        |d, o, a, b| fields(d, o, a, b, &[]),
    );
    diff_map(
        d,
        &expected.rules,
        &actual.rules,
        |k| format!("rule {k}"),
        |d, o, a, b| changed(d, o, "definition", a, b),
    );
    out
}

fn diff_table(d: &mut Vec<CatalogDiff>, o: &str, a: &Table, b: &Table) {
    fields(
        d,
        o,
        a,
        b,
        &[
            "columns",
            "column_order",
            "constraints",
            "policies",
            "triggers",
        ],
    );
    let name = o.trim_start_matches("table ");
    diff_map(
        d,
        &a.columns,
        &b.columns,
        |k| format!("column {name}.{k}"),
        |d, o, a, b| fields(d, o, a, b, &[]),
    );
    // Order only matters among the columns both sides have; a missing one
    // is already reported.
    let common: BTreeSet<&String> = a
        .columns
        .keys()
        .filter(|k| b.columns.contains_key(*k))
        .collect();
    let oa: Vec<&String> = a
        .column_order
        .iter()
        .filter(|c| common.contains(c))
        .collect();
    let ob: Vec<&String> = b
        .column_order
        .iter()
        .filter(|c| common.contains(c))
        .collect();
    if oa != ob {
        let join = |v: &[&String]| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
        push_changed(
            d,
            o,
            format!("column order ({}) vs ({})", join(&oa), join(&ob)),
        );
    }
    diff_map(
        d,
        &a.constraints,
        &b.constraints,
        |k| format!("constraint {k} on {name}"),
        |d, o, a, b| fields(d, o, a, b, &[]),
    );
    diff_map(
        d,
        &a.policies,
        &b.policies,
        |k| format!("policy {k} on {name}"),
        |d, o, a, b| fields(d, o, a, b, &[]),
    );
    diff_map(
        d,
        &a.triggers,
        &b.triggers,
        |k| format!("trigger {k} on {name}"),
        |d, o, a, b| fields(d, o, a, b, &[]),
    );
}

fn diff_map<T>(
    d: &mut Vec<CatalogDiff>,
    a: &BTreeMap<String, T>,
    b: &BTreeMap<String, T>,
    label: impl Fn(&str) -> String,
    mut each: impl FnMut(&mut Vec<CatalogDiff>, &str, &T, &T),
) {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for k in keys {
        let object = label(k);
        match (a.get(k), b.get(k)) {
            (Some(x), Some(y)) => each(d, &object, x, y),
            (Some(_), None) => d.push(CatalogDiff {
                object,
                kind: DiffKind::OnlyInExpected,
                detail: String::new(),
            }),
            (None, Some(_)) => d.push(CatalogDiff {
                object,
                kind: DiffKind::OnlyInActual,
                detail: String::new(),
            }),
            (None, None) => {}
        }
    }
}

/// Compare the serialized fields of two values one by one, except `skip`.
fn fields<T: Serialize>(d: &mut Vec<CatalogDiff>, object: &str, a: &T, b: &T, skip: &[&str]) {
    let (Ok(serde_json::Value::Object(ma)), Ok(serde_json::Value::Object(mb))) =
        (serde_json::to_value(a), serde_json::to_value(b))
    else {
        return;
    };
    for (k, va) in &ma {
        if !skip.contains(&k.as_str()) {
            let vb = mb.get(k).unwrap_or(&serde_json::Value::Null);
            compare_values(d, object, &k.replace('_', " "), va, vb);
        }
    }
}

/// Nested structs (a column's sequence) are compared field by field, so
/// the message names the field that moved: `sequence max 10 vs 20`.
fn compare_values(
    d: &mut Vec<CatalogDiff>,
    object: &str,
    field: &str,
    a: &serde_json::Value,
    b: &serde_json::Value,
) {
    if a == b {
        return;
    }
    if let (serde_json::Value::Object(ma), serde_json::Value::Object(mb)) = (a, b) {
        for (k, va) in ma {
            let vb = mb.get(k).unwrap_or(&serde_json::Value::Null);
            compare_values(
                d,
                object,
                &format!("{field} {}", k.replace('_', " ")),
                va,
                vb,
            );
        }
        return;
    }
    push_changed(d, object, describe(field, &show(a), &show(b)));
}

fn changed(d: &mut Vec<CatalogDiff>, object: &str, field: &str, a: &str, b: &str) {
    if a != b {
        push_changed(d, object, describe(field, a, b));
    }
}

fn push_changed(d: &mut Vec<CatalogDiff>, object: &str, detail: String) {
    d.push(CatalogDiff {
        object: object.to_string(),
        kind: DiffKind::Changed,
        detail,
    });
}

fn show(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "(none)".into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => format!(
            "[{}]",
            items.iter().map(show).collect::<Vec<_>>().join(", ")
        ),
        serde_json::Value::Object(_) => serde_json::to_string(v).unwrap_or_default(),
        other => other.to_string(),
    }
}

/// `field a vs b`, or for long texts the first line where they part.
fn describe(field: &str, a: &str, b: &str) -> String {
    if !a.contains('\n') && !b.contains('\n') && a.len() <= 120 && b.len() <= 120 {
        return format!("{field} {a} vs {b}");
    }
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let i = la
        .iter()
        .zip(&lb)
        .position(|(x, y)| x != y)
        .unwrap_or(la.len().min(lb.len()));
    let at = |v: &[&str]| {
        v.get(i)
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| "(end)".into())
    };
    format!(
        "{field} differs at line {}: {} vs {}",
        i + 1,
        at(&la),
        at(&lb)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::test_support::{client, fresh_db};

    fn build(sql: &str) -> Catalog {
        let mut c = client(&fresh_db());
        crate::db::replay::apply_prelude(&mut c, "supabase").unwrap();
        c.batch_execute(sql).unwrap();
        introspect(&mut c, &default_exclusions("touchpoint")).unwrap()
    }

    const SCHEMA: &str = r#"
        create extension if not exists pgcrypto;
        create type mood as enum ('sad', 'ok', 'happy');
        create domain positive as integer constraint positive_check check (value > 0);
        create type pair as (a int, b text);
        create sequence invoice_no start 1000;
        create table profiles (
            id uuid primary key references auth.users(id) on delete cascade,
            handle text not null unique collate "C",
            n serial,
            k bigint generated always as identity,
            score positive default 1,
            feeling mood,
            lower_handle text generated always as (lower(handle)) stored,
            created_at timestamptz not null default now()
        );
        comment on table profiles is 'one per user';
        comment on column profiles.handle is 'public name';
        create index profiles_created_idx on profiles (created_at desc);
        alter table profiles enable row level security;
        create policy own_select on profiles for select to authenticated using (id = auth.uid());
        create policy own_update on profiles for update to authenticated
            using (id = auth.uid()) with check (id = auth.uid() and score > 0);
        grant select on profiles to anon;
        grant select, update on profiles to authenticated;
        create function touch() returns trigger language plpgsql security definer set search_path = public as $$
        begin
            new.created_at := now();
            return new;
        end
        $$;
        create trigger profiles_touch before update on profiles for each row execute function touch();
        create view recent as select id, handle from profiles where created_at > now() - interval '1 day';
        create materialized view counts as select feeling, count(*) from profiles group by feeling;
        create table events (id bigint, at date not null) partition by range (at);
        create table events_2024 partition of events for values from ('2024-01-01') to ('2025-01-01');
    "#;

    #[test]
    fn same_sql_gives_no_differences() {
        let a = build(SCHEMA);
        let b = build(SCHEMA);
        assert_eq!(diff(&a, &b), vec![]);
        assert!(a.tables.contains_key("public.profiles"));
        assert!(
            !a.tables.contains_key("auth.users"),
            "prelude schemas are excluded"
        );
        let p = &a.tables["public.profiles"];
        assert_eq!(
            p.columns["n"].default.as_deref(),
            Some("nextval(<owned sequence>)")
        );
        assert!(p.columns["n"].sequence.is_some());
        assert_eq!(p.columns["k"].identity.as_deref(), Some("always"));
        assert_eq!(
            p.columns["lower_handle"].generated.as_deref(),
            Some("lower(handle)")
        );
        assert_eq!(p.columns["handle"].collation.as_deref(), Some("\"C\""));
        assert_eq!(p.columns["handle"].comment.as_deref(), Some("public name"));
        assert_eq!(p.columns["score"].type_, "public.positive");
        assert!(p.rls_enabled);
        assert_eq!(p.policies["own_select"].roles, vec!["authenticated"]);
        assert!(p.triggers.contains_key("profiles_touch"));
        assert!(p.constraints.contains_key("profiles_handle_key"));
        assert!(a.indexes.contains_key("public.profiles_created_idx"));
        assert!(
            !a.indexes.contains_key("public.profiles_pkey"),
            "constraint indexes are constraints"
        );
        assert_eq!(a.types["public.mood"].labels, vec!["sad", "ok", "happy"]);
        assert!(a.sequences.contains_key("public.invoice_no"));
        assert_eq!(
            a.sequences.len(),
            1,
            "owned sequences belong to their column"
        );
        assert!(a.functions["public.touch()"].security_definer);
        assert!(
            !a.functions.keys().any(|k| k.contains("crypt")),
            "extension members are left out"
        );
        assert_eq!(
            a.tables["public.events_2024"].partition_of.as_deref(),
            Some("public.events")
        );
        assert!(a.views.contains_key("public.counts"));
        // The snapshot survives a JSON round trip.
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Catalog>(&json).unwrap(), a);
    }

    #[test]
    fn finds_changed_type_missing_index_function_body_and_policy() {
        let a = build(SCHEMA);
        let changed = SCHEMA
            .replace(
                "created_at timestamptz not null",
                "created_at timestamp not null",
            )
            .replace(
                "create index profiles_created_idx on profiles (created_at desc);",
                "",
            )
            .replace(
                "new.created_at := now();",
                "new.created_at := clock_timestamp();",
            )
            .replace(
                "with check (id = auth.uid() and score > 0)",
                "with check (id = auth.uid())",
            )
            .replace(
                "to authenticated using (id = auth.uid());",
                "to authenticated, anon using (id = auth.uid());",
            );
        let b = build(&changed);
        let text: Vec<String> = diff(&a, &b).iter().map(|d| d.to_string()).collect();
        let has = |needle: &str| text.iter().any(|t| t.contains(needle));
        assert!(
            has("column public.profiles.created_at: type timestamp with time zone vs timestamp without time zone"),
            "{text:#?}"
        );
        assert!(
            has("index public.profiles_created_idx only in expected"),
            "{text:#?}"
        );
        assert!(
            has("function public.touch(): body differs at line 3: new.created_at := now(); vs new.created_at := clock_timestamp();"),
            "{text:#?}"
        );
        assert!(
            has("policy own_update on public.profiles: with check"),
            "{text:#?}"
        );
        assert!(has("policy own_select on public.profiles: roles [authenticated] vs [anon, authenticated]"), "{text:#?}");
        // The view over profiles reads the same; nothing else moved.
        assert_eq!(text.len(), 5, "{text:#?}");
    }

    #[test]
    fn default_privileges_event_triggers_and_rules_are_compared() {
        let base = "create table t (a int); create table t_log (a int);\
                    create function public.ddl_note() returns event_trigger language plpgsql as $$ begin end $$;";
        let a = build(&format!(
            "{base} alter default privileges in schema public grant select on tables to anon;\
             create event trigger note_ddl on ddl_command_end execute function public.ddl_note();\
             create rule t_log as on insert to t do also insert into t_log values (new.a);"
        ));
        let b = build(base);
        let text: Vec<String> = diff(&a, &b).iter().map(|d| d.to_string()).collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(
            text.iter().any(|t| t.starts_with(
                "default privileges for postgres in schema public: tables only in expected"
            )),
            "{text:?}"
        );
        assert!(
            text.contains(&"event trigger note_ddl only in expected".to_string()),
            "{text:?}"
        );
        assert!(
            text.contains(&"rule public.t.t_log only in expected".to_string()),
            "{text:?}"
        );
        assert_eq!(diff(&a, &a), vec![]);
    }

    #[test]
    fn reports_objects_on_one_side_and_column_order() {
        let a = build("create table t (a int, b int); create policy p on t using (true);");
        let b = build("create table t (b int, a int, c text);");
        let text: Vec<String> = diff(&a, &b).iter().map(|d| d.to_string()).collect();
        assert_eq!(
            text,
            vec![
                "column public.t.c only in actual",
                "table public.t: column order (a, b) vs (b, a)",
                "policy p on public.t only in expected",
            ]
        );
    }

    #[test]
    fn grant_order_and_serial_sequence_names_do_not_matter() {
        let a = build(
            "create table t (id serial primary key);\
             grant select on t to anon; grant insert on t to authenticated;",
        );
        // Same end state reached another way: a renamed sequence behind the
        // serial column, grants in the other order.
        let b = build(
            "create sequence other_name as integer; create table t (id int not null default nextval('other_name') primary key);\
             alter sequence other_name owned by t.id;\
             grant insert on t to authenticated; grant select on t to anon;",
        );
        let text: Vec<String> = diff(&a, &b).iter().map(|d| d.to_string()).collect();
        assert_eq!(text, Vec::<String>::new());

        let c = build("create table t (id bigserial primary key);");
        let text: Vec<String> = diff(&a, &c).iter().map(|d| d.to_string()).collect();
        for expected in [
            "column public.t.id: type integer vs bigint",
            "column public.t.id: sequence type integer vs bigint",
            "column public.t.id: sequence max 2147483647 vs 9223372036854775807",
        ] {
            assert!(text.iter().any(|t| t == expected), "{expected}: {text:#?}");
        }
    }
}
