//! Patch `current_schema` in place: apply a migration's statements to the
//! text of the schema files, editing each object where it is defined and
//! keeping every other byte (comments, blank lines, alignment).
//!
//! Statements are applied one at a time. After each, the edited file is
//! parsed again and the model rebuilt, so the next statement sees the
//! schema as the previous one left it. Whatever cannot be mapped statically
//! is returned as `unmapped`, never skipped silently: `finalize` then asks
//! the database what changed.

mod objects;
mod table;
mod text;
pub mod verify;

use crate::ast::QualName;
use crate::error::Result;
use crate::report::Diagnostic;
use crate::schema::{Schema, Site};
use crate::sql::{self, SqlFile, Statement};
use pg_query::NodeEnum;
use std::path::PathBuf;
use std::sync::Arc;

/// One place the patch changed, with its line after patching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: PathBuf,
    pub line: usize,
    /// `Added column priority`, `Replaced function public.f(integer)`.
    pub what: String,
}

#[derive(Debug, Clone)]
pub struct FilePatch {
    /// Index into the schema's files.
    pub index: usize,
    pub path: PathBuf,
    pub old: String,
    pub new: String,
}

#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Files whose text changed.
    pub files: Vec<FilePatch>,
    pub changes: Vec<Change>,
    /// Statements with no schema effect (data changes): reported only.
    pub reported: Vec<String>,
    /// Statements the patcher could not map: they need the database's view
    /// of what changed, or a hand edit.
    pub unmapped: Vec<Diagnostic>,
    /// Every schema file after patching, parsed (the unchanged ones shared
    /// with the input).
    pub after: Vec<Arc<SqlFile>>,
}

/// A text edit on one schema file.
#[derive(Debug, Clone)]
pub(crate) struct Edit {
    pub file: usize,
    pub start: usize,
    pub end: usize,
    pub text: String,
    /// Offset inside `text` (or at `start` for deletions) that marks the
    /// changed line, with its description.
    pub anchor: Option<(usize, String)>,
}

impl Edit {
    pub fn insert(file: usize, at: usize, text: String, anchor: Option<(usize, String)>) -> Edit {
        Edit {
            file,
            start: at,
            end: at,
            text,
            anchor,
        }
    }
    pub fn replace(
        file: usize,
        start: usize,
        end: usize,
        text: String,
        what: Option<String>,
    ) -> Edit {
        Edit {
            file,
            start,
            end,
            text,
            anchor: what.map(|w| (0, w)),
        }
    }
}

/// How patched places are marked.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `-- Migration NN: title`, or `None` for no notes.
    pub note: Option<String>,
}

/// The patcher's working state.
pub(crate) struct Patcher<'a> {
    pub files: Vec<Arc<SqlFile>>,
    pub opts: &'a Options,
    anchors: Vec<(usize, usize, String)>,
    pub outcome: Outcome,
    pub migration: &'a SqlFile,
    base: &'a Schema,
    /// The model of `files` once they differ from `base`'s; `None` while
    /// it has to be rebuilt. Building it is most of a patch's cost, so it
    /// is rebuilt only when a statement needs it after an edit.
    rebuilt: Option<Arc<Schema>>,
    edited: bool,
}

/// The model a unit works on: the input's until the first edit.
pub(crate) enum Model<'a> {
    Base(&'a Schema),
    Built(Arc<Schema>),
}

impl std::ops::Deref for Model<'_> {
    type Target = Schema;
    fn deref(&self) -> &Schema {
        match self {
            Model::Base(s) => s,
            Model::Built(s) => s,
        }
    }
}

