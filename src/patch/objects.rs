//! Statement dispatch and the edits for objects outside a table's body:
//! tables as a whole, indexes, functions, triggers, policies, views, types,
//! comments, grants, extensions.

use super::text as tx;
use super::{Edit, Patcher, Rank};
use crate::ast::{self, QualName};
use crate::schema::{Schema, Site};
use crate::sql::Statement;
use pg_query::protobuf::{self, ObjectType};
use pg_query::NodeEnum;

type R = Result<Vec<Edit>, String>;

impl Patcher<'_> {
    /// The edits for one unit: a statement, or one command of a
    /// multi-command ALTER TABLE (`cmd`).
    pub(crate) fn unit(&mut self, model: &Schema, stmt: &Statement, cmd: Option<usize>) -> R {
        match &stmt.node {
            NodeEnum::AlterTableStmt(a)
                if ObjectType::try_from(a.objtype) == Ok(ObjectType::ObjectTable) =>
            {
                let t = ast::range_var(&a.relation);
                if model.table(&t).is_none() && a.missing_ok {
                    return Ok(Vec::new());
                }
                let i = cmd.unwrap_or(0);
                let Some(NodeEnum::AlterTableCmd(c)) = a.cmds.get(i).and_then(|c| c.node.as_ref())
                else {
                    return Ok(Vec::new());
                };
                self.alter_table_cmd(model, stmt, &t, c, a.cmds.len() == 1)
            }
            NodeEnum::CreateStmt(c) => self.create_table(model, stmt, c),
            NodeEnum::IndexStmt(i) => {
                let t = ast::range_var(&i.relation);
                if !i.idxname.is_empty()
                    && model.index(&QualName::new(&t.schema, &i.idxname)).is_some()
                {
                    return if i.if_not_exists {
                        Ok(Vec::new())
                    } else {
                        Err(format!("index {} already exists", i.idxname))
                    };
                }
                let what = format!(
                    "Added index {}",
                    if i.idxname.is_empty() {
                        "(unnamed)"
                    } else {
                        &i.idxname
                    }
                );
                let anchor = self
                    .table_anchor(model, &t, Rank::Index)
                    .ok_or_else(|| format!("table {t} is not in current_schema"))?;
                let at = self
                    .floor(model, &stmt.node)
                    .map_or(anchor, |f| f.max(anchor));
                Ok(vec![self.insert_statement_after(
                    at.0,
                    at.1,
                    &self.plain_stmt_text(stmt),
                    what,
                )])
            }
            NodeEnum::CreateFunctionStmt(f) => {
                let name = ast::qual_from_list(&f.funcname);
                let args = crate::schema::function_args(&f.parameters);
                let kind = if f.is_procedure {
                    "procedure"
                } else {
                    "function"
                };
                let sig = format!("{name}({})", args.join(", "));
                match model
                    .functions
                    .iter()
                    .find(|x| x.name == name && x.args == args)
                {
                    Some(old) => Ok(self.replace_statement(
                        &old.site,
                        &self.plain_stmt_text(stmt),
                        format!("Replaced {kind} {sig}"),
                    )),
                    None => {
                        let (file, at) = self.function_place(model, &name);
                        Ok(vec![self.insert_statement_after(
                            file,
                            at,
                            &self.plain_stmt_text(stmt),
                            format!("Added {kind} {sig}"),
                        )])
                    }
                }
            }
            NodeEnum::CreateTrigStmt(tr) => {
                let t = ast::range_var(&tr.relation);
                if let Some(old) = model
                    .triggers
                    .iter()
                    .find(|x| x.name == tr.trigname && x.table == t)
                {
                    if tr.replace {
                        return Ok(self.replace_statement(
                            &old.site,
                            &self.plain_stmt_text(stmt),
                            format!("Replaced trigger {}", tr.trigname),
                        ));
                    }
                    return Err(format!("trigger {} already exists", tr.trigname));
                }
                let anchor = self
                    .table_anchor(model, &t, Rank::Trigger)
                    .ok_or_else(|| format!("table {t} is not in current_schema"))?;
                let func = ast::qual_from_list(&tr.funcname);
                let floor = model
                    .functions_named(&func)
                    .map(|f| (f.site.file, f.site.span.end))
                    .max();
                let at = floor.map_or(anchor, |f| f.max(anchor));
                Ok(vec![self.insert_statement_after(
                    at.0,
                    at.1,
                    &self.plain_stmt_text(stmt),
                    format!("Added trigger {}", tr.trigname),
                )])
            }
            NodeEnum::CreatePolicyStmt(p) => {
                let t = ast::range_var(&p.table);
                let anchor = self
                    .table_anchor(model, &t, Rank::Policy)
                    .ok_or_else(|| format!("table {t} is not in current_schema"))?;
                let at = self
                    .floor(model, &stmt.node)
                    .map_or(anchor, |f| f.max(anchor));
                Ok(vec![self.insert_statement_after(
                    at.0,
                    at.1,
                    &self.plain_stmt_text(stmt),
                    format!("Added policy {}", p.policy_name),
                )])
            }
            NodeEnum::AlterPolicyStmt(p) => self.alter_policy(model, p),
            NodeEnum::ViewStmt(v) => {
                let name = ast::range_var(&v.view);
                match model.view(&name) {
                    Some(old) => Ok(self.replace_statement(
                        &old.site,
                        &self.plain_stmt_text(stmt),
                        format!("Replaced view {name}"),
                    )),
                    None => {
                        let at = self.after_relations(model, &stmt.node)?;
                        Ok(vec![self.insert_statement_after(
                            at.0,
                            at.1,
                            &self.plain_stmt_text(stmt),
                            format!("Added view {name}"),
                        )])
                    }
                }
            }
            NodeEnum::CreateTableAsStmt(c)
                if ObjectType::try_from(c.objtype) == Ok(ObjectType::ObjectMatview) =>
            {
                let at = self.after_relations(model, &stmt.node)?;
                Ok(vec![self.insert_statement_after(
                    at.0,
                    at.1,
                    &self.plain_stmt_text(stmt),
                    "Added materialized view".into(),
                )])
            }
            NodeEnum::CreateEnumStmt(_)
            | NodeEnum::CompositeTypeStmt(_)
            | NodeEnum::CreateDomainStmt(_)
            | NodeEnum::CreateRangeStmt(_) => {
                let (file, at) = model
                    .types
                    .iter()
                    .map(|t| (t.site.file, t.site.span.end))
                    .max()
                    .or_else(|| {
                        model
                            .extensions
                            .iter()
                            .map(|e| (e.site.file, e.site.span.end))
                            .max()
                    })
                    .unwrap_or((0, 0));
                if model.files.is_empty() {
                    return Err("current_schema has no files".into());
                }
                Ok(vec![self.insert_statement_after(
                    file,
                    at,
                    &self.plain_stmt_text(stmt),
                    "Added type".into(),
                )])
            }
            NodeEnum::AlterEnumStmt(e) => self.alter_enum(model, e),
            NodeEnum::CommentStmt(c) => self.comment(model, stmt, c),
            NodeEnum::GrantStmt(g) => {
                let at = self.grant_place(model, g)?;
                Ok(vec![self.insert_statement_after(
                    at.0,
                    at.1,
                    &self.plain_stmt_text(stmt),
                    if g.is_grant {
                        "Added grant"
                    } else {
                        "Added revoke"
                    }
                    .into(),
                )])
            }
            NodeEnum::CreateExtensionStmt(e) => {
                if model.extensions.iter().any(|x| x.name == e.extname) {
                    return Ok(Vec::new());
                }
                let (file, at) = model
                    .extensions
                    .iter()
                    .map(|x| (x.site.file, x.site.span.end))
                    .max()
                    .unwrap_or((0, 0));
                if model.files.is_empty() {
                    return Err("current_schema has no files".into());
                }
                Ok(vec![self.insert_statement_after(
                    file,
                    at,
                    &self.plain_stmt_text(stmt),
                    format!("Added extension {}", e.extname),
                )])
            }
            NodeEnum::CreateSchemaStmt(s) => {
                if model.schemas.iter().any(|x| x.name == s.schemaname) {
                    return Ok(Vec::new());
                }
                let (file, at) = model
                    .schemas
                    .iter()
                    .map(|x| (x.site.file, x.site.span.end))
                    .max()
                    .unwrap_or((0, 0));
                Ok(vec![self.insert_statement_after(
                    file,
                    at,
                    &self.plain_stmt_text(stmt),
                    format!("Added schema {}", s.schemaname),
                )])
            }
            NodeEnum::DropStmt(d) => self.drop(model, d),
            NodeEnum::RenameStmt(r) => {
                let t = ast::range_var(&r.relation);
                match ObjectType::try_from(r.rename_type) {
                    Ok(ObjectType::ObjectColumn) => {
                        self.rename_column(model, &t, &r.subname, &r.newname)
                    }
                    Ok(ObjectType::ObjectTable) => self.rename_table(model, &t, &r.newname),
                    Ok(other) => Err(format!("renaming {other:?} is not patched yet")),
                    Err(_) => Err("unknown rename".into()),
                }
            }
            NodeEnum::InsertStmt(_)
            | NodeEnum::UpdateStmt(_)
            | NodeEnum::DeleteStmt(_)
            | NodeEnum::TruncateStmt(_)
            | NodeEnum::SelectStmt(_) => {
                let summary = crate::text::one_line(stmt.text(&self.migration.text), 80);
                self.outcome.reported.push(format!(
                    "line {}: {summary} (data change: nothing to patch in current_schema)",
                    stmt.line
                ));
                Ok(Vec::new())
            }
            NodeEnum::TransactionStmt(_)
            | NodeEnum::VariableSetStmt(_)
            | NodeEnum::VariableShowStmt(_) => Ok(Vec::new()),
            // Default privileges apply to objects created after them, and an
            // event trigger fires on DDL run after it: at the very end of
            // the last file, so that the objects written before them get
            // on replay exactly what they had.
            // Default privileges taken back exactly as an earlier statement
            // gave them: that statement goes, rather than both staying.
            NodeEnum::AlterDefaultPrivilegesStmt(d)
                if self.default_privileges_site(model, d).is_some() =>
            {
                let site = self.default_privileges_site(model, d).ok_or("gone")?;
                Ok(vec![self.remove_statement(
                    &site,
                    "Removed default privileges".into(),
                )])
            }
            NodeEnum::AlterDefaultPrivilegesStmt(_) | NodeEnum::CreateEventTrigStmt(_) => {
                let what = if matches!(stmt.node, NodeEnum::CreateEventTrigStmt(_)) {
                    "Added event trigger"
                } else {
                    "Added default privileges"
                };
                let (file, at) = self.end_of_schema(model)?;
                Ok(vec![self.insert_statement_after(
                    file,
                    at,
                    &self.plain_stmt_text(stmt),
                    what.into(),
                )])
            }
            NodeEnum::CreatePublicationStmt(p) => {
                let tables = publication_tables(&p.pubobjects)?;
                let at = if p.for_all_tables || tables.is_empty() {
                    self.end_of_schema(model)?
                } else {
                    self.after_tables(model, &tables)?
                };
                Ok(vec![self.insert_statement_after(
                    at.0,
                    at.1,
                    &self.plain_stmt_text(stmt),
                    format!("Added publication {}", p.pubname),
                )])
            }
            NodeEnum::AlterPublicationStmt(p) => {
                use protobuf::AlterPublicationAction as A;
                let tables = publication_tables(&p.pubobjects)?;
                match A::try_from(p.action) {
                    Ok(A::ApAddObjects) if !tables.is_empty() => {
                        let at = self.after_tables(model, &tables)?;
                        Ok(vec![self.insert_statement_after(
                            at.0,
                            at.1,
                            &self.plain_stmt_text(stmt),
                            format!("Added to publication {}", p.pubname),
                        )])
                    }
                    // The statement that added exactly these tables goes.
                    Ok(A::ApDropObjects) if !tables.is_empty() => {
                        let site = self
                            .publication_add_site(model, &p.pubname, &tables)
                            .ok_or_else(|| {
                                format!(
                                    "no single ALTER PUBLICATION {} ADD TABLE of exactly these tables in current_schema",
                                    p.pubname
                                )
                            })?;
                        Ok(vec![self.remove_statement(
                            &site,
                            format!("Removed from publication {}", p.pubname),
                        )])
                    }
                    _ => Err("only ADD TABLE and DROP TABLE of a publication are patched".into()),
                }
            }
            NodeEnum::DoStmt(_) => Err("a DO block's effect is only known to the database".into()),
            _ => Err("this kind of statement is not patched statically".into()),
        }
    }

    /// The statement text without its `;` (insert/replace add it).
    /// The `ALTER DEFAULT PRIVILEGES` in the schema files that `d` undoes
    /// exactly (same scope, privileges and roles, the other verb).
    fn default_privileges_site(
        &self,
        model: &Schema,
        d: &protobuf::AlterDefaultPrivilegesStmt,
    ) -> Option<Site> {
        let mut inverse = d.clone();
        let a = inverse.action.as_mut()?;
        if a.grant_option {
            return None;
        }
        a.is_grant = !a.is_grant;
        let want = NodeEnum::AlterDefaultPrivilegesStmt(inverse)
            .deparse(Default::default())
            .ok()?;
        model.files.iter().enumerate().find_map(|(fi, f)| {
            f.statements.iter().find_map(|s| match &s.node {
                NodeEnum::AlterDefaultPrivilegesStmt(_)
                    if s.node.deparse(Default::default()).ok().as_deref()
                        == Some(want.as_str()) =>
                {
                    Some(Site {
                        file: fi,
                        path: f.path.clone(),
                        line: s.line,
                        end_line: s.end_line,
                        span: s.span,
                    })
                }
                _ => None,
            })
        })
    }

    /// After the last statement of the last schema file.
    fn end_of_schema(&self, model: &Schema) -> Result<(usize, usize), String> {
        let last = model
            .files
            .len()
            .checked_sub(1)
            .ok_or("current_schema has no files")?;
        Ok((
            last,
            model.files[last]
                .statements
                .last()
                .map_or(0, |s| s.span.end),
        ))
    }

    /// After everything written about each of `tables` (its grants
    /// included): where a statement naming all of them can go.
    fn after_tables(&self, model: &Schema, tables: &[QualName]) -> Result<(usize, usize), String> {
        tables
            .iter()
            .map(|t| {
                self.table_anchor(model, t, Rank::Grant)
                    .ok_or_else(|| format!("table {t} is not in current_schema"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|v| v.into_iter().max().unwrap_or((0, 0)))
    }

    /// The `ALTER PUBLICATION name ADD TABLE` in the schema files that adds
    /// exactly `tables`.
    fn publication_add_site(
        &self,
        model: &Schema,
        name: &str,
        tables: &[QualName],
    ) -> Option<Site> {
        let want: std::collections::BTreeSet<&QualName> = tables.iter().collect();
        model.files.iter().enumerate().find_map(|(fi, f)| {
            f.statements.iter().find_map(|s| match &s.node {
                NodeEnum::AlterPublicationStmt(p)
                    if p.pubname == name
                        && protobuf::AlterPublicationAction::try_from(p.action)
                            == Ok(protobuf::AlterPublicationAction::ApAddObjects) =>
                {
                    let have = publication_tables(&p.pubobjects).ok()?;
                    (have.iter().collect::<std::collections::BTreeSet<_>>() == want).then(|| Site {
                        file: fi,
                        path: f.path.clone(),
                        line: s.line,
                        end_line: s.end_line,
                        span: s.span,
                    })
                }
                _ => None,
            })
        })
    }

    fn plain_stmt_text(&self, stmt: &Statement) -> String {
        let t = self.stmt_text(stmt);
        format!("{};", t.trim_end_matches(';').trim_end())
    }

    fn create_table(&self, model: &Schema, stmt: &Statement, c: &protobuf::CreateStmt) -> R {
        let t = ast::range_var(&c.relation);
        if model.table(&t).is_some() {
            return if c.if_not_exists {
                Ok(Vec::new())
            } else {
                Err(format!("table {t} already exists"))
            };
        }
        let at = match self.after_relations(model, &stmt.node) {
            Ok(at) => at,
            Err(_) => {
                // No referenced table: next to tables sharing its prefix,
                // else at the end of the last file.
                let prefix = t.name.split('_').next().unwrap_or("");
                let near = model
                    .tables
                    .iter()
                    .filter(|x| prefix.len() > 2 && x.name.name.split('_').next() == Some(prefix))
                    .filter_map(|x| self.table_anchor(model, &x.name, Rank::Trigger))
                    .max();
                near.unwrap_or_else(|| {
                    let last = model.files.len().saturating_sub(1);
                    (
                        last,
                        model.files.get(last).map_or(0, |f| f.text.trim_end().len()),
                    )
                })
            }
        };
        Ok(vec![self.insert_statement_after(
            at.0,
            at.1,
            &self.plain_stmt_text(stmt),
            format!("Added table {t}"),
        )])
    }

    /// After every statement of the relations the statement reads or
    /// references (tables with their indexes and triggers; views).
    fn after_relations(&self, model: &Schema, node: &NodeEnum) -> Result<(usize, usize), String> {
        let mut best: Option<(usize, usize)> = None;
        for (n, _, _, _) in node.nodes() {
            if let pg_query::NodeRef::RangeVar(rv) = n {
                let q = QualName::new(&rv.schemaname, &rv.relname);
                let at = self
                    .table_anchor(model, &q, Rank::Trigger)
                    .or_else(|| model.view(&q).map(|v| (v.site.file, v.site.span.end)));
                if let Some(at) = at {
                    if best.is_none_or(|b| at > b) {
                        best = Some(at);
                    }
                }
            }
        }
        // FOREIGN KEY targets inside CREATE TABLE (the walk above does not
        // descend into column constraints).
        if let NodeEnum::CreateStmt(c) = node {
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
                            if let Some(at) = self.table_anchor(model, &q, Rank::Trigger) {
                                if best.is_none_or(|b| at > b) {
                                    best = Some(at);
                                }
                            }
                        }
                    }
                }
            }
        }
        best.ok_or_else(|| "it names no table of current_schema".into())
    }

    /// A new function goes after the last function of the file that holds
    /// functions of the same schema, else at the end of the first file.
    fn function_place(&self, model: &Schema, name: &QualName) -> (usize, usize) {
        model
            .functions
            .iter()
            .filter(|f| f.name.schema == name.schema)
            .map(|f| (f.site.file, f.site.span.end))
            .max()
            .unwrap_or_else(|| {
                (
                    0,
                    model.files.first().map_or(0, |f| f.text.trim_end().len()),
                )
            })
    }

    fn grant_place(
        &self,
        model: &Schema,
        g: &protobuf::GrantStmt,
    ) -> Result<(usize, usize), String> {
        let mut best: Option<(usize, usize)> = None;
        for o in &g.objects {
            let at = match &o.node {
                Some(NodeEnum::RangeVar(rv)) => {
                    let q = QualName::new(&rv.schemaname, &rv.relname);
                    self.table_anchor(model, &q, Rank::Grant)
                        .or_else(|| model.view(&q).map(|v| (v.site.file, v.site.span.end)))
                }
                Some(NodeEnum::ObjectWithArgs(f)) => {
                    let q = ast::qual_from_list(&f.objname);
                    let mut sites: Vec<(usize, usize)> = model
                        .functions_named(&q)
                        .map(|f| (f.site.file, f.site.span.end))
                        .collect();
                    let name = q.to_string();
                    sites.extend(
                        model
                            .grants
                            .iter()
                            .filter(|g| g.objects.contains(&name))
                            .map(|g| (g.site.file, g.site.span.end)),
                    );
                    sites.into_iter().max()
                }
                _ => None,
            };
            if let Some(at) = at {
                if best.is_none_or(|b| at > b) {
                    best = Some(at);
                }
            }
        }
        Ok(best.unwrap_or_else(|| {
            let last = model.files.len().saturating_sub(1);
            (
                last,
                model.files.get(last).map_or(0, |f| f.text.trim_end().len()),
            )
        }))
    }

    fn alter_policy(&self, model: &Schema, p: &protobuf::AlterPolicyStmt) -> R {
        let t = ast::range_var(&p.table);
        let pol = model
            .policies
            .iter()
            .find(|x| x.name == p.policy_name && x.table == t)
            .ok_or_else(|| format!("policy {} on {t} is not in current_schema", p.policy_name))?;
        let st = model.files[pol.site.file]
            .statements
            .iter()
            .find(|s| s.span == pol.site.span)
            .ok_or("policy statement not found")?;
        let NodeEnum::CreatePolicyStmt(orig) = &st.node else {
            return Err("policy is not defined by CREATE POLICY".into());
        };
        let mut new = orig.clone();
        if !p.roles.is_empty() {
            new.roles = p.roles.clone();
        }
        if p.qual.is_some() {
            new.qual = p.qual.clone();
        }
        if p.with_check.is_some() {
            new.with_check = p.with_check.clone();
        }
        let text = NodeEnum::CreatePolicyStmt(new)
            .deparse(Default::default())
            .map_err(|e| e.to_string())?;
        Ok(self.replace_statement(
            &pol.site,
            &format!("{text};"),
            format!("Altered policy {}", p.policy_name),
        ))
    }

    fn alter_enum(&self, model: &Schema, e: &protobuf::AlterEnumStmt) -> R {
        let name = ast::qual_from_list(&e.type_name);
        let td = model
            .type_def(&name)
            .ok_or_else(|| format!("type {name} is not in current_schema"))?;
        let crate::schema::TypeKind::Enum { values } = &td.kind else {
            return Err(format!("{name} is not an enum"));
        };
        let t = self.text(td.site.file);
        let region = td.site.span;
        let sub = &t[region.start..region.end];
        let tokens = pg_query::scan_tokens(sub).map_err(|e| e.to_string())?;
        // String constants of the label list, in order.
        let labels: Vec<(usize, usize)> = tokens
            .iter()
            .filter(|k| sub[k.start as usize..].starts_with('\''))
            .map(|k| {
                (
                    region.start + k.start as usize,
                    region.start + k.end as usize,
                )
            })
            .collect();
        let lit = |s: &str| format!("'{}'", s.replace('\'', "''"));
        if !e.old_val.is_empty() {
            let i = values
                .iter()
                .position(|v| *v == e.old_val)
                .ok_or("old value not found")?;
            let (s, en) = *labels.get(i).ok_or("label not found in the text")?;
            return Ok(vec![Edit::replace(
                td.site.file,
                s,
                en,
                lit(&e.new_val),
                Some(format!("Renamed value {} of {name}", e.old_val)),
            )]);
        }
        if values.contains(&e.new_val) {
            return if e.skip_if_new_val_exists {
                Ok(Vec::new())
            } else {
                Err(format!("value {} exists", e.new_val))
            };
        }
        let what = Some(format!("Added value {} to {name}", e.new_val));
        if !e.new_val_neighbor.is_empty() {
            let i = values
                .iter()
                .position(|v| *v == e.new_val_neighbor)
                .ok_or("neighbour value not found")?;
            let (s, en) = *labels.get(i).ok_or("label not found in the text")?;
            return Ok(vec![if e.new_val_is_after {
                Edit::insert(
                    td.site.file,
                    en,
                    format!(", {}", lit(&e.new_val)),
                    what.map(|w| (2, w)),
                )
            } else {
                Edit::insert(
                    td.site.file,
                    s,
                    format!("{}, ", lit(&e.new_val)),
                    what.map(|w| (0, w)),
                )
            }]);
        }
        let (_, en) = *labels.last().ok_or("the enum has no labels in its text")?;
        // Keep one label per line when the list is written that way.
        let sep = if labels.len() > 1
            && tx::line_start(t, labels[0].0) != tx::line_start(t, labels[1].0)
        {
            format!(",\n{}", tx::indent_of(t, labels[labels.len() - 1].0))
        } else {
            ", ".to_string()
        };
        Ok(vec![Edit::insert(
            td.site.file,
            en,
            format!("{sep}{}", lit(&e.new_val)),
            what.map(|w| (sep.len(), w)),
        )])
    }

    fn comment(&self, model: &Schema, stmt: &Statement, c: &protobuf::CommentStmt) -> R {
        let obj = c.object.as_deref().and_then(|o| o.node.as_ref());
        let (existing, anchor): (Option<Site>, Option<(usize, usize)>) =
            match (ObjectType::try_from(c.objtype), obj) {
                (Ok(ObjectType::ObjectTable), Some(NodeEnum::List(l))) => {
                    let t = ast::qual_from_list(&l.items);
                    (
                        model.table(&t).and_then(|x| x.comment_site.clone()),
                        self.table_anchor(model, &t, Rank::Comment),
                    )
                }
                (Ok(ObjectType::ObjectColumn), Some(NodeEnum::List(l))) => {
                    let mut parts = ast::strings(&l.items);
                    let col = parts.pop().unwrap_or_default();
                    let t = match parts.as_slice() {
                        [.., s, t] => QualName::new(s, t),
                        [t] => QualName::new("", t),
                        [] => return Err("comment on an unnamed column".into()),
                    };
                    let site = model
                        .table(&t)
                        .and_then(|x| x.column(&col))
                        .and_then(|c| c.comment_site.clone());
                    (site, self.table_anchor(model, &t, Rank::Comment))
                }
                _ => (None, None),
            };
        match (existing, anchor) {
            (Some(site), _) => Ok(self.replace_statement(
                &site,
                &self.plain_stmt_text(stmt),
                "Changed comment".into(),
            )),
            (None, Some(at)) => Ok(vec![self.insert_statement_after(
                at.0,
                at.1,
                &self.plain_stmt_text(stmt),
                "Added comment".into(),
            )]),
            (None, None) => {
                let at = self
                    .floor(model, &stmt.node)
                    .ok_or("the commented object is not in current_schema")?;
                Ok(vec![self.insert_statement_after(
                    at.0,
                    at.1,
                    &self.plain_stmt_text(stmt),
                    "Added comment".into(),
                )])
            }
        }
    }

    fn drop(&self, model: &Schema, d: &protobuf::DropStmt) -> R {
        use crate::schema::Dropped;
        let mut edits = Vec::new();
        for target in crate::schema::drop_targets(d) {
            let label = target.label();
            if let Dropped::Other(kind) = &target {
                return Err(format!("DROP {kind} is not patched statically"));
            }
            let mut sites = model.sites_of(&target);
            if sites.is_empty() {
                if d.missing_ok {
                    continue;
                }
                return Err(format!("{label} is not in current_schema"));
            }
            // PostgreSQL drops a table's indexes, triggers, policies,
            // comments and grants with it; the text must lose them too.
            if let Dropped::Table(t) = &target {
                let table = model.table(t).ok_or("table not found")?;
                sites.extend(
                    table
                        .alter_sites
                        .iter()
                        .filter(|s| s.span != table.site.span)
                        .cloned(),
                );
                sites.extend(table.rls_sites.iter().cloned());
                sites.extend(table.comment_site.iter().cloned());
                sites.extend(table.columns.iter().filter_map(|c| c.comment_site.clone()));
                sites.extend(
                    model
                        .indexes
                        .iter()
                        .filter(|i| i.table == *t)
                        .map(|i| i.site.clone()),
                );
                sites.extend(
                    model
                        .triggers
                        .iter()
                        .filter(|x| x.table == *t)
                        .map(|x| x.site.clone()),
                );
                sites.extend(
                    model
                        .policies
                        .iter()
                        .filter(|x| x.table == *t)
                        .map(|x| x.site.clone()),
                );
                let name = t.to_string();
                sites.extend(
                    model
                        .grants
                        .iter()
                        .filter(|g| g.objects == [name.clone()])
                        .map(|g| g.site.clone()),
                );
            }
            sites.sort_by_key(|s| (s.file, s.span.start));
            sites.dedup_by(|a, b| a.file == b.file && a.span == b.span);
            for (i, s) in sites.iter().enumerate() {
                let mut e = self.remove_statement(s, format!("Dropped {label}"));
                if i > 0 {
                    e.anchor = None;
                }
                edits.push(e);
            }
        }
        edits.sort_by_key(|e| (e.file, e.start));
        edits.dedup_by(|a, b| a.file == b.file && a.start == b.start);
        Ok(edits)
    }
}

/// The tables of a publication's object list; `TABLES IN SCHEMA` is not
/// followed (it names no table).
fn publication_tables(objects: &[protobuf::Node]) -> Result<Vec<QualName>, String> {
    let mut v = Vec::new();
    for o in objects {
        let Some(NodeEnum::PublicationObjSpec(spec)) = &o.node else {
            continue;
        };
        match spec.pubtable.as_ref().and_then(|t| t.relation.as_ref()) {
            Some(rv) => v.push(QualName::new(&rv.schemaname, &rv.relname)),
            None => return Err("publications of whole schemas are not patched".into()),
        }
    }
    Ok(v)
}
