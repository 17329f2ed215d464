//! The markdown tier. Generated parts are spliced into the file's bytes;
//! the document is never re-rendered, so every line a person wrote stays
//! exactly as it was.
//!
//! Two ways to say what is generated:
//! - marker regions `<!-- touchpoint:begin NAME -->` ... `<!-- touchpoint:end
//!   NAME -->` (NAME = `source`, `sql`, `columns`), which new docs use;
//! - in files written by hand, without markers: the fenced `sql` block
//!   holding the CREATE TABLE under the table-structure heading, and the
//!   value of the `Database Source:` line.

use super::facts::{ColumnFacts, TableFacts, Unique};
use crate::report::Diagnostic;
use crate::schema::Schema;
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use regex::Regex;
use std::ops::Range;
use std::path::Path;
use std::sync::LazyLock;

static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[ \t]*<!--[ \t]*touchpoint:(begin|end)[ \t]+([a-z_]+)[ \t]*-->[ \t]*\r?$")
        .expect("marker regex")
});
static SOURCE_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(database[ \t]+source|source(?:[ \t]+file)?|schema[ \t]+source)(?:\*\*|__)?[ \t]*:(?:\*\*|__)?[ \t]*")
        .expect("source regex")
});
/// A reference to a schema file: `current_schema/03.sql (lines 12-48)`,
/// `` `/current_schema/03.sql` ``, `current_schema/03.sql:12-48`.
static SQL_REF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(`?)(/?)[^\s`()]+\.sql`?(?::\d+(?:-\d+)?)?(?:[ \t]*\((?:lines?|l\.)[^)]*\))?")
        .expect("sql ref regex")
});
static CREATE_TABLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bcreate\s+(?:(?:global\s+|local\s+)?(?:temp|temporary|unlogged)\s+)?table\b")
        .expect("create regex")
});

const SQL_LANGS: [&str; 6] = ["sql", "postgresql", "postgres", "pgsql", "psql", "plpgsql"];

pub struct Outcome {
    pub text: String,
    /// Columns of the CREATE TABLE the doc held before, when it parses.
    pub columns_before: Option<Vec<String>>,
    pub warnings: Vec<Diagnostic>,
}

/// `**Database Source:** current_schema/03_documents.sql (lines 14-44)`
pub fn source_line(facts: &TableFacts) -> String {
    format!("**Database Source:** {}", facts.source_text())
}

pub fn sql_fence(facts: &TableFacts) -> String {
    let longest = longest_run(&facts.sql, '`');
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}sql\n{}\n{fence}\n", facts.sql)
}

pub fn columns_table(facts: &TableFacts) -> String {
    let mut out = String::from("| Column | Type | Nullable | Default | Constraints | Database note |\n|---|---|---|---|---|---|\n");
    for c in &facts.columns {
        let cells = [
            code(&c.name),
            code(&c.type_name),
            if c.nullable { "yes" } else { "no" }.to_string(),
            c.default.as_deref().map(code).unwrap_or_default(),
            cell(&constraints_text(c)),
            cell(c.db_comment.as_deref().unwrap_or("")),
        ];
        out.push_str("| ");
        out.push_str(&cells.join(" | "));
        out.push_str(" |\n");
    }
    out
}

fn constraints_text(c: &ColumnFacts) -> String {
    let mut parts = Vec::new();
    if c.primary_key {
        parts.push("primary key".to_string());
    }
    match &c.unique {
        Unique::No => {}
        Unique::Alone => parts.push("unique".into()),
        Unique::With(cols) => parts.push(format!("unique ({})", cols.join(", "))),
    }
    if let Some(r) = &c.references {
        let mut s = format!(
            "references {}({}) on delete {}",
            r.table,
            r.columns.join(", "),
            r.on_delete
        );
        if let Some(u) = &r.on_update {
            s.push_str(&format!(" on update {u}"));
        }
        parts.push(s);
    }
    if let Some(g) = &c.generated {
        parts.push(format!("generated always as ({g}) stored"));
    }
    if let Some(i) = &c.identity {
        parts.push(format!("identity {}", i.to_lowercase()));
    }
    for k in &c.checks {
        parts.push(format!("check ({k})"));
    }
    if !c.allowed_values.is_empty() {
        parts.push(format!("one of: {}", c.allowed_values.join(", ")));
    }
    parts.join("; ")
}

fn longest_run(s: &str, ch: char) -> usize {
    let mut best = 0;
    let mut cur = 0;
    for c in s.chars() {
        if c == ch {
            cur += 1;
            best = best.max(cur);
        } else {
            cur = 0;
        }
    }
    best
}