/// Apply `migration` to the text of `schema`'s files.
pub fn patch(schema: &Schema, migration: &SqlFile, opts: &Options) -> Result<Outcome> {
    let mut p = Patcher {
        files: schema.files.clone(),
        opts,
        anchors: Vec::new(),
        outcome: Outcome::default(),
        migration,
        base: schema,
        rebuilt: None,
        edited: false,
    };
    let schema_files = &schema.files;
    let mut last = None;
    for stmt in &migration.statements {
        if last == Some(stmt.span) {
            continue;
        }
        last = Some(stmt.span);
        // Each command of a multi-command ALTER TABLE is its own unit, so
        // that every edit sees the text the previous one left.
        let units: Vec<Option<usize>> = match &stmt.node {
            NodeEnum::AlterTableStmt(a) if a.cmds.len() > 1 => {
                (0..a.cmds.len()).map(Some).collect()
            }
            _ => vec![None],
        };
        for u in units {
            let model = p.model();
            let result = p.unit(&model, stmt, u).and_then(|edits| p.apply(edits));
            if let Err(reason) = result {
                p.unmapped(stmt, &reason);
                continue;
            }
            // Only drops make PostgreSQL remove other objects along.
            if drops_something(&stmt.node) {
                p.cleanup(&model);
            }
        }
    }
    let mut out = std::mem::take(&mut p.outcome);
    for (i, (old, new)) in schema_files.iter().zip(&p.files).enumerate() {
        if old.text != new.text {
            out.files.push(FilePatch {
                index: i,
                path: old.path.clone(),
                old: old.text.clone(),
                new: new.text.clone(),
            });
        }
    }
    let mut changes: Vec<Change> = p
        .anchors
        .iter()
        .map(|(f, off, what)| Change {
            path: p.files[*f].path.clone(),
            line: p.files[*f].line(*off),
            what: what.clone(),
        })
        .collect();
    changes.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    out.changes = changes;
    out.after = p.files;
    Ok(out)
}

impl<'a> Patcher<'a> {
    fn unmapped(&mut self, stmt: &Statement, reason: &str) {
        let summary = crate::text::one_line(stmt.text(&self.migration.text), 80);
        self.outcome.unmapped.push(
            Diagnostic::error("unmapped-statement", format!("cannot patch current_schema for `{summary}`: {reason}"))
                .file(&self.migration.path)
                .line(stmt.line)
                .help("touchpoint compares the database before and after to find what changed; edit current_schema by hand where it says"),
        );
    }

    /// Apply the edits of one statement (all computed on the same model),
    /// last first so that earlier offsets stay valid; re-parse what changed.
    fn apply(&mut self, mut edits: Vec<Edit>) -> Result<(), String> {
        edits.sort_by_key(|e| std::cmp::Reverse((e.file, e.start, e.end)));
        let backup_files: Vec<(usize, Arc<SqlFile>)> = {
            let mut idx: Vec<usize> = edits.iter().map(|e| e.file).collect();
            idx.dedup();
            idx.into_iter()
                .map(|i| (i, self.files[i].clone()))
                .collect()
        };
        let backup_anchors = self.anchors.clone();
        let mut texts: std::collections::BTreeMap<usize, String> = backup_files
            .iter()
            .map(|(i, f)| (*i, f.text.clone()))
            .collect();
        for e in &edits {
            let t = texts
                .get_mut(&e.file)
                .ok_or("internal: edit on an unknown file")?;
            if e.start > e.end
                || e.end > t.len()
                || !t.is_char_boundary(e.start)
                || !t.is_char_boundary(e.end)
            {
                return Err("internal: edit out of range".into());
            }
            t.replace_range(e.start..e.end, &e.text);
            let delta = e.text.len() as isize - (e.end - e.start) as isize;
            for (f, off, _) in &mut self.anchors {
                if *f == e.file && *off >= e.end {
                    *off = (*off as isize + delta) as usize;
                } else if *f == e.file && *off > e.start {
                    *off = e.start;
                }
            }
            if let Some((rel, what)) = &e.anchor {
                self.anchors
                    .push((e.file, e.start + (*rel).min(e.text.len()), what.clone()));
            }
        }
        for (i, t) in texts {
            if std::env::var_os("TP_DEBUG_PATCH").is_some() {
                eprintln!("{t}");
            }
            match sql::parse(&self.files[i].path.clone(), t) {
                Ok(f) => {
                    self.files[i] = Arc::new(f);
                    self.edited = true;
                }
                Err(err) => {
                    for (j, f) in backup_files {
                        self.files[j] = f;
                    }
                    self.anchors = backup_anchors;
                    if std::env::var_os("TP_DEBUG_PATCH").is_some() {
                        eprintln!("{err}");
                    }
                    return Err(format!(
                        "the patched file would not parse ({})",
                        err.diagnostic().message
                    ));
                }
            }
        }
        Ok(())
    }

