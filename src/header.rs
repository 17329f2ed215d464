//! The migration header: parse the house format (tolerantly: real headers
//! have `[ ]`, `[x]`, `[X]`, `[N/A]`, free text and missing sections), render
//! it from the tera template, and edit sections in place.
//!
//! The header is the leading `--` comment block, usually framed by two
//! `-- ====` banner lines. A section starts at a line `-- NAME:` with an
//! upper-case name and runs to the next section or the end of the header.

use crate::error::{Error, Result};
use crate::text;
use regex::Regex;
use std::sync::LazyLock;

/// Sections every migration header must have.
pub const REQUIRED_SECTIONS: &[&str] = &[
    "PROBLEM",
    "SOLUTION",
    "AFFECTED TABLES",
    "SOURCE OF TRUTH SCHEMA UPDATED",
    "SCHEMA DOCUMENTATION UPDATED",
    "MIGRATION STRATEGY",
    "MIGRATION EXECUTED",
];

/// Sections `touchpoint research` writes and `--refresh` rewrites.
pub const GENERATED_SECTIONS: &[&str] = &[
    "AFFECTED TABLES",
    "SOURCE OF TRUTH SCHEMA UPDATED",
    "SCHEMA DOCUMENTATION UPDATED",
    "IMPACT ANALYSIS",
    "LOCKS AND REWRITES",
];

/// Sections a person writes; a placeholder left in them is a finding.
pub const PROSE_SECTIONS: &[&str] = &["PROBLEM", "SOLUTION", "MIGRATION STRATEGY"];

/// What research writes where a person has not said anything yet.
pub const PROBLEM_PLACEHOLDER: &str = "<describe the problem this migration solves>";
pub const SOLUTION_PLACEHOLDER: &str = "<describe the change and why this approach was chosen>";

/// The prose sections that still hold a template placeholder.
pub fn unwritten_prose(h: &Header) -> Vec<&'static str> {
    PROSE_SECTIONS
        .iter()
        .copied()
        .filter(|s| {
            h.section(s)
                .is_some_and(|s| s.content().is_empty() || PLACEHOLDER_RE.is_match(&s.content()))
        })
        .collect()
}

