//! The header contract, by state.
//!
//! - Every migration: the house header with every required section
//!   (`header-sections`) and no template placeholder in the prose sections
//!   (`header-placeholder`, a warning while a draft). These are lint's own
//!   header rules, run as they are.
//! - Approved: the review line carries the SHA-256 of the SQL as it is now
//!   (`review-checksum`).
//! - Finalized: every box ticked, `[X]`, `[x]`, or `[N/A]` with a reason
//!   (`unticked-box`, `na-without-reason`); a date in the execution line
//!   (`execution-date`); no placeholder anywhere in the header, fields
//!   included (`header-placeholder`, an error).
//!
//! Why? The header is the review record. A box left open in a finalized
//! migration is a step nobody can say was done; an approval whose checksum
//! no longer matches approved other SQL than what will run.

use crate::header::{BoxState, Header, State, PLACEHOLDER_RE};
use crate::lint::{self, Context};
use crate::report::{Diagnostic, Severity};
use crate::sql::SqlFile;
use chrono::NaiveDate;
use regex::Regex;
use std::sync::LazyLock;

/// `parsed`: `file` holds the real statements (not a stand-in for a file
/// that does not parse), so its checksum means something.
/// `review_required`: `[review] required`; without it a finalized
/// migration may keep its REVIEW section as the template wrote it.
pub fn check(
    file: &SqlFile,
    header: Option<&Header>,
    parsed: bool,
    review_required: bool,
) -> Vec<Diagnostic> {
    let cx = Context {
        file,
        header,
        schema: None,
        analysis: None,
        is_migration: true,
    };
    let mut out = Vec::new();
    lint::rules::header_sections::check(&cx, &mut out);
    lint::rules::header_placeholder::check(&cx, &mut out);
    let Some(h) = header else {
        return out;
    };
    match h.state() {
        State::Draft => {}
        State::Approved if parsed => out.extend(review(file, h)),
        State::Approved => {}
        State::Finalized => {
            out.extend(boxes(file, h));
            out.extend(execution_date(file, h));
            out.extend(field_placeholders(file, h));
            if !review_required {
                if let Some(r) = h.section("REVIEW") {
                    let last = r.body.last().map_or(r.line, |b| b.line);
                    out.retain(|d| !d.line.is_some_and(|l| (r.line..=last).contains(&l)));
                }
            }
        }
    }
    out
}

fn review(file: &SqlFile, h: &Header) -> Option<Diagnostic> {
    let r = h.review()?;
    let sum = crate::history::checksum(file);
    let message = match r.checksum.as_deref() {
        Some(s) if s == sum => return None,
        Some(_) => format!(
            "the SQL changed after it was approved by {} on {}",
            r.by, r.date
        ),
        None => format!(
            "the approval by {} on {} records no SQL checksum",
            r.by, r.date
        ),
    };
    Some(
        Diagnostic::new("review-checksum", Severity::Error, message)
            .file(&file.path)
            .line(r.line)
            .help(format!(
                "have the SQL reviewed and run `touchpoint approve {} --by NAME` again",
                file.path.display()
            )),
    )
}

fn boxes(file: &SqlFile, h: &Header) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for s in &h.sections {
        for (i, b) in s.body.iter().enumerate() {
            let Some(c) = &b.checkbox else { continue };
            match c.state {
                BoxState::Done => {}
                BoxState::Open => out.push(
                    Diagnostic::new(
                        "unticked-box",
                        Severity::Error,
                        format!(
                            "{}: box left open in a finalized migration: [ ] {}",
                            s.name, c.label
                        ),
                    )
                    .file(&file.path)
                    .line(b.line)
                    .help(
                        "do the step and tick it [X], or mark it [N/A] with the reason it does not apply",
                    ),
                ),
                BoxState::NotApplicable => {
                    // The reason may sit on the lines below the box.
                    let continued = s.body[i + 1..]
                        .iter()
                        .take_while(|n| n.checkbox.is_none())
                        .any(|n| !n.text.trim().is_empty());
                    if !has_reason(&c.label) && !continued {
                        out.push(
                            Diagnostic::new(
                                "na-without-reason",
                                Severity::Error,
                                format!("{}: [N/A] without a reason", s.name),
                            )
                            .file(&file.path)
                            .line(b.line)
                            .help("say why it does not apply, e.g. [N/A] bridge-schemas/minimal/t.json (t has no minimal tier)"),
                        );
                    }
                }
            }
        }
    }
    out
}