    /// Remove what PostgreSQL removed along with the unit just applied:
    /// table constraints over a column that is gone, foreign keys to a
    /// table that is gone. One at a time, re-reading the text after each.
    fn cleanup(&mut self, before: &Schema) {
        for _ in 0..64 {
            let model = self.model();
            let gone_table = |q: &QualName| before.table(q).is_some() && model.table(q).is_none();
            let orphan = model.tables.iter().find_map(|t| {
                t.constraints
                    .iter()
                    .filter(|k| k.origin != crate::schema::Origin::Inline)
                    .find(|k| {
                        k.columns.iter().any(|c| {
                            t.column(c).is_none() && k.kind != crate::schema::ConstraintKind::Check
                        }) || k.references.as_ref().is_some_and(|r| gone_table(&r.table))
                    })
                    .map(|k| (t.name.clone(), k.name.clone(), k.origin))
            });
            let Some((t, name, _)) = orphan else { return };
            let Some(table) = model.table(&t) else { return };
            let Some(k) = table.constraint(&name) else {
                return;
            };
            let what = format!("Dropped constraint {name} (PostgreSQL dropped it too)");
            let edits = match k.origin {
                crate::schema::Origin::TableElement => self.remove_element(table, k.span, what),
                _ => Ok(vec![self.remove_statement(&k.site, what)]),
            };
            if edits.and_then(|e| self.apply(e)).is_err() {
                return;
            }
        }
    }

    /// The model of the files as they are now.
    fn model(&mut self) -> Model<'a> {
        if self.edited {
            self.rebuilt = Some(Arc::new(Schema::build(self.files.clone())));
            self.edited = false;
        }
        match &self.rebuilt {
            Some(m) => Model::Built(m.clone()),
            None => Model::Base(self.base),
        }
    }

    pub fn text(&self, file: usize) -> &str {
        &self.files[file].text
    }

    /// The note line, indented, with a newline; empty when notes are off.
    pub fn note_line(&self, indent: &str) -> String {
        match &self.opts.note {
            Some(n) => format!("{indent}{n}\n"),
            None => String::new(),
        }
    }

    /// The migration statement's own text with its `;`.
    pub fn stmt_text(&self, stmt: &Statement) -> String {
        format!("{};", stmt.text(&self.migration.text).trim_end())
    }

    /// Insert a whole statement after the statement ending at `after`
    /// (offset inside file `file`), separated by a blank line.
    pub fn insert_statement_after(
        &self,
        file: usize,
        after: usize,
        body: &str,
        what: String,
    ) -> Edit {
        let t = self.text(file);
        let at = text::line_end(t, text::statement_end(t, after));
        let note = self.note_line("");
        let lead = if at == 0 {
            String::new()
        } else {
            "\n\n".to_string()
        };
        let anchor = lead.len() + note.len();
        let mut s = format!("{lead}{note}{body}");
        if at == t.len() && !t.ends_with('\n') && at != 0 {
            // keep the file's last line ending as it was (none)
        } else if at == 0 {
            s.push_str("\n\n");
        }
        Edit::insert(file, at, s, Some((anchor, what)))
    }

    /// Remove a whole statement (its lines, its `;`, and the `-- Migration`
    /// notes right above it).
    pub fn remove_statement(&self, site: &Site, what: String) -> Edit {
        let t = self.text(site.file);
        let (start, end) = text::statement_lines(t, site.span);
        Edit::replace(site.file, start, end, String::new(), Some(what))
    }

    /// Replace a statement's text (up to, not including, its `;`), with a
    /// note line above it when notes are on and it has none yet.
    pub fn replace_statement(&self, site: &Site, body: &str, what: String) -> Vec<Edit> {
        let body = body.trim_end().trim_end_matches(';').trim_end();
        let mut edits = vec![Edit::replace(
            site.file,
            site.span.start,
            site.span.end,
            body.to_string(),
            None,
        )];
        let t = self.text(site.file);
        let ls = text::line_start(t, site.span.start);
        let above = text::previous_line(t, ls);
        let note = self.note_line("");
        let already = self
            .opts
            .note
            .as_deref()
            .is_some_and(|n| above.trim() == n.trim());
        if !note.is_empty() && !already && ls == site.span.start {
            edits.push(Edit::insert(
                site.file,
                ls,
                note.clone(),
                Some((note.len(), what)),
            ));
        } else {
            edits[0].anchor = Some((0, what));
        }
        edits
    }

    /// Where a new statement about `table` of rank `rank` goes: after the
    /// last statement of the same kind on the table, else after the last
    /// statement of a lower rank in the table's file.
    pub fn table_anchor(
        &self,
        model: &Schema,
        table: &QualName,
        rank: Rank,
    ) -> Option<(usize, usize)> {
        let t = model.table(table)?;
        let sites = related_sites(model, table);
        let same: Vec<&(Rank, Site)> = sites.iter().filter(|(r, _)| *r == rank).collect();
        let pick = if !same.is_empty() {
            same.into_iter().map(|(_, s)| (s.file, s.span.end)).max()
        } else {
            sites
                .iter()
                .filter(|(r, s)| *r <= rank && s.file == t.site.file)
                .map(|(_, s)| (s.file, s.span.end))
                .max()
        };
        pick.or(Some((t.site.file, t.site.span.end)))
    }

    /// The latest definition site among relations and functions a
    /// statement refers to: a new statement must come after it.
    pub fn floor(&self, model: &Schema, node: &NodeEnum) -> Option<(usize, usize)> {
        let mut best: Option<(usize, usize)> = None;
        let mut bump = |s: &Site| {
            let k = (s.file, s.span.end);
            if best.is_none_or(|b| k > b) {
                best = Some(k);
            }
        };
        // `ast::uses`, not `nodes()`: the latter does not walk CREATE
        // POLICY, trigger functions or the types and foreign keys of a
        // CREATE TABLE.
        for u in crate::ast::uses(node) {
            match u.kind {
                crate::ast::Kind::Relation => {
                    if let Some(t) = model.table(&u.name) {
                        bump(&t.site);
                    } else if let Some(v) = model.view(&u.name) {
                        bump(&v.site);
                    }
                }
                crate::ast::Kind::Function => {
                    for func in model.functions_named(&u.name) {
                        bump(&func.site);
                    }
                }
                crate::ast::Kind::Type => {
                    if let Some(t) = model.type_def(&u.name) {
                        bump(&t.site);
                    }
                }
            }
        }
        best
    }
}