static SECTION_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^--\s*([A-Z][A-Z0-9 /&()'-]*[A-Z)]):\s*(.*)$").unwrap());
static FIELD_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^--\s*(Migration|Date|Issue|Title|Author|Ticket):\s*(.*)$").unwrap()
});
static BOX_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^--(\s*)\[( |x|X|N/A|n/a)\]\s*(.*)$").unwrap());
static BANNER_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^--\s*={8,}\s*$").unwrap());
/// Template placeholders: `<describe ...>`, `<reviewer>`, `<target>`, `<date>`.
pub static PLACEHOLDER_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"<(describe[^>]*|reviewer|target|date|name|todo[^>]*|TODO[^>]*)>").unwrap()
});
static REVIEW_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Reviewed by (?P<by>.+?) on (?P<date>\d{4}-\d{2}-\d{2})(?:\s*\(sql sha256: (?P<sum>[0-9a-f]{64})\))?").unwrap()
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BoxState {
    Open,
    Done,
    NotApplicable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkbox {
    pub state: BoxState,
    /// Text after the box.
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyLine {
    /// 1-based line in the file.
    pub line: usize,
    /// The line without its leading `--`.
    pub text: String,
    pub checkbox: Option<Checkbox>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    /// Line of the `-- NAME:` line.
    pub line: usize,
    /// Text on the name line after the colon.
    pub inline: String,
    pub body: Vec<BodyLine>,
}

impl Section {
    /// Last line that belongs to the section (trailing `--` spacer lines
    /// excluded).
    pub fn last_line(&self) -> usize {
        self.body
            .iter()
            .rev()
            .find(|b| !b.text.trim().is_empty())
            .map_or(self.line, |b| b.line)
    }
    pub fn checkboxes(&self) -> impl Iterator<Item = (&BodyLine, &Checkbox)> {
        self.body
            .iter()
            .filter_map(|b| b.checkbox.as_ref().map(|c| (b, c)))
    }
    /// The prose of the section, placeholders included, trimmed.
    pub fn content(&self) -> String {
        let mut parts = vec![self.inline.trim().to_string()];
        parts.extend(self.body.iter().map(|b| b.text.trim().to_string()));
        parts.retain(|p| !p.is_empty());
        parts.join("\n")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// First and last line of the header block (1-based, inclusive).
    pub start_line: usize,
    pub end_line: usize,
    /// `Migration:`, `Date:`, `Issue:` ... with their line.
    pub fields: Vec<(String, String, usize)>,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Draft,
    Approved,
    Finalized,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Approved => "approved",
            State::Finalized => "finalized",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub by: String,
    pub date: String,
    pub checksum: Option<String>,
    pub line: usize,
}

impl Header {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v, _)| v.as_str())
    }
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }
    pub fn title(&self) -> Option<&str> {
        self.field("Migration").or_else(|| self.field("Title"))
    }

    /// The recorded review, when its box is ticked.
    pub fn review(&self) -> Option<Review> {
        let s = self.section("REVIEW")?;
        s.checkboxes()
            .filter(|(_, c)| c.state == BoxState::Done)
            .find_map(|(b, c)| {
                let m = REVIEW_RE.captures(&c.label)?;
                Some(Review {
                    by: m["by"].to_string(),
                    date: m["date"].to_string(),
                    checksum: m.name("sum").map(|x| x.as_str().to_string()),
                    line: b.line,
                })
            })
    }

    /// Finalized once the execution box is ticked; approved once a review
    /// is recorded; a draft before that.
    pub fn state(&self) -> State {
        let executed = self
            .section("MIGRATION EXECUTED")
            .is_some_and(|s| s.checkboxes().any(|(_, c)| c.state == BoxState::Done));
        if executed {
            State::Finalized
        } else if self.review().is_some() {
            State::Approved
        } else {
            State::Draft
        }
    }
}

/// Parse the header of a migration file. `None` when the file does not
/// start with a comment block.
pub fn parse(text: &str) -> Option<Header> {
    let lines: Vec<&str> = text.lines().collect();
    let first = lines.iter().position(|l| !l.trim().is_empty())?;
    if !lines[first].trim_start().starts_with("--") {
        return None;
    }
    let framed = BANNER_RE.is_match(lines[first].trim());
    let mut end = first;
    for (i, raw) in lines.iter().enumerate().skip(first) {
        let l = raw.trim();
        if !l.starts_with("--") {
            // A blank line ends an unframed header; a framed one runs to
            // its closing banner.
            if !framed || !l.is_empty() {
                break;
            }
        }
        end = i;
        if framed && i > first && BANNER_RE.is_match(l) {
            break;
        }
    }
    let mut header = Header {
        start_line: first + 1,
        end_line: end + 1,
        fields: Vec::new(),
        sections: Vec::new(),
    };
    for (i, raw) in lines.iter().enumerate().take(end + 1).skip(first) {
        let l = raw.trim();
        let line = i + 1;
        // Cheap tests before the regexes: `check` parses the header of
        // every migration of a long history, and most lines are prose.
        if l.contains("========") && BANNER_RE.is_match(l) {
            continue;
        }
        let colon = l.contains(':');
        if let Some(m) = colon.then(|| FIELD_RE.captures(l)).flatten() {
            header
                .fields
                .push((m[1].to_string(), m[2].trim().to_string(), line));
            continue;
        }
        if let Some(m) = colon.then(|| SECTION_RE.captures(l)).flatten() {
            header.sections.push(Section {
                name: m[1].trim().to_string(),
                line,
                inline: m[2].to_string(),
                body: Vec::new(),
            });
            continue;
        }
        if let Some(s) = header.sections.last_mut() {
            let body = l.strip_prefix("--").unwrap_or(l).to_string();
            let boxed = l.contains('[') && l.contains(']');
            let checkbox = boxed
                .then(|| BOX_RE.captures(l))
                .flatten()
                .map(|m| Checkbox {
                    state: match &m[2] {
                        " " => BoxState::Open,
                        "x" | "X" => BoxState::Done,
                        _ => BoxState::NotApplicable,
                    },
                    label: m[3].trim().to_string(),
                });
            s.body.push(BodyLine {
                line,
                text: body,
                checkbox,
            });
        }
    }
    Some(header)
}