/// Is there more than a path after `[N/A]`? `[N/A] docs/t.json` names what
/// was skipped, not why.
fn has_reason(label: &str) -> bool {
    let label = label.trim();
    let rest = match label.split_once(char::is_whitespace) {
        Some((first, rest)) if looks_like_path(first) => rest,
        None if looks_like_path(label) => "",
        _ => label,
    };
    rest.chars().any(char::is_alphanumeric)
}

fn looks_like_path(token: &str) -> bool {
    token.contains('/')
        || [".sql", ".md", ".json"]
            .iter()
            .any(|x| token.to_ascii_lowercase().ends_with(x))
}

static ISO_DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\d{4})[-/](\d{2})[-/](\d{2})\b").unwrap());
static WORD_DATE: LazyLock<Regex> = LazyLock::new(|| {
    let month = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?";
    Regex::new(&format!(
        r"(?i)\b(?:\d{{1,2}}(?:st|nd|rd|th)?\s+{month},?\s+\d{{4}}|{month}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})\b"
    ))
    .unwrap()
});

/// Does the text carry a real calendar date (`2025-08-15`, `2025/08/15`,
/// `15 August 2025`, `Aug 15, 2025`)?
pub fn has_date(text: &str) -> bool {
    ISO_DATE.captures_iter(text).any(|m| {
        NaiveDate::from_ymd_opt(
            m[1].parse().unwrap_or(0),
            m[2].parse().unwrap_or(0),
            m[3].parse().unwrap_or(0),
        )
        .is_some()
    }) || WORD_DATE.is_match(text)
}

fn execution_date(file: &SqlFile, h: &Header) -> Option<Diagnostic> {
    let s = h.section("MIGRATION EXECUTED")?;
    let done: Vec<_> = s
        .checkboxes()
        .filter(|(_, c)| c.state == BoxState::Done)
        .collect();
    if done
        .iter()
        .any(|(b, c)| has_date(&c.label) || has_date(&b.text))
    {
        return None;
    }
    let line = done.first().map_or(s.line, |(b, _)| b.line);
    Some(
        Diagnostic::new(
            "execution-date",
            Severity::Error,
            "the execution line of a finalized migration has no date",
        )
        .file(&file.path)
        .line(line)
        .help("write where and when it ran: [X] Applied to production on 2025-08-15"),
    )
}

