//! Bridge docs: per-table documentation in three tiers, regenerated from the
//! schema model. Structure belongs to touchpoint; prose belongs to people.
//!
//! Layout: `bridge-schemas/source/<group>/TABLE.md`,
//! `bridge-schemas/detailed/<group>/TABLE.json`,
//! `bridge-schemas/minimal/<group>/TABLE.json`. Sub-folders are groups; the
//! file stem is the table name; folders matching `[bridge] ignore` (archived
//! copies such as `pass-1-versions/`) are left alone.

mod detailed;
pub mod facts;
mod json;
mod markdown;
mod minimal;

use crate::ast::QualName;
use crate::error::{Error, Result};
use crate::report::{Diagnostic, Severity};
use crate::schema::{Schema, Table};
use crate::workspace::Workspace;
use facts::TableFacts;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Source,
    Detailed,
    Minimal,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Source, Tier::Detailed, Tier::Minimal];
    pub fn dir(self) -> &'static str {
        match self {
            Tier::Source => "source",
            Tier::Detailed => "detailed",
            Tier::Minimal => "minimal",
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            Tier::Source => "md",
            Tier::Detailed | Tier::Minimal => "json",
        }
    }
}

/// One doc file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct DocFile {
    /// The table name as the file stem spells it (unqualified).
    pub table: String,
    /// Sub-folder path under the tier folder (`pass-1`), empty at the top.
    pub group: String,
    pub tier: Tier,
    /// Absolute path.
    pub path: PathBuf,
}

/// Does a folder name match one of the ignore globs (`*` wildcards only)?
pub fn ignored(name: &str, globs: &[String]) -> bool {
    globs.iter().any(|g| glob_match(g, name))
}

fn glob_match(glob: &str, name: &str) -> bool {
    let parts: Vec<&str> = glob.split('*').collect();
    if parts.len() == 1 {
        return glob == name;
    }
    let mut rest = name;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(p) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(p);
        } else {
            let Some(pos) = rest.find(p) else {
                return false;
            };
            rest = &rest[pos + p.len()..];
        }
    }
    true
}

/// Every doc file of every tier, sorted (tier, group, table).
pub fn discover(ws: &Workspace) -> Result<Vec<DocFile>> {
    let base = ws.bridge_dir();
    let mut out = Vec::new();
    if !base.is_dir() {
        return Ok(out);
    }
    let globs = &ws.config.bridge.ignore;
    for tier in Tier::ALL {
        let dir = base.join(tier.dir());
        if !dir.is_dir() {
            continue;
        }
        let walker = walkdir::WalkDir::new(&dir)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                e.depth() == 0
                    || !(e.file_type().is_dir() && ignored(&e.file_name().to_string_lossy(), globs))
            });
        for entry in walker {
            let entry = entry.map_err(|e| {
                let path = e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| dir.clone());
                Error::new("io", e.to_string()).file(ws.display(&path))
            })?;
            let path = entry.path();
            if !entry.file_type().is_file()
                || path.extension().and_then(|x| x.to_str()) != Some(tier.extension())
            {
                continue;
            }
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let group = path
                .parent()
                .and_then(|p| p.strip_prefix(&dir).ok())
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            out.push(DocFile {
                table: stem.to_string(),
                group,
                tier,
                path: path.to_path_buf(),
            });
        }
    }
    out.sort_by(|a, b| (a.tier, &a.group, &a.table).cmp(&(b.tier, &b.group, &b.table)));
    Ok(out)
}

impl DocFile {
    /// Where this table's doc of `tier` in `group` lives (whether or not it
    /// exists): `bridge-schemas/<tier>/<group>/<table>.<ext>`.
    pub fn sibling(&self, tier: Tier, group: &str) -> PathBuf {
        // The bridge root is above the tier folder and this file's group.
        let depth = if self.group.is_empty() {
            0
        } else {
            self.group.split('/').count()
        };
        let root = self
            .path
            .ancestors()
            .nth(2 + depth)
            .unwrap_or(Path::new(""));
        let mut p = root.join(tier.dir());
        if !group.is_empty() {
            p = p.join(group);
        }
        p.join(format!("{}.{}", self.table, tier.extension()))
    }
}

/// The doc files of one table (matched by unqualified name), every tier and
/// group.
pub fn docs_for<'a>(docs: &'a [DocFile], table: &str) -> Vec<&'a DocFile> {
    let stem = stem_of(table);
    docs.iter().filter(|d| d.table == stem).collect()
}

