//! `touchpoint check`: the CI gate over the whole workspace.
//!
//! One file per rule family: `naming`, `sequence`, `header` (the header
//! contract by state), `sum` (finalized migrations unchanged), `bridge`
//! (docs in sync), `manifest`, `order` (schema files that use what a later
//! file defines), `replay`; `since` finds the files a
//! `--since GIT_REV` run limits the per-file rules to. Two families need no
//! file of their own because they are other modules' work applied to more
//! files: `syntax-error` is the parse of `sql::parse` (psql meta-commands
//! allowed), `emoji` is lint's `emoji::scan`, run on migrations, schema
//! files and bridge docs.
//!
//! Every migration is read and parsed once; the per-file rules run on that
//! parse, spread over the cores with `std::thread::scope`, while another
//! thread reads `current_schema` and the bridge docs. Only a small summary
//! of each migration (number, state, hash) is kept for the global rules
//! (numbering and the sum file), so memory stays flat on long histories.

pub mod bridge;
pub mod header;
pub mod manifest;
pub mod naming;
pub mod order;
pub mod replay;
pub mod sequence;
pub mod since;
pub mod sum;

use crate::error::{Error, Result};
use crate::header::State;
use crate::history::{self, Entry, SumFile};
use crate::report::{Diagnostic, LineIndex};
use crate::sql::{self, SqlFile};
use crate::workspace::{Baseline, Workspace};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Replay `current_schema` on the embedded database.
    pub replay: bool,
    /// Limit the per-file rules to files changed since this git revision.
    pub since: Option<String>,
    /// Record every finalized migration on disk in the sum file first.
    pub write_sum: bool,
}

/// What one migration leaves for the global rules.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub entry: Entry,
    pub state: State,
    /// SHA-256 of the file's bytes; computed only where the sum file needs
    /// it (finalized migrations and files the sum file names).
    pub hash: Option<String>,
    pub grandfathered: bool,
}

/// What was checked, for the summary line and the JSON document.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Checked {
    pub migrations: usize,
    pub schema_files: usize,
    pub bridge_docs: usize,
    pub replay: bool,
    /// The `--since` revision, when given.
    pub since: Option<String>,
    /// Files the per-file rules ran on, with `--since`.
    pub changed_files: Option<usize>,
    /// Finalized migrations written to the sum file by `--write-sum`.
    pub sum_written: Option<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub diagnostics: Vec<Diagnostic>,
    pub checked: Checked,
}

/// Which files the per-file rules look at.
pub enum Selection {
    All,
    /// Absolute paths of the files changed since a revision.
    Changed(HashSet<PathBuf>),
}

impl Selection {
    pub fn contains(&self, path: &Path) -> bool {
        match self {
            Selection::All => true,
            Selection::Changed(set) => set.contains(path),
        }
    }
}

/// Run every rule. Errors are reserved for "could not run" (exit 2); every
/// problem with the files themselves is a diagnostic.
pub fn run(ws: &Workspace, opts: &Options) -> Result<Outcome> {
    let selection = match &opts.since {
        Some(rev) => Selection::Changed(since::changed(ws, rev)?),
        None => Selection::All,
    };
    let entries = history::list(ws)?;
    let sum_path = ws.history_dir().join(history::SUM_FILE);
    let sum_text = match std::fs::read_to_string(&sum_path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(&ws.display(&sum_path), e)),
    };
    let sums = sum_text.as_deref().map(SumFile::parse);
    let sum_keys: HashSet<String> = sums
        .iter()
        .flat_map(|s| s.entries.iter().map(|(p, _, _)| p.clone()))
        .collect();
    let baseline = BaselineSet::new(&ws.config.check.baseline, &entries);

    let cx = FileContext {
        ws,
        selection: &selection,
        sum_keys: &sum_keys,
        baseline: &baseline,
    };
    // Migrations on every core; current_schema and the docs alongside.
    let (migrations, schema_side) = std::thread::scope(|scope| {
        let schema_side = scope.spawn(|| schema_and_docs(ws, &selection, opts.replay));
        let migrations = load_all(&cx, &entries);
        let schema_side = schema_side
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (migrations, schema_side)
    });
    let migrations = migrations?;
    let schema_side = schema_side?;

    let mut loaded = Vec::with_capacity(migrations.len());
    let mut diags = Vec::new();
    for (l, d) in migrations {
        loaded.push(l);
        diags.extend(d);
    }
    let mut checked = Checked {
        migrations: loaded.len(),
        schema_files: schema_side.files.len() + schema_side.unparsed.len(),
        bridge_docs: schema_side.docs,
        replay: opts.replay,
        since: opts.since.clone(),
        changed_files: match &selection {
            Selection::All => None,
            Selection::Changed(_) => Some(
                loaded
                    .iter()
                    .filter(|l| selection.contains(&l.entry.path))
                    .count(),
            ),
        },
        sum_written: None,
    };

    // Global rules: they hold whatever --since says.
    let sums = if opts.write_sum {
        let written = sum::write(ws, &loaded)?;
        checked.sum_written = Some(written.entries.len());
        Some(written)
    } else {
        sums
    };
    diags.extend(sequence::check(&loaded));
    diags.extend(sum::check(ws, &loaded, sums.as_ref()));
    diags.extend(schema_side.diagnostics);
    if opts.replay {
        diags.extend(replay::run(ws, &schema_side.files, &schema_side.unparsed)?);
    }
    crate::lint::sort(&mut diags);
    Ok(Outcome {
        diagnostics: diags,
        checked,
    })
}

