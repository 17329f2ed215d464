//! Impact analysis of a migration against the schema model: per statement,
//! the object it targets and where that object is defined (or where a new
//! one belongs, and why), its dependents, the lock it takes, the inverse
//! statement for the rollback skeleton and a verification query.

pub mod locks;

use crate::ast::{self, QualName};
use crate::bridge::{self, DocFile};
use crate::report::Diagnostic;
use crate::schema::{ConstraintKind, Schema, Site, Table};
use crate::sql::SqlFile;
use crate::text;
use pg_query::protobuf::{self, AlterTableType, ObjectType};
use pg_query::NodeEnum;
use regex::Regex;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub use locks::Lock;

/// One thing a statement does.
#[derive(Debug, Clone)]
pub struct Action {
    /// `add column priority smallint to public.job_queue`.
    pub description: String,
    pub table: Option<QualName>,
    /// Where the target is defined, or where a new object belongs.
    pub target: String,
    pub dependents: Vec<String>,
    /// Entry for the SOURCE OF TRUTH section: schema file and the note.
    pub schema_note: Option<(PathBuf, String)>,
}

#[derive(Debug, Clone)]
pub struct StatementImpact {
    pub number: usize,
    /// 1-based line of the statement in the migration file.
    pub line: usize,
    pub summary: String,
    pub actions: Vec<Action>,
    pub locks: Vec<Lock>,
}

#[derive(Debug, Clone, Default)]
pub struct Analysis {
    pub statements: Vec<StatementImpact>,
    pub affected_tables: Vec<QualName>,
    /// Schema file (display path) -> notes, in file order.
    pub schema_files: BTreeMap<PathBuf, Vec<String>>,
    /// Bridge doc files of the affected tables (display paths): every tier
    /// of every group the table is documented in; `false` when that tier's
    /// file does not exist (the box becomes `[N/A]`).
    pub docs: Vec<(PathBuf, bool)>,
    pub verification: Vec<String>,
    pub rollback: Vec<String>,
    /// Problems found on the way (unknown tables, duplicates).
    pub diagnostics: Vec<Diagnostic>,
    /// A statement cannot run inside a transaction block.
    pub needs_no_transaction: bool,
}

impl Analysis {
    /// Lines of the IMPACT ANALYSIS section.
    pub fn impact_lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.statements {
            out.push(format!("{}. line {}: {}", s.number, s.line, s.summary));
            for a in &s.actions {
                out.push(format!("   {}", a.description));
                out.push(format!("     target: {}", a.target));
                if a.dependents.is_empty() {
                    out.push("     dependents: none found".into());
                } else {
                    out.push("     dependents:".into());
                    out.extend(a.dependents.iter().map(|d| format!("       - {d}")));
                }
            }
        }
        if out.is_empty() {
            out.push(
                "no statements yet: write the SQL, then run touchpoint research --refresh FILE"
                    .into(),
            );
        }
        out
    }

    /// Lines of the LOCKS AND REWRITES section.
    pub fn lock_lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.statements {
            for l in &s.locks {
                out.push(format!("{}. line {}: {}", s.number, s.line, l.describe()));
            }
        }
        if out.is_empty() {
            out.push("no statements yet".into());
        }
        out
    }
}

/// Analyse every statement of `migration` against `schema`. Statement lines
/// are shifted by `line_offset` (for SQL that will be placed below a header).
pub fn analyze(
    schema: &Schema,
    migration: &SqlFile,
    docs: &[DocFile],
    root_display: &dyn Fn(&std::path::Path) -> PathBuf,
    line_offset: usize,
) -> Analysis {
    let mut cx = Context {
        schema,
        created_tables: Vec::new(),
        created_functions: Vec::new(),
        analysis: Analysis::default(),
        migration,
        rollback: Vec::new(),
    };
    let mut number = 0;
    let mut last_span = None;
    for stmt in &migration.statements {
        if last_span == Some(stmt.span) {
            continue;
        }
        last_span = Some(stmt.span);
        if matches!(stmt.node, NodeEnum::TransactionStmt(_)) {
            continue;
        }
        number += 1;
        let line = stmt.line + line_offset;
        let actions = cx.actions(&stmt.node, line);
        let old_type = |t: &QualName, c: &str| {
            schema
                .table(t)
                .and_then(|t| t.column(c))
                .map(|c| c.type_name.clone())
        };
        let created = cx.created_tables.clone();
        let is_new = |t: &QualName| created.contains(t);
        let locks = locks::locks(&stmt.node, &old_type, &is_new);
        if locks.iter().any(|l| l.no_transaction) {
            cx.analysis.needs_no_transaction = true;
        }
        cx.analysis.statements.push(StatementImpact {
            number,
            line,
            summary: text::one_line(stmt.text(&migration.text), 110),
            actions,
            locks,
        });
    }
    let mut analysis = cx.analysis;
    // Rollback runs the inverses in reverse order.
    let mut rollback = cx.rollback;
    rollback.reverse();
    analysis.rollback = rollback;
    for s in &analysis.statements {
        for a in &s.actions {
            if let Some(t) = &a.table {
                if !analysis.affected_tables.contains(t) {
                    analysis.affected_tables.push(t.clone());
                }
            }
            if let Some((file, note)) = &a.schema_note {
                let notes = analysis.schema_files.entry(file.clone()).or_default();
                if !notes.contains(note) {
                    notes.push(note.clone());
                }
            }
        }
    }
    for t in &analysis.affected_tables {
        let found = bridge::docs_for(docs, &t.name);
        let mut groups: Vec<&str> = found.iter().map(|d| d.group.as_str()).collect();
        groups.dedup();
        for g in groups {
            for tier in bridge::Tier::ALL {
                let existing = found.iter().find(|d| d.group == g && d.tier == tier);
                let entry = match existing {
                    Some(d) => (root_display(&d.path), true),
                    None => {
                        let p = found[0].sibling(tier, g);
                        (root_display(&p), false)
                    }
                };
                if !analysis.docs.contains(&entry) {
                    analysis.docs.push(entry);
                }
            }
        }
    }
    analysis
}

struct Context<'a> {
    schema: &'a Schema,
    created_tables: Vec<QualName>,
    created_functions: Vec<String>,
    analysis: Analysis,
    migration: &'a SqlFile,
    rollback: Vec<String>,
}

fn word_re(word: &str) -> Regex {
    Regex::new(&format!(r"(?i)\b{}\b", regex::escape(word)))
        .unwrap_or_else(|_| Regex::new("$^").unwrap())
}

