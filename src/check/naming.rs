//! `migration-name`
//!
//! What it does: a migration's file name must match `[check]
//! naming_pattern` (default `YYYY-MM-DD_NN_slug.sql`), and the date in it
//! must be a real date.
//!
//! Why is this bad? The name carries the order and the date of the change;
//! a name in another convention (`20250815_03_x.sql`, `003_x.sql`) sorts
//! differently from the rest of the history and hides its number from
//! people scanning the folder, and `2025-02-30` is a typo nobody notices.
//!
//! Example: `migration_history/003_add_notes.sql`.

use crate::history::Entry;
use crate::report::{Diagnostic, Severity};
use chrono::NaiveDate;

pub const CODE: &str = "migration-name";

pub fn check(e: &Entry) -> Vec<Diagnostic> {
    let d = |msg: String, help: String| {
        Diagnostic::new(CODE, Severity::Error, msg)
            .file(&e.display)
            .help(help)
    };
    if !e.conventional {
        let what = if e.number.is_none() {
            "does not follow the naming pattern and carries no sequence number"
        } else {
            "does not follow the naming pattern"
        };
        let example = suggestion(e)
            .map(|s| format!(", here {s}"))
            .unwrap_or_default();
        return vec![d(
            format!("file name {} {what}", e.file_name),
            format!(
                "name migrations YYYY-MM-DD_NN_slug.sql{example} (or set [check] naming_pattern); \
                 for files from before touchpoint, list them in [check] baseline"
            ),
        )];
    }
    match &e.date {
        Some(date) if NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() => vec![d(
            format!("the date {date} in the file name is not a real date"),
            "fix the date in the file name (the header's Date line says when it was written)"
                .into(),
        )],
        _ => Vec::new(),
    }
}

/// The conventional name of a file named in another convention, when its
/// date and number can be read from the name.
fn suggestion(e: &Entry) -> Option<String> {
    let digits = super::name_date(&e.file_name)?;
    let date = NaiveDate::parse_from_str(&digits, "%Y%m%d").ok()?;
    let nn = e.number?;
    let number_text = e.number_text.as_deref()?;
    // The slug: what follows the number in the name.
    let stem = e.file_name.trim_end_matches(".sql");
    let after = stem.rsplit_once(number_text).map(|(_, s)| s)?;
    let slug = crate::history::sanitize_slug(after).ok()?;
    Some(format!("{}_{nn:02}_{slug}.sql", date.format("%Y-%m-%d")))
}

#[cfg(test)]
mod tests {
    use super::*;

    use regex::Regex;

    fn entry(name: &str) -> Entry {
        let p = Regex::new(&crate::workspace::Check::default().naming_pattern).unwrap();
        Entry::new(name.into(), name.into(), &p)
    }

    fn run(name: &str) -> Vec<String> {
        check(&entry(name))
            .into_iter()
            .map(|d| format!("{} | {}", d.message, d.help.unwrap_or_default()))
            .collect()
    }

    #[test]
    fn conventional_names_pass_and_dates_are_real() {
        assert!(run("2025-02-10_02_add_status.sql").is_empty());
        let bad = run("2025-02-30_08_bad_date.sql");
        assert_eq!(bad.len(), 1);
        assert!(bad[0].contains("2025-02-30"), "{bad:?}");
    }

    #[test]
    fn other_conventions_get_a_suggested_name() {
        let got = run("20250105_01_Init-Schema.sql");
        assert!(
            got[0].contains("here 2025-01-05_01_init_schema.sql"),
            "{got:?}"
        );
        let got = run("003_add_notes.sql");
        assert!(!got[0].contains("here"), "{got:?}");
        let got = run("2025-01-20_fix_rls.sql");
        assert!(got[0].contains("no sequence number"), "{got:?}");
    }
}