/// Shared by the per-file workers.
struct FileContext<'a> {
    ws: &'a Workspace,
    selection: &'a Selection,
    sum_keys: &'a HashSet<String>,
    baseline: &'a BaselineSet,
}

type PerFile = (Loaded, Vec<Diagnostic>);

/// Load every migration and run the per-file rules, in parallel when the
/// history is long enough for threads to pay.
fn load_all(cx: &FileContext, entries: &[Entry]) -> Result<Vec<PerFile>> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(entries.len() / 16)
        .max(1);
    if threads == 1 {
        return entries.iter().map(|e| load_one(cx, e)).collect();
    }
    let chunk = entries.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = entries
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|e| load_one(cx, e))
                        .collect::<Result<Vec<_>>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(entries.len());
        for h in handles {
            out.extend(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))?);
        }
        Ok(out)
    })
}

fn load_one(cx: &FileContext, entry: &Entry) -> Result<PerFile> {
    let bytes = std::fs::read(&entry.path).map_err(|e| Error::io(&entry.display, e))?;
    let key = history::sum_key(cx.ws, &entry.path);
    let (text, encoding) = match String::from_utf8(bytes) {
        Ok(t) => (t, None),
        Err(e) => {
            let bytes = e.into_bytes();
            // read_file names the line and column of the bad byte.
            let diag = sql::read_file(&entry.path, &entry.display)
                .err()
                .map(|e| e.diagnostic().clone());
            let hash = history::file_hash(&bytes);
            (
                String::from_utf8_lossy(&bytes).into_owned(),
                diag.map(|d| (d, hash)),
            )
        }
    };
    let header = crate::header::parse(&text);
    let state = header
        .as_ref()
        .map_or(State::Draft, crate::header::Header::state);
    let hash = match &encoding {
        Some((_, h)) => Some(h.clone()),
        None if state == State::Finalized || cx.sum_keys.contains(&key) => {
            Some(history::file_hash(text.as_bytes()))
        }
        None => None,
    };
    let loaded = Loaded {
        entry: entry.clone(),
        state,
        hash,
        grandfathered: cx.baseline.contains(entry),
    };
    let mut diags = Vec::new();
    if !cx.selection.contains(&entry.path) {
        return Ok((loaded, diags));
    }
    // Per-file rules, on the one parse of the file.
    let display = &entry.display;
    diags.extend(crate::lint::rules::emoji::scan(display, &text));
    // The parse tree is needed for an approval's checksum and for the
    // manifest; every other file is only validated, which skips building
    // the tree (most of the cost on a long history). A file that fails is
    // parsed for the error's position and help.
    let needs_tree =
        !loaded.grandfathered && (state == State::Approved || cx.ws.config.manifest.is_some());
    let parsed = match encoding {
        Some((d, _)) => Err(d),
        None if !needs_tree && sql::is_valid(&text) => Ok(None),
        None => sql::parse(display, text.clone())
            .map(Some)
            .map_err(|e| e.diagnostic().clone()),
    };
    let file = match parsed {
        Ok(f) => f,
        Err(d) => {
            diags.push(d);
            None
        }
    };
    if !loaded.grandfathered {
        diags.extend(naming::check(entry));
        // The header rules read the header, not the SQL: files validated
        // without a tree, and files that do not parse, get them on a
        // stand-in without statements.
        let stub;
        let f = match &file {
            Some(f) => f,
            None => {
                stub = unparsed(display, text);
                &stub
            }
        };
        diags.extend(header::check(
            f,
            header.as_ref(),
            file.is_some() && needs_tree,
            cx.ws.config.review.required,
        ));
        if let (Some(m), Some(f)) = (&cx.ws.config.manifest, &file) {
            diags.extend(manifest::check(m, f, state));
        }
    }
    Ok((loaded, diags))
}

