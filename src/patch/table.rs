//! Edits inside a table: columns, inline and table constraints, RLS,
//! renames. Table elements are edited where they stand, with the commas
//! between them kept right.

use super::text as tx;
use super::{Edit, Patcher, Rank};
use crate::analysis::qident;
use crate::ast::QualName;
use crate::schema::{ColumnPart, Origin, Schema, Table};
use crate::sql::{self, Span, Statement};
use pg_query::protobuf::{self, AlterTableType};
use pg_query::NodeEnum;

type R = Result<Vec<Edit>, String>;

/// Spans of the elements of a CREATE TABLE (columns and table
/// constraints), in order.
fn elements(t: &Table) -> Vec<Span> {
    let mut v: Vec<Span> = t
        .columns
        .iter()
        .filter(|c| !c.in_alter)
        .map(|c| c.site.span)
        .collect();
    v.extend(
        t.constraints
            .iter()
            .filter(|k| k.origin == Origin::TableElement)
            .map(|k| k.span),
    );
    v.sort_by_key(|s| s.start);
    v
}

impl Patcher<'_> {
    fn table<'m>(&self, model: &'m Schema, t: &QualName) -> Result<&'m Table, String> {
        model
            .table(t)
            .ok_or_else(|| format!("table {t} is not in current_schema"))
    }

    /// Insert a new element after the last element of the CREATE TABLE.
    fn add_element(&self, table: &Table, def: &str, what: String) -> R {
        let file = table.site.file;
        let t = self.text(file);
        let elems = elements(table);
        let last = elems
            .last()
            .ok_or("the CREATE TABLE has no elements to add after")?;
        let (last_end, delim) = sql::element_end(t, last.start, table.site.span.end);
        let indent = tx::indent_of(t, last.start).to_string();
        if t.as_bytes().get(delim) == Some(&b',') {
            // Not the last element: cannot happen for the computed last.
            return Err("unexpected table layout".into());
        }
        let same_line = tx::line_start(t, delim) <= last_end;
        // `integer   -- note` becomes `integer,  -- note`: the comma takes a
        // blank's place so that aligned comments stay aligned.
        let blanks = t.as_bytes().get(last_end..last_end + 2) == Some(b"  ");
        if same_line {
            return Ok(vec![Edit::insert(
                file,
                last_end,
                format!(", {def}"),
                Some((2, what)),
            )]);
        }
        let at = tx::line_end(t, last_end);
        let note = self.note_line(&indent);
        let new_lines = format!("\n{note}{indent}{def}");
        let anchor = Some((1 + note.len(), what));
        if at == last_end {
            // Nothing after the element on its line: one edit, so the comma
            // and the new line cannot trade places.
            return Ok(vec![Edit::insert(
                file,
                at,
                format!(",{new_lines}"),
                anchor.map(|(o, w)| (o + 1, w)),
            )]);
        }
        Ok(vec![
            Edit::replace(
                file,
                last_end,
                last_end + usize::from(blanks),
                ",".into(),
                None,
            ),
            Edit::insert(file, at, new_lines, anchor),
        ])
    }

    /// A new column follows the last column, before any table constraint.
    fn add_column_text(&self, table: &Table, def: &str, what: String) -> R {
        let file = table.site.file;
        let t = self.text(file);
        let Some(last) = table.columns.iter().rfind(|c| !c.in_alter) else {
            return self.add_element(table, def, what);
        };
        let (_, delim) = sql::element_end(t, last.site.span.start, table.site.span.end);
        if t.as_bytes().get(delim) != Some(&b',') {
            return self.add_element(table, def, what);
        }
        // `last_col ...,  -- comment` then constraints: the new column goes
        // on its own line after the last column's, with its own comma.
        let next = elements(table).into_iter().find(|e| e.start > delim);
        if next.is_some_and(|n| tx::line_start(t, n.start) <= delim) {
            return self.add_element(table, def, what);
        }
        let indent = tx::indent_of(t, last.site.span.start).to_string();
        let at = tx::line_end(t, delim);
        let note = self.note_line(&indent);
        Ok(vec![Edit::insert(
            file,
            at,
            format!("\n{note}{indent}{def},"),
            Some((1 + note.len(), what)),
        )])
    }

    /// Remove one element of a CREATE TABLE with the comma that separated
    /// it, whole lines when it stands on its own lines.
    pub(crate) fn remove_element(&self, table: &Table, span: Span, what: String) -> R {
        let file = table.site.file;
        let t = self.text(file);
        let elems = elements(table);
        let pos = elems
            .iter()
            .position(|e| e.start == span.start)
            .ok_or("element not found in its CREATE TABLE")?;
        let (tok_end, delim) = sql::element_end(t, span.start, table.site.span.end);
        let is_last = t.as_bytes().get(delim) != Some(&b',');
        let ls = tx::line_start(t, span.start);
        let alone = t[ls..span.start].trim().is_empty();
        let mut edits = Vec::new();
        if !is_last {
            // `elem,  -- note` : the element, its comma, its comment.
            let le = tx::line_end(t, delim);
            let next_starts_line = elems
                .get(pos + 1)
                .is_some_and(|n| tx::line_start(t, n.start) > delim);
            if alone && next_starts_line {
                edits.push(Edit::replace(
                    file,
                    ls,
                    (le + 1).min(t.len()),
                    String::new(),
                    Some(what),
                ));
            } else {
                let mut e = delim + 1;
                while t.as_bytes().get(e).is_some_and(|b| *b == b' ') {
                    e += 1;
                }
                edits.push(Edit::replace(
                    file,
                    span.start,
                    e,
                    String::new(),
                    Some(what),
                ));
            }
        } else {
            let prev = pos
                .checked_sub(1)
                .map(|i| elems[i])
                .ok_or("cannot remove the only element of a table")?;
            let (_, prev_comma) = sql::element_end(t, prev.start, table.site.span.end);
            let le = tx::line_end(t, tok_end);
            let delim_on_line = tx::line_start(t, delim) == ls || delim < le;
            if alone && !delim_on_line {
                edits.push(Edit::replace(
                    file,
                    ls,
                    (le + 1).min(t.len()),
                    String::new(),
                    Some(what),
                ));
            } else {
                edits.push(Edit::replace(
                    file,
                    prev_comma,
                    tok_end,
                    String::new(),
                    Some(what),
                ));
                return Ok(edits);
            }
            // Keep aligned comments aligned: a blank takes the comma's place
            // when a comment follows on its line.
            let rest = &t[prev_comma + 1..tx::line_end(t, prev_comma)];
            let filler = if rest.trim_start().starts_with("--") && rest.starts_with(' ') {
                " "
            } else {
                ""
            };
            edits.push(Edit::replace(
                file,
                prev_comma,
                prev_comma + 1,
                filler.into(),
                None,
            ));
        }
        Ok(edits)
    }

    /// Remove an inline clause (with the blank before it).
    fn remove_part(&self, file: usize, span: Span, what: String) -> Edit {
        let t = self.text(file);
        let b = t.as_bytes();
        let mut e = span.end;
        while e < b.len() && matches!(b[e], b' ' | b'\t') {
            e += 1;
        }
        let next_is_clause = e < b.len()
            && !matches!(b[e], b'\n' | b'\r' | b',' | b')')
            && !t[e..].starts_with("--");
        if next_is_clause {
            // `uuid  NOT NULL REFERENCES ...`: the clause and the blanks after
            // it go, so what follows keeps its column.
            return Edit::replace(file, span.start, e, String::new(), Some(what));
        }
        // Last on its line: back to the end of the previous token; a clause
        // on a continuation line takes its line break with it.
        let mut s = span.start;
        while s > 0 && b[s - 1].is_ascii_whitespace() {
            s -= 1;
        }
        Edit::replace(file, s, span.end, String::new(), Some(what))
    }

    /// Replace `start..end` with `new`, keeping whatever follows on the line
    /// in its column when blanks allow (aligned column lists).
    pub(crate) fn aligned_replace(
        &self,
        file: usize,
        start: usize,
        end: usize,
        new: &str,
        what: Option<String>,
    ) -> Edit {
        let t = self.text(file);
        let old_len = t[start..end].chars().count();
        let new_len = new.chars().count();
        let blanks = t[end..].bytes().take_while(|c| *c == b' ').count();
        let followed = t[end + blanks..]
            .chars()
            .next()
            .is_some_and(|c| c != '\n' && c != '\r');
        if followed && blanks >= 1 {
            if new_len < old_len {
                return Edit::replace(
                    file,
                    start,
                    end,
                    format!("{new}{}", " ".repeat(old_len - new_len)),
                    what,
                );
            }
            let extra = new_len - old_len;
            if blanks > extra {
                return Edit::replace(file, start, end + extra, new.to_string(), what);
            }
        }
        Edit::replace(file, start, end, new.to_string(), what)
    }

    /// Source text of a node of the migration statement, from its location
    /// to the end of its element (the next top-level comma or paren).
    fn node_text(&self, stmt: &Statement, location: i32) -> String {
        let start = stmt.span.start + location.max(0) as usize;
        let (end, _) = sql::element_end(&self.migration.text, start, stmt.span.end);
        self.migration.text[start..end.max(start)].to_string()
    }

    pub fn alter_table_cmd(
        &self,
        model: &Schema,
        stmt: &Statement,
        t: &QualName,
        cmd: &protobuf::AlterTableCmd,
        single: bool,
    ) -> R {
        let sub = AlterTableType::try_from(cmd.subtype).unwrap_or(AlterTableType::Undefined);
        let def = cmd.def.as_deref().and_then(|d| d.node.as_ref());
        let table = self.table(model, t)?;
        let file = table.site.file;
        let col = table.column(&cmd.name);
        let need_col =
            || col.ok_or_else(|| format!("column {t}.{} is not in current_schema", cmd.name));
        match sub {
            AlterTableType::AtAddColumn => {
                let Some(NodeEnum::ColumnDef(d)) = def else {
                    return Err("ADD COLUMN without a definition".into());
                };
                if table.column(&d.colname).is_some() {
                    return if cmd.missing_ok {
                        Ok(Vec::new())
                    } else {
                        Err(format!("column {} already exists", d.colname))
                    };
                }
                let mut text = self.node_text(stmt, d.location);
                // Align the type with the neighbours' when they are aligned:
                // the type column most of the aligned columns use.
                let mut widths: Vec<usize> = table
                    .columns
                    .iter()
                    .filter(|c| !c.in_alter && c.type_span.start > c.name_span.end + 1)
                    .map(|c| c.type_span.start - c.name_span.start)
                    .collect();
                widths.sort_unstable();
                let width = widths
                    .chunk_by(|a, b| a == b)
                    .max_by_key(|run| run.len())
                    .map(|run| run[0]);
                let name_len = text.find(char::is_whitespace).unwrap_or(text.len());
                if let Some(width) = width.filter(|w| *w > name_len) {
                    let rest = text[name_len..].trim_start().to_string();
                    text = format!(
                        "{}{}{rest}",
                        &text[..name_len],
                        " ".repeat(width - name_len)
                    );
                }
                self.add_column_text(table, &text, format!("Added column {}", d.colname))
            }
            AlterTableType::AtDropColumn => {
                let Some(c) = col else {
                    return if cmd.missing_ok {
                        Ok(Vec::new())
                    } else {
                        Err(format!("column {t}.{} is not in current_schema", cmd.name))
                    };
                };
                let mut edits = if c.in_alter {
                    let owner = self.owning_alter(model, c.site.file, c.site.span)?;
                    vec![self.remove_statement(&owner, format!("Dropped column {}", c.name))]
                } else {
                    self.remove_element(table, c.site.span, format!("Dropped column {}", c.name))?
                };
                // What PostgreSQL drops with the column.
                if let Some(s) = &c.comment_site {
                    edits.push(self.remove_statement(s, format!("Dropped comment on {}", c.name)));
                }
                for i in model
                    .indexes
                    .iter()
                    .filter(|i| &i.table == t && i.columns.contains(&c.name))
                {
                    edits.push(self.remove_statement(
                        &i.site,
                        format!("Dropped index {} (with column {})", i.name, c.name),
                    ));
                }
                Ok(edits)
            }
            AlterTableType::AtAlterColumnType => {
                let c = need_col()?;
                let Some(NodeEnum::ColumnDef(d)) = def else {
                    return Err("TYPE without a type".into());
                };
                let tn = d.type_name.as_ref().ok_or("TYPE without a type")?;
                let raw = self.node_text(stmt, tn.location);
                let cut = ["using", "collate"]
                    .iter()
                    .filter_map(|k| find_keyword(&raw, k))
                    .min()
                    .unwrap_or(raw.len());
                let new = raw[..cut].trim().to_string();
                Ok(vec![self.aligned_replace(
                    c.site.file,
                    c.type_span.start,
                    c.type_span.end,
                    &new,
                    Some(format!("Changed type of {} to {new}", c.name)),
                )])
            }
            AlterTableType::AtColumnDefault => {
                let c = need_col()?;
                let existing = c
                    .parts
                    .iter()
                    .find(|(k, _)| *k == ColumnPart::Default)
                    .map(|(_, s)| *s);
                match cmd.def.as_deref() {
                    Some(expr) => {
                        let loc =
                            expr_location(expr).ok_or("cannot locate the default expression")?;
                        let new = format!("DEFAULT {}", self.node_text(stmt, loc).trim());
                        let what = format!("Set default of {}", c.name);
                        Ok(vec![match existing {
                            Some(s) => Edit::replace(c.site.file, s.start, s.end, new, Some(what)),
                            None => Edit::insert(
                                c.site.file,
                                c.type_span.end,
                                format!(" {new}"),
                                Some((1, what)),
                            ),
                        }])
                    }
                    None => Ok(existing
                        .map(|s| {
                            vec![self.remove_part(
                                c.site.file,
                                s,
                                format!("Dropped default of {}", c.name),
                            )]
                        })
                        .unwrap_or_default()),
                }
            }
            AlterTableType::AtSetNotNull => {
                let c = need_col()?;
                if c.not_null {
                    return Ok(Vec::new());
                }
                let what = format!("Set NOT NULL on {}", c.name);
                Ok(vec![
                    match c.parts.iter().find(|(k, _)| *k == ColumnPart::Null) {
                        Some((_, s)) => Edit::replace(
                            c.site.file,
                            s.start,
                            s.end,
                            "NOT NULL".into(),
                            Some(what),
                        ),
                        None => Edit::insert(
                            c.site.file,
                            c.type_span.end,
                            " NOT NULL".into(),
                            Some((1, what)),
                        ),
                    },
                ])
            }
            AlterTableType::AtDropNotNull => {
                let c = need_col()?;
                Ok(c.parts
                    .iter()
                    .filter(|(k, _)| *k == ColumnPart::NotNull)
                    .map(|(_, s)| {
                        self.remove_part(c.site.file, *s, format!("Dropped NOT NULL on {}", c.name))
                    })
                    .collect())
            }
            AlterTableType::AtAddConstraint => {
                let Some(NodeEnum::Constraint(k)) = def else {
                    return Err("ADD CONSTRAINT without a definition".into());
                };
                if !k.indexname.is_empty() {
                    return Err("ADD CONSTRAINT ... USING INDEX has no CREATE TABLE form".into());
                }
                let text = self.node_text(stmt, k.location);
                let name = if k.conname.is_empty() {
                    "constraint".to_string()
                } else {
                    k.conname.clone()
                };
                if k.skip_validation {
                    // NOT VALID exists only in ALTER TABLE: keep it one.
                    let body = format!("ALTER TABLE {} ADD {}", qident(t), text.trim());
                    let (f, at) = self
                        .table_anchor(model, t, Rank::Table)
                        .ok_or("no place for the constraint")?;
                    return Ok(vec![self.insert_statement_after(
                        f,
                        at,
                        &format!("{body};"),
                        format!("Added constraint {name} (NOT VALID)"),
                    )]);
                }
                self.add_element(table, text.trim(), format!("Added constraint {name}"))
            }
            AlterTableType::AtDropConstraint => {
                let Some(k) = table.constraint(&cmd.name) else {
                    return if cmd.missing_ok {
                        Ok(Vec::new())
                    } else {
                        Err(format!("constraint {} is not in current_schema", cmd.name))
                    };
                };
                let what = format!("Dropped constraint {}", k.name);
                match k.origin {
                    Origin::Inline => {
                        let c = k
                            .inline_column
                            .as_ref()
                            .and_then(|n| table.column(n))
                            .ok_or("inline constraint without its column")?;
                        let keeps_not_null = k.kind == crate::schema::ConstraintKind::PrimaryKey
                            && !c.parts.iter().any(|(p, _)| *p == ColumnPart::NotNull);
                        if keeps_not_null {
                            // PostgreSQL keeps NOT NULL when a primary key goes.
                            Ok(vec![Edit::replace(
                                c.site.file,
                                k.span.start,
                                k.span.end,
                                "NOT NULL".into(),
                                Some(what),
                            )])
                        } else {
                            Ok(vec![self.remove_part(c.site.file, k.span, what)])
                        }
                    }
                    Origin::TableElement => {
                        let mut edits = self.remove_element(table, k.span, what)?;
                        if k.kind == crate::schema::ConstraintKind::PrimaryKey {
                            for name in &k.columns {
                                if let Some(c) = table.column(name) {
                                    if !c.parts.iter().any(|(p, _)| {
                                        matches!(p, ColumnPart::NotNull | ColumnPart::PrimaryKey)
                                    }) {
                                        edits.push(Edit::insert(
                                            c.site.file,
                                            c.type_span.end,
                                            " NOT NULL".into(),
                                            None,
                                        ));
                                    }
                                }
                            }
                        }
                        Ok(edits)
                    }
                    Origin::Alter => {
                        let owner = self.owning_alter(model, k.site.file, k.span)?;
                        Ok(vec![self.remove_statement(&owner, what)])
                    }
                }
            }
            AlterTableType::AtValidateConstraint => {
                let Some(k) = table.constraint(&cmd.name) else {
                    return Err(format!("constraint {} is not in current_schema", cmd.name));
                };
                if !k.not_valid || k.origin != Origin::Alter {
                    return Ok(Vec::new());
                }
                let t2 = self.text(k.site.file);
                let region = &t2[k.span.start..k.span.end];
                let pos = find_keyword(region, "not valid").ok_or("NOT VALID not found")?;
                let mut s = k.span.start + pos;
                while s > 0 && t2.as_bytes()[s - 1] == b' ' {
                    s -= 1;
                }
                Ok(vec![Edit::replace(
                    k.site.file,
                    s,
                    k.span.start + pos + "not valid".len(),
                    String::new(),
                    Some(format!("Validated constraint {}", k.name)),
                )])
            }
            AlterTableType::AtEnableRowSecurity | AlterTableType::AtForceRowSecurity => {
                let force = sub == AlterTableType::AtForceRowSecurity;
                if (!force && table.rls_enabled) || (force && table.rls_forced) {
                    return Ok(Vec::new());
                }
                let what = if force { "FORCE" } else { "ENABLE" };
                let (f, at) = self
                    .table_anchor(model, t, Rank::Rls)
                    .ok_or("no place for the RLS statement")?;
                Ok(vec![self.insert_statement_after(
                    f,
                    at,
                    &format!("ALTER TABLE {} {what} ROW LEVEL SECURITY;", qident(t)),
                    format!(
                        "{} row level security on {t}",
                        if force { "Forced" } else { "Enabled" }
                    ),
                )])
            }
            AlterTableType::AtDisableRowSecurity => {
                let mut edits = Vec::new();
                for s in &table.rls_sites {
                    self.owning_alter(model, s.file, s.span)?;
                    edits.push(
                        self.remove_statement(s, format!("Disabled row level security on {t}")),
                    );
                }
                Ok(edits)
            }
            _ if single => {
                // Anything else (storage options, owner, replica identity,
                // trigger switches): the statement itself, after the table.
                let _ = file;
                let (f, at) = self
                    .table_anchor(model, t, Rank::Table)
                    .ok_or("no place for the statement")?;
                Ok(vec![self.insert_statement_after(
                    f,
                    at,
                    &self.stmt_text(stmt),
                    format!("ALTER TABLE {t} ({sub:?})"),
                )])
            }
            _ => Err(format!("{sub:?} inside a multi-command ALTER TABLE")),
        }
    }

    /// The single-command ALTER TABLE statement in the schema files that
    /// holds `span` (a column or constraint it added).
    fn owning_alter(
        &self,
        model: &Schema,
        file: usize,
        span: Span,
    ) -> Result<crate::schema::Site, String> {
        let f = &model.files[file];
        let st = f
            .statements
            .iter()
            .find(|s| s.span.start <= span.start && span.end <= s.span.end)
            .ok_or("defining statement not found")?;
        match &st.node {
            NodeEnum::AlterTableStmt(a) if a.cmds.len() == 1 => Ok(crate::schema::Site {
                file,
                path: f.path.clone(),
                line: st.line,
                end_line: st.end_line,
                span: st.span,
            }),
            _ => Err("it is defined inside a multi-command ALTER TABLE in current_schema".into()),
        }
    }

    /// RENAME COLUMN: the column's name, and the places in the table's own
    /// statements that name it (constraints, indexes, policies, comments,
    /// foreign keys of other tables pointing at it).
    pub fn rename_column(&self, model: &Schema, t: &QualName, old: &str, new: &str) -> R {
        let table = self.table(model, t)?;
        let c = table
            .column(old)
            .ok_or_else(|| format!("column {t}.{old} is not in current_schema"))?;
        let what = format!("Renamed column {old} to {new}");
        let mut edits = vec![self.aligned_replace(
            c.site.file,
            c.name_span.start,
            c.name_span.end,
            &ast_ident(new),
            Some(what),
        )];
        let mut regions: Vec<(usize, Span)> = Vec::new();
        for k in &table.constraints {
            if k.columns.iter().any(|x| x == old)
                || k.expression.as_deref().is_some_and(|e| e.contains(old))
            {
                regions.push((k.site.file, k.span));
            }
        }
        for i in model.indexes.iter().filter(|i| &i.table == t) {
            if let Some(p) = self.text(i.site.file)[i.site.span.start..i.site.span.end].find('(') {
                regions.push((
                    i.site.file,
                    Span {
                        start: i.site.span.start + p,
                        end: i.site.span.end,
                    },
                ));
            }
        }
        for p in model.policies.iter().filter(|p| &p.table == t) {
            let txt = &self.text(p.site.file)[p.site.span.start..p.site.span.end];
            if let Some(u) = find_keyword(txt, "using").or_else(|| find_keyword(txt, "with check"))
            {
                regions.push((
                    p.site.file,
                    Span {
                        start: p.site.span.start + u,
                        end: p.site.span.end,
                    },
                ));
            }
        }
        if let Some(s) = &c.comment_site {
            regions.push((s.file, s.span));
        }
        for other in &model.tables {
            for k in &other.constraints {
                if k.references
                    .as_ref()
                    .is_some_and(|r| &r.table == t && r.columns.iter().any(|x| x == old))
                {
                    let txt = &self.text(k.site.file)[k.span.start..k.span.end];
                    if let Some(r) = find_keyword(txt, "references") {
                        regions.push((
                            k.site.file,
                            Span {
                                start: k.span.start + r,
                                end: k.span.end,
                            },
                        ));
                    }
                }
            }
        }
        regions.sort_by_key(|(f, s)| (*f, s.start));
        regions.dedup();
        for (f, region) in regions {
            for tok in tx::ident_tokens(self.text(f), region, old) {
                if tok != c.name_span {
                    edits.push(Edit::replace(f, tok.start, tok.end, ast_ident(new), None));
                }
            }
        }
        for v in model.views.iter().filter(|v| v.reads.contains(t)) {
            edits.extend(self.rename_in_view(model, v, t, old, new)?);
        }
        edits.extend(self.keep_constraint_names(table, |k| {
            k.columns.iter().any(|x| x == old)
                || k.expression.as_deref().is_some_and(|e| {
                    !sql::ident_tokens(
                        e,
                        Span {
                            start: 0,
                            end: e.len(),
                        },
                        old,
                    )
                    .is_empty()
                })
        }));
        dedup_edits(&mut edits);
        Ok(edits)
    }

    /// RENAME COLUMN in a view that reads the table. PostgreSQL follows the
    /// column by number and keeps the view's own column name, showing the
    /// view as `SELECT t.new AS old`; the text does the same: every
    /// reference to the column becomes `new`, and a bare one in a select
    /// list `new AS old`. What cannot be followed by name (`*`, `USING`, an
    /// unqualified name another relation of the query may own) stops the
    /// patch for a hand edit rather than guess.
    fn rename_in_view(
        &self,
        model: &Schema,
        v: &crate::schema::View,
        t: &QualName,
        old: &str,
        new: &str,
    ) -> R {
        let f = &model.files[v.site.file];
        let st = f
            .statements
            .iter()
            .find(|s| s.span == v.site.span)
            .ok_or("the view's statement was not found")?;
        // Each says what to change in current_schema first (it still
        // replays before the rename), so that the next finalize can follow.
        let cannot = |how: &str, fix: &str| {
            format!(
                "view {} uses {t}.{old} {how}, which touchpoint cannot follow by name: {fix} in current_schema, then finalize again",
                v.name
            )
        };
        // The relations of the query (not the view's own name), with
        // their aliases; the bare select-list references; the references
        // to a column named `old` with their qualifiers.
        let mut rels: Vec<(QualName, Option<String>)> = Vec::new();
        let mut bare: Vec<i32> = Vec::new();
        let mut refs: Vec<(i32, Vec<String>)> = Vec::new();
        for (n, _, _, _) in st.node.nodes() {
            match n {
                pg_query::NodeRef::RangeVar(rv) => {
                    let q = QualName::new(&rv.schemaname, &rv.relname);
                    if q != v.name {
                        rels.push((q, rv.alias.as_ref().map(|a| a.aliasname.clone())));
                    }
                }
                pg_query::NodeRef::ResTarget(rt) if rt.name.is_empty() => {
                    if let Some(NodeEnum::ColumnRef(cr)) =
                        rt.val.as_ref().and_then(|x| x.node.as_ref())
                    {
                        bare.push(cr.location);
                    }
                }
                pg_query::NodeRef::JoinExpr(j) => {
                    let using_old = j
                        .using_clause
                        .iter()
                        .any(|u| matches!(&u.node, Some(NodeEnum::String(s)) if s.sval == old));
                    if using_old {
                        return Err(cannot("in JOIN ... USING", "write that join with ON"));
                    }
                }
                pg_query::NodeRef::ColumnRef(cr) => {
                    let mut names: Vec<Option<String>> = cr
                        .fields
                        .iter()
                        .map(|x| match &x.node {
                            Some(NodeEnum::String(s)) => Some(s.sval.clone()),
                            _ => None,
                        })
                        .collect();
                    match names.pop() {
                        Some(None) => refs.push((-1, names.into_iter().flatten().collect())),
                        Some(Some(last)) if last == old => {
                            refs.push((cr.location, names.into_iter().flatten().collect()))
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        let is_t = |q: &[String]| match q {
            [] => None,
            [x] => Some(rels.iter().any(|(r, a)| {
                r == t && (a.as_deref() == Some(x.as_str()) || (a.is_none() && &r.name == x))
            })),
            [s, x] => Some(&t.schema == s && &t.name == x),
            _ => Some(false),
        };
        let mut edits = Vec::new();
        for (loc, qual) in refs {
            // `*` (location -1 here): the view's columns were expanded at
            // creation and keep the old name; `*` in the text would not.
            if loc < 0 {
                if is_t(&qual) != Some(false) {
                    return Err(cannot("through *", "list the view's columns instead of *"));
                }
                continue;
            }
            let ours = match is_t(&qual) {
                Some(b) => b,
                // Unqualified: ours only when no other relation of the
                // query can have a column of that name.
                None => {
                    let others_may = rels.iter().any(|(r, _)| {
                        r != t && model.table(r).is_none_or(|o| o.column(old).is_some())
                    });
                    if others_may {
                        return Err(cannot(
                            "unqualified next to other relations",
                            "qualify the column with its table",
                        ));
                    }
                    true
                }
            };
            if !ours {
                continue;
            }
            let from = Span {
                start: st.span.start + loc as usize,
                end: st.span.end,
            };
            let tok = tx::ident_tokens(&f.text, from, old)
                .into_iter()
                .next()
                .ok_or_else(|| cannot("in a form", "write the reference as a plain column name"))?;
            let text = if bare.contains(&loc) {
                format!("{} AS {}", ast_ident(new), ast_ident(old))
            } else {
                ast_ident(new)
            };
            edits.push(Edit::replace(v.site.file, tok.start, tok.end, text, None));
        }
        // The header lists the view once, at its first changed line.
        if let Some(first) = edits.iter_mut().min_by_key(|e| e.start) {
            first.anchor = Some((
                0,
                format!("View {} follows the renamed column {old} -> {new}", v.name),
            ));
        }
        Ok(edits)
    }

    /// RENAME TABLE: the name in its CREATE TABLE and wherever the schema
    /// files refer to the relation (PostgreSQL follows by OID; the text
    /// must follow by name). Function bodies are left alone, as PostgreSQL
    /// leaves them.
    pub fn rename_table(&self, model: &Schema, t: &QualName, new: &str) -> R {
        self.table(model, t)?;
        let mut edits = Vec::new();
        for (fi, f) in model.files.iter().enumerate() {
            for st in &f.statements {
                if matches!(st.node, NodeEnum::CreateFunctionStmt(_)) {
                    continue;
                }
                // The exhaustive walk serializes the tree: only for the
                // statements whose text can name the table at all.
                let named = st
                    .text(&f.text)
                    .to_ascii_lowercase()
                    .contains(&t.name.to_ascii_lowercase());
                let rels = if named {
                    crate::ast::all_range_vars(&st.node)
                } else {
                    Vec::new()
                };
                for (_, location) in rels.into_iter().filter(|(q, _)| q == t) {
                    let from = Span {
                        start: st.span.start + location.max(0) as usize,
                        end: st.span.end,
                    };
                    if let Some(tok) = tx::ident_tokens(&f.text, from, &t.name).into_iter().next() {
                        edits.push(Edit::replace(fi, tok.start, tok.end, ast_ident(new), None));
                    }
                }
                if let NodeEnum::CommentStmt(_) = &st.node {
                    if model.table(t).is_some_and(|tb| {
                        tb.comment_site.as_ref().is_some_and(|s| s.span == st.span)
                            || tb
                                .columns
                                .iter()
                                .any(|c| c.comment_site.as_ref().is_some_and(|s| s.span == st.span))
                    }) {
                        if let Some(tok) = tx::ident_tokens(&f.text, st.span, &t.name)
                            .into_iter()
                            .next()
                        {
                            edits.push(Edit::replace(fi, tok.start, tok.end, ast_ident(new), None));
                        }
                    }
                }
            }
        }
        if let Some(first) = edits.iter_mut().min_by_key(|e| (e.file, e.start)) {
            first.anchor = Some((0, format!("Renamed table {t} to {new}")));
        }
        let table = self.table(model, t)?;
        edits.extend(self.keep_constraint_names(table, |_| true));
        dedup_edits(&mut edits);
        Ok(edits)
    }

    /// PostgreSQL keeps the names it chose for unnamed constraints (and
    /// their indexes) when the table or a column they were named after is
    /// renamed; the text would choose new ones on replay. Write the kept
    /// names out, for the constraints `which` picks.
    fn keep_constraint_names(
        &self,
        table: &Table,
        which: impl Fn(&crate::schema::Constraint) -> bool,
    ) -> Vec<Edit> {
        table
            .constraints
            .iter()
            .filter(|k| k.implicit_name && k.origin != Origin::Alter && which(k))
            .filter(|k| {
                !self.text(k.site.file)[k.span.start..k.span.end]
                    .trim_start()
                    .to_ascii_uppercase()
                    .starts_with("CONSTRAINT")
            })
            .map(|k| {
                Edit::insert(
                    k.site.file,
                    k.span.start,
                    format!("CONSTRAINT {} ", ast_ident(&k.name)),
                    None,
                )
            })
            .collect()
    }
}

fn dedup_edits(edits: &mut Vec<Edit>) {
    edits.sort_by_key(|e| (e.file, e.start, e.end));
    edits.dedup_by(|a, b| a.file == b.file && a.start == b.start && a.end == b.end);
}

fn ast_ident(s: &str) -> String {
    crate::analysis::ident(s)
}

/// Byte offset of a keyword (or keyword pair) in SQL text, outside quotes,
/// case-insensitive, on token boundaries.
pub fn find_keyword(text: &str, kw: &str) -> Option<usize> {
    let words: Vec<&str> = kw.split_whitespace().collect();
    let tokens = pg_query::scan_tokens(text).ok()?;
    let word = |i: usize| -> Option<&str> {
        tokens
            .get(i)
            .and_then(|t| text.get(t.start as usize..t.end as usize))
    };
    (0..tokens.len()).find_map(|i| {
        words
            .iter()
            .enumerate()
            .all(|(j, w)| word(i + j).is_some_and(|x| x.eq_ignore_ascii_case(w)))
            .then(|| tokens[i].start as usize)
    })
}

/// Start location of an expression node, where the parser recorded one.
fn expr_location(n: &protobuf::Node) -> Option<i32> {
    let loc = match n.node.as_ref()? {
        NodeEnum::AConst(c) => c.location,
        NodeEnum::FuncCall(f) => f.location,
        NodeEnum::TypeCast(t) => {
            return t
                .arg
                .as_deref()
                .and_then(expr_location)
                .map(|l| l.min(t.location))
        }
        NodeEnum::ColumnRef(c) => c.location,
        NodeEnum::AExpr(e) => {
            return e
                .lexpr
                .as_deref()
                .and_then(expr_location)
                .or(Some(e.location))
        }
        NodeEnum::SqlvalueFunction(s) => s.location,
        NodeEnum::AArrayExpr(a) => a.location,
        NodeEnum::BoolExpr(b) => return b.args.first().and_then(expr_location),
        NodeEnum::CoalesceExpr(c) => c.location,
        NodeEnum::CaseExpr(c) => c.location,
        NodeEnum::ParamRef(p) => p.location,
        _ => return None,
    };
    Some(loc)
}