/// Table cell text: one line, pipes escaped (GFM splits on them even inside
/// code spans).
fn cell(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn code(s: &str) -> String {
    let s = cell(s);
    if s.is_empty() {
        return s;
    }
    let ticks = "`".repeat(longest_run(&s, '`') + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{s}{pad}{ticks}")
}

struct Block {
    range: Range<usize>,
    lang: String,
    /// Byte range of the content between the fences.
    content: Range<usize>,
    /// Indentation of the opening fence, repeated on content lines.
    indent: String,
    closed: bool,
    quoted: bool,
}

struct Heading {
    level: usize,
    text: String,
    start: usize,
}

struct Scan {
    blocks: Vec<Block>,
    headings: Vec<Heading>,
    /// Offsets of text (outside code) that names the `Database Source`.
    source_hits: Vec<usize>,
    /// (name, content range) of marker regions.
    regions: Vec<(String, Range<usize>)>,
    unpaired: Vec<(String, usize)>,
}

fn line_end(text: &str, from: usize) -> usize {
    text[from..]
        .find('\n')
        .map(|i| from + i + 1)
        .unwrap_or(text.len())
}

fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map(|i| i + 1).unwrap_or(0)
}

fn scan(text: &str) -> Scan {
    let mut blocks = Vec::new();
    let mut headings = Vec::new();
    let mut source_hits = Vec::new();
    let mut heading: Option<(usize, String, usize)> = None;
    let mut in_code = 0usize;
    for (event, range) in Parser::new_ext(text, Options::ENABLE_TABLES).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                heading = Some((level as usize, String::new(), range.start))
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, text, start)) = heading.take() {
                    headings.push(Heading { level, text, start });
                }
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                in_code += 1;
                if let CodeBlockKind::Fenced(info) = kind {
                    blocks.push(fenced_block(text, range, &info));
                }
            }
            Event::End(TagEnd::CodeBlock) => in_code = in_code.saturating_sub(1),
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, h, _)) = heading.as_mut() {
                    h.push_str(&t);
                } else if in_code == 0 && t.to_lowercase().contains("source") {
                    source_hits.push(range.start);
                }
            }
            _ => {}
        }
    }

    let mut regions = Vec::new();
    let mut open: Vec<(String, usize)> = Vec::new();
    let mut unpaired = Vec::new();
    let mut pos = 0;
    while pos < text.len() {
        let end = line_end(text, pos);
        let line = text[pos..end].trim_end_matches('\n');
        if let Some(c) = MARKER.captures(line) {
            let inside_code = blocks.iter().any(|b| b.range.contains(&pos));
            if !inside_code {
                let name = c[2].to_string();
                if &c[1] == "begin" {
                    open.push((name, end));
                } else if let Some(i) = open.iter().rposition(|(n, _)| *n == name) {
                    let (n, start) = open.remove(i);
                    regions.push((n, start..pos));
                } else {
                    unpaired.push((name, pos));
                }
            }
        }
        pos = end;
    }
    unpaired.extend(open);
    Scan {
        blocks,
        headings,
        source_hits,
        regions,
        unpaired,
    }
}

fn fenced_block(text: &str, range: Range<usize>, info: &str) -> Block {
    let first_end = line_end(text, range.start).min(range.end);
    let fence_line = &text[range.start..first_end];
    // The range starts at the fence itself; what precedes it on its line
    // (spaces, or a `>` of a block quote) is the container's prefix.
    let prefix = &text[line_start(text, range.start)..range.start];
    let indent_in_line = fence_line.len() - fence_line.trim_start().len();
    let indent = format!(
        "{}{}",
        " ".repeat(prefix.len()),
        &fence_line[..indent_in_line]
    );
    let quoted = prefix.contains('>');
    let fence_char = fence_line.trim_start().chars().next().unwrap_or('`');
    let body = &text[first_end..range.end];
    let trimmed = body.trim_end_matches(['\n', '\r']);
    let last_start = first_end + trimmed.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let last = text[last_start..first_end + trimmed.len()].trim();
    let closed = last_start >= first_end
        && !last.is_empty()
        && last.chars().all(|c| c == fence_char)
        && last.len() >= 3
        && first_end < range.end;
    let content = if closed {
        first_end..last_start
    } else {
        first_end..range.end
    };
    Block {
        range,
        lang: info
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_matches(['{', '}', '.'])
            .to_lowercase(),
        content,
        indent: if indent.trim().is_empty() {
            indent
        } else {
            String::new()
        },
        closed,
        quoted,
    }
}