/// A file as a `SqlFile` without statements, so that rules that only read
/// text and header run without a parse tree.
fn unparsed(path: &Path, text: String) -> SqlFile {
    SqlFile {
        path: path.to_path_buf(),
        index: LineIndex::new(&text),
        text,
        statements: Vec::new(),
        metas: Vec::new(),
        comments: Vec::new(),
    }
}

/// The `current_schema` and bridge-doc half of the run.
struct SchemaSide {
    /// The schema files that parsed, in replay order.
    files: Vec<std::sync::Arc<SqlFile>>,
    /// Schema files that did not parse (the replay cannot run past them).
    unparsed: Vec<Diagnostic>,
    docs: usize,
    diagnostics: Vec<Diagnostic>,
}

fn schema_and_docs(ws: &Workspace, selection: &Selection, replay: bool) -> Result<SchemaSide> {
    let mut side = SchemaSide {
        files: Vec::new(),
        unparsed: Vec::new(),
        docs: 0,
        diagnostics: Vec::new(),
    };
    // A workspace may keep only a history; then there is nothing to check
    // the docs against.
    if !ws.schema_dir().is_dir() {
        return Ok(side);
    }
    let paths: Vec<(PathBuf, PathBuf)> = ws
        .schema_files()?
        .into_iter()
        .map(|p| {
            let d = ws.display(&p);
            (p, d)
        })
        .collect();
    // The usual case, every file parses: in parallel, as the schema model
    // reads them.
    if let Ok(files) = sql::read_files(&paths) {
        for ((path, display), f) in paths.iter().zip(&files) {
            if selection.contains(path) {
                side.diagnostics
                    .extend(crate::lint::rules::emoji::scan(display, &f.text));
            }
        }
        side.files = files.into_iter().map(std::sync::Arc::new).collect();
    } else {
        // Some file does not parse: each one on its own, so that every
        // error is reported and the others still count.
        for (path, display) in &paths {
            let bytes = std::fs::read(path).map_err(|e| Error::io(display, e))?;
            let picked = selection.contains(path);
            if picked {
                side.diagnostics.extend(crate::lint::rules::emoji::scan(
                    display,
                    &String::from_utf8_lossy(&bytes),
                ));
            }
            match sql::read_file(path, display) {
                Ok(f) => side.files.push(std::sync::Arc::new(f)),
                Err(e) => {
                    if picked || replay {
                        side.diagnostics.push(e.diagnostic().clone());
                    }
                    side.unparsed.push(e.diagnostic().clone());
                }
            }
        }
    }
    side.diagnostics.extend(order::check(&side.files));
    let docs = crate::bridge::discover(ws)?;
    side.docs = docs.len();
    for doc in docs.iter().filter(|d| selection.contains(&d.path)) {
        let display = ws.display(&doc.path);
        let bytes = std::fs::read(&doc.path).map_err(|e| Error::io(&display, e))?;
        let text = String::from_utf8_lossy(&bytes);
        side.diagnostics
            .extend(crate::lint::rules::emoji::scan(&display, &text));
        side.diagnostics
            .extend(bridge::placeholders(&display, doc.tier, &text));
    }
    if side.unparsed.is_empty() {
        let schema = crate::schema::Schema::build(side.files.clone());
        side.diagnostics.extend(bridge::check(ws, &schema)?);
    } else {
        side.diagnostics.push(bridge::skipped());
    }
    Ok(side)
}