fn sql_lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Quote an identifier when PostgreSQL would need it.
pub fn ident(s: &str) -> String {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

pub fn qident(q: &QualName) -> String {
    format!("{}.{}", ident(&q.schema), ident(&q.name))
}

impl Context<'_> {
    fn site_text(&self, site: &Site) -> String {
        site.span
            .text(&self.schema.files[site.file].text)
            .to_string()
    }

    fn table_target(&self, t: &QualName) -> String {
        match self.schema.table(t) {
            Some(table) => format!("table {t} ({})", table.site.lines()),
            None if self.created_tables.contains(t) => {
                format!("table {t} (created earlier in this migration)")
            }
            None => format!("table {t}: NOT FOUND in current_schema"),
        }
    }

    fn table_note(&self, table: &Table, what: &str) -> (PathBuf, String) {
        (
            table.site.path.clone(),
            format!(
                "Line {}: {} (CREATE TABLE, lines {}-{}): {what}",
                table.site.line, table.name, table.site.line, table.site.end_line
            ),
        )
    }

    fn unknown_table(&mut self, t: &QualName, line: usize) {
        if self.schema.table(t).is_none()
            && !self.created_tables.contains(t)
            && self.schema.view(t).is_none()
        {
            self.analysis.diagnostics.push(
                Diagnostic::error("unknown-table", format!("table {t} does not exist in current_schema"))
                    .file(&self.migration.path)
                    .line(line)
                    .help("check the name and schema; create the table first, or fix current_schema if it drifted"),
            );
        }
    }

    /// Objects that depend on a table (or on one of its columns).
    fn dependents(&self, t: &QualName, column: Option<&str>) -> Vec<String> {
        let s = self.schema;
        let mut out = Vec::new();
        let t_re = word_re(&t.name);
        let c_re = column.map(word_re);
        let names_col = |text: &str| c_re.as_ref().is_none_or(|r| r.is_match(text));
        for other in &s.tables {
            for k in &other.constraints {
                if let Some(r) = &k.references {
                    let hits_col = column
                        .is_none_or(|c| r.columns.is_empty() || r.columns.iter().any(|x| x == c));
                    if &r.table == t && hits_col {
                        out.push(format!(
                            "foreign key {} on {}({}) ({})",
                            k.name,
                            other.name,
                            k.columns.join(", "),
                            k.site.lines()
                        ));
                    }
                }
            }
        }
        if let (Some(c), Some(table)) = (column, s.table(t)) {
            for k in &table.constraints {
                if k.columns.iter().any(|x| x == c) && k.references.is_none() {
                    out.push(format!("constraint {} ({})", k.name, k.site.lines()));
                }
            }
        }
        for i in s.indexes.iter().filter(|i| &i.table == t) {
            let text = self.site_text(&i.site);
            if column.is_none_or(|c| i.columns.iter().any(|x| x == c))
                || (column.is_some() && names_col(&text))
            {
                out.push(format!("index {} ({})", i.name, i.site.lines()));
            }
        }
        for tr in s.triggers.iter().filter(|x| &x.table == t) {
            // For a column, a trigger matters when its function reads it.
            let body_names_col = s.functions_named(&tr.function).any(|f| names_col(&f.body));
            if column.is_none() || body_names_col {
                out.push(format!(
                    "trigger {} on {} -> {} ({})",
                    tr.name,
                    t,
                    tr.function,
                    tr.site.lines()
                ));
            }
        }
        for p in &s.policies {
            let text = self.site_text(&p.site);
            let on_table = &p.table == t;
            if (on_table && names_col(&text))
                || (!on_table && t_re.is_match(&text) && names_col(&text))
            {
                out.push(format!(
                    "policy {} on {} ({})",
                    p.name,
                    p.table,
                    p.site.lines()
                ));
            }
        }
        for v in &s.views {
            let text = self.site_text(&v.site);
            if (v.reads.contains(t) || t_re.is_match(&text)) && names_col(&text) {
                let kind = if v.materialized {
                    "materialized view"
                } else {
                    "view"
                };
                out.push(format!("{kind} {} ({})", v.name, v.site.lines()));
            }
        }
        for f in &s.functions {
            if t_re.is_match(&f.body) && names_col(&f.body) {
                out.push(format!("function {} ({})", f.signature(), f.site.lines()));
            }
        }
        out
    }

    /// The schema file a new object belongs in, and why.
    fn placement(&self, related: &[QualName], name: &str) -> (PathBuf, String) {
        let s = self.schema;
        let latest = related
            .iter()
            .filter_map(|r| s.table(r).map(|t| (t.site.file, t.site.line, r)))
            .max();
        if let Some((file, _, r)) = latest {
            return (
                s.file_path(file).to_path_buf(),
                format!("it references {r}, defined there; it must come after it"),
            );
        }
        let prefix = name.split('_').next().unwrap_or(name);
        if let Some(t) = s
            .tables
            .iter()
            .rev()
            .find(|t| t.name.name.split('_').next() == Some(prefix) && prefix.len() > 2)
        {
            return (
                t.site.path.clone(),
                format!("next to the other {prefix}_* tables"),
            );
        }
        match s.files.last() {
            Some(f) => (
                f.path.clone(),
                "no related table found: the last schema file".into(),
            ),
            None => (
                PathBuf::from("current_schema/"),
                "current_schema has no files yet".into(),
            ),
        }
    }

    fn actions(&mut self, node: &NodeEnum, line: usize) -> Vec<Action> {
        match node {
            NodeEnum::AlterTableStmt(a)
                if ObjectType::try_from(a.objtype) == Ok(ObjectType::ObjectTable) =>
            {
                let t = ast::range_var(&a.relation);
                if !a.missing_ok {
                    self.unknown_table(&t, line);
                }
                a.cmds
                    .iter()
                    .filter_map(|c| match &c.node {
                        Some(NodeEnum::AlterTableCmd(c)) => Some(self.alter_cmd(&t, c, line)),
                        _ => None,
                    })
                    .collect()
            }
            NodeEnum::CreateStmt(c) => {
                let t = ast::range_var(&c.relation);
                let mut refs = Vec::new();
                for e in c.table_elts.iter().chain(c.constraints.iter()) {
                    let cons: Vec<&protobuf::Node> = match &e.node {
                        Some(NodeEnum::ColumnDef(d)) => d.constraints.iter().collect(),
                        Some(NodeEnum::Constraint(_)) => vec![e],
                        _ => Vec::new(),
                    };
                    for k in cons {
                        if let Some(NodeEnum::Constraint(k)) = &k.node {
                            if let Some(p) = &k.pktable {
                                let q = QualName::new(&p.schemaname, &p.relname);
                                if !refs.contains(&q) {
                                    refs.push(q);
                                }
                            }
                        }
                    }
                }
                for r in &refs {
                    self.unknown_table(r, line);
                }
                let exists = self.schema.table(&t).is_some();
                if exists && !c.if_not_exists {
                    self.analysis.diagnostics.push(
                        Diagnostic::error(
                            "duplicate-table",
                            format!("table {t} already exists in current_schema"),
                        )
                        .file(&self.migration.path)
                        .line(line)
                        .help("alter the existing table instead, or drop it first"),
                    );
                }
                self.created_tables.push(t.clone());
                self.rollback
                    .push(format!("DROP TABLE IF EXISTS {};", qident(&t)));
                self.analysis.verification.push(format!(
                    "SELECT to_regclass({}) IS NOT NULL AS {}_exists;",
                    sql_lit(&t.to_string()),
                    t.name
                ));
                let (file, why) = self.placement(&refs, &t.name);
                vec![Action {
                    description: format!("create table {t}"),
                    table: Some(t.clone()),
                    target: format!("new table: goes in {} ({why})", file.display()),
                    dependents: refs
                        .iter()
                        .map(|r| format!("references {}", self.table_target(r)))
                        .collect(),
                    schema_note: Some((file, format!("new table {t}"))),
                }]
            }
            NodeEnum::IndexStmt(i) => {
                let t = ast::range_var(&i.relation);
                self.unknown_table(&t, line);
                let cols: Vec<String> = i
                    .index_params
                    .iter()
                    .map(|p| match &p.node {
                        Some(NodeEnum::IndexElem(e)) if !e.name.is_empty() => e.name.clone(),
                        _ => "expr".into(),
                    })
                    .collect();
                let name = if i.idxname.is_empty() {
                    ast::make_object_name(
                        &t.name,
                        Some(&cols.join("_")),
                        if i.unique { "key" } else { "idx" },
                    )
                } else {
                    i.idxname.clone()
                };
                let qn = QualName::new(&t.schema, &name);
                if self.schema.index(&qn).is_some() && !i.if_not_exists {
                    self.analysis.diagnostics.push(
                        Diagnostic::error(
                            "duplicate-index",
                            format!("index {qn} already exists in current_schema"),
                        )
                        .file(&self.migration.path)
                        .line(line)
                        .help("use a new name, or CREATE INDEX IF NOT EXISTS"),
                    );
                }
                let conc = if i.concurrent { "CONCURRENTLY " } else { "" };
                self.rollback
                    .push(format!("DROP INDEX {conc}IF EXISTS {};", qident(&qn)));
                self.analysis.verification.push(format!(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = {} AND indexname = {};",
                    sql_lit(&t.schema),
                    sql_lit(&name)
                ));
                let note = self.schema.table(&t).map(|tb| {
                    (
                        tb.site.path.clone(),
                        format!(
                            "Line {}: index {name} on {t} (after the table, lines {}-{})",
                            tb.site.end_line, tb.site.line, tb.site.end_line
                        ),
                    )
                });
                vec![Action {
                    description: format!("create index {name} on {t} ({})", cols.join(", ")),
                    table: Some(t.clone()),
                    target: self.table_target(&t),
                    dependents: Vec::new(),
                    schema_note: note,
                }]
            }
            NodeEnum::CreateFunctionStmt(f) => self.create_function(f, line),
            NodeEnum::CreateTrigStmt(tr) => {
                let t = ast::range_var(&tr.relation);
                self.unknown_table(&t, line);
                let func = ast::qual_from_list(&tr.funcname);
                if self.schema.functions_named(&func).next().is_none()
                    && !self.created_functions.contains(&func.to_string())
                {
                    self.analysis.diagnostics.push(
                        Diagnostic::warning(
                            "unknown-function",
                            format!("trigger function {func} does not exist in current_schema"),
                        )
                        .file(&self.migration.path)
                        .line(line)
                        .help("create the function first"),
                    );
                }
                self.rollback.push(format!(
                    "DROP TRIGGER IF EXISTS {} ON {};",
                    ident(&tr.trigname),
                    qident(&t)
                ));
                self.analysis.verification.push(format!(
                    "SELECT tgname FROM pg_trigger WHERE tgrelid = {}::regclass AND tgname = {};",
                    sql_lit(&t.to_string()),
                    sql_lit(&tr.trigname)
                ));
                let note = self.schema.table(&t).map(|tb| {
                    self.table_note(
                        tb,
                        &format!(
                            "trigger {} (place it with the table's other triggers)",
                            tr.trigname
                        ),
                    )
                });
                vec![Action {
                    description: format!("create trigger {} on {t} executing {func}", tr.trigname),
                    table: Some(t.clone()),
                    target: self.table_target(&t),
                    dependents: Vec::new(),
                    schema_note: note,
                }]
            }
            NodeEnum::CreatePolicyStmt(p) => {
                let t = ast::range_var(&p.table);
                self.unknown_table(&t, line);
                if self
                    .schema
                    .policies
                    .iter()
                    .any(|x| x.name == p.policy_name && x.table == t)
                {
                    self.analysis.diagnostics.push(
                        Diagnostic::error(
                            "duplicate-policy",
                            format!(
                                "policy {} on {t} already exists in current_schema",
                                p.policy_name
                            ),
                        )
                        .file(&self.migration.path)
                        .line(line)
                        .help("DROP POLICY IF EXISTS first, or ALTER POLICY"),
                    );
                }
                self.rollback.push(format!(
                    "DROP POLICY IF EXISTS {} ON {};",
                    ident(&p.policy_name),
                    qident(&t)
                ));
                self.analysis
                    .verification
                    .push(policy_query(&t, &p.policy_name));
                let rls_note = match self.schema.table(&t) {
                    Some(tb) if !tb.rls_enabled => " (row level security is NOT enabled on this table: the policy has no effect)",
                    _ => "",
                };
                let note = self
                    .schema
                    .table(&t)
                    .map(|tb| self.table_note(tb, &format!("policy {}", p.policy_name)));
                vec![Action {
                    description: format!(
                        "create policy {} on {t} for {}{rls_note}",
                        p.policy_name,
                        p.cmd_name.to_uppercase()
                    ),
                    table: Some(t.clone()),
                    target: self.table_target(&t),
                    dependents: Vec::new(),
                    schema_note: note,
                }]
            }
            NodeEnum::AlterPolicyStmt(p) => {
                let t = ast::range_var(&p.table);
                let existing = self
                    .schema
                    .policies
                    .iter()
                    .find(|x| x.name == p.policy_name && x.table == t);
                let target = match existing {
                    Some(pol) => {
                        self.rollback.push(format!(
                            "DROP POLICY IF EXISTS {} ON {};\n{};",
                            ident(&p.policy_name),
                            qident(&t),
                            self.site_text(&pol.site)
                        ));
                        format!("policy {} on {t} ({})", p.policy_name, pol.site.lines())
                    }
                    None => {
                        self.rollback.push(format!("-- ALTER POLICY {} ON {t}: the original policy is not in current_schema; write the inverse by hand", p.policy_name));
                        format!(
                            "policy {} on {t}: NOT FOUND in current_schema",
                            p.policy_name
                        )
                    }
                };
                self.analysis
                    .verification
                    .push(policy_query(&t, &p.policy_name));
                let note = existing.map(|pol| {
                    (
                        pol.site.path.clone(),
                        format!(
                            "Line {}: policy {} on {t}: alter",
                            pol.site.line, p.policy_name
                        ),
                    )
                });
                vec![Action {
                    description: format!("alter policy {} on {t}", p.policy_name),
                    table: Some(t.clone()),
                    target,
                    dependents: Vec::new(),
                    schema_note: note,
                }]
            }
            NodeEnum::ViewStmt(v) => {
                let name = ast::range_var(&v.view);
                let reads = v
                    .query
                    .as_deref()
                    .and_then(|q| q.node.as_ref())
                    .map(crate::schema::relations_read)
                    .unwrap_or_default();
                self.view_action(name, reads, false, line)
            }
            NodeEnum::CreateTableAsStmt(c)
                if ObjectType::try_from(c.objtype) == Ok(ObjectType::ObjectMatview) =>
            {
                let name = c
                    .into
                    .as_ref()
                    .map(|i| ast::range_var(&i.rel))
                    .unwrap_or_else(|| QualName::new("", ""));
                let reads = c
                    .query
                    .as_deref()
                    .and_then(|q| q.node.as_ref())
                    .map(crate::schema::relations_read)
                    .unwrap_or_default();
                self.view_action(name, reads, true, line)
            }
            NodeEnum::CreateEnumStmt(e) => {
                self.create_type(ast::qual_from_list(&e.type_name), "enum type")
            }
            NodeEnum::CompositeTypeStmt(c) => {
                self.create_type(ast::range_var(&c.typevar), "composite type")
            }
            NodeEnum::CreateDomainStmt(d) => {
                self.create_type(ast::qual_from_list(&d.domainname), "domain")
            }
            NodeEnum::AlterEnumStmt(e) => {
                let name = ast::qual_from_list(&e.type_name);
                let (target, note) = match self.schema.type_def(&name) {
                    Some(t) => (
                        format!("type {name} ({})", t.site.lines()),
                        Some((
                            t.site.path.clone(),
                            format!("Line {}: enum {name}: add value {}", t.site.line, e.new_val),
                        )),
                    ),
                    None => (format!("type {name}: NOT FOUND in current_schema"), None),
                };
                if e.old_val.is_empty() {
                    self.rollback.push(format!(
                        "-- ALTER TYPE {name} ADD VALUE {}: PostgreSQL cannot drop an enum value; recreate the type by hand if it must go",
                        sql_lit(&e.new_val)
                    ));
                } else {
                    self.rollback.push(format!(
                        "ALTER TYPE {} RENAME VALUE {} TO {};",
                        qident(&name),
                        sql_lit(&e.new_val),
                        sql_lit(&e.old_val)
                    ));
                }
                self.analysis
                    .verification
                    .push(format!("SELECT enum_range(NULL::{});", qident(&name)));
                let dependents = self
                    .schema
                    .tables
                    .iter()
                    .flat_map(|t| t.columns.iter().map(move |c| (t, c)))
                    .filter(|(_, c)| {
                        c.type_name.trim_end_matches("[]") == name.to_string()
                            || c.type_name == name.name
                    })
                    .map(|(t, c)| format!("column {}.{} ({})", t.name, c.name, c.site.lines()))
                    .collect();
                vec![Action {
                    description: format!("add value {} to enum {name}", sql_lit(&e.new_val)),
                    table: None,
                    target,
                    dependents,
                    schema_note: note,
                }]
            }
            NodeEnum::DropStmt(d) => self.drop(d, line),
            NodeEnum::RenameStmt(r) => self.rename(r, line),
            NodeEnum::CommentStmt(c) => {
                let mut inverse = c.clone();
                inverse.comment = String::new();
                let undo = NodeEnum::CommentStmt(inverse)
                    .deparse(Default::default())
                    .unwrap_or_default();
                self.rollback
                    .push(format!("{undo}; -- or restore the previous comment"));
                vec![Action {
                    description: "set a comment".into(),
                    table: comment_table(c),
                    target: comment_table(c)
                        .map(|t| self.table_target(&t))
                        .unwrap_or_else(|| "comment".into()),
                    dependents: Vec::new(),
                    schema_note: comment_table(c).and_then(|t| {
                        self.schema
                            .table(&t)
                            .map(|tb| self.table_note(tb, "comment"))
                    }),
                }]
            }
            NodeEnum::GrantStmt(g) => {
                let mut inverse = g.clone();
                inverse.is_grant = !g.is_grant;
                inverse.grant_option = false;
                let undo = NodeEnum::GrantStmt(inverse)
                    .deparse(Default::default())
                    .unwrap_or_default();
                self.rollback.push(format!("{undo};"));
                let verb = if g.is_grant { "grant" } else { "revoke" };
                vec![Action {
                    description: format!("{verb} privileges"),
                    table: None,
                    target: "privileges (grants live next to the objects they are on)".into(),
                    dependents: Vec::new(),
                    schema_note: None,
                }]
            }
            NodeEnum::AlterPublicationStmt(p) => {
                use protobuf::AlterPublicationAction as A;
                let flipped = match A::try_from(p.action) {
                    Ok(A::ApAddObjects) => Some(A::ApDropObjects),
                    Ok(A::ApDropObjects) => Some(A::ApAddObjects),
                    _ => None,
                };
                match flipped {
                    Some(a) => {
                        let mut inverse = p.clone();
                        inverse.action = a as i32;
                        let undo = NodeEnum::AlterPublicationStmt(inverse)
                            .deparse(Default::default())
                            .unwrap_or_default();
                        self.rollback.push(format!("{undo};"));
                    }
                    None => self.rollback.push(format!(
                        "-- statement {line}: ALTER PUBLICATION {} SET: restore the previous list by hand",
                        p.pubname
                    )),
                }
                vec![Action {
                    description: format!("change what publication {} publishes", p.pubname),
                    table: None,
                    target: "publication (next to the published tables)".into(),
                    dependents: Vec::new(),
                    schema_note: None,
                }]
            }
            NodeEnum::CreatePublicationStmt(p) => {
                self.rollback
                    .push(format!("DROP PUBLICATION IF EXISTS {};", ident(&p.pubname)));
                vec![Action {
                    description: format!("create publication {}", p.pubname),
                    table: None,
                    target: "new publication (after the tables it publishes)".into(),
                    dependents: Vec::new(),
                    schema_note: None,
                }]
            }
            NodeEnum::AlterDefaultPrivilegesStmt(d) => {
                if let Some(g) = &d.action {
                    let mut inverse = d.clone();
                    if let Some(a) = inverse.action.as_mut() {
                        a.is_grant = !g.is_grant;
                        a.grant_option = false;
                    }
                    let undo = NodeEnum::AlterDefaultPrivilegesStmt(inverse)
                        .deparse(Default::default())
                        .unwrap_or_default();
                    self.rollback.push(format!("{undo};"));
                }
                vec![Action {
                    description: "change default privileges (for objects created from now on)".into(),
                    table: None,
                    target: "default privileges: at the end of the last schema file, after the objects they do not apply to".into(),
                    dependents: Vec::new(),
                    schema_note: None,
                }]
            }
            NodeEnum::CreateEventTrigStmt(e) => {
                self.rollback.push(format!(
                    "DROP EVENT TRIGGER IF EXISTS {};",
                    ident(&e.trigname)
                ));
                vec![Action {
                    description: format!("create event trigger {}", e.trigname),
                    table: None,
                    target: "new event trigger: at the end of the last schema file".into(),
                    dependents: Vec::new(),
                    schema_note: None,
                }]
            }
            NodeEnum::CreateExtensionStmt(e) => {
                self.rollback
                    .push(format!("DROP EXTENSION IF EXISTS {};", ident(&e.extname)));
                self.analysis.verification.push(format!(
                    "SELECT extname, extversion FROM pg_extension WHERE extname = {};",
                    sql_lit(&e.extname)
                ));
                let file = self
                    .schema
                    .extensions
                    .first()
                    .map(|x| x.site.path.clone())
                    .or_else(|| self.schema.files.first().map(|f| f.path.clone()));
                vec![Action {
                    description: format!("create extension {}", e.extname),
                    table: None,
                    target: format!(
                        "new extension: goes in {} (with the other extensions)",
                        file.as_ref()
                            .map(|f| f.display().to_string())
                            .unwrap_or_default()
                    ),
                    dependents: Vec::new(),
                    schema_note: file.map(|f| (f, format!("extension {}", e.extname))),
                }]
            }
            NodeEnum::UpdateStmt(_)
            | NodeEnum::InsertStmt(_)
            | NodeEnum::DeleteStmt(_)
            | NodeEnum::TruncateStmt(_) => {
                let t = match node {
                    NodeEnum::UpdateStmt(u) => Some(ast::range_var(&u.relation)),
                    NodeEnum::InsertStmt(i) => Some(ast::range_var(&i.relation)),
                    NodeEnum::DeleteStmt(d) => Some(ast::range_var(&d.relation)),
                    _ => None,
                };
                if let Some(t) = &t {
                    self.unknown_table(t, line);
                }
                self.rollback.push(format!("-- statement {line}: data change; restore the data by hand (no automatic inverse)"));
                vec![Action {
                    description:
                        "data change (no schema effect: reported, not patched into current_schema)"
                            .into(),
                    table: None,
                    target: t
                        .map(|t| self.table_target(&t))
                        .unwrap_or_else(|| "data".into()),
                    dependents: Vec::new(),
                    schema_note: None,
                }]
            }
            NodeEnum::DoStmt(_) => {
                self.rollback
                    .push("-- DO block: write its inverse by hand".into());
                vec![Action {
                    description: "DO block: touchpoint cannot see which objects it changes; finalize reads them from the database catalog".into(),
                    table: None,
                    target: "unknown until executed".into(),
                    dependents: Vec::new(),
                    schema_note: None,
                }]
            }
            _ => Vec::new(),
        }
    }

    fn alter_cmd(&mut self, t: &QualName, c: &protobuf::AlterTableCmd, _line: usize) -> Action {
        let sub = AlterTableType::try_from(c.subtype).unwrap_or(AlterTableType::Undefined);
        let def = c.def.as_deref().and_then(|d| d.node.as_ref());
        let table = self.schema.table(t);
        let col = table.and_then(|tb| tb.column(&c.name));
        let tq = qident(t);
        let col_target = |name: &str| match table.and_then(|tb| tb.column(name)) {
            Some(c) => format!("column {t}.{name} ({})", c.site.lines()),
            None => format!("column {t}.{name}: NOT FOUND in current_schema"),
        };
        let mut action = Action {
            description: String::new(),
            table: Some(t.clone()),
            target: self.table_target(t),
            dependents: Vec::new(),
            schema_note: None,
        };
        let col_note = |what: &str| {
            table.and_then(|tb| tb.column(&c.name)).map(|col| {
                (
                    col.site.path.clone(),
                    format!("Line {}: {t}.{}: {what}", col.site.line, c.name),
                )
            })
        };
        match sub {
            AlterTableType::AtAddColumn => {
                if let Some(NodeEnum::ColumnDef(d)) = def {
                    let ty = d.type_name.as_ref().map(ast::type_name).unwrap_or_default();
                    action.description = format!("add column {} {ty} to {t}", d.colname);
                    action.dependents = self.dependents(t, None);
                    action.schema_note = table
                        .map(|tb| self.table_note(tb, &format!("add column {} {ty}", d.colname)));
                    self.rollback.push(format!(
                        "ALTER TABLE {tq} DROP COLUMN IF EXISTS {};",
                        ident(&d.colname)
                    ));
                    self.analysis.verification.push(column_query(t, &d.colname));
                }
            }
            AlterTableType::AtDropColumn => {
                action.description = format!("drop column {} from {t}", c.name);
                action.target = col_target(&c.name);
                action.dependents = self.dependents(t, Some(&c.name));
                action.schema_note = col_note("drop column");
                self.rollback.push(match col {
                    Some(col) => format!(
                        "ALTER TABLE {tq} ADD COLUMN {}; -- the column comes back empty: restore its data from a backup",
                        self.site_text(&col.site)
                    ),
                    None => format!("-- re-add column {} to {t} by hand (it is not in current_schema)", c.name),
                });
                self.analysis.verification.push(column_query(t, &c.name));
            }
            AlterTableType::AtAlterColumnType => {
                let new = match def {
                    Some(NodeEnum::ColumnDef(d)) => {
                        d.type_name.as_ref().map(ast::type_name).unwrap_or_default()
                    }
                    _ => String::new(),
                };
                action.description = format!("change type of {t}.{} to {new}", c.name);
                action.target = col_target(&c.name);
                action.dependents = self.dependents(t, Some(&c.name));
                action.schema_note = col_note(&format!("type {new}"));
                self.rollback.push(match col {
                    Some(col) => format!(
                        "ALTER TABLE {tq} ALTER COLUMN {} TYPE {};",
                        ident(&c.name),
                        col.type_name
                    ),
                    None => format!("-- restore the type of {t}.{} by hand", c.name),
                });
                self.analysis.verification.push(column_query(t, &c.name));
            }
            AlterTableType::AtColumnDefault => {
                let new = cmd_default(c);
                action.description = match &new {
                    Some(d) => format!("set default of {t}.{} to {d}", c.name),
                    None => format!("drop default of {t}.{}", c.name),
                };
                action.target = col_target(&c.name);
                action.schema_note = col_note(if new.is_some() {
                    "set default"
                } else {
                    "drop default"
                });
                self.rollback
                    .push(match col.and_then(|c| c.default.clone()) {
                        Some(old) => format!(
                            "ALTER TABLE {tq} ALTER COLUMN {} SET DEFAULT {old};",
                            ident(&c.name)
                        ),
                        None => format!(
                            "ALTER TABLE {tq} ALTER COLUMN {} DROP DEFAULT;",
                            ident(&c.name)
                        ),
                    });
                self.analysis.verification.push(column_query(t, &c.name));
            }
            AlterTableType::AtSetNotNull | AlterTableType::AtDropNotNull => {
                let set = sub == AlterTableType::AtSetNotNull;
                action.description = format!(
                    "{} NOT NULL on {t}.{}",
                    if set { "set" } else { "drop" },
                    c.name
                );
                action.target = col_target(&c.name);
                action.dependents = self.dependents(t, Some(&c.name));
                action.schema_note = col_note(if set { "set NOT NULL" } else { "drop NOT NULL" });
                let was_not_null = col.is_some_and(|c| c.not_null);
                self.rollback.push(format!(
                    "ALTER TABLE {tq} ALTER COLUMN {} {} NOT NULL;",
                    ident(&c.name),
                    if was_not_null { "SET" } else { "DROP" }
                ));
                self.analysis.verification.push(column_query(t, &c.name));
            }
            AlterTableType::AtAddConstraint => {
                if let Some(NodeEnum::Constraint(k)) = def {
                    let name = if k.conname.is_empty() {
                        implicit_name_for(t, k)
                    } else {
                        k.conname.clone()
                    };
                    action.description = format!("add constraint {name} to {t}");
                    if let Some(p) = &k.pktable {
                        let r = QualName::new(&p.schemaname, &p.relname);
                        self.unknown_table(&r, _line);
                        action
                            .dependents
                            .push(format!("references {}", self.table_target(&r)));
                    }
                    if table.and_then(|tb| tb.constraint(&name)).is_some() {
                        self.analysis.diagnostics.push(
                            Diagnostic::error(
                                "duplicate-constraint",
                                format!(
                                    "constraint {name} already exists on {t} in current_schema"
                                ),
                            )
                            .file(&self.migration.path)
                            .line(_line)
                            .help(
                                "drop it first (DROP CONSTRAINT IF EXISTS) or choose another name",
                            ),
                        );
                    }
                    action.schema_note =
                        table.map(|tb| self.table_note(tb, &format!("add constraint {name}")));
                    self.rollback.push(format!(
                        "ALTER TABLE {tq} DROP CONSTRAINT IF EXISTS {};",
                        ident(&name)
                    ));
                    self.analysis.verification.push(constraint_query(t, &name));
                }
            }
            AlterTableType::AtDropConstraint => {
                let k = table.and_then(|tb| tb.constraint(&c.name));
                action.description = format!("drop constraint {} from {t}", c.name);
                match k {
                    Some(k) => {
                        let inline = k
                            .inline_column
                            .as_ref()
                            .and_then(|ic| table.and_then(|tb| tb.column(ic)));
                        let (site_desc, line, path) = match inline {
                            Some(col) => (
                                format!("inline on column {} ({})", col.name, col.site.lines()),
                                col.site.line,
                                col.site.path.clone(),
                            ),
                            None => (k.site.lines(), k.site.line, k.site.path.clone()),
                        };
                        action.target = format!("constraint {} {site_desc}", c.name);
                        action.schema_note = Some((
                            path,
                            format!("Line {line}: {t}: drop constraint {}", c.name),
                        ));
                        self.rollback.push(format!(
                            "ALTER TABLE {tq} ADD CONSTRAINT {} {};",
                            ident(&c.name),
                            constraint_def(k)
                        ));
                    }
                    None => {
                        action.target =
                            format!("constraint {} on {t}: NOT FOUND in current_schema", c.name);
                        self.rollback.push(format!("-- re-create constraint {} on {t} by hand (it is not in current_schema)", c.name));
                    }
                }
                self.analysis
                    .verification
                    .push(constraint_query(t, &c.name));
            }
            AlterTableType::AtValidateConstraint => {
                action.description = format!("validate constraint {} on {t}", c.name);
                self.rollback.push(format!(
                    "-- VALIDATE CONSTRAINT {}: nothing to undo",
                    c.name
                ));
            }
            AlterTableType::AtEnableRowSecurity | AlterTableType::AtDisableRowSecurity => {
                let enable = sub == AlterTableType::AtEnableRowSecurity;
                action.description = format!(
                    "{} row level security on {t}",
                    if enable { "enable" } else { "disable" }
                );
                action.dependents = self
                    .schema
                    .policies
                    .iter()
                    .filter(|p| &p.table == t)
                    .map(|p| format!("policy {} ({})", p.name, p.site.lines()))
                    .collect();
                action.schema_note = table.map(|tb| {
                    self.table_note(
                        tb,
                        if enable {
                            "enable row level security"
                        } else {
                            "disable row level security"
                        },
                    )
                });
                self.rollback.push(format!(
                    "ALTER TABLE {tq} {} ROW LEVEL SECURITY;",
                    if enable { "DISABLE" } else { "ENABLE" }
                ));
                self.analysis.verification.push(format!(
                    "SELECT relrowsecurity FROM pg_class WHERE oid = {}::regclass;",
                    sql_lit(&t.to_string())
                ));
            }
            other => {
                action.description = format!(
                    "{} on {t}",
                    format!("{other:?}").trim_start_matches("At").to_lowercase()
                );
                action.schema_note = table.map(|tb| self.table_note(tb, "alter"));
                self.rollback
                    .push(format!("-- undo {other:?} on {t} by hand"));
            }
        }
        action
    }

    fn create_function(&mut self, f: &protobuf::CreateFunctionStmt, _line: usize) -> Vec<Action> {
        let name = ast::qual_from_list(&f.funcname);
        let args = crate::schema::function_args(&f.parameters);
        let sig = format!("{name}({})", args.join(", "));
        let existing = self
            .schema
            .functions
            .iter()
            .find(|x| x.name == name && x.args == args);
        let kind = if f.is_procedure {
            "procedure"
        } else {
            "function"
        };
        let (target, note, dependents) = match existing {
            Some(old) => {
                self.rollback
                    .push(format!("{};", self.site_text(&old.site)));
                let re = word_re(&name.name);
                let mut deps: Vec<String> = self
                    .schema
                    .triggers
                    .iter()
                    .filter(|t| t.function == name)
                    .map(|t| format!("trigger {} on {} ({})", t.name, t.table, t.site.lines()))
                    .collect();
                for p in &self.schema.policies {
                    if re.is_match(&self.site_text(&p.site)) {
                        deps.push(format!(
                            "policy {} on {} ({})",
                            p.name,
                            p.table,
                            p.site.lines()
                        ));
                    }
                }
                for other in &self.schema.functions {
                    if other.name != name && re.is_match(&other.body) {
                        deps.push(format!(
                            "function {} ({})",
                            other.signature(),
                            other.site.lines()
                        ));
                    }
                }
                (
                    format!(
                        "{kind} {sig} ({}): replaced where it stands",
                        old.site.lines()
                    ),
                    Some((
                        old.site.path.clone(),
                        format!(
                            "Line {}: {kind} {sig}: replace definition (lines {}-{})",
                            old.site.line, old.site.line, old.site.end_line
                        ),
                    )),
                    deps,
                )
            }
            None => {
                if !f.replace && self.schema.functions_named(&name).next().is_some() {
                    // Same name, other arguments: an overload. Say so; it is
                    // often a mistake (a changed signature leaves the old one).
                    self.analysis.diagnostics.push(
                        Diagnostic::warning(
                            "function-overload",
                            format!("{sig} adds an overload: {name} exists with other arguments"),
                        )
                        .file(&self.migration.path)
                        .line(_line)
                        .help("drop the old signature if this replaces it"),
                    );
                }
                self.rollback.push(format!(
                    "DROP {} IF EXISTS {}({});",
                    kind.to_uppercase(),
                    qident(&name),
                    args.join(", ")
                ));
                let body = f
                    .options
                    .iter()
                    .find_map(|o| match &o.node {
                        Some(NodeEnum::DefElem(d)) if d.defname == "as" => {
                            d.arg.as_deref().and_then(|a| match &a.node {
                                Some(NodeEnum::List(l)) => Some(ast::strings(&l.items).join("\n")),
                                _ => None,
                            })
                        }
                        _ => None,
                    })
                    .unwrap_or_default();
                let related: Vec<QualName> = self
                    .schema
                    .tables
                    .iter()
                    .filter(|t| word_re(&t.name.name).is_match(&body))
                    .map(|t| t.name.clone())
                    .collect();
                let (file, why) = if related.is_empty() {
                    match self.schema.functions.first() {
                        Some(f0) => (
                            f0.site.path.clone(),
                            "with the other helper functions".to_string(),
                        ),
                        None => self.placement(&[], &name.name),
                    }
                } else {
                    self.placement(&related, &name.name)
                };
                self.created_functions.push(name.to_string());
                (
                    format!("new {kind}: goes in {} ({why})", file.display()),
                    Some((file, format!("new {kind} {sig}"))),
                    Vec::new(),
                )
            }
        };
        self.analysis.verification.push(format!(
            "SELECT p.oid::regprocedure AS signature, md5(p.prosrc) AS body_md5 FROM pg_proc p WHERE p.proname = {} AND p.pronamespace = {}::regnamespace;",
            sql_lit(&name.name),
            sql_lit(&name.schema)
        ));
        vec![Action {
            description: format!(
                "{} {kind} {sig}",
                if existing.is_some() {
                    "replace"
                } else {
                    "create"
                }
            ),
            table: None,
            target,
            dependents,
            schema_note: note,
        }]
    }

    fn view_action(
        &mut self,
        name: QualName,
        reads: Vec<QualName>,
        materialized: bool,
        _line: usize,
    ) -> Vec<Action> {
        let kind = if materialized {
            "materialized view"
        } else {
            "view"
        };
        let existing = self.schema.view(&name);
        let (target, note) = match existing {
            Some(v) => {
                self.rollback.push(format!("{};", self.site_text(&v.site)));
                (
                    format!(
                        "{kind} {name} ({}): replaced where it stands",
                        v.site.lines()
                    ),
                    Some((
                        v.site.path.clone(),
                        format!("Line {}: {kind} {name}: replace definition", v.site.line),
                    )),
                )
            }
            None => {
                self.rollback.push(format!(
                    "DROP {} IF EXISTS {};",
                    kind.to_uppercase(),
                    qident(&name)
                ));
                let (file, why) = self.placement(&reads, &name.name);
                (
                    format!("new {kind}: goes in {} ({why})", file.display()),
                    Some((file, format!("new {kind} {name}"))),
                )
            }
        };
        self.analysis.verification.push(format!(
            "SELECT pg_get_viewdef({}::regclass);",
            sql_lit(&name.to_string())
        ));
        vec![Action {
            description: format!(
                "{} {kind} {name}",
                if existing.is_some() {
                    "replace"
                } else {
                    "create"
                }
            ),
            table: None,
            target,
            dependents: reads
                .iter()
                .map(|r| format!("reads {}", self.table_target(r)))
                .collect(),
            schema_note: note,
        }]
    }

    fn create_type(&mut self, name: QualName, kind: &str) -> Vec<Action> {
        self.rollback
            .push(format!("DROP TYPE IF EXISTS {};", qident(&name)));
        self.analysis.verification.push(format!(
            "SELECT to_regtype({}) IS NOT NULL AS exists;",
            sql_lit(&name.to_string())
        ));
        let file = self
            .schema
            .types
            .first()
            .map(|t| t.site.path.clone())
            .or_else(|| self.schema.files.first().map(|f| f.path.clone()))
            .unwrap_or_else(|| PathBuf::from("current_schema/"));
        vec![Action {
            description: format!("create {kind} {name}"),
            table: None,
            target: format!(
                "new {kind}: goes in {} (with the other types, before the tables that use it)",
                file.display()
            ),
            dependents: Vec::new(),
            schema_note: Some((file, format!("new {kind} {name}"))),
        }]
    }

    fn drop(&mut self, d: &protobuf::DropStmt, line: usize) -> Vec<Action> {
        use crate::schema::Dropped;
        let mut out = Vec::new();
        for target in crate::schema::drop_targets(d) {
            let label = target.label();
            let site = self.schema.sites_of(&target).into_iter().next();
            let mut action = Action {
                description: format!("drop {label}"),
                table: None,
                target: String::new(),
                dependents: Vec::new(),
                schema_note: None,
            };
            match &site {
                Some(site) => {
                    action.target = format!("{label} ({})", site.lines());
                    action.schema_note = Some((
                        site.path.clone(),
                        format!("Line {}: {label}: remove", site.line),
                    ));
                    let lost = if matches!(target, Dropped::Table(_)) {
                        " -- the table comes back empty: restore its data from a backup"
                    } else {
                        ""
                    };
                    self.rollback
                        .push(format!("{};{lost}", self.site_text(site)));
                }
                None => {
                    action.target = format!("{label}: NOT FOUND in current_schema");
                    self.rollback.push(format!("-- re-create {label} by hand"));
                }
            }
            match &target {
                Dropped::Table(t) => {
                    if site.is_none() && !d.missing_ok {
                        self.unknown_table(t, line);
                    }
                    action.table = Some(t.clone());
                    action.dependents = self.dependents(t, None);
                    self.analysis.verification.push(format!(
                        "SELECT to_regclass({}) IS NULL AS {}_dropped;",
                        sql_lit(&t.to_string()),
                        t.name
                    ));
                }
                Dropped::Index(q) => action.table = self.schema.index(q).map(|i| i.table.clone()),
                Dropped::Trigger { table, .. } | Dropped::Policy { table, .. } => {
                    action.table = Some(table.clone())
                }
                Dropped::Function { name, .. } => {
                    action.dependents = self
                        .schema
                        .triggers
                        .iter()
                        .filter(|t| t.function == *name)
                        .map(|t| format!("trigger {} on {} ({})", t.name, t.table, t.site.lines()))
                        .collect();
                }
                _ => {}
            }
            out.push(action);
        }
        out
    }

    fn rename(&mut self, r: &protobuf::RenameStmt, line: usize) -> Vec<Action> {
        use ObjectType as O;
        let kind = O::try_from(r.rename_type).unwrap_or(O::Undefined);
        let t = ast::range_var(&r.relation);
        let tq = qident(&t);
        let table = self.schema.table(&t);
        let mut action = Action {
            description: String::new(),
            table: Some(t.clone()),
            target: self.table_target(&t),
            dependents: Vec::new(),
            schema_note: None,
        };
        match kind {
            O::ObjectColumn => {
                self.unknown_table(&t, line);
                action.description = format!("rename column {t}.{} to {}", r.subname, r.newname);
                action.dependents = self.dependents(&t, Some(&r.subname));
                if let Some(col) = table.and_then(|tb| tb.column(&r.subname)) {
                    action.target = format!("column {t}.{} ({})", r.subname, col.site.lines());
                    action.schema_note = Some((
                        col.site.path.clone(),
                        format!(
                            "Line {}: {t}.{}: rename to {}",
                            col.site.line, r.subname, r.newname
                        ),
                    ));
                }
                self.rollback.push(format!(
                    "ALTER TABLE {tq} RENAME COLUMN {} TO {};",
                    ident(&r.newname),
                    ident(&r.subname)
                ));
                self.analysis
                    .verification
                    .push(column_query(&t, &r.newname));
            }
            O::ObjectTable => {
                self.unknown_table(&t, line);
                action.description = format!("rename table {t} to {}", r.newname);
                action.dependents = self.dependents(&t, None);
                action.schema_note =
                    table.map(|tb| self.table_note(tb, &format!("rename to {}", r.newname)));
                self.rollback.push(format!(
                    "ALTER TABLE {}.{} RENAME TO {};",
                    ident(&t.schema),
                    ident(&r.newname),
                    ident(&t.name)
                ));
            }
            O::ObjectTabconstraint => {
                action.description =
                    format!("rename constraint {} on {t} to {}", r.subname, r.newname);
                action.schema_note = table.map(|tb| {
                    self.table_note(
                        tb,
                        &format!("rename constraint {} to {}", r.subname, r.newname),
                    )
                });
                self.rollback.push(format!(
                    "ALTER TABLE {tq} RENAME CONSTRAINT {} TO {};",
                    ident(&r.newname),
                    ident(&r.subname)
                ));
            }
            O::ObjectIndex => {
                action.description = format!("rename index {t} to {}", r.newname);
                action.table = self.schema.index(&t).map(|i| i.table.clone());
                action.target = match self.schema.index(&t) {
                    Some(i) => format!("index {} ({})", i.name, i.site.lines()),
                    None => format!("index {t}: NOT FOUND in current_schema"),
                };
                self.rollback.push(format!(
                    "ALTER INDEX {}.{} RENAME TO {};",
                    ident(&t.schema),
                    ident(&r.newname),
                    ident(&t.name)
                ));
            }
            O::ObjectPolicy => {
                action.description = format!("rename policy {} on {t} to {}", r.subname, r.newname);
                self.rollback.push(format!(
                    "ALTER POLICY {} ON {tq} RENAME TO {};",
                    ident(&r.newname),
                    ident(&r.subname)
                ));
            }
            other => {
                action.description = format!("rename {other:?}")
                    .replace("Object", "")
                    .to_lowercase();
                action.table = None;
                self.rollback.push("-- undo the rename by hand".into());
            }
        }
        vec![action]
    }
}

