//! `touchpoint status [--database-url URL]`: one line per migration with
//! its number, state (draft, approved, finalized) and file; with a
//! database, what its tracking table says: applied, pending, failed,
//! divergent (applied with another checksum), reverted, and applied
//! versions whose file is missing.
//!
//! Exit 0, or 1 when the database disagrees with the files (divergent,
//! failed or missing file), 2 when it cannot be read.

use crate::commands::ExitStatus;
use crate::db::{self, tracking::TrackingRow};
use crate::error::{Error, Result};
use crate::header::State;
use crate::history::{self, Entry};
use crate::report::Format;
use crate::workspace::Workspace;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct StatusOpts {
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// What the database says about one migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DbStatus {
    Applied,
    Pending,
    Failed,
    Divergent,
    Reverted,
    MissingFile,
}

impl DbStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DbStatus::Applied => "applied",
            DbStatus::Pending => "pending",
            DbStatus::Failed => "failed",
            DbStatus::Divergent => "divergent",
            DbStatus::Reverted => "reverted",
            DbStatus::MissingFile => "missing file",
        }
    }
    fn needs_attention(self) -> bool {
        matches!(
            self,
            DbStatus::Failed | DbStatus::Divergent | DbStatus::MissingFile
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DbLine {
    pub status: DbStatus,
    pub batch: Option<i32>,
    pub applied_at: Option<String>,
    /// The checksum the database recorded.
    pub checksum: Option<String>,
    pub baseline: bool,
    pub error: Option<String>,
    pub reverted_at: Option<String>,
    pub reverted_by: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Line {
    /// The version as written (`05`), or the file stem when the name
    /// carries no number.
    pub number: String,
    /// `None` for an applied version whose file is missing.
    pub file: Option<String>,
    pub title: String,
    pub state: Option<State>,
    pub database: Option<DbLine>,
}

pub fn run(ws: &Workspace, opts: &StatusOpts, out: &mut dyn Write) -> Result<ExitStatus> {
    let entries = history::list(ws)?;
    let url = db::resolve_url(opts.database_url.as_deref(), &ws.config);
    let mut files = Vec::with_capacity(entries.len());
    for e in &entries {
        files.push(read(e, url.is_some())?);
    }
    let mut lines: Vec<Line> = files
        .iter()
        .map(|f| Line {
            number: f.entry.version(),
            file: Some(f.entry.display.display().to_string().replace('\\', "/")),
            title: f.title.clone(),
            state: Some(f.state),
            database: None,
        })
        .collect();
    if let Some(url) = &url {
        let mut client = db::connect(url)?;
        let rows = db::tracking::Tracker::from_config(&ws.config.database).history(&mut client)?;
        let missing = attach(&files, &mut lines, rows);
        lines.extend(missing);
    }
    let text = match opts.format {
        Format::Json => {
            let doc = serde_json::json!({
                "database": url.as_deref().map(db::redact),
                "migrations": lines,
            });
            let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
            s.push('\n');
            s
        }
        Format::Human => human(&lines, url.is_some()),
        Format::Github => {
            return Err(Error::usage("status has no github format")
                .help("use --format human or --format json"))
        }
    };
    let _ = out.write_all(text.as_bytes());
    let attention = lines
        .iter()
        .filter_map(|l| l.database.as_ref())
        .any(|d| d.status.needs_attention());
    Ok(if attention {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

struct FileInfo {
    entry: Entry,
    title: String,
    state: State,
    /// `history::checksum` of the SQL, when asked for and the SQL parses.
    checksum: Option<String>,
}

fn read(e: &Entry, with_checksum: bool) -> Result<FileInfo> {
    let bytes = std::fs::read(&e.path).map_err(|err| Error::io(&e.display, err))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let header = crate::header::parse(&text);
    let state = header.as_ref().map_or(State::Draft, |h| h.state());
    let title = header
        .as_ref()
        .and_then(|h| h.title())
        .map(str::to_string)
        .or_else(|| e.slug.clone())
        .unwrap_or_else(|| e.file_name.clone());
    // The tracking table records history::checksum; a file that does not
    // parse has none to compare.
    let checksum = if with_checksum {
        crate::sql::parse(&e.display, text)
            .ok()
            .map(|f| history::checksum(&f))
    } else {
        None
    };
    Ok(FileInfo {
        entry: e.clone(),
        title,
        state,
        checksum,
    })
}

/// Fill in the database column of `lines` (one per file, same order) and
/// return the lines for applied versions that have no file.
fn attach(files: &[FileInfo], lines: &mut [Line], rows: Vec<TrackingRow>) -> Vec<Line> {
    let mut by_file: Vec<Vec<TrackingRow>> = vec![Vec::new(); files.len()];
    let mut orphans: BTreeMap<String, Vec<TrackingRow>> = BTreeMap::new();
    for r in rows {
        let candidates: Vec<usize> = files
            .iter()
            .enumerate()
            .filter(|(_, f)| f.entry.version() == r.version)
            .map(|(i, _)| i)
            .collect();
        // Files sharing a version: the row belongs to the one it ran.
        let pick = match candidates.as_slice() {
            [] => None,
            [one] => Some(*one),
            many => many
                .iter()
                .copied()
                .find(|&i| files[i].checksum.as_deref() == Some(r.checksum.as_str()))
                .or_else(|| many.iter().copied().find(|&i| files[i].title == r.name))
                .or(many.first().copied()),
        };
        match pick {
            Some(i) => by_file[i].push(r),
            None => orphans.entry(r.version.clone()).or_default().push(r),
        }
    }
    for ((line, f), rows) in lines.iter_mut().zip(files).zip(&by_file) {
        line.database = Some(db_line(rows, f.checksum.as_deref()));
    }
    orphans
        .into_iter()
        .filter_map(|(version, rows)| {
            let r = in_effect(&rows)?;
            Some(Line {
                number: version,
                file: None,
                title: r.name.clone(),
                state: None,
                database: Some(DbLine {
                    status: DbStatus::MissingFile,
                    ..from_row(r)
                }),
            })
        })
        .collect()
}

fn in_effect(rows: &[TrackingRow]) -> Option<&TrackingRow> {
    rows.iter()
        .rev()
        .find(|r| r.success && r.reverted_at.is_none())
}

fn db_line(rows: &[TrackingRow], checksum: Option<&str>) -> DbLine {
    if let Some(r) = in_effect(rows) {
        let divergent = checksum.is_some_and(|c| c != r.checksum);
        return DbLine {
            status: if divergent {
                DbStatus::Divergent
            } else {
                DbStatus::Applied
            },
            ..from_row(r)
        };
    }
    match rows.last() {
        Some(r) if r.reverted_at.is_some() => DbLine {
            status: DbStatus::Reverted,
            ..from_row(r)
        },
        Some(r) if !r.success => DbLine {
            status: DbStatus::Failed,
            ..from_row(r)
        },
        _ => DbLine {
            status: DbStatus::Pending,
            batch: None,
            applied_at: None,
            checksum: None,
            baseline: false,
            error: None,
            reverted_at: None,
            reverted_by: None,
        },
    }
}

fn from_row(r: &TrackingRow) -> DbLine {
    let ts =
        |t: &chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    DbLine {
        status: DbStatus::Applied,
        batch: r.batch,
        applied_at: Some(ts(&r.applied_at)),
        checksum: Some(r.checksum.clone()),
        baseline: r.baseline,
        error: r.error.clone(),
        reverted_at: r.reverted_at.as_ref().map(ts),
        reverted_by: r.reverted_by.clone(),
    }
}

fn human(lines: &[Line], with_db: bool) -> String {
    let nn_w = lines
        .iter()
        .map(|l| l.number.len())
        .max()
        .unwrap_or(2)
        .max(2);
    let db_text = |l: &Line| {
        l.database.as_ref().map_or(String::new(), |d| {
            let mut s = d.status.as_str().to_string();
            if d.baseline {
                s.push_str(" (baseline)");
            }
            if let Some(b) = d.batch {
                s.push_str(&format!(", batch {b}"));
            }
            s
        })
    };
    let db_w = lines
        .iter()
        .map(|l| db_text(l).len())
        .max()
        .unwrap_or(0)
        .max("DATABASE".len());
    let mut out = String::new();
    if with_db {
        out.push_str(&format!(
            "{:<nn_w$}  {:<9}  {:<db_w$}  FILE\n",
            "NN", "STATE", "DATABASE"
        ));
    } else {
        out.push_str(&format!("{:<nn_w$}  {:<9}  FILE\n", "NN", "STATE"));
    }
    for l in lines {
        let state = l.state.map_or("-", State::as_str);
        let file = l
            .file
            .clone()
            .unwrap_or_else(|| format!("(no file) {}", l.title));
        if with_db {
            out.push_str(&format!(
                "{:<nn_w$}  {state:<9}  {:<db_w$}  {file}\n",
                l.number,
                db_text(l)
            ));
        } else {
            out.push_str(&format!("{:<nn_w$}  {state:<9}  {file}\n", l.number));
        }
    }
    out.push_str(&summary(lines));
    out
}

/// `5 migrations: 4 finalized, 1 draft; database: 4 applied, 1 pending`.
fn summary(lines: &[Line]) -> String {
    let mut states: BTreeMap<&str, usize> = BTreeMap::new();
    let mut dbs: BTreeMap<&str, usize> = BTreeMap::new();
    let mut files = 0;
    for l in lines {
        if let Some(s) = l.state {
            files += 1;
            *states.entry(s.as_str()).or_default() += 1;
        }
        if let Some(d) = &l.database {
            *dbs.entry(d.status.as_str()).or_default() += 1;
        }
    }
    let join = |m: &BTreeMap<&str, usize>| {
        m.iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut s = format!("\n{files} migration{}", if files == 1 { "" } else { "s" });
    if !states.is_empty() {
        s.push_str(&format!(": {}", join(&states)));
    }
    if !dbs.is_empty() {
        s.push_str(&format!("; database: {}", join(&dbs)));
    }
    s.push('\n');
    s
}