/// Placeholders in the fields above the sections (`-- Date: <date>`),
/// which lint's section rule does not look at.
fn field_placeholders(file: &SqlFile, h: &Header) -> Vec<Diagnostic> {
    h.fields
        .iter()
        .filter_map(|(name, value, line)| {
            let m = PLACEHOLDER_RE.find(value)?;
            Some(
                Diagnostic::new(
                    "header-placeholder",
                    Severity::Error,
                    format!("{name}: placeholder {} left in the header", m.as_str()),
                )
                .file(&file.path)
                .line(*line)
                .help("a finalized migration records what was done: fill it in"),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn run(src: &str) -> Vec<String> {
        let f = crate::sql::parse(Path::new("m.sql"), src.to_string()).unwrap();
        let h = crate::header::parse(src);
        check(&f, h.as_ref(), true, true)
            .into_iter()
            .map(|d| format!("{}:{} {}", d.line.unwrap_or(0), d.code, d.message))
            .collect()
    }

    const SECTIONS: &str = "-- PROBLEM: p\n-- SOLUTION: s\n-- AFFECTED TABLES:\n--   - t\n\
        -- SOURCE OF TRUTH SCHEMA UPDATED:\n--   [X] current_schema/a.sql\n\
        -- SCHEMA DOCUMENTATION UPDATED:\n";

    #[test]
    fn finalized_boxes_reasons_and_date() {
        let src = format!(
            "-- ====================\n-- Migration: x\n{SECTIONS}\
             --   [N/A] bridge-schemas/minimal/t.json\n\
             --   [n/a] bridge-schemas/detailed/t.json (no detailed tier)\n\
             --   [N/A]\n--      t is internal\n\
             --   [ ] bridge-schemas/source/t.md\n\
             -- MIGRATION STRATEGY: one go\n\
             -- MIGRATION EXECUTED:\n--   [x] Applied to production\n\
             -- ====================\nselect 1;\n"
        );
        assert_eq!(
            run(&src),
            vec![
                "10:na-without-reason SCHEMA DOCUMENTATION UPDATED: [N/A] without a reason",
                "14:unticked-box SCHEMA DOCUMENTATION UPDATED: box left open in a finalized migration: [ ] bridge-schemas/source/t.md",
                "17:execution-date the execution line of a finalized migration has no date",
            ]
        );
    }

    #[test]
    fn without_required_review_the_review_box_may_stay_open() {
        let src = format!(
            "-- ====================\n-- Migration: x\n{SECTIONS}--   [X] d.md\n\
             -- MIGRATION STRATEGY: s\n-- REVIEW:\n--   [ ] Reviewed by <reviewer> on <date>\n\
             -- MIGRATION EXECUTED:\n--   [X] Applied to dev on 2025-01-02\n-- ====================\nselect 1;\n"
        );
        let f = crate::sql::parse(Path::new("m.sql"), src.clone()).unwrap();
        let h = crate::header::parse(&src);
        let codes = |required| -> Vec<String> {
            check(&f, h.as_ref(), true, required)
                .into_iter()
                .map(|d| d.code)
                .collect()
        };
        assert_eq!(codes(true), vec!["header-placeholder", "unticked-box"]);
        assert!(codes(false).is_empty());
    }

    #[test]
    fn approved_checksum_must_match_the_sql() {
        let f = crate::sql::parse(Path::new("m.sql"), "select 1;".into()).unwrap();
        let sum = crate::history::checksum(&f);
        let header = format!(
            "-- ====================\n-- Migration: x\n{SECTIONS}--   [X] d.md\n\
             -- MIGRATION STRATEGY: s\n-- REVIEW:\n--   [X] Reviewed by dana on 2025-01-02 (sql sha256: {sum})\n\
             -- MIGRATION EXECUTED:\n--   [ ] Applied to <target> on <date>\n-- ====================\n"
        );
        assert!(run(&format!("{header}select 1;\n")).is_empty());
        let changed = run(&format!("{header}select 2;\n"));
        assert_eq!(
            changed,
            vec!["13:review-checksum the SQL changed after it was approved by dana on 2025-01-02"]
        );
    }

    #[test]
    fn dates_in_several_forms() {
        assert!(has_date("Applied to prod on 2025-08-15"));
        assert!(has_date("Applied 15 August 2025 via dashboard"));
        assert!(has_date("applied Aug 15, 2025"));
        assert!(!has_date("Applied to <target> on <date>"));
        assert!(!has_date("Applied on 2025-02-30"));
    }

    #[test]
    fn reasons_are_more_than_a_path() {
        assert!(!has_reason("bridge-schemas/minimal/t.json"));
        assert!(!has_reason(""));
        assert!(has_reason(
            "bridge-schemas/minimal/t.json (no minimal tier)"
        ));
        assert!(has_reason("no object in current_schema changed"));
    }
}