/// `TABLE [IF NOT EXISTS] [schema.]name` followed by a space, `(` or the
/// end; group 1 is the name.
static TABLE_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\btable\s+(?:if\s+not\s+exists\s+)?(?:"?[\w]+"?\.)?"?(\w+)"?(?:\s|\(|$)"#)
        .expect("table name regex")
});

fn mentions_table(sql: &str, facts: &TableFacts) -> bool {
    // One shared regex and a name comparison: compiling a regex per block
    // made `bridge --check` (and `check`) spend most of their time in the
    // regex compiler on workspaces with thousands of docs.
    let wanted = &facts.name.name;
    if wanted.chars().all(|c| c.is_alphanumeric() || c == '_') {
        let wanted = wanted.to_lowercase();
        return TABLE_NAME
            .captures_iter(sql)
            .any(|m| m[1].to_lowercase() == wanted);
    }
    let name = regex::escape(wanted);
    Regex::new(&format!(
        r#"(?i)\btable\s+(?:if\s+not\s+exists\s+)?(?:"?[\w]+"?\.)?"?{name}"?(?:\s|\(|$)"#
    ))
    .map(|re| re.is_match(sql))
    .unwrap_or(false)
}

/// The fenced block holding the table's CREATE TABLE: first under a
/// "Table Structure" heading, then under a "Schema" heading, then anywhere;
/// a block that names the table wins over one that does not.
fn find_sql_block<'a>(text: &str, s: &'a Scan, facts: &TableFacts) -> Option<&'a Block> {
    let section = |pred: &dyn Fn(&str) -> bool| -> Vec<Range<usize>> {
        s.headings
            .iter()
            .enumerate()
            .filter(|(_, h)| pred(&h.text.to_lowercase()))
            .map(|(i, h)| {
                let end = s.headings[i + 1..]
                    .iter()
                    .find(|n| n.level <= h.level)
                    .map(|n| n.start)
                    .unwrap_or(text.len());
                h.start..end
            })
            .collect()
    };
    let candidates: Vec<&Block> = s
        .blocks
        .iter()
        .filter(|b| {
            let content = &text[b.content.clone()];
            // An untagged fence counts only when it defines this very table.
            let sql = SQL_LANGS.contains(&b.lang.as_str())
                || (b.lang.is_empty() && mentions_table(content, facts));
            sql && CREATE_TABLE.is_match(content)
        })
        .collect();
    let in_sections = |sections: &[Range<usize>], named: bool| {
        candidates
            .iter()
            .find(|b| {
                sections.iter().any(|r| r.contains(&b.range.start))
                    && (!named || mentions_table(&text[b.content.clone()], facts))
            })
            .copied()
    };
    let structure = section(&|h| h.contains("table structure"));
    let schema = section(&|h| h.contains("schema"));
    in_sections(&structure, true)
        .or_else(|| in_sections(&schema, true))
        .or_else(|| in_sections(&structure, false))
        .or_else(|| in_sections(&schema, false))
        .or_else(|| {
            candidates
                .iter()
                .find(|b| mentions_table(&text[b.content.clone()], facts))
                .copied()
        })
}

/// Column names of the table as the doc's SQL declares it, if it parses.
fn declared_columns(sql: &str, facts: &TableFacts) -> Option<Vec<String>> {
    let file = crate::sql::parse(Path::new("bridge-doc.sql"), sql.to_string()).ok()?;
    let schema = Schema::build(vec![std::sync::Arc::new(file)]);
    let table = schema.table(&facts.name).or_else(|| {
        schema
            .tables
            .iter()
            .find(|t| t.name.name == facts.name.name)
    })?;
    Some(table.columns.iter().map(|c| c.name.clone()).collect())
}