fn cmd_default(c: &protobuf::AlterTableCmd) -> Option<String> {
    c.def.as_deref().map(ast::expr_text)
}

fn comment_table(c: &protobuf::CommentStmt) -> Option<QualName> {
    let obj = c.object.as_deref()?.node.as_ref()?;
    let NodeEnum::List(l) = obj else { return None };
    let mut parts = ast::strings(&l.items);
    match ObjectType::try_from(c.objtype) {
        Ok(ObjectType::ObjectTable) => Some(ast::qual_from_list(&l.items)),
        Ok(ObjectType::ObjectColumn) => {
            parts.pop();
            match parts.as_slice() {
                [.., s, t] => Some(QualName::new(s, t)),
                [t] => Some(QualName::new("", t)),
                [] => None,
            }
        }
        _ => None,
    }
}

fn implicit_name_for(t: &QualName, k: &protobuf::Constraint) -> String {
    use pg_query::protobuf::ConstrType as C;
    let cols = |nodes: &[protobuf::Node]| ast::strings(nodes).join("_");
    match C::try_from(k.contype) {
        Ok(C::ConstrPrimary) => ast::make_object_name(&t.name, None, "pkey"),
        Ok(C::ConstrUnique) => ast::make_object_name(&t.name, Some(&cols(&k.keys)), "key"),
        Ok(C::ConstrForeign) => ast::make_object_name(&t.name, Some(&cols(&k.fk_attrs)), "fkey"),
        Ok(C::ConstrCheck) => {
            let first = k
                .raw_expr
                .as_deref()
                .and_then(|e| e.node.as_ref())
                .map(ast::column_refs)
                .and_then(|v| v.into_iter().next());
            ast::make_object_name(&t.name, first.as_deref(), "check")
        }
        _ => ast::make_object_name(&t.name, None, "constraint"),
    }
}

