//! The migration history: every `migration_history/**.sql` file, its name
//! parts, sequence number, header and checksum.

use crate::error::{Error, Result};
use crate::header::{self, Header};
use crate::sql::SqlFile;
use crate::workspace::Workspace;
use chrono::NaiveDate;
use regex::Regex;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// One migration file as found on disk (not yet parsed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: PathBuf,
    /// Relative to the workspace root.
    pub display: PathBuf,
    pub file_name: String,
    /// Parts of the configured naming pattern, when the name matches it.
    pub date: Option<String>,
    pub slug: Option<String>,
    pub conventional: bool,
    /// The sequence number, read from the conventional name or, for files
    /// named in another convention, from a leading number after any date.
    pub number: Option<u32>,
    pub number_text: Option<String>,
}

impl Entry {
    /// The entry for a file, its name read with the naming `pattern`.
    pub fn new(path: PathBuf, display: PathBuf, pattern: &Regex) -> Entry {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let (conventional, date, nn, slug) = parse_name(&file_name, pattern);
        Entry {
            path,
            display,
            number: nn.as_deref().and_then(|n| n.parse().ok()),
            number_text: nn,
            file_name,
            date,
            slug,
            conventional,
        }
    }

    /// The version recorded in tracking tables: the number as written.
    pub fn version(&self) -> String {
        self.number_text
            .clone()
            .unwrap_or_else(|| self.file_name.trim_end_matches(".sql").to_string())
    }
}

// Other conventions: `20250815_03_x.sql`, `2025-08-15-03-x.sql`,
// `003_x.sql`, `V3__x.sql`. A leading date is never the number.
static DATE_PREFIX_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d{4}-?\d{2}-?\d{2}[_-]").unwrap());
static OTHER_NUMBER_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[Vv]?(\d{1,4})(?:__|[_-])").unwrap());

/// Split a file name with the configured pattern (or the other-convention
/// fallback for the number).
pub fn parse_name(
    name: &str,
    pattern: &Regex,
) -> (bool, Option<String>, Option<String>, Option<String>) {
    if let Some(m) = pattern.captures(name) {
        return (
            true,
            m.name("date").map(|x| x.as_str().to_string()),
            m.name("nn").map(|x| x.as_str().to_string()),
            m.name("slug").map(|x| x.as_str().to_string()),
        );
    }
    let rest = DATE_PREFIX_RE.find(name).map_or(name, |m| &name[m.end()..]);
    let nn = OTHER_NUMBER_RE.captures(rest).map(|m| m[1].to_string());
    (false, None, nn, None)
}

pub fn naming_pattern(ws: &Workspace) -> Result<Regex> {
    Regex::new(&ws.config.check.naming_pattern).map_err(|e| {
        Error::new(
            "config",
            format!("[check] naming_pattern is not a valid regex: {e}"),
        )
        .file("touchpoint.toml")
        .help("fix the pattern; it needs named groups date, nn and slug")
    })
}

/// Every migration file under `migration_history/`, sorted by number, then
/// date, then name.
pub fn list(ws: &Workspace) -> Result<Vec<Entry>> {
    let dir = ws.history_dir();
    let pattern = naming_pattern(ws)?;
    let mut out = Vec::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    for entry in walkdir::WalkDir::new(&dir)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| Error::new("io", e.to_string()).file(ws.display(&dir)))?;
        let path = entry.path();
        if !entry.file_type().is_file() || path.extension().and_then(|x| x.to_str()) != Some("sql")
        {
            continue;
        }
        out.push(Entry::new(path.to_path_buf(), ws.display(path), &pattern));
    }
    out.sort_by(|a, b| (a.number, &a.date, &a.file_name).cmp(&(b.number, &b.date, &b.file_name)));
    Ok(out)
}

/// The next free sequence number over the whole history.
pub fn next_number(entries: &[Entry]) -> u32 {
    entries
        .iter()
        .filter_map(|e| e.number)
        .max()
        .map_or(1, |n| n + 1)
}