/// Documented tables whose CREATE TABLE is in one of `files` (indexes into
/// `schema.files`): an edit there moves their line numbers, which their
/// docs quote, so finalize regenerates their docs along with the affected
/// tables' (else `check` would fail right after it).
pub fn documented_in(schema: &Schema, docs: &[DocFile], files: &[usize]) -> Vec<String> {
    schema
        .tables
        .iter()
        .filter(|t| files.contains(&t.site.file) && !docs_for(docs, &t.name.name).is_empty())
        .map(|t| t.name.to_string())
        .collect()
}

/// Placeholders a person is expected to replace. `check` flags any doc
/// string that starts with [`placeholder::PREFIX`].
pub mod placeholder {
    pub const PREFIX: &str = "TODO:";

    /// The description a new column gets in the detailed tier.
    pub fn column(name: &str) -> String {
        format!("{PREFIX} describe {name}")
    }

    pub fn is_placeholder(s: &str) -> bool {
        s.trim_start().starts_with(PREFIX)
    }
}

/// The new content of one doc file. `old` is `None` for a file that does
/// not exist yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocChange {
    pub path: PathBuf,
    pub old: Option<String>,
    pub new: String,
    /// Columns the doc described that the table no longer has (renamed
    /// columns are not listed: their prose moved to the new name).
    pub dropped_columns: Vec<String>,
    /// Columns the doc gained (with a placeholder description where the
    /// tier has one). Empty for files that are created.
    pub added_columns: Vec<String>,
}

/// Everything a regeneration would do, plus what it could not.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub changes: Vec<DocChange>,
    /// Errors (a doc for a table current_schema does not define, a doc
    /// that does not parse) and warnings (a markdown doc without a sql
    /// block to keep in sync). Files with an error are left alone.
    pub diagnostics: Vec<Diagnostic>,
}

impl Plan {
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// The new text of every doc file of the selected tables (empty = every
/// documented table, plus those `[bridge] tables` lists), without writing.
/// Only files whose bytes change are returned. Fails on the first error
/// diagnostic; use [`plan_report`] to get warnings and every error.
pub fn plan(
    ws: &Workspace,
    schema: &Schema,
    tables: &[String],
    renames: &[(String, String, String)],
) -> Result<Vec<DocChange>> {
    let plan = plan_report(ws, schema, tables, renames)?;
    if let Some(d) = plan
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Error)
    {
        return Err(d.clone().into());
    }
    Ok(plan.changes)
}

/// The unqualified table name a doc file stem would use.
fn stem_of(table: &str) -> String {
    let last = table.rsplit('.').next().unwrap_or(table);
    if last.len() >= 2 && last.starts_with('"') && last.ends_with('"') {
        last[1..last.len() - 1].to_string()
    } else {
        last.to_string()
    }
}

/// The table a name refers to: exact when qualified; an unqualified name
/// (a file stem) prefers `public`, else the first schema that has it.
fn lookup<'a>(schema: &'a Schema, name: &str) -> Option<&'a Table> {
    if name.contains('.') {
        return schema.table(&QualName::parse(name));
    }
    let matches = |n: &str| -> Option<&'a Table> {
        schema
            .table(&QualName::new("public", n))
            .or_else(|| schema.tables.iter().find(|t| t.name.name == n))
    };
    matches(name).or_else(|| matches(&name.to_lowercase()))
}

#[derive(Default)]
struct Wanted {
    requested: Option<String>,
    groups: Vec<String>,
}