/// Is the line a `-- ========` banner?
pub fn is_banner(line: &str) -> bool {
    BANNER_RE.is_match(line.trim())
}

/// Does a header that opens with a banner also close with one?
pub fn is_closed(text: &str, h: &Header) -> bool {
    let line = |n: usize| text.lines().nth(n - 1).unwrap_or("");
    !is_banner(line(h.start_line)) || (h.end_line > h.start_line && is_banner(line(h.end_line)))
}

/// Replace the body of section `name` with `lines` (each without the
/// leading `--`). Trailing spacer lines of the old body are kept. With no
/// such section, it is inserted before `before` (or at the header's end).
pub fn set_section_body(
    text: &str,
    name: &str,
    lines: &[String],
    before: Option<&str>,
) -> Result<String> {
    let h =
        parse(text).ok_or_else(|| Error::new("header", "the file has no header comment block"))?;
    let rendered: Vec<String> = lines.iter().map(|l| format!("--{l}")).collect();
    if let Some(s) = h.section(name) {
        let first = s.line + 1;
        return Ok(text::replace_lines(text, first, s.last_line(), &rendered));
    }
    // Before the closing banner of a framed header; after the last line of
    // a header without one (before it, that line's text would move into
    // the new section).
    let closed = h.end_line > h.start_line
        && text
            .lines()
            .nth(h.end_line - 1)
            .is_some_and(|l| BANNER_RE.is_match(l.trim()));
    let at = before
        .and_then(|b| h.section(b))
        .map(|s| s.line)
        .unwrap_or(if closed { h.end_line } else { h.end_line + 1 });
    let mut block = vec![format!("-- {name}:")];
    block.extend(rendered);
    block.push("--".into());
    Ok(text::replace_lines(text, at, at - 1, &block))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
-- ============================================================================
-- Migration: Add processing time
-- Date: 2026-10-14
-- Issue: #41
--
-- PROBLEM:
--   Durations are invisible.
--
-- SOURCE OF TRUTH SCHEMA UPDATED:
--   [X] current_schema/06_job_coordination.sql
--      - Line 48: Added processing_time_minutes
--   [ ] current_schema/07_x.sql
--   [N/A] bridge-schemas/minimal/x.json (no minimal doc)
-- Free text that belongs to no box.
--
-- REVIEW:
--   [x] Reviewed by dana on 2026-10-14 (sql sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef)
--
-- MIGRATION EXECUTED:
--   [ ] Applied to <target> on <date>
-- ============================================================================

ALTER TABLE job_queue ADD COLUMN processing_time_minutes integer;
";

    #[test]
    fn parses_fields_sections_and_boxes() {
        let h = parse(SAMPLE).unwrap();
        assert_eq!((h.start_line, h.end_line), (1, 21));
        assert_eq!(h.title(), Some("Add processing time"));
        assert_eq!(h.field("date"), Some("2026-10-14"));
        let s = h.section("SOURCE OF TRUTH SCHEMA UPDATED").unwrap();
        let states: Vec<BoxState> = s.checkboxes().map(|(_, c)| c.state).collect();
        assert_eq!(
            states,
            vec![BoxState::Done, BoxState::Open, BoxState::NotApplicable]
        );
        assert_eq!(s.last_line(), 14);
        let r = h.review().unwrap();
        assert_eq!(r.by, "dana");
        assert_eq!(r.checksum.as_deref().map(str::len), Some(64));
        assert_eq!(h.state(), State::Approved);
    }

    #[test]
    fn unframed_older_headers_parse() {
        let h = parse("-- Fix things\n-- PROBLEM: it broke\n\nselect 1;\n").unwrap();
        assert_eq!(h.end_line, 2);
        assert_eq!(h.section("PROBLEM").unwrap().inline, "it broke");
        assert!(h.section("SOLUTION").is_none());
        assert_eq!(h.state(), State::Draft);
    }

    #[test]
    fn files_without_header() {
        assert!(parse("select 1;").is_none());
        assert!(parse("").is_none());
    }

    #[test]
    fn set_section_body_replaces_and_inserts() {
        let out = set_section_body(
            SAMPLE,
            "MIGRATION EXECUTED",
            &["   [X] Applied to dev on 2026-11-21".into()],
            None,
        )
        .unwrap();
        assert!(out.contains("--   [X] Applied to dev on 2026-11-21\n-- ====="));
        assert_eq!(parse(&out).unwrap().state(), State::Finalized);
        let out = set_section_body(
            SAMPLE,
            "LOCKS AND REWRITES",
            &["   none".into()],
            Some("REVIEW"),
        )
        .unwrap();
        let h = parse(&out).unwrap();
        let names: Vec<&str> = h.sections.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "PROBLEM",
                "SOURCE OF TRUTH SCHEMA UPDATED",
                "LOCKS AND REWRITES",
                "REVIEW",
                "MIGRATION EXECUTED"
            ]
        );
    }
}