/// The definition of a constraint for `ADD CONSTRAINT name <def>`.
pub fn constraint_def(k: &crate::schema::Constraint) -> String {
    match k.kind {
        ConstraintKind::Check => format!("CHECK ({})", k.expression.clone().unwrap_or_default()),
        ConstraintKind::PrimaryKey => format!("PRIMARY KEY ({})", k.columns.join(", ")),
        ConstraintKind::Unique => format!("UNIQUE ({})", k.columns.join(", ")),
        ConstraintKind::Exclusion => "EXCLUDE (...) -- write the exclusion by hand".into(),
        ConstraintKind::ForeignKey => {
            let r = k.references.as_ref();
            let mut s = format!(
                "FOREIGN KEY ({}) REFERENCES {}",
                k.columns.join(", "),
                r.map(|r| qident(&r.table)).unwrap_or_default()
            );
            if let Some(r) = r {
                if !r.columns.is_empty() {
                    s.push_str(&format!("({})", r.columns.join(", ")));
                }
                if let Some(d) = &r.on_delete {
                    s.push_str(&format!(" ON DELETE {d}"));
                }
                if let Some(u) = &r.on_update {
                    s.push_str(&format!(" ON UPDATE {u}"));
                }
            }
            s
        }
    }
}

fn column_query(t: &QualName, column: &str) -> String {
    format!(
        "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = {} AND table_name = {} AND column_name = {};",
        sql_lit(&t.schema),
        sql_lit(&t.name),
        sql_lit(column)
    )
}

fn constraint_query(t: &QualName, name: &str) -> String {
    format!(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = {}::regclass AND conname = {};",
        sql_lit(&t.to_string()),
        sql_lit(name)
    )
}

fn policy_query(t: &QualName, name: &str) -> String {
    format!(
        "SELECT policyname, cmd, roles, qual, with_check FROM pg_policies WHERE schemaname = {} AND tablename = {} AND policyname = {};",
        sql_lit(&t.schema),
        sql_lit(&t.name),
        sql_lit(name)
    )
}