/// The value of the `Database Source:` line and its replacement. Other
/// labels (`Source:`, `Source file:`) count only when their value names a
/// `.sql` file, so that an unrelated "Source: pass 1 output" stays alone.
fn source_value(old: &str, hits: &[usize], facts: &TableFacts) -> Option<(Range<usize>, String)> {
    for &hit in hits {
        let start = line_start(old, hit);
        let end = line_end(old, hit);
        let line = &old[start..end];
        let Some(c) = SOURCE_LABEL.captures(line) else {
            continue;
        };
        let m = c.get(0).expect("whole match");
        let value_start = start + m.end();
        let value_end = (start + line.trim_end().len()).max(value_start);
        let old_value = &old[value_start..value_end];
        let label = c[1].to_lowercase();
        if !label.starts_with("database") && !old_value.contains(".sql") {
            continue;
        }
        let lines = if facts.line == facts.end_line {
            format!("line {}", facts.line)
        } else {
            format!("lines {}-{}", facts.line, facts.end_line)
        };
        // Only the file reference (and its line range) is touchpoint's:
        // words around it ("- updated 2026-10-01") are kept.
        let Some(r) = SQL_REF.captures(old_value) else {
            return Some((
                value_start..value_end,
                format!("{} ({lines})", facts.source_path),
            ));
        };
        let whole = r.get(0).expect("whole match");
        let (tick, slash) = (&r[1], &r[2]);
        let new_ref = format!("{tick}{slash}{}{tick} ({lines})", facts.source_path);
        let (from, to) = (value_start + whole.start(), value_start + whole.end());
        // Markdown hard breaks (two trailing spaces) stay: only the value
        // itself is replaced.
        return Some((from..to, new_ref));
    }
    None
}

/// The part of a hand-written sql block that is the table's definition:
/// its CREATE TABLE statement with the `;`, and the column-changing ALTER
/// TABLEs right after it. Comments and other statements around it (an
/// intro comment, indexes, policies) are the author's and stay.
fn definition_range(content: &str, facts: &TableFacts) -> Option<Range<usize>> {
    let lexed = crate::sql::split(content).ok()?;
    let stmts: Vec<(Range<usize>, bool)> = lexed
        .pieces
        .iter()
        .filter_map(|p| match p {
            crate::sql::Piece::Statement { span, terminated } => {
                Some((span.start..span.end, *terminated))
            }
            crate::sql::Piece::Meta(_) => None,
        })
        .collect();
    let first = stmts.iter().position(|(r, _)| {
        let t = &content[r.clone()];
        CREATE_TABLE.is_match(t) && mentions_table(t, facts)
    })?;
    let end_of = |(r, terminated): &(Range<usize>, bool)| {
        if *terminated {
            content[r.end..]
                .find(';')
                .map(|p| r.end + p + 1)
                .unwrap_or(r.end)
        } else {
            r.end
        }
    };
    let start = stmts[first].0.start;
    let mut end = end_of(&stmts[first]);
    for st in &stmts[first + 1..] {
        let own = crate::sql::parse(
            Path::new("bridge-doc.sql"),
            content[st.0.clone()].to_string(),
        )
        .ok()
        .and_then(|f| f.statements.into_iter().next())
        .is_some_and(|s| {
            super::facts::changes_columns(&s.node)
                && super::facts::altered_relation(&s.node) == Some(facts.name.name.as_str())
        });
        if !own {
            break;
        }
        end = end_of(st);
    }
    Some(start..end)
}

/// Indent every line but the first, which starts where the old text did.
fn indent_rest(s: &str, indent: &str) -> String {
    if indent.is_empty() {
        return s.to_string();
    }
    let mut out = String::new();
    for (i, l) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            if !l.trim().is_empty() {
                out.push_str(indent);
            }
        }
        out.push_str(l);
    }
    out
}

fn indent_lines(s: &str, indent: &str) -> String {
    if indent.is_empty() {
        return s.to_string();
    }
    s.split_inclusive('\n')
        .map(|l| {
            if l.trim().is_empty() {
                l.to_string()
            } else {
                format!("{indent}{l}")
            }
        })
        .collect()
}