/// The shipped header template; a workspace's `templates/` folder overrides
/// it.
pub const DEFAULT_TEMPLATE: &str = include_str!("../templates/migration.sql.tera");

/// First line inside a generated verification or rollback block.
/// `research --refresh` regenerates a block only while this line is there.
pub const GENERATED_MARKER: &str =
    "-- generated by touchpoint research; delete this line to keep your edits on --refresh";

/// Values the migration template is rendered with.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Vars {
    pub title: String,
    pub date: String,
    pub issue: String,
    /// Prose sections, one entry per line.
    pub problem: Vec<String>,
    pub solution: Vec<String>,
    pub strategy: Vec<String>,
    pub affected_tables: Vec<String>,
    pub schema_files: Vec<SchemaFileVar>,
    pub docs: Vec<DocVar>,
    pub impact: Vec<String>,
    pub locks: Vec<String>,
    pub sql: String,
    pub verification: String,
    pub rollback: String,
}

/// One doc box: `mark` is the box content (` ` or `N/A`), `note` the reason
/// shown after an `[N/A]` path.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DocVar {
    pub mark: String,
    pub path: String,
    pub note: String,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SchemaFileVar {
    pub path: String,
    pub notes: Vec<String>,
}

/// The template text: `templates/migration.sql.tera` of the workspace, or
/// the shipped default.
pub fn template(templates_dir: &std::path::Path) -> Result<(String, std::path::PathBuf)> {
    let path = templates_dir.join("migration.sql.tera");
    match std::fs::read_to_string(&path) {
        Ok(t) => Ok((t, path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok((DEFAULT_TEMPLATE.to_string(), path))
        }
        Err(e) => Err(Error::io(&path, e)),
    }
}

pub fn render(template: &str, template_path: &std::path::Path, vars: &Vars) -> Result<String> {
    let ctx = tera::Context::from_serialize(vars)
        .map_err(|e| Error::new("template", e.to_string()).file(template_path))?;
    tera::Tera::one_off(template, &ctx, false).map_err(|e| {
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        Error::new("template", msg)
            .file(template_path)
            .help("fix the template; the variables it may use are listed in README.md")
    })
}

/// Replace the inside of the `/* */` block that follows the banner line
/// `-- {banner}` (VERIFICATION QUERY, ROLLBACK SCRIPT), but only while the
/// block still carries `GENERATED_MARKER`: a block a person edited (and
/// whose marker they removed) is left alone. `None` when nothing changed.
pub fn replace_generated_block(text: &str, banner: &str, inner: &str) -> Option<String> {
    let wanted = format!("-- {banner}");
    let mut offset = 0;
    let mut banner_end = None;
    for line in text.split_inclusive('\n') {
        offset += line.len();
        if line.trim() == wanted {
            banner_end = Some(offset);
        }
    }
    let from = banner_end?;
    let lexed = crate::sql::split(text).ok()?;
    let block = lexed
        .comments
        .iter()
        .find(|c| c.start >= from && text[c.start..].starts_with("/*"))?;
    let old_inner = &text[block.start + 2..block.end - 2];
    if !old_inner.contains(GENERATED_MARKER) {
        return None;
    }
    let new_inner = format!("\n{}\n", inner.trim_end());
    if old_inner == new_inner {
        return None;
    }
    Some(format!(
        "{}{}{}",
        &text[..block.start + 2],
        new_inner,
        &text[block.end - 2..]
    ))
}

/// What `finalize` records in the header.
#[derive(Debug, Clone, Default)]
pub struct Ticks {
    /// Patched schema files with their `Line N: what` notes.
    pub schema_files: Vec<(String, Vec<String>)>,
    /// Doc boxes: (done, path, reason for `[N/A]`).
    pub docs: Vec<(bool, String, String)>,
    /// The execution line, e.g. `Applied to embedded throwaway database on
    /// 2026-11-21 via touchpoint finalize`.
    pub executed: String,
}

/// Tick the header of a migration: every schema-file box with its real
/// line numbers, every doc box, the execution box. Sections that are
/// missing in older files are added.
pub fn tick(text: &str, t: &Ticks) -> Result<String> {
    let mut sot: Vec<String> = Vec::new();
    for (path, notes) in &t.schema_files {
        sot.push(format!("   [X] {path}"));
        sot.extend(notes.iter().map(|n| format!("      - {n}")));
    }
    if sot.is_empty() {
        sot.push(
            "   [N/A] no object in current_schema changed (data-only or no-op migration)".into(),
        );
    }
    let mut docs: Vec<String> = t
        .docs
        .iter()
        .map(|(done, path, reason)| {
            if *done {
                format!("   [X] {path}")
            } else {
                format!("   [N/A] {path} ({reason})")
            }
        })
        .collect();
    if docs.is_empty() {
        docs.push("   [N/A] no bridge docs exist for the affected tables".into());
    }
    let mut out = set_section_body(
        text,
        "SOURCE OF TRUTH SCHEMA UPDATED",
        &sot,
        Some("SCHEMA DOCUMENTATION UPDATED"),
    )?;
    out = set_section_body(
        &out,
        "SCHEMA DOCUMENTATION UPDATED",
        &docs,
        Some("MIGRATION STRATEGY"),
    )?;
    out = set_section_body(
        &out,
        "MIGRATION EXECUTED",
        &[format!("   [X] {}", t.executed)],
        None,
    )?;
    Ok(out)
}

#[cfg(test)]
mod tick_tests {
    use super::*;

    #[test]
    fn tick_fills_every_box() {
        let src = "-- ====================\n-- Migration: x\n-- SOURCE OF TRUTH SCHEMA UPDATED:\n--   [ ] current_schema/a.sql\n--      - Line 3: public.t: add column c\n-- SCHEMA DOCUMENTATION UPDATED:\n--   [ ] bridge-schemas/source/t.md\n-- MIGRATION STRATEGY:\n--   one transaction\n-- MIGRATION EXECUTED:\n--   [ ] Applied to <target> on <date>\n-- ====================\nalter table t add column c int;\n";
        let out = tick(
            src,
            &Ticks {
                schema_files: vec![(
                    "current_schema/a.sql".into(),
                    vec!["Line 9: Added column c".into()],
                )],
                docs: vec![
                    (true, "bridge-schemas/source/t.md".into(), String::new()),
                    (
                        false,
                        "bridge-schemas/minimal/t.json".into(),
                        "no minimal doc".into(),
                    ),
                ],
                executed: "Applied to dev on 2026-11-21 via touchpoint finalize".into(),
            },
        )
        .unwrap();
        assert!(!out.contains("[ ]"), "{out}");
        assert!(out.contains("--   [X] current_schema/a.sql\n--      - Line 9: Added column c\n"));
        assert!(out.contains("--   [N/A] bridge-schemas/minimal/t.json (no minimal doc)"));
        assert_eq!(parse(&out).unwrap().state(), State::Finalized);
        assert!(out.ends_with("alter table t add column c int;\n"));
    }
}
