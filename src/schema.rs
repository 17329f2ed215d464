//! The schema model: every object `current_schema` defines, and where.
//!
//! Built by folding the statements of all schema files in order, so that a
//! later `ALTER TABLE` in a schema file changes the table it alters and is
//! remembered as one of the table's definition sites.

use crate::ast::{self, QualName};
use crate::error::Result;
use crate::report::Diagnostic;
use crate::sql::{self, Span, SqlFile, Statement};
use crate::workspace::Workspace;
use pg_query::protobuf::{self, AlterTableType, ConstrType, ObjectType};
use pg_query::NodeEnum;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where an object (or one change to it) is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Site {
    /// Index into `Schema::files`.
    #[serde(skip)]
    pub file: usize,
    pub path: PathBuf,
    pub line: usize,
    pub end_line: usize,
    #[serde(skip)]
    pub span: Span,
}

impl Site {
    pub fn lines(&self) -> String {
        if self.line == self.end_line {
            format!("{}:{}", self.path.display(), self.line)
        } else {
            format!("{}:{}-{}", self.path.display(), self.line, self.end_line)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForeignRef {
    pub table: QualName,
    pub columns: Vec<String>,
    pub on_delete: Option<String>,
    pub on_update: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub name: String,
    pub type_name: String,
    pub not_null: bool,
    pub default: Option<String>,
    /// `GENERATED ALWAYS AS (expr) STORED`: the expression.
    pub generated: Option<String>,
    /// `ALWAYS` or `BY DEFAULT` for identity columns.
    pub identity: Option<String>,
    /// The `--` comment written on the column's line.
    pub inline_comment: Option<String>,
    /// `COMMENT ON COLUMN`.
    pub comment: Option<String>,
    /// Where the column is written: inside the CREATE TABLE or in the
    /// `ALTER TABLE ... ADD COLUMN` that added it. `span` covers the column
    /// definition only (name to last token, without the comma).
    pub site: Site,
    /// The column's name and type as written, and each inline clause
    /// (`NOT NULL`, `DEFAULT ...`, `CHECK (...)`, ...), for in-place edits.
    #[serde(skip)]
    pub name_span: Span,
    #[serde(skip)]
    pub type_span: Span,
    #[serde(skip)]
    pub parts: Vec<(ColumnPart, Span)>,
    /// The `COMMENT ON COLUMN` statement, if any.
    pub comment_site: Option<Site>,
    /// Defined by an `ALTER TABLE ... ADD COLUMN` in the schema files.
    pub in_alter: bool,
}

/// An inline clause of a column definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ColumnPart {
    NotNull,
    Null,
    Default,
    Check,
    Unique,
    PrimaryKey,
    References,
    Generated,
    Identity,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConstraintKind {
    PrimaryKey,
    Unique,
    ForeignKey,
    Check,
    Exclusion,
}

#[derive(Debug, Clone, Serialize)]
pub struct Constraint {
    /// The explicit name, or the one PostgreSQL chooses for an unnamed one.
    pub name: String,
    pub implicit_name: bool,
    pub kind: ConstraintKind,
    pub columns: Vec<String>,
    /// The CHECK expression, canonical text.
    pub expression: Option<String>,
    pub references: Option<ForeignRef>,
    /// Values an `IN (...)` check allows.
    pub allowed_values: Vec<String>,
    /// Written on a column line (inline) rather than as a table element.
    pub inline_column: Option<String>,
    pub not_valid: bool,
    pub site: Site,
    /// The constraint's own text: the inline clause, the table element, or
    /// (for `origin == Alter`) the whole ALTER statement.
    #[serde(skip)]
    pub span: Span,
    pub origin: Origin,
}

/// Where a constraint is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// On a column line.
    Inline,
    /// A table element of the CREATE TABLE.
    TableElement,
    /// A later `ALTER TABLE ... ADD CONSTRAINT`.
    Alter,
}

#[derive(Debug, Clone, Serialize)]
pub struct Table {
    pub name: QualName,
    pub columns: Vec<Column>,
    pub constraints: Vec<Constraint>,
    pub rls_enabled: bool,
    pub rls_forced: bool,
    pub comment: Option<String>,
    pub comment_site: Option<Site>,
    /// `ALTER TABLE ... ENABLE ROW LEVEL SECURITY` statements.
    pub rls_sites: Vec<Site>,
    /// The CREATE TABLE statement.
    pub site: Site,
    /// Later statements in the schema files that change this table.
    pub alter_sites: Vec<Site>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
    pub fn constraint(&self, name: &str) -> Option<&Constraint> {
        self.constraints.iter().find(|c| c.name == name)
    }
    pub fn primary_key(&self) -> Vec<String> {
        self.constraints
            .iter()
            .filter(|c| c.kind == ConstraintKind::PrimaryKey)
            .flat_map(|c| c.columns.clone())
            .collect()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Index {
    pub name: String,
    pub table: QualName,
    pub unique: bool,
    pub columns: Vec<String>,
    pub site: Site,
}

#[derive(Debug, Clone, Serialize)]
pub struct Function {
    pub name: QualName,
    /// Input argument types, canonical (the identity of the function).
    pub args: Vec<String>,
    pub returns: Option<String>,
    pub language: Option<String>,
    pub body: String,
    pub is_procedure: bool,
    pub site: Site,
    pub alter_sites: Vec<Site>,
}

impl Function {
    pub fn signature(&self) -> String {
        format!("{}({})", self.name, self.args.join(", "))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Trigger {
    pub name: String,
    pub table: QualName,
    pub function: QualName,
    pub site: Site,
}

#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    pub name: String,
    pub table: QualName,
    pub command: String,
    pub roles: Vec<String>,
    pub using: Option<String>,
    pub with_check: Option<String>,
    pub site: Site,
    pub alter_sites: Vec<Site>,
}

#[derive(Debug, Clone, Serialize)]
pub struct View {
    pub name: QualName,
    pub materialized: bool,
    /// Relations the view's query reads.
    pub reads: Vec<QualName>,
    pub site: Site,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum TypeKind {
    Enum { values: Vec<String> },
    Composite,
    Domain { base: String },
    Range,
}

#[derive(Debug, Clone, Serialize)]
pub struct TypeDef {
    pub name: QualName,
    pub kind: TypeKind,
    pub comment: Option<String>,
    pub site: Site,
    pub alter_sites: Vec<Site>,
}

/// Objects with nothing to model beyond their name and site.
#[derive(Debug, Clone, Serialize)]
pub struct Named {
    pub name: String,
    pub site: Site,
}

#[derive(Debug, Clone, Serialize)]
pub struct Grant {
    /// Object names the grant is on (tables, functions, schemas ...).
    pub objects: Vec<String>,
    pub is_grant: bool,
    pub site: Site,
}

/// The whole model, plus the parsed files it was built from.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    /// Shared, not copied: the patcher rebuilds the model after every
    /// statement it applies, and only the file it edited is new.
    pub files: Vec<Arc<SqlFile>>,
    pub tables: Vec<Table>,
    pub indexes: Vec<Index>,
    pub functions: Vec<Function>,
    pub triggers: Vec<Trigger>,
    pub policies: Vec<Policy>,
    pub views: Vec<View>,
    pub types: Vec<TypeDef>,
    pub extensions: Vec<Named>,
    pub schemas: Vec<Named>,
    pub sequences: Vec<Named>,
    pub grants: Vec<Grant>,
    /// Statements the model cannot follow (DO blocks, ALTERs of objects
    /// that do not exist): reported, never silently dropped.
    pub notes: Vec<Diagnostic>,
    table_index: HashMap<QualName, usize>,
}

impl Schema {
    /// Read and model every `current_schema/*.sql` file in order.
    pub fn load(ws: &Workspace) -> Result<Schema> {
        let paths: Vec<(PathBuf, PathBuf)> = ws
            .schema_files()?
            .into_iter()
            .map(|p| {
                let d = ws.display(&p);
                (p, d)
            })
            .collect();
        let files = sql::read_files(&paths)?;
        Ok(Schema::build(files.into_iter().map(Arc::new).collect()))
    }

    pub fn build(files: Vec<Arc<SqlFile>>) -> Schema {
        let mut schema = Schema::default();
        for (fi, file) in files.iter().enumerate() {
            for stmt in &file.statements {
                schema.apply(fi, file, stmt);
            }
        }
        schema.files = files;
        schema
    }

    /// This model with one more file's statements folded in after the
    /// others (a migration on top of `current_schema`), without building
    /// the rest again.
    pub fn with_file(&self, file: Arc<SqlFile>) -> Schema {
        let mut s = self.clone();
        let fi = s.files.len();
        for stmt in &file.statements {
            s.apply(fi, &file, stmt);
        }
        s.files.push(file);
        s
    }

    pub fn table(&self, name: &QualName) -> Option<&Table> {
        self.table_index.get(name).map(|&i| &self.tables[i])
    }
    fn table_mut(&mut self, name: &QualName) -> Option<&mut Table> {
        self.table_index.get(name).map(|&i| &mut self.tables[i])
    }
    pub fn view(&self, name: &QualName) -> Option<&View> {
        self.views.iter().find(|v| &v.name == name)
    }
    pub fn type_def(&self, name: &QualName) -> Option<&TypeDef> {
        self.types.iter().find(|t| &t.name == name)
    }
    pub fn functions_named(&self, name: &QualName) -> impl Iterator<Item = &Function> {
        let name = name.clone();
        self.functions.iter().filter(move |f| f.name == name)
    }
    pub fn index(&self, name: &QualName) -> Option<&Index> {
        self.indexes
            .iter()
            .find(|i| i.name == name.name && i.table.schema == name.schema)
    }
    pub fn file_path(&self, idx: usize) -> &Path {
        &self.files[idx].path
    }

    fn site(fi: usize, file: &SqlFile, stmt: &Statement) -> Site {
        Site {
            file: fi,
            path: file.path.clone(),
            line: stmt.line,
            end_line: stmt.end_line,
            span: stmt.span,
        }
    }

    fn note(&mut self, file: &SqlFile, stmt: &Statement, code: &str, msg: String, help: &str) {
        self.notes.push(
            Diagnostic::warning(code, msg)
                .file(&file.path)
                .line(stmt.line)
                .help(help),
        );
    }

    /// Fold one statement into the model.
    fn apply(&mut self, fi: usize, file: &SqlFile, stmt: &Statement) {
        let site = Self::site(fi, file, stmt);
        match &stmt.node {
            NodeEnum::CreateStmt(c) => {
                let name = ast::range_var(&c.relation);
                if self.table_index.contains_key(&name) {
                    if !c.if_not_exists {
                        self.note(
                            file,
                            stmt,
                            "duplicate-object",
                            format!("table {name} is created twice"),
                            "keep one CREATE TABLE",
                        );
                    }
                    return;
                }
                let mut table = Table {
                    name: name.clone(),
                    columns: Vec::new(),
                    constraints: Vec::new(),
                    rls_enabled: false,
                    rls_forced: false,
                    comment: None,
                    comment_site: None,
                    rls_sites: Vec::new(),
                    site: site.clone(),
                    alter_sites: Vec::new(),
                };
                let limit = stmt.span.end;
                for elt in &c.table_elts {
                    match &elt.node {
                        Some(NodeEnum::ColumnDef(d)) => {
                            let start = stmt.span.start + d.location.max(0) as usize;
                            add_column(&mut table, file, fi, d, start, limit, &site, false);
                        }
                        Some(NodeEnum::Constraint(k)) => {
                            let start = stmt.span.start + k.location.max(0) as usize;
                            let (end, _) = sql::element_end(&file.text, start, limit);
                            let span = Span { start, end };
                            if let Some(con) =
                                constraint(&table, k, None, &site, span, Origin::TableElement)
                            {
                                table.constraints.push(con);
                            }
                        }
                        _ => {}
                    }
                }
                self.table_index.insert(name, self.tables.len());
                self.tables.push(table);
            }
            NodeEnum::AlterTableStmt(a) => {
                let name = ast::range_var(&a.relation);
                let objtype = ObjectType::try_from(a.objtype).unwrap_or(ObjectType::Undefined);
                if objtype != ObjectType::ObjectTable {
                    return;
                }
                let Some(table) = self.table_mut(&name) else {
                    if !a.missing_ok {
                        self.note(
                            file,
                            stmt,
                            "unknown-object",
                            format!("ALTER TABLE of {name}, which no earlier schema file creates"),
                            "move the ALTER after the CREATE TABLE, or create the table first",
                        );
                    }
                    return;
                };
                table.alter_sites.push(site.clone());
                for cmd in &a.cmds {
                    if let Some(NodeEnum::AlterTableCmd(cmd)) = &cmd.node {
                        alter_table(table, file, fi, stmt, cmd, &site);
                    }
                }
            }
            NodeEnum::IndexStmt(i) => {
                let table = ast::range_var(&i.relation);
                let columns: Vec<String> = i
                    .index_params
                    .iter()
                    .map(|p| match &p.node {
                        Some(NodeEnum::IndexElem(e)) if !e.name.is_empty() => e.name.clone(),
                        _ => "expr".to_string(),
                    })
                    .collect();
                let name = if i.idxname.is_empty() {
                    ast::make_object_name(
                        &table.name,
                        Some(&columns.join("_")),
                        if i.unique { "key" } else { "idx" },
                    )
                } else {
                    i.idxname.clone()
                };
                if let Some(t) = self.table_mut(&table) {
                    t.alter_sites.push(site.clone());
                }
                self.indexes
                    .retain(|x| !(x.name == name && x.table.schema == table.schema));
                self.indexes.push(Index {
                    name,
                    table,
                    unique: i.unique,
                    columns,
                    site,
                });
            }
            NodeEnum::CreateFunctionStmt(f) => {
                let name = ast::qual_from_list(&f.funcname);
                let args = function_args(&f.parameters);
                let mut language = None;
                let mut body = String::new();
                for o in &f.options {
                    if let Some(NodeEnum::DefElem(d)) = &o.node {
                        match (d.defname.as_str(), d.arg.as_deref()) {
                            ("language", Some(a)) => {
                                language = ast::node_str(a).map(str::to_string)
                            }
                            ("as", Some(a)) => {
                                if let Some(NodeEnum::List(l)) = &a.node {
                                    body = ast::strings(&l.items).join("\n");
                                }
                            }
                            _ => {}
                        }
                    }
                }
                if body.is_empty() && f.sql_body.is_some() {
                    body = stmt.text(&file.text).to_string();
                }
                let returns = f.return_type.as_ref().map(ast::type_name);
                let func = Function {
                    name,
                    args,
                    returns,
                    language,
                    body,
                    is_procedure: f.is_procedure,
                    site,
                    alter_sites: Vec::new(),
                };
                if let Some(existing) = self
                    .functions
                    .iter_mut()
                    .find(|x| x.name == func.name && x.args == func.args)
                {
                    // CREATE OR REPLACE later in the files: the later body
                    // wins; the first definition stays a site.
                    let mut sites = std::mem::take(&mut existing.alter_sites);
                    sites.push(existing.site.clone());
                    *existing = func;
                    existing.alter_sites = sites;
                } else {
                    self.functions.push(func);
                }
            }
            NodeEnum::CreateTrigStmt(t) => {
                let table = ast::range_var(&t.relation);
                self.triggers
                    .retain(|x| !(x.name == t.trigname && x.table == table));
                self.triggers.push(Trigger {
                    name: t.trigname.clone(),
                    table,
                    function: ast::qual_from_list(&t.funcname),
                    site,
                });
            }
            NodeEnum::CreatePolicyStmt(p) => {
                let table = ast::range_var(&p.table);
                self.policies
                    .retain(|x| !(x.name == p.policy_name && x.table == table));
                self.policies.push(Policy {
                    name: p.policy_name.clone(),
                    table,
                    command: p.cmd_name.to_uppercase(),
                    roles: roles(&p.roles),
                    using: p.qual.as_deref().map(ast::expr_text),
                    with_check: p.with_check.as_deref().map(ast::expr_text),
                    site,
                    alter_sites: Vec::new(),
                });
            }
            NodeEnum::AlterPolicyStmt(p) => {
                let table = ast::range_var(&p.table);
                match self
                    .policies
                    .iter_mut()
                    .find(|x| x.name == p.policy_name && x.table == table)
                {
                    Some(pol) => {
                        if let Some(q) = p.qual.as_deref() {
                            pol.using = Some(ast::expr_text(q));
                        }
                        if let Some(q) = p.with_check.as_deref() {
                            pol.with_check = Some(ast::expr_text(q));
                        }
                        if !p.roles.is_empty() {
                            pol.roles = roles(&p.roles);
                        }
                        pol.alter_sites.push(site);
                    }
                    None => self.note(
                        file,
                        stmt,
                        "unknown-object",
                        format!(
                            "ALTER POLICY {} on {table}, which no earlier schema file creates",
                            p.policy_name
                        ),
                        "create the policy before altering it",
                    ),
                }
            }
            NodeEnum::ViewStmt(v) => {
                let name = ast::range_var(&v.view);
                let reads = v
                    .query
                    .as_deref()
                    .and_then(|q| q.node.as_ref())
                    .map(relations_read)
                    .unwrap_or_default();
                self.views.retain(|x| x.name != name);
                self.views.push(View {
                    name,
                    materialized: false,
                    reads,
                    site,
                });
            }
            NodeEnum::CreateTableAsStmt(c) => {
                let name = c
                    .into
                    .as_ref()
                    .map(|i| ast::range_var(&i.rel))
                    .unwrap_or_else(|| QualName::new("", ""));
                let reads = c
                    .query
                    .as_deref()
                    .and_then(|q| q.node.as_ref())
                    .map(relations_read)
                    .unwrap_or_default();
                let materialized = ObjectType::try_from(c.objtype) == Ok(ObjectType::ObjectMatview);
                self.views.retain(|x| x.name != name);
                self.views.push(View {
                    name,
                    materialized,
                    reads,
                    site,
                });
            }
            NodeEnum::CreateEnumStmt(e) => {
                let values = ast::strings(&e.vals);
                self.add_type(
                    ast::qual_from_list(&e.type_name),
                    TypeKind::Enum { values },
                    site,
                );
            }
            NodeEnum::CompositeTypeStmt(c) => {
                self.add_type(ast::range_var(&c.typevar), TypeKind::Composite, site);
            }
            NodeEnum::CreateDomainStmt(d) => {
                let base = d.type_name.as_ref().map(ast::type_name).unwrap_or_default();
                self.add_type(
                    ast::qual_from_list(&d.domainname),
                    TypeKind::Domain { base },
                    site,
                );
            }
            NodeEnum::CreateRangeStmt(r) => {
                self.add_type(ast::qual_from_list(&r.type_name), TypeKind::Range, site);
            }
            NodeEnum::AlterEnumStmt(e) => {
                let name = ast::qual_from_list(&e.type_name);
                match self.types.iter_mut().find(|t| t.name == name) {
                    Some(t) => {
                        if let TypeKind::Enum { values } = &mut t.kind {
                            if !e.old_val.is_empty() {
                                // RENAME VALUE
                                if let Some(v) = values.iter_mut().find(|v| **v == e.old_val) {
                                    *v = e.new_val.clone();
                                }
                            } else if !values.contains(&e.new_val) {
                                let pos = values
                                    .iter()
                                    .position(|v| *v == e.new_val_neighbor)
                                    .map(|p| if e.new_val_is_after { p + 1 } else { p })
                                    .unwrap_or(values.len());
                                values.insert(pos, e.new_val.clone());
                            }
                        }
                        t.alter_sites.push(site);
                    }
                    None => self.note(
                        file,
                        stmt,
                        "unknown-object",
                        format!("ALTER TYPE {name}, which no earlier schema file creates"),
                        "create the type before altering it",
                    ),
                }
            }
            NodeEnum::CommentStmt(c) => self.comment(c, site),
            NodeEnum::GrantStmt(g) => {
                let objects = g
                    .objects
                    .iter()
                    .filter_map(|o| match &o.node {
                        Some(NodeEnum::RangeVar(rv)) => {
                            Some(QualName::new(&rv.schemaname, &rv.relname).to_string())
                        }
                        Some(NodeEnum::ObjectWithArgs(f)) => {
                            Some(ast::qual_from_list(&f.objname).to_string())
                        }
                        Some(NodeEnum::String(s)) => Some(s.sval.clone()),
                        _ => None,
                    })
                    .collect();
                self.grants.push(Grant {
                    objects,
                    is_grant: g.is_grant,
                    site,
                });
            }
            NodeEnum::CreateExtensionStmt(e)
                if !self.extensions.iter().any(|x| x.name == e.extname) =>
            {
                self.extensions.push(Named {
                    name: e.extname.clone(),
                    site,
                });
            }
            NodeEnum::CreateSchemaStmt(s)
                if !self.schemas.iter().any(|x| x.name == s.schemaname) =>
            {
                self.schemas.push(Named {
                    name: s.schemaname.clone(),
                    site,
                });
            }
            NodeEnum::CreateSeqStmt(s) => {
                let name = ast::range_var(&s.sequence).to_string();
                if !self.sequences.iter().any(|x| x.name == name) {
                    self.sequences.push(Named { name, site });
                }
            }
            NodeEnum::DropStmt(d) => self.drop(d),
            NodeEnum::RenameStmt(r) => self.rename(r, site),
            NodeEnum::DoStmt(_) => self.note(
                file,
                stmt,
                "opaque-statement",
                "DO block in a schema file: touchpoint cannot see which objects it creates".into(),
                "prefer plain DDL in current_schema so that every object has a definition site",
            ),
            _ => {}
        }
    }

    fn add_type(&mut self, name: QualName, kind: TypeKind, site: Site) {
        self.types.retain(|t| t.name != name);
        self.types.push(TypeDef {
            name,
            kind,
            comment: None,
            site,
            alter_sites: Vec::new(),
        });
    }

    fn comment(&mut self, c: &protobuf::CommentStmt, site: Site) {
        let text = (!c.comment.is_empty()).then(|| c.comment.clone());
        let Some(obj) = c.object.as_deref().and_then(|o| o.node.as_ref()) else {
            return;
        };
        match ObjectType::try_from(c.objtype) {
            Ok(ObjectType::ObjectTable) => {
                if let NodeEnum::List(l) = obj {
                    if let Some(t) = self.table_mut(&ast::qual_from_list(&l.items)) {
                        t.comment = text;
                        t.comment_site = Some(site);
                    }
                }
            }
            Ok(ObjectType::ObjectColumn) => {
                if let NodeEnum::List(l) = obj {
                    let mut parts = ast::strings(&l.items);
                    if let Some(col) = parts.pop() {
                        let table = match parts.as_slice() {
                            [.., s, t] => QualName::new(s, t),
                            [t] => QualName::new("", t),
                            [] => return,
                        };
                        if let Some(c) = self
                            .table_mut(&table)
                            .and_then(|t| t.columns.iter_mut().find(|c| c.name == col))
                        {
                            c.comment = text;
                            c.comment_site = Some(site);
                        }
                    }
                }
            }
            Ok(ObjectType::ObjectType) | Ok(ObjectType::ObjectDomain) => {
                let name = match obj {
                    NodeEnum::TypeName(t) => ast::qual_from_list(&t.names),
                    NodeEnum::List(l) => ast::qual_from_list(&l.items),
                    _ => return,
                };
                if let Some(t) = self.types.iter_mut().find(|t| t.name == name) {
                    t.comment = text;
                }
            }
            _ => {}
        }
    }

    fn drop(&mut self, d: &protobuf::DropStmt) {
        for target in drop_targets(d) {
            match target {
                Dropped::Table(name) => {
                    if let Some(i) = self.table_index.remove(&name) {
                        self.tables.remove(i);
                        self.reindex();
                        self.indexes.retain(|x| x.table != name);
                        self.triggers.retain(|x| x.table != name);
                        self.policies.retain(|x| x.table != name);
                    }
                }
                Dropped::Index(name) => self
                    .indexes
                    .retain(|x| !(x.name == name.name && x.table.schema == name.schema)),
                Dropped::View(name) => self.views.retain(|x| x.name != name),
                Dropped::Function { name, args } => self
                    .functions
                    .retain(|x| !(x.name == name && args.as_ref().is_none_or(|a| *a == x.args))),
                Dropped::Trigger { name, table } => self
                    .triggers
                    .retain(|x| !(x.name == name && x.table == table)),
                Dropped::Policy { name, table } => self
                    .policies
                    .retain(|x| !(x.name == name && x.table == table)),
                Dropped::Type(name) => self.types.retain(|x| x.name != name),
                Dropped::Extension(name) => self.extensions.retain(|x| x.name != name),
                Dropped::Schema(name) => self.schemas.retain(|x| x.name != name),
                Dropped::Other(_) => {}
            }
        }
    }

    /// The definition sites of a dropped object (a function may have
    /// several: its earlier CREATE OR REPLACE statements).
    pub fn sites_of(&self, target: &Dropped) -> Vec<Site> {
        match target {
            Dropped::Table(n) => self.table(n).map(|t| t.site.clone()).into_iter().collect(),
            Dropped::Index(n) => self.index(n).map(|i| i.site.clone()).into_iter().collect(),
            Dropped::View(n) => self.view(n).map(|v| v.site.clone()).into_iter().collect(),
            Dropped::Function { name, args } => self
                .functions
                .iter()
                .filter(|f| f.name == *name && args.as_ref().is_none_or(|a| *a == f.args))
                .flat_map(|f| std::iter::once(f.site.clone()).chain(f.alter_sites.iter().cloned()))
                .collect(),
            Dropped::Trigger { name, table } => self
                .triggers
                .iter()
                .filter(|x| x.name == *name && x.table == *table)
                .map(|x| x.site.clone())
                .collect(),
            Dropped::Policy { name, table } => self
                .policies
                .iter()
                .filter(|x| x.name == *name && x.table == *table)
                .map(|x| x.site.clone())
                .collect(),
            Dropped::Type(n) => self
                .type_def(n)
                .map(|t| t.site.clone())
                .into_iter()
                .collect(),
            Dropped::Extension(n) => self
                .extensions
                .iter()
                .filter(|x| x.name == *n)
                .map(|x| x.site.clone())
                .collect(),
            Dropped::Schema(n) => self
                .schemas
                .iter()
                .filter(|x| x.name == *n)
                .map(|x| x.site.clone())
                .collect(),
            Dropped::Other(_) => Vec::new(),
        }
    }

    fn rename(&mut self, r: &protobuf::RenameStmt, site: Site) {
        let kind = ObjectType::try_from(r.rename_type).unwrap_or(ObjectType::Undefined);
        let rel = ast::range_var(&r.relation);
        match kind {
            ObjectType::ObjectTable => {
                if let Some(i) = self.table_index.get(&rel).copied() {
                    let new = QualName::new(&rel.schema, &r.newname);
                    self.tables[i].name = new.clone();
                    self.tables[i].alter_sites.push(site);
                    for x in &mut self.indexes {
                        if x.table == rel {
                            x.table = new.clone();
                        }
                    }
                    for x in &mut self.triggers {
                        if x.table == rel {
                            x.table = new.clone();
                        }
                    }
                    for x in &mut self.policies {
                        if x.table == rel {
                            x.table = new.clone();
                        }
                    }
                    self.reindex();
                }
            }
            ObjectType::ObjectColumn => {
                if let Some(t) = self.table_mut(&rel) {
                    if let Some(c) = t.columns.iter_mut().find(|c| c.name == r.subname) {
                        c.name = r.newname.clone();
                    }
                    // What the expressions say follows the column too, as
                    // PostgreSQL shows them after the rename.
                    for k in &mut t.constraints {
                        for c in &mut k.columns {
                            if *c == r.subname {
                                *c = r.newname.clone();
                            }
                        }
                        if let Some(e) = &mut k.expression {
                            *e = sql::rename_ident(e, &r.subname, &r.newname);
                        }
                    }
                    t.alter_sites.push(site);
                    for i in self.indexes.iter_mut().filter(|i| i.table == rel) {
                        for c in &mut i.columns {
                            *c = sql::rename_ident(c, &r.subname, &r.newname);
                        }
                    }
                    for p in self.policies.iter_mut().filter(|p| p.table == rel) {
                        for e in [&mut p.using, &mut p.with_check].into_iter().flatten() {
                            *e = sql::rename_ident(e, &r.subname, &r.newname);
                        }
                    }
                }
            }
            ObjectType::ObjectTabconstraint => {
                if let Some(t) = self.table_mut(&rel) {
                    if let Some(k) = t.constraints.iter_mut().find(|k| k.name == r.subname) {
                        k.name = r.newname.clone();
                        k.implicit_name = false;
                    }
                    t.alter_sites.push(site);
                }
            }
            ObjectType::ObjectIndex => {
                if let Some(x) = self
                    .indexes
                    .iter_mut()
                    .find(|x| x.name == rel.name && x.table.schema == rel.schema)
                {
                    x.name = r.newname.clone();
                }
            }
            ObjectType::ObjectPolicy => {
                if let Some(x) = self
                    .policies
                    .iter_mut()
                    .find(|x| x.name == r.subname && x.table == rel)
                {
                    x.name = r.newname.clone();
                }
            }
            ObjectType::ObjectTrigger => {
                if let Some(x) = self
                    .triggers
                    .iter_mut()
                    .find(|x| x.name == r.subname && x.table == rel)
                {
                    x.name = r.newname.clone();
                }
            }
            _ => {}
        }
    }

    fn reindex(&mut self) {
        self.table_index = self
            .tables
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
    }
}

/// One object a DROP statement names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dropped {
    Table(QualName),
    Index(QualName),
    View(QualName),
    /// `args: None` for `DROP FUNCTION f` without an argument list.
    Function {
        name: QualName,
        args: Option<Vec<String>>,
    },
    Trigger {
        name: String,
        table: QualName,
    },
    Policy {
        name: String,
        table: QualName,
    },
    Type(QualName),
    Extension(String),
    Schema(String),
    /// A kind the model does not follow, as a word (`sequence`, `rule`).
    Other(String),
}

impl Dropped {
    /// `table public.t`, `trigger tr on public.t`, `function f(integer)`.
    pub fn label(&self) -> String {
        match self {
            Dropped::Table(n) => format!("table {n}"),
            Dropped::Index(n) => format!("index {n}"),
            Dropped::View(n) => format!("view {n}"),
            Dropped::Function {
                name,
                args: Some(a),
            } => format!("function {name}({})", a.join(", ")),
            Dropped::Function { name, args: None } => format!("function {name}"),
            Dropped::Trigger { name, table } => format!("trigger {name} on {table}"),
            Dropped::Policy { name, table } => format!("policy {name} on {table}"),
            Dropped::Type(n) => format!("type {n}"),
            Dropped::Extension(n) => format!("extension {n}"),
            Dropped::Schema(n) => format!("schema {n}"),
            Dropped::Other(k) => k.clone(),
        }
    }
}

/// The objects a DROP statement names, in order.
pub fn drop_targets(d: &protobuf::DropStmt) -> Vec<Dropped> {
    use ObjectType as O;
    let kind = O::try_from(d.remove_type).unwrap_or(O::Undefined);
    let on_table = |items: &[protobuf::Node]| -> Option<(String, QualName)> {
        let mut parts = ast::strings(items);
        let name = parts.pop()?;
        let table = match parts.as_slice() {
            [.., s, t] => QualName::new(s, t),
            [t] => QualName::new("", t),
            [] => return None,
        };
        Some((name, table))
    };
    d.objects
        .iter()
        .filter_map(|o| o.node.as_ref())
        .map(|obj| match (kind, obj) {
            (O::ObjectTable, NodeEnum::List(l)) => Dropped::Table(ast::qual_from_list(&l.items)),
            (O::ObjectIndex, NodeEnum::List(l)) => Dropped::Index(ast::qual_from_list(&l.items)),
            (O::ObjectView | O::ObjectMatview, NodeEnum::List(l)) => {
                Dropped::View(ast::qual_from_list(&l.items))
            }
            (
                O::ObjectFunction | O::ObjectProcedure | O::ObjectRoutine,
                NodeEnum::ObjectWithArgs(f),
            ) => {
                let args = f
                    .objargs
                    .iter()
                    .filter_map(|a| match &a.node {
                        Some(NodeEnum::TypeName(t)) => Some(ast::type_name(t)),
                        _ => None,
                    })
                    .collect();
                Dropped::Function {
                    name: ast::qual_from_list(&f.objname),
                    args: (!f.args_unspecified).then_some(args),
                }
            }
            (O::ObjectTrigger, NodeEnum::List(l)) => match on_table(&l.items) {
                Some((name, table)) => Dropped::Trigger { name, table },
                None => Dropped::Other("trigger".into()),
            },
            (O::ObjectPolicy, NodeEnum::List(l)) => match on_table(&l.items) {
                Some((name, table)) => Dropped::Policy { name, table },
                None => Dropped::Other("policy".into()),
            },
            (O::ObjectType | O::ObjectDomain, NodeEnum::TypeName(t)) => {
                Dropped::Type(ast::qual_from_list(&t.names))
            }
            (O::ObjectExtension, NodeEnum::String(s)) => Dropped::Extension(s.sval.clone()),
            (O::ObjectSchema, NodeEnum::String(s)) => Dropped::Schema(s.sval.clone()),
            (other, _) => Dropped::Other(
                format!("{other:?}")
                    .trim_start_matches("Object")
                    .to_lowercase(),
            ),
        })
        .collect()
}

fn roles(nodes: &[protobuf::Node]) -> Vec<String> {
    nodes
        .iter()
        .filter_map(|n| match &n.node {
            Some(NodeEnum::RoleSpec(r)) if !r.rolename.is_empty() => Some(r.rolename.clone()),
            Some(NodeEnum::RoleSpec(r)) => Some(
                match protobuf::RoleSpecType::try_from(r.roletype) {
                    Ok(protobuf::RoleSpecType::RolespecPublic) => "public",
                    Ok(protobuf::RoleSpecType::RolespecCurrentUser) => "current_user",
                    Ok(protobuf::RoleSpecType::RolespecSessionUser) => "session_user",
                    _ => "current_role",
                }
                .to_string(),
            ),
            _ => None,
        })
        .collect()
}

/// Input argument types of a function (OUT and TABLE columns are not part of
/// its identity).
pub fn function_args(params: &[protobuf::Node]) -> Vec<String> {
    use protobuf::FunctionParameterMode as M;
    params
        .iter()
        .filter_map(|p| match &p.node {
            Some(NodeEnum::FunctionParameter(fp)) => {
                let mode = M::try_from(fp.mode).unwrap_or(M::FuncParamIn);
                if matches!(mode, M::FuncParamOut | M::FuncParamTable) {
                    None
                } else {
                    fp.arg_type.as_ref().map(ast::type_name)
                }
            }
            _ => None,
        })
        .collect()
}

/// Relations a query reads (FROM and JOIN, subqueries included).
pub fn relations_read(n: &NodeEnum) -> Vec<QualName> {
    let mut out: Vec<QualName> = Vec::new();
    for (node, _, _, _) in n.nodes() {
        if let pg_query::NodeRef::RangeVar(rv) = node {
            let q = QualName::new(&rv.schemaname, &rv.relname);
            if !out.contains(&q) {
                out.push(q);
            }
        }
    }
    out
}

fn fk_action(c: &str) -> Option<String> {
    match c {
        "r" => Some("RESTRICT"),
        "c" => Some("CASCADE"),
        "n" => Some("SET NULL"),
        "d" => Some("SET DEFAULT"),
        _ => None, // 'a' = NO ACTION, the default
    }
    .map(str::to_string)
}

/// A constraint node (table element, inline on a column, or ALTER ADD).
fn constraint(
    table: &Table,
    k: &protobuf::Constraint,
    column: Option<&str>,
    site: &Site,
    span: Span,
    origin: Origin,
) -> Option<Constraint> {
    let kind = match ConstrType::try_from(k.contype).ok()? {
        ConstrType::ConstrPrimary => ConstraintKind::PrimaryKey,
        ConstrType::ConstrUnique => ConstraintKind::Unique,
        ConstrType::ConstrForeign => ConstraintKind::ForeignKey,
        ConstrType::ConstrCheck => ConstraintKind::Check,
        ConstrType::ConstrExclusion => ConstraintKind::Exclusion,
        _ => return None,
    };
    let mut columns: Vec<String> = match kind {
        ConstraintKind::ForeignKey => ast::strings(&k.fk_attrs),
        _ => ast::strings(&k.keys),
    };
    if columns.is_empty() {
        if let Some(c) = column {
            columns.push(c.to_string());
        }
    }
    let expr_node = k.raw_expr.as_deref();
    if kind == ConstraintKind::Check && columns.is_empty() {
        if let Some(e) = expr_node.and_then(|e| e.node.as_ref()) {
            columns = ast::column_refs(e);
        }
    }
    let references = (kind == ConstraintKind::ForeignKey).then(|| ForeignRef {
        table: ast::range_var(&k.pktable),
        columns: ast::strings(&k.pk_attrs),
        on_delete: fk_action(&k.fk_del_action),
        on_update: fk_action(&k.fk_upd_action),
    });
    let (name, implicit) = if k.conname.is_empty() {
        (implicit_constraint_name(table, kind, &columns), true)
    } else {
        (k.conname.clone(), false)
    };
    Some(Constraint {
        name,
        implicit_name: implicit,
        kind,
        columns,
        expression: expr_node.map(ast::expr_text),
        references,
        allowed_values: expr_node.and_then(ast::in_list_values).unwrap_or_default(),
        inline_column: column.map(str::to_string),
        not_valid: k.skip_validation,
        site: site.clone(),
        span,
        origin,
    })
}

/// The name PostgreSQL gives an unnamed constraint, with the numeric suffix
/// it adds when the name is taken.
fn implicit_constraint_name(table: &Table, kind: ConstraintKind, columns: &[String]) -> String {
    let t = &table.name.name;
    let base = match kind {
        ConstraintKind::PrimaryKey => ast::make_object_name(t, None, "pkey"),
        ConstraintKind::Unique => ast::make_object_name(t, Some(&columns.join("_")), "key"),
        ConstraintKind::ForeignKey => ast::make_object_name(t, Some(&columns.join("_")), "fkey"),
        ConstraintKind::Check => match columns.first() {
            Some(c) => ast::make_object_name(t, Some(c), "check"),
            None => ast::make_object_name(t, None, "check"),
        },
        ConstraintKind::Exclusion => ast::make_object_name(t, Some(&columns.join("_")), "excl"),
    };
    let taken = |n: &str| table.constraints.iter().any(|c| c.name == n);
    if !taken(&base) {
        return base;
    }
    (1..)
        .map(|i| format!("{base}{i}"))
        .find(|n| !taken(n))
        .unwrap_or(base)
}

// The column, its text and where it sits: each argument is a different fact.
#[allow(clippy::too_many_arguments)]
fn add_column(
    table: &mut Table,
    file: &SqlFile,
    fi: usize,
    d: &protobuf::ColumnDef,
    start: usize,
    limit: usize,
    stmt_site: &Site,
    in_alter: bool,
) {
    let (end, _) = sql::element_end(&file.text, start, limit);
    let line = file.line(start);
    let end_line = file.line(end.saturating_sub(1).max(start));
    let site = Site {
        file: fi,
        path: file.path.clone(),
        line,
        end_line,
        span: Span { start, end },
    };
    // Offsets inside the column: the statement's locations are relative
    // to its start, which is `start - d.location`.
    let base = start - d.location.max(0) as usize;
    let mut part_starts: Vec<(usize, &protobuf::Constraint)> = d
        .constraints
        .iter()
        .filter_map(|k| match &k.node {
            Some(NodeEnum::Constraint(k)) => Some((base + k.location.max(0) as usize, &**k)),
            _ => None,
        })
        .collect();
    part_starts.sort_by_key(|(s, _)| *s);
    let trim_end = |from: usize, to: usize| from + file.text[from..to].trim_end().len();
    let type_start = d
        .type_name
        .as_ref()
        .map_or(end, |t| base + t.location.max(0) as usize);
    let type_end = trim_end(
        type_start,
        part_starts.first().map_or(end, |(s, _)| *s).max(type_start),
    );
    let name_end = start
        + file.text[start..]
            .find(|c: char| c.is_whitespace())
            .unwrap_or(0);
    let mut parts = Vec::new();
    for (i, (ps, k)) in part_starts.iter().enumerate() {
        let next = part_starts.get(i + 1).map_or(end, |(s, _)| *s);
        let kind = match ConstrType::try_from(k.contype) {
            Ok(ConstrType::ConstrNotnull) => ColumnPart::NotNull,
            Ok(ConstrType::ConstrNull) => ColumnPart::Null,
            Ok(ConstrType::ConstrDefault) => ColumnPart::Default,
            Ok(ConstrType::ConstrCheck) => ColumnPart::Check,
            Ok(ConstrType::ConstrUnique) => ColumnPart::Unique,
            Ok(ConstrType::ConstrPrimary) => ColumnPart::PrimaryKey,
            Ok(ConstrType::ConstrForeign) => ColumnPart::References,
            Ok(ConstrType::ConstrGenerated) => ColumnPart::Generated,
            Ok(ConstrType::ConstrIdentity) => ColumnPart::Identity,
            _ => ColumnPart::Other,
        };
        parts.push((
            kind,
            Span {
                start: *ps,
                end: trim_end(*ps, next.max(*ps)),
            },
        ));
    }
    let mut col = Column {
        name: d.colname.clone(),
        type_name: d.type_name.as_ref().map(ast::type_name).unwrap_or_default(),
        not_null: d.is_not_null,
        default: d.raw_default.as_deref().map(ast::expr_text),
        generated: None,
        identity: None,
        inline_comment: file.trailing_comment(end_line, end).map(str::to_string),
        comment: None,
        site,
        name_span: Span {
            start,
            end: name_end.max(start),
        },
        type_span: Span {
            start: type_start,
            end: type_end,
        },
        parts: parts.clone(),
        comment_site: None,
        in_alter,
    };
    if d.type_name.as_ref().is_some_and(ast::is_serial) {
        col.not_null = true;
        col.default = Some(format!(
            "nextval('{}'::regclass)",
            ast::make_object_name(&table.name.name, Some(&d.colname), "seq")
        ));
    }
    let mut constraints = Vec::new();
    for (i, (_, k)) in part_starts.iter().enumerate() {
        match ConstrType::try_from(k.contype) {
            Ok(ConstrType::ConstrNotnull) => col.not_null = true,
            Ok(ConstrType::ConstrNull) => col.not_null = false,
            Ok(ConstrType::ConstrDefault) => {
                col.default = k.raw_expr.as_deref().map(ast::expr_text)
            }
            Ok(ConstrType::ConstrGenerated) => {
                col.generated = k.raw_expr.as_deref().map(ast::expr_text)
            }
            Ok(ConstrType::ConstrIdentity) => {
                col.not_null = true;
                col.identity = Some(
                    if k.generated_when == "a" {
                        "ALWAYS"
                    } else {
                        "BY DEFAULT"
                    }
                    .into(),
                );
            }
            Ok(ConstrType::ConstrPrimary) => {
                col.not_null = true;
                constraints.push((*k, parts[i].1));
            }
            _ => constraints.push((*k, parts[i].1)),
        }
    }
    let name = col.name.clone();
    table.columns.push(col);
    for (k, span) in constraints {
        if let Some(c) = constraint(table, k, Some(&name), stmt_site, span, Origin::Inline) {
            table.constraints.push(c);
        }
    }
}

fn alter_table(
    table: &mut Table,
    file: &SqlFile,
    fi: usize,
    stmt: &Statement,
    cmd: &protobuf::AlterTableCmd,
    site: &Site,
) {
    let Ok(sub) = AlterTableType::try_from(cmd.subtype) else {
        return;
    };
    let def = cmd.def.as_deref().and_then(|d| d.node.as_ref());
    match sub {
        AlterTableType::AtAddColumn => {
            if let Some(NodeEnum::ColumnDef(d)) = def {
                if table.column(&d.colname).is_some() {
                    return; // ADD COLUMN IF NOT EXISTS of an existing column
                }
                let start = stmt.span.start + d.location.max(0) as usize;
                add_column(table, file, fi, d, start, stmt.span.end, site, true);
            }
        }
        AlterTableType::AtDropColumn => {
            table.columns.retain(|c| c.name != cmd.name);
            table
                .constraints
                .retain(|k| !(k.columns.len() == 1 && k.columns[0] == cmd.name));
        }
        AlterTableType::AtColumnDefault => {
            if let Some(c) = table.columns.iter_mut().find(|c| c.name == cmd.name) {
                c.default = cmd.def.as_deref().map(ast::expr_text);
            }
        }
        AlterTableType::AtSetNotNull | AlterTableType::AtDropNotNull => {
            if let Some(c) = table.columns.iter_mut().find(|c| c.name == cmd.name) {
                c.not_null = sub == AlterTableType::AtSetNotNull;
            }
        }
        AlterTableType::AtAlterColumnType => {
            if let Some(NodeEnum::ColumnDef(d)) = def {
                if let Some(c) = table.columns.iter_mut().find(|c| c.name == cmd.name) {
                    if let Some(t) = &d.type_name {
                        c.type_name = ast::type_name(t);
                    }
                }
            }
        }
        AlterTableType::AtAddConstraint => {
            if let Some(NodeEnum::Constraint(k)) = def {
                if let Some(c) = constraint(table, k, None, site, stmt.span, Origin::Alter) {
                    table.constraints.retain(|x| x.name != c.name);
                    table.constraints.push(c);
                }
            }
        }
        AlterTableType::AtDropConstraint => table.constraints.retain(|k| k.name != cmd.name),
        AlterTableType::AtValidateConstraint => {
            if let Some(k) = table.constraints.iter_mut().find(|k| k.name == cmd.name) {
                k.not_valid = false;
            }
        }
        AlterTableType::AtEnableRowSecurity => {
            table.rls_enabled = true;
            table.rls_sites.push(site.clone());
        }
        AlterTableType::AtDisableRowSecurity => table.rls_enabled = false,
        AlterTableType::AtForceRowSecurity => table.rls_forced = true,
        AlterTableType::AtNoForceRowSecurity => table.rls_forced = false,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(files: &[(&str, &str)]) -> Schema {
        let parsed = files
            .iter()
            .map(|(p, t)| Arc::new(sql::parse(Path::new(p), t.to_string()).unwrap()))
            .collect();
        Schema::build(parsed)
    }

    #[test]
    fn tables_columns_and_implicit_constraint_names() {
        let s = model(&[(
            "01.sql",
            "CREATE TABLE public.shell_files (\n  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),\n  status text NOT NULL DEFAULT 'uploaded' CHECK (status IN ('uploaded', 'done')), -- lifecycle\n  owner uuid REFERENCES auth.users(id) ON DELETE CASCADE,\n  code text UNIQUE\n);\n",
        )]);
        let t = s.table(&QualName::parse("shell_files")).unwrap();
        assert_eq!(t.site.line, 1);
        let status = t.column("status").unwrap();
        assert_eq!(status.site.line, 3);
        assert_eq!(status.inline_comment.as_deref(), Some("lifecycle"));
        assert_eq!(status.default.as_deref(), Some("'uploaded'"));
        let names: Vec<&str> = t.constraints.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "shell_files_pkey",
                "shell_files_status_check",
                "shell_files_owner_fkey",
                "shell_files_code_key"
            ]
        );
        let chk = t.constraint("shell_files_status_check").unwrap();
        assert_eq!(chk.allowed_values, vec!["uploaded", "done"]);
        let fk = t.constraint("shell_files_owner_fkey").unwrap();
        assert_eq!(
            fk.references.as_ref().unwrap().on_delete.as_deref(),
            Some("CASCADE")
        );
        assert_eq!(
            &file_text(&s, &status.site),
            "status text NOT NULL DEFAULT 'uploaded' CHECK (status IN ('uploaded', 'done'))"
        );
    }

    fn file_text(s: &Schema, site: &Site) -> String {
        site.span.text(&s.files[site.file].text).to_string()
    }

    #[test]
    fn column_parts_have_spans() {
        let s = model(&[(
            "01.sql",
            "create table t (\n  id    uuid    primary key default gen_random_uuid(),\n  st text not null check (st in ('a')), -- c\n  n numeric(10, 2)\n);",
        )]);
        let t = s.table(&QualName::parse("t")).unwrap();
        let src = &s.files[0].text;
        let id = t.column("id").unwrap();
        assert_eq!(id.name_span.text(src), "id");
        assert_eq!(id.type_span.text(src), "uuid");
        let parts: Vec<&str> = id.parts.iter().map(|(_, sp)| sp.text(src)).collect();
        assert_eq!(parts, vec!["primary key", "default gen_random_uuid()"]);
        let st = t.column("st").unwrap();
        assert_eq!(st.parts[1].1.text(src), "check (st in ('a'))");
        assert_eq!(
            t.constraint("t_st_check").unwrap().span.text(src),
            "check (st in ('a'))"
        );
        assert_eq!(t.column("n").unwrap().type_span.text(src), "numeric(10, 2)");
    }

    #[test]
    fn later_alters_fold_into_the_model() {
        let s = model(&[
            ("01.sql", "create table a (id int primary key);\ncreate type st as enum ('x');\n"),
            (
                "02.sql",
                "alter table a add column b text;\nalter table a enable row level security;\nalter type st add value 'y';\nalter table a rename column b to c;\n",
            ),
        ]);
        let t = s.table(&QualName::parse("a")).unwrap();
        assert!(t.rls_enabled);
        assert_eq!(t.column("c").unwrap().site.path, Path::new("02.sql"));
        assert_eq!(t.alter_sites.len(), 3);
        let TypeKind::Enum { values } = &s.type_def(&QualName::parse("st")).unwrap().kind else {
            panic!()
        };
        assert_eq!(values, &["x", "y"]);
    }

    #[test]
    fn create_or_replace_keeps_the_latest_function() {
        let s = model(&[(
            "01.sql",
            "create function f(a int, out b int) returns int language sql as $$ select 1 $$;\ncreate or replace function f(a integer, out b int) returns int language sql as $$ select 2 $$;",
        )]);
        assert_eq!(s.functions.len(), 1);
        assert_eq!(s.functions[0].args, vec!["integer"]);
        assert_eq!(s.functions[0].site.line, 2);
        assert!(s.functions[0].body.contains("select 2"));
    }

    #[test]
    fn unknown_alter_is_reported_not_dropped() {
        let s = model(&[("01.sql", "alter table ghost add column x int;")]);
        assert_eq!(s.notes.len(), 1);
        assert_eq!(s.notes[0].code, "unknown-object");
    }
}