/// Whether a statement drops an object or column (and so may take
/// constraints of other objects with it).
fn drops_something(node: &NodeEnum) -> bool {
    use pg_query::protobuf::AlterTableType as A;
    match node {
        NodeEnum::DropStmt(_) => true,
        NodeEnum::AlterTableStmt(a) => a.cmds.iter().any(|c| {
            matches!(&c.node, Some(NodeEnum::AlterTableCmd(c))
                if matches!(A::try_from(c.subtype), Ok(A::AtDropColumn | A::AtDropConstraint)))
        }),
        _ => false,
    }
}

/// Order of the statements that belong to a table, as a careful author
/// writes them: the table, its comments, indexes, triggers, RLS, policies,
/// grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rank {
    Table,
    Comment,
    Index,
    Trigger,
    Rls,
    Policy,
    Grant,
}

fn related_sites(model: &Schema, table: &QualName) -> Vec<(Rank, Site)> {
    let mut v = Vec::new();
    let Some(t) = model.table(table) else {
        return v;
    };
    v.push((Rank::Table, t.site.clone()));
    for s in &t.alter_sites {
        if s.file == t.site.file {
            v.push((Rank::Table, s.clone()));
        }
    }
    if let Some(s) = &t.comment_site {
        v.push((Rank::Comment, s.clone()));
    }
    for c in &t.columns {
        if let Some(s) = &c.comment_site {
            v.push((Rank::Comment, s.clone()));
        }
    }
    for i in model.indexes.iter().filter(|i| &i.table == table) {
        v.push((Rank::Index, i.site.clone()));
    }
    for tr in model.triggers.iter().filter(|x| &x.table == table) {
        v.push((Rank::Trigger, tr.site.clone()));
    }
    for s in &t.rls_sites {
        v.push((Rank::Rls, s.clone()));
    }
    for p in model.policies.iter().filter(|x| &x.table == table) {
        v.push((Rank::Policy, p.site.clone()));
    }
    let name = table.to_string();
    for g in model.grants.iter().filter(|g| g.objects.contains(&name)) {
        v.push((Rank::Grant, g.site.clone()));
    }
    // ALTER statements of the table were pushed as Rank::Table; the
    // statements counted as alter sites also include index creation: keep
    // the most specific rank for a site that appears twice.
    v.sort_by(|a, b| {
        (a.1.file, a.1.span.start, std::cmp::Reverse(a.0)).cmp(&(
            b.1.file,
            b.1.span.start,
            std::cmp::Reverse(b.0),
        ))
    });
    v.dedup_by(|a, b| a.1.span == b.1.span && a.1.file == b.1.file);
    v
}

#[cfg(test)]
mod tests;