pub fn regenerate(old: &str, facts: &TableFacts) -> Outcome {
    let s = scan(old);
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let mut warnings = Vec::new();
    let mut columns_before = None;
    let region = |name: &str| {
        s.regions
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, r)| r.clone())
    };

    for (name, at) in &s.unpaired {
        let line = old[..*at].matches('\n').count() + 1;
        warnings.push(
            Diagnostic::warning("bridge-marker", format!("touchpoint marker `{name}` has no partner; the region is left alone"))
                .line(line)
                .help("every <!-- touchpoint:begin NAME --> needs a matching <!-- touchpoint:end NAME -->"),
        );
    }

    if let Some(r) = region("sql") {
        if let Some(b) = s.blocks.iter().find(|b| r.contains(&b.range.start)) {
            columns_before = declared_columns(&old[b.content.clone()], facts);
        }
        edits.push((r, sql_fence(facts)));
    } else if let Some(b) = find_sql_block(old, &s, facts) {
        if b.quoted {
            warnings.push(
                Diagnostic::warning("bridge-sql-block", "the table's sql block is inside a block quote; left alone")
                    .line(old[..b.range.start].matches('\n').count() + 1)
                    .help("move the sql block out of the quote, or wrap it in <!-- touchpoint:begin sql --> markers"),
            );
        } else if let Some(r) = definition_range(&old[b.content.clone()], facts) {
            let at = b.content.start;
            columns_before = declared_columns(&old[at + r.start..at + r.end], facts);
            edits.push((at + r.start..at + r.end, indent_rest(&facts.sql, &b.indent)));
        } else {
            // The block does not even lex (an unterminated quote): replace
            // it whole rather than leave a broken definition.
            columns_before = None;
            let mut new = indent_lines(&format!("{}\n", facts.sql), &b.indent);
            if !b.closed {
                new.push_str(&format!("{}```\n", b.indent));
            }
            edits.push((b.content.clone(), new));
        }
    } else {
        warnings.push(
            Diagnostic::warning(
                "bridge-sql-block",
                format!("no ```sql block with the CREATE TABLE of {} found; the table SQL of this doc is not kept in sync", facts.display_name),
            )
            .help("add a `## Table Structure` section with a ```sql block, or a <!-- touchpoint:begin sql --> / <!-- touchpoint:end sql --> region"),
        );
    }

    if let Some(r) = region("source") {
        edits.push((r, format!("{}\n", source_line(facts))));
    } else if let Some((r, value)) = source_value(old, &s.source_hits, facts) {
        edits.push((r, value));
    }

    if let Some(r) = region("columns") {
        edits.push((r, columns_table(facts)));
    }

    edits.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
    let crlf = old.contains("\r\n");
    let mut text = old.to_string();
    let mut last_start = usize::MAX;
    for (r, new) in edits {
        // Overlapping edits would mean two generated parts claim the same
        // bytes; the earlier-starting one is skipped rather than corrupt.
        if r.end > last_start {
            continue;
        }
        last_start = r.start;
        // Generated text follows the file's line endings.
        let new = new.replace("\r\n", "\n");
        let new = if crlf { new.replace('\n', "\r\n") } else { new };
        text.replace_range(r, &new);
    }
    Outcome {
        text,
        columns_before,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::QualName;

    fn facts() -> TableFacts {
        TableFacts {
            name: QualName::new("", "t"),
            display_name: "t".into(),
            comment: None,
            source_path: "current_schema/01.sql".into(),
            line: 3,
            end_line: 6,
            sql: "CREATE TABLE t (\n    a int, -- note\n    b text\n);".into(),
            columns: vec![],
        }
    }

    #[test]
    fn hand_written_doc_updated_in_place() {
        let old = "# t\n\n**Database Source:** current_schema/01.sql (lines 1-2)  \n**Last reviewed:** x\n\n## Notes\n\n```sql\nselect 1;\n```\n\n## Table Structure\n\n```sql\nCREATE TABLE t (a int);\n```\n\nProse after.\n";
        let out = regenerate(old, &facts());
        assert_eq!(
            out.text,
            "# t\n\n**Database Source:** current_schema/01.sql (lines 3-6)  \n**Last reviewed:** x\n\n## Notes\n\n```sql\nselect 1;\n```\n\n## Table Structure\n\n```sql\nCREATE TABLE t (\n    a int, -- note\n    b text\n);\n```\n\nProse after.\n"
        );
        assert_eq!(out.columns_before, Some(vec!["a".to_string()]));
        assert_eq!(regenerate(&out.text, &facts()).text, out.text);
    }

    #[test]
    fn marker_regions_regenerated() {
        let old = "# t\n\n<!-- touchpoint:begin source -->\nold\n<!-- touchpoint:end source -->\n\nmine\n\n<!-- touchpoint:begin sql -->\n<!-- touchpoint:end sql -->\n";
        let out = regenerate(old, &facts());
        assert!(out.text.contains("<!-- touchpoint:begin source -->\n**Database Source:** current_schema/01.sql (lines 3-6)\n<!-- touchpoint:end source -->"));
        assert!(out
            .text
            .contains("<!-- touchpoint:begin sql -->\n```sql\nCREATE TABLE t ("));
        assert!(out.text.contains("mine"));
        assert_eq!(regenerate(&out.text, &facts()).text, out.text);
    }

    #[test]
    fn markers_inside_code_are_text() {
        let old = "```\n<!-- touchpoint:begin sql -->\n<!-- touchpoint:end sql -->\n```\n";
        let out = regenerate(old, &facts());
        assert_eq!(out.text, old);
        assert_eq!(out.warnings.len(), 1);
    }

    #[test]
    fn indented_and_unclosed_fences() {
        let old = "## Schema\n\n- item\n\n  ```sql\n  create table t (x int);\n  ```\n";
        let out = regenerate(old, &facts());
        assert!(
            out.text.contains(
                "  ```sql\n  CREATE TABLE t (\n      a int, -- note\n      b text\n  );\n  ```\n"
            ),
            "{}",
            out.text
        );
        let old = "## Table Structure\n\n```sql\ncreate table t (x int;\n";
        let out = regenerate(old, &facts());
        // An unclosed fence is the author's; only the definition changes.
        assert_eq!(
            out.text,
            "## Table Structure\n\n```sql\nCREATE TABLE t (\n    a int, -- note\n    b text\n);\n"
        );
        assert_eq!(regenerate(&out.text, &facts()).text, out.text);
        let old = "## Table Structure\n\n```sql\ncreate table t ('x;\n";
        let out = regenerate(old, &facts());
        assert!(out.text.ends_with("b text\n);\n```\n"), "{}", out.text);
    }

    #[test]
    fn only_the_definition_in_a_block_is_replaced() {
        let old = "## Table Structure\n\n```sql\n-- Pass 1 metrics\ncreate table if not exists public.t (x int);\nalter table t add column y int;\nalter table t enable row level security;\ncreate index t_x on t (x);\n```\n";
        let out = regenerate(old, &facts());
        assert_eq!(
            out.text,
            "## Table Structure\n\n```sql\n-- Pass 1 metrics\nCREATE TABLE t (\n    a int, -- note\n    b text\n);\nalter table t enable row level security;\ncreate index t_x on t (x);\n```\n"
        );
        assert_eq!(
            out.columns_before,
            Some(vec!["x".to_string(), "y".to_string()])
        );
        assert_eq!(regenerate(&out.text, &facts()).text, out.text);
    }

    #[test]
    fn untagged_fence_defining_the_table() {
        let old = "## Schema\n\n```\nCREATE TABLE public.t (x int);\n```\n\n```\nCREATE TABLE other (y int);\n```\n";
        let out = regenerate(old, &facts());
        assert!(
            out.text.starts_with("## Schema\n\n```\nCREATE TABLE t (\n"),
            "{}",
            out.text
        );
        assert!(out
            .text
            .ends_with("```\nCREATE TABLE other (y int);\n```\n"));
    }

    #[test]
    fn source_line_styles() {
        let f = facts();
        let v = |line: &str| regenerate(&format!("{line}\n"), &f).text;
        assert_eq!(
            v("**Database Source:** `/current_schema/x.sql` (lines 1-2)"),
            "**Database Source:** `/current_schema/01.sql` (lines 3-6)\n"
        );
        assert_eq!(
            v("**Database Source**: /current_schema/x.sql"),
            "**Database Source**: /current_schema/01.sql (lines 3-6)\n"
        );
        assert_eq!(
            v("- Source file: current_schema/x.sql"),
            "- Source file: current_schema/01.sql (lines 3-6)\n"
        );
        assert_eq!(v("Source: pass 1 output"), "Source: pass 1 output\n");
        assert_eq!(
            v("**Database Source:** current_schema/x.sql:1-2 - updated 2026-10-01  "),
            "**Database Source:** current_schema/01.sql (lines 3-6) - updated 2026-10-01  \n"
        );
        assert_eq!(
            v("**Database Source:** TBD"),
            "**Database Source:** current_schema/01.sql (lines 3-6)\n"
        );
    }

    #[test]
    fn crlf_files_stay_crlf() {
        let old = "**Database Source:** a.sql\r\n\r\n## Table Structure\r\n\r\n```sql\r\ncreate table t (x int);\r\n```\r\n";
        let out = regenerate(old, &facts());
        assert!(
            !out.text.replace("\r\n", "").contains('\n'),
            "{:?}",
            out.text
        );
        assert!(out
            .text
            .contains("CREATE TABLE t (\r\n    a int, -- note\r\n"));
        assert!(out
            .text
            .starts_with("**Database Source:** current_schema/01.sql (lines 3-6)\r\n"));
        assert_eq!(regenerate(&out.text, &facts()).text, out.text);
    }

    #[test]
    fn cells_escape_pipes() {
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(cell("x\n y"), "x y");
    }
}