/// The migrations `[check] baseline` grandfathers.
pub struct BaselineSet {
    /// Every number up to this one.
    up_to: Option<u32>,
    /// The latest date among those files: an unnumbered file dated on or
    /// before it is as old as they are.
    cutoff: Option<String>,
    numbers: Vec<u32>,
    names: Vec<String>,
}

impl BaselineSet {
    pub fn new(b: &Baseline, entries: &[Entry]) -> BaselineSet {
        let mut set = BaselineSet {
            up_to: None,
            cutoff: None,
            numbers: Vec::new(),
            names: Vec::new(),
        };
        let items: Vec<&str> = match b {
            Baseline::None => Vec::new(),
            Baseline::UpTo(s) => {
                let s = s.trim();
                match s.parse::<u32>() {
                    Ok(n) => {
                        set.up_to = Some(n);
                        Vec::new()
                    }
                    Err(_) if s.is_empty() => Vec::new(),
                    Err(_) => vec![s],
                }
            }
            Baseline::List(v) => v.iter().map(|s| s.trim()).collect(),
        };
        for item in items {
            match item.parse::<u32>() {
                Ok(n) => set.numbers.push(n),
                Err(_) => set.names.push(item.trim_start_matches("./").to_string()),
            }
        }
        if let Some(n) = set.up_to {
            set.cutoff = entries
                .iter()
                .filter(|e| e.number.is_some_and(|x| x <= n))
                .filter_map(|e| name_date(&e.file_name))
                .max();
        }
        set
    }

    pub fn contains(&self, e: &Entry) -> bool {
        if let Some(n) = e.number {
            if self.up_to.is_some_and(|u| n <= u) || self.numbers.contains(&n) {
                return true;
            }
        } else if let (Some(cutoff), Some(d)) = (&self.cutoff, name_date(&e.file_name)) {
            if d <= *cutoff {
                return true;
            }
        }
        let display = e.display.to_string_lossy().replace('\\', "/");
        self.names
            .iter()
            .any(|n| *n == e.file_name || display == *n || display.ends_with(&format!("/{n}")))
    }
}

/// The leading date of a file name (`2025-08-15_...` or `20250815_...`),
/// as `YYYYMMDD` so that dates compare as strings.
pub fn name_date(name: &str) -> Option<String> {
    let digits: String = name
        .chars()
        .take(10)
        .filter(|c| *c != '-')
        .take_while(char::is_ascii_digit)
        .collect();
    (digits.len() == 8).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> Entry {
        let p = regex::Regex::new(&crate::workspace::Check::default().naming_pattern).unwrap();
        Entry::new(
            PathBuf::from("/ws/migration_history").join(name),
            PathBuf::from("migration_history").join(name),
            &p,
        )
    }

    #[test]
    fn baseline_up_to_covers_older_unnumbered_files() {
        let entries = vec![
            entry("20250105_01_init.sql"),
            entry("2025-01-20_fix_rls.sql"),
            entry("2025-02-10_02_add_status.sql"),
            entry("2025-03-01_03_later_fix.sql"),
            entry("2025-03-02_hotfix.sql"),
        ];
        let b = BaselineSet::new(&Baseline::UpTo("02".into()), &entries);
        let got: Vec<bool> = entries.iter().map(|e| b.contains(e)).collect();
        assert_eq!(got, vec![true, true, true, false, false]);
    }

    #[test]
    fn baseline_list_takes_numbers_and_names() {
        let entries = vec![entry("003_notes.sql"), entry("fix.sql"), entry("V4__x.sql")];
        let b = BaselineSet::new(
            &Baseline::List(vec!["3".into(), "fix.sql".into()]),
            &entries,
        );
        let got: Vec<bool> = entries.iter().map(|e| b.contains(e)).collect();
        assert_eq!(got, vec![true, true, false]);
        let none = BaselineSet::new(&Baseline::UpTo(String::new()), &entries);
        assert!(!entries.iter().any(|e| none.contains(e)));
    }

    #[test]
    fn name_dates_in_both_forms() {
        assert_eq!(name_date("2025-08-15_x.sql").as_deref(), Some("20250815"));
        assert_eq!(name_date("20250815_03_x.sql").as_deref(), Some("20250815"));
        assert_eq!(name_date("003_x.sql"), None);
    }
}