/// Like [`plan`], but reports instead of failing: every table it can
/// regenerate is regenerated, the rest is in `diagnostics`.
pub fn plan_report(
    ws: &Workspace,
    schema: &Schema,
    tables: &[String],
    renames: &[(String, String, String)],
) -> Result<Plan> {
    let docs = discover(ws)?;
    let mut wanted: BTreeMap<String, Wanted> = BTreeMap::new();
    if tables.is_empty() {
        for d in &docs {
            wanted.entry(d.table.clone()).or_default();
        }
    } else {
        for t in tables {
            wanted.entry(stem_of(t)).or_default().requested = Some(t.clone());
        }
    }
    for bt in &ws.config.bridge.tables {
        let stem = stem_of(&bt.table);
        if tables.is_empty() || wanted.contains_key(&stem) {
            let w = wanted.entry(stem).or_default();
            let group = bt.group.clone().unwrap_or_default();
            if !w.groups.contains(&group) {
                w.groups.push(group);
            }
            w.requested.get_or_insert_with(|| bt.table.clone());
        }
    }

    let mut plan = Plan::default();
    for (stem, want) in &wanted {
        let table_docs = docs_for(&docs, stem);
        let name = want.requested.as_deref().unwrap_or(stem);
        let Some(table) = lookup(schema, name) else {
            plan.diagnostics.extend(missing_table(
                ws,
                name,
                &table_docs,
                !want.groups.is_empty(),
            ));
            continue;
        };
        let facts = TableFacts::build(schema, table);
        let table_renames: Vec<(String, String)> = renames
            .iter()
            .filter(|(t, _, _)| stem_of(t) == *stem)
            .map(|(_, old, new)| (old.clone(), new.clone()))
            .collect();
        for doc in &table_docs {
            let shown = ws.display(&doc.path);
            let old = match std::fs::read_to_string(&doc.path) {
                Ok(t) => t,
                Err(e) => {
                    plan.diagnostics
                        .push(Error::io(&shown, e).diagnostic().clone());
                    continue;
                }
            };
            match regenerate(doc.tier, &old, &facts, &table_renames) {
                Ok(r) => {
                    plan.diagnostics
                        .extend(r.warnings.into_iter().map(|d| with_file(d, &shown)));
                    if r.text != old {
                        plan.changes.push(DocChange {
                            path: doc.path.clone(),
                            old: Some(old),
                            new: r.text,
                            dropped_columns: r.dropped,
                            added_columns: r.added,
                        });
                    }
                }
                Err(e) => plan.diagnostics.push(with_file(*e.0, &shown)),
            }
        }
        for group in &want.groups {
            let missing = Tier::ALL.into_iter().any(|tier| {
                !table_docs
                    .iter()
                    .any(|d| d.tier == tier && d.group == *group)
            });
            if missing {
                plan.changes.extend(create_docs(ws, &facts, stem, group)?);
            }
        }
        if table_docs.is_empty() && want.groups.is_empty() {
            plan.diagnostics.push(
                Diagnostic::warning(
                    "bridge-no-docs",
                    format!("table {} has no bridge docs", facts.display_name),
                )
                .help(format!(
                    "create them with `touchpoint bridge --new {} --group GROUP`",
                    facts.display_name
                )),
            );
        }
    }
    Ok(plan)
}

fn with_file(d: Diagnostic, file: &Path) -> Diagnostic {
    if d.file.is_some() {
        d
    } else {
        d.file(file)
    }
}

fn missing_table(
    ws: &Workspace,
    name: &str,
    docs: &[&DocFile],
    in_config: bool,
) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = docs
        .iter()
        .map(|d| {
            Diagnostic::error(
                "bridge-unknown-table",
                format!("bridge doc for table {name}, which current_schema does not define"),
            )
            .file(ws.display(&d.path))
            .help("restore the table, rename the doc after it, or move the doc to an archive folder (for example pass-1-versions/)")
        })
        .collect();
    if in_config {
        out.push(
            Diagnostic::error(
                "bridge-unknown-table",
                format!("[bridge] tables lists {name}, which current_schema does not define"),
            )
            .file(crate::workspace::CONFIG_FILE)
            .help("fix the table name in touchpoint.toml or remove the entry"),
        );
    }
    if out.is_empty() {
        out.push(
            Diagnostic::error(
                "bridge-unknown-table",
                format!("table {name} is not defined in current_schema and has no bridge docs"),
            )
            .help("check the spelling; names are matched as the file stem, e.g. shell_files"),
        );
    }
    out
}

struct Regenerated {
    text: String,
    added: Vec<String>,
    dropped: Vec<String>,
    warnings: Vec<Diagnostic>,
}