/// Make a slug from free text: lower case, `[a-z0-9_]`, no leading or
/// trailing underscores. A slug holding a path separator is refused.
pub fn sanitize_slug(slug: &str) -> Result<String> {
    if slug.contains('/') || slug.contains('\\') || slug.contains("..") {
        return Err(Error::usage(format!("slug {slug:?} contains a path separator"))
            .help("a slug names the file, not a folder: use letters, digits and underscores, e.g. add_priority"));
    }
    let mut out = String::new();
    for c in slug.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_string();
    if out.is_empty() {
        return Err(
            Error::usage(format!("slug {slug:?} has no letters or digits"))
                .help("name the change, e.g. add_job_priority"),
        );
    }
    Ok(out)
}

/// The folder a new migration dated `date` goes in: a `YYYY-MM` subfolder
/// when the history is organised by month, else the history root.
pub fn folder_for(ws: &Workspace, entries: &[Entry], date: NaiveDate) -> PathBuf {
    let dir = ws.history_dir();
    let monthly = entries.iter().any(|e| {
        e.path
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .is_some_and(|n| {
                n.len() == 7 && NaiveDate::parse_from_str(&format!("{n}-01"), "%Y-%m-%d").is_ok()
            })
    });
    if monthly {
        dir.join(date.format("%Y-%m").to_string())
    } else {
        dir
    }
}

/// The checksum of a migration's executable SQL: SHA-256 over the text of
/// each statement (first token to last, without the `;`), joined by a
/// newline. Header comments, comments between statements and the
/// commented-out verification and rollback blocks do not count, so editing
/// them never invalidates a review; psql meta-commands do not count either.
pub fn checksum(file: &SqlFile) -> String {
    let mut hasher = Sha256::new();
    let mut last = None;
    for (i, s) in file.statements.iter().enumerate() {
        // One source statement may parse into several nodes; hash it once.
        if last == Some(s.span) {
            continue;
        }
        last = Some(s.span);
        if i > 0 {
            hasher.update(b"\n");
        }
        hasher.update(s.text(&file.text).as_bytes());
    }
    format!("{:x}", hasher.finalize())
}

/// A migration file read and parsed.
#[derive(Debug, Clone)]
pub struct Migration {
    pub entry: Entry,
    pub sql: SqlFile,
    pub header: Option<Header>,
}

impl Migration {
    pub fn load(ws: &Workspace, path: &Path) -> Result<Migration> {
        let pattern = naming_pattern(ws)?;
        let display = ws.display(path);
        let entry = Entry::new(path.to_path_buf(), display.clone(), &pattern);
        let sql = crate::sql::read_file(path, &display)?;
        let header = header::parse(&sql.text);
        Ok(Migration { entry, sql, header })
    }

    pub fn checksum(&self) -> String {
        checksum(&self.sql)
    }

    pub fn state(&self) -> header::State {
        self.header
            .as_ref()
            .map_or(header::State::Draft, Header::state)
    }

    pub fn title(&self) -> String {
        self.header
            .as_ref()
            .and_then(|h| h.title())
            .map(str::to_string)
            .or_else(|| self.entry.slug.clone())
            .unwrap_or_else(|| self.entry.file_name.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern() -> Regex {
        Regex::new(&crate::workspace::Check::default().naming_pattern).unwrap()
    }

    #[test]
    fn names_in_several_conventions() {
        let p = pattern();
        let (ok, date, nn, slug) = parse_name("2026-09-18_01_add_page_count.sql", &p);
        assert!(ok);
        assert_eq!(
            (date.as_deref(), nn.as_deref(), slug.as_deref()),
            (Some("2026-09-18"), Some("01"), Some("add_page_count"))
        );
        assert_eq!(
            parse_name("20250815_07_fix.sql", &p).2.as_deref(),
            Some("07")
        );
        assert_eq!(
            parse_name("012_create_tables.sql", &p).2.as_deref(),
            Some("012")
        );
        assert_eq!(parse_name("V3__init.sql", &p).2.as_deref(), Some("3"));
        assert_eq!(parse_name("2025-08-15_fix_rls.sql", &p).2, None);
        assert!(!parse_name("2025-08-15_fix_rls.sql", &p).0);
    }

    #[test]
    fn slugs_are_sanitized_and_paths_refused() {
        assert_eq!(
            sanitize_slug("Add Job--Priority!").unwrap(),
            "add_job_priority"
        );
        assert!(sanitize_slug("../x").is_err());
        assert!(sanitize_slug("a/b").is_err());
        assert!(sanitize_slug("---").is_err());
    }

    #[test]
    fn checksum_ignores_comments_between_statements() {
        let a = crate::sql::parse(
            Path::new("a"),
            "-- header\nselect 1;\n/* rollback\ndrop table x;\n*/\n".into(),
        )
        .unwrap();
        let b = crate::sql::parse(Path::new("b"), "-- other header\n\nselect 1;\n".into()).unwrap();
        let c = crate::sql::parse(Path::new("c"), "select 2;\n".into()).unwrap();
        assert_eq!(checksum(&a), checksum(&b));
        assert_ne!(checksum(&a), checksum(&c));
    }
}

/// The sum file: checksums of finalized migrations, in the spirit of
/// atlas.sum. Each line holds a migration's path (relative to
/// `migration_history/`) and the SHA-256 of its bytes; the first line holds
/// a hash chained over all entries in order, so an edited, deleted,
/// reordered or hand-added entry is caught.
pub const SUM_FILE: &str = "touchpoint.sum";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SumFile {
    /// Recorded chain hash (first line).
    pub chain: String,
    /// (path relative to the history folder, sha256 of the file, line).
    pub entries: Vec<(String, String, usize)>,
}

pub fn file_hash(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

impl SumFile {
    pub fn parse(text: &str) -> SumFile {
        let mut s = SumFile::default();
        for (i, line) in text.lines().enumerate() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            if let Some(h) = l.strip_prefix("h1:") {
                if s.chain.is_empty() && s.entries.is_empty() {
                    s.chain = h.to_string();
                    continue;
                }
            }
            if let Some((path, hash)) = l.rsplit_once(" h1:") {
                s.entries.push((path.to_string(), hash.to_string(), i + 1));
            }
        }
        s
    }

    /// The chain over the entries as they stand.
    pub fn computed_chain(&self) -> String {
        let mut h = Sha256::new();
        for (path, hash, _) in &self.entries {
            h.update(path.as_bytes());
            h.update(b"\0");
            h.update(hash.as_bytes());
            h.update(b"\n");
        }
        format!("{:x}", h.finalize())
    }

    /// Add or replace one entry, keeping entries sorted by path.
    pub fn set(&mut self, path: &str, hash: &str) {
        self.entries.retain(|(p, _, _)| p != path);
        self.entries.push((path.to_string(), hash.to_string(), 0));
        self.entries.sort_by(|a, b| a.0.cmp(&b.0));
    }

    pub fn render(&self) -> String {
        let mut out = String::from(
            "# touchpoint.sum: SHA-256 of every finalized migration, written by touchpoint finalize.\n\
             # Do not edit by hand: `touchpoint check` compares it with the files.\n",
        );
        out.push_str(&format!("h1:{}\n", self.computed_chain()));
        for (p, h, _) in &self.entries {
            out.push_str(&format!("{p} h1:{h}\n"));
        }
        out
    }
}

/// Path of a migration relative to the history folder, with `/`.
pub fn sum_key(ws: &Workspace, path: &Path) -> String {
    path.strip_prefix(ws.history_dir())
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

#[cfg(test)]
mod sum_tests {
    use super::*;

    #[test]
    fn sum_file_round_trips_and_chains() {
        let mut s = SumFile::default();
        s.set("2026-10/b.sql", "bb");
        s.set("2026-09/a.sql", "aa");
        let text = s.render();
        let p = SumFile::parse(&text);
        assert_eq!(p.chain, p.computed_chain());
        assert_eq!(p.entries[0].0, "2026-09/a.sql");
        // Reordering the entries breaks the chain.
        let swapped = text.replace(
            "2026-09/a.sql h1:aa\n2026-10/b.sql h1:bb",
            "2026-10/b.sql h1:bb\n2026-09/a.sql h1:aa",
        );
        let q = SumFile::parse(&swapped);
        assert_ne!(q.chain, q.computed_chain());
    }
}