fn regenerate(
    tier: Tier,
    old: &str,
    facts: &TableFacts,
    renames: &[(String, String)],
) -> Result<Regenerated> {
    Ok(match tier {
        Tier::Source => {
            let out = markdown::regenerate(old, facts);
            let (added, dropped) = match &out.columns_before {
                Some(before) => {
                    let renamed_old = |c: &String| {
                        renames
                            .iter()
                            .any(|(o, n)| o == c && facts.column(n).is_some())
                    };
                    let renamed_new =
                        |c: &String| renames.iter().any(|(o, n)| n == c && before.contains(o));
                    let now = facts.column_names();
                    (
                        now.iter()
                            .filter(|c| !before.contains(c) && !renamed_new(c))
                            .cloned()
                            .collect(),
                        before
                            .iter()
                            .filter(|c| !now.contains(c) && !renamed_old(c))
                            .cloned()
                            .collect(),
                    )
                }
                None => (Vec::new(), Vec::new()),
            };
            Regenerated {
                text: out.text,
                added,
                dropped,
                warnings: out.warnings,
            }
        }
        Tier::Detailed => {
            let out = detailed::regenerate(old, facts, renames)?;
            Regenerated {
                text: out.text,
                added: out.added,
                dropped: out.dropped,
                warnings: out.warnings,
            }
        }
        Tier::Minimal => {
            let out = minimal::regenerate(old, facts, renames)?;
            Regenerated {
                text: out.text,
                added: out.added,
                dropped: out.dropped,
                warnings: out.warnings,
            }
        }
    })
}

/// The merge of one tier's existing text with a table's facts: what a
/// regeneration writes. Public for the fuzz targets (`crate::fuzzing`).
#[doc(hidden)]
pub fn merge_text(
    tier: Tier,
    old: &str,
    facts: &TableFacts,
    renames: &[(String, String)],
) -> Result<String> {
    regenerate(tier, old, facts, renames).map(|r| r.text)
}

/// Shipped templates, used when the workspace has no `templates/bridge/`
/// file of that name.
const DEFAULT_TEMPLATES: [(Tier, &str, &str); 3] = [
    (
        Tier::Source,
        "source.md.tera",
        include_str!("../../templates/bridge/source.md.tera"),
    ),
    (
        Tier::Detailed,
        "detailed.json.tera",
        include_str!("../../templates/bridge/detailed.json.tera"),
    ),
    (
        Tier::Minimal,
        "minimal.json.tera",
        include_str!("../../templates/bridge/minimal.json.tera"),
    ),
];

/// The rendered template and where it came from (for error messages).
fn render_template(
    ws: &Workspace,
    tier: Tier,
    facts: &TableFacts,
    group: &str,
) -> Result<(String, PathBuf)> {
    let (_, name, builtin) = DEFAULT_TEMPLATES
        .iter()
        .find(|(t, _, _)| *t == tier)
        .expect("a template per tier");
    let custom = ws.templates_dir().join("bridge").join(name);
    let (source, origin) = if custom.is_file() {
        let text =
            std::fs::read_to_string(&custom).map_err(|e| Error::io(&ws.display(&custom), e))?;
        (text, ws.display(&custom))
    } else {
        (
            builtin.to_string(),
            PathBuf::from(format!("built-in templates/bridge/{name}")),
        )
    };
    let tera_error = |e: tera::Error| {
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(&format!(": {s}"));
            src = s.source();
        }
        Error::new("template", msg)
            .file(&origin)
            .help("fix the template; the variables are documented in docs/bridge-schemas.md")
    };
    let mut tera = tera::Tera::default();
    tera.add_raw_template(name, &source).map_err(tera_error)?;
    let columns: Vec<serde_json::Value> = facts
        .columns
        .iter()
        .map(|c| {
            serde_json::json!({
                "name": c.name,
                "type": c.type_name,
                "compact_type": c.compact_type,
                "nullable": c.nullable,
                "required": c.required(),
                "default": c.default,
                "db_comment": c.db_comment,
            })
        })
        .collect();
    let mut ctx = tera::Context::new();
    ctx.insert("table", &facts.display_name);
    ctx.insert("schema", &facts.name.schema);
    ctx.insert("qualified_name", &facts.name.to_string());
    ctx.insert("group", group);
    ctx.insert("database_source", &facts.source_text());
    ctx.insert("table_comment", &facts.comment);
    ctx.insert("columns", &columns);
    let text = tera.render(name, &ctx).map_err(tera_error)?;
    Ok((text, origin))
}

/// The doc files of `group` that do not exist yet, rendered from the
/// templates and then regenerated, so that they start in sync.
fn create_docs(
    ws: &Workspace,
    facts: &TableFacts,
    stem: &str,
    group: &str,
) -> Result<Vec<DocChange>> {
    check_group(ws, group)?;
    let mut out = Vec::new();
    for tier in Tier::ALL {
        let mut path = ws.bridge_dir().join(tier.dir());
        if !group.is_empty() {
            path.push(group);
        }
        path.push(format!("{stem}.{}", tier.extension()));
        if path.exists() {
            continue;
        }
        let (rendered, origin) = render_template(ws, tier, facts, group)?;
        let regenerated = regenerate(tier, &rendered, facts, &[]).map_err(|mut e| {
            e.0.message = format!("the rendered template is not valid: {}", e.0.message);
            e.0.file = Some(origin);
            e.0.help = Some("the template must render a valid JSON object".into());
            e
        })?;
        out.push(DocChange {
            path,
            old: None,
            new: regenerated.text,
            dropped_columns: Vec::new(),
            added_columns: Vec::new(),
        });
    }
    Ok(out)
}

fn check_group(ws: &Workspace, group: &str) -> Result<()> {
    let p = Path::new(group);
    if p.is_absolute() || p.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(Error::usage(format!(
            "group {group:?} is not a folder name under bridge-schemas/<tier>/"
        ))
        .help("pass a relative folder such as pass-1"));
    }
    if let Some(part) = p
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .find(|c| ignored(c, &ws.config.bridge.ignore))
    {
        return Err(Error::usage(format!(
            "group {group} is inside {part}, a folder touchpoint ignores (archived copies)"
        ))
        .help("pick another group, or change [bridge] ignore in touchpoint.toml"));
    }
    Ok(())
}

/// A new set of docs for `table` in `group`, from the templates in
/// `templates/bridge/` (or the shipped ones). Tiers that already have a
/// file in that group are skipped; if all three exist this is an error.
pub fn new_docs(
    ws: &Workspace,
    schema: &Schema,
    table: &str,
    group: &str,
) -> Result<Vec<DocChange>> {
    let Some(t) = lookup(schema, table) else {
        return Err(
            Error::usage(format!("table {table} is not defined in current_schema"))
                .help("create the table in current_schema first, or check the spelling"),
        );
    };
    let facts = TableFacts::build(schema, t);
    let changes = create_docs(ws, &facts, &stem_of(table), group)?;
    if changes.is_empty() {
        let where_ = if group.is_empty() {
            String::new()
        } else {
            format!(" in group {group}")
        };
        return Err(Error::usage(format!(
            "bridge docs for {}{where_} already exist",
            facts.display_name
        ))
        .help(format!(
            "run `touchpoint bridge {}` to regenerate them",
            facts.display_name
        )));
    }
    Ok(changes)
}

/// Write every change. All new contents go to temporary files next to
/// their targets first, so a failure (disk full, permissions) leaves every
/// doc as it was; then each temporary file is renamed over its target.
pub fn write(ws: &Workspace, changes: &[DocChange]) -> Result<()> {
    let base = ws.bridge_dir();
    let mut staged: Vec<(PathBuf, &Path)> = Vec::new();
    let cleanup = |staged: &[(PathBuf, &Path)]| {
        for (tmp, _) in staged {
            let _ = std::fs::remove_file(tmp);
        }
    };
    for c in changes {
        if !c.path.starts_with(&base) {
            cleanup(&staged);
            return Err(Error::new(
                "bridge-write",
                "refusing to write a bridge doc outside the bridge-schemas folder",
            )
            .file(ws.display(&c.path)));
        }
        if let Err(e) = ws.check_write_target(&c.path) {
            cleanup(&staged);
            return Err(e);
        }
        match stage(&c.path, &c.new) {
            Ok(tmp) => staged.push((tmp, &c.path)),
            Err(e) => {
                cleanup(&staged);
                return Err(Error::io(&ws.display(&c.path), e));
            }
        }
    }
    for (i, (tmp, target)) in staged.iter().enumerate() {
        if let Err(e) = std::fs::rename(tmp, target) {
            cleanup(&staged[i..]);
            return Err(Error::io(&ws.display(target), e));
        }
    }
    Ok(())
}

fn stage(target: &Path, text: &str) -> std::io::Result<PathBuf> {
    use std::io::Write as _;
    let dir = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.touchpoint-{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        // Keep the mode of the file being replaced.
        if let Ok(meta) = std::fs::metadata(target) {
            std::fs::set_permissions(&tmp, meta.permissions())?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(tmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*-versions", "pass-1-versions"));
        assert!(!glob_match("*-versions", "pass-1"));
        assert!(glob_match("archive", "archive"));
        assert!(glob_match("a*b*c", "axxbyyc"));
    }
}

#[cfg(test)]
mod fixture_tests;
