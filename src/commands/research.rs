//! `touchpoint research`: draft a dated migration with its full header and
//! impact analysis, or (`--refresh`) re-run the analysis on edited SQL.

use crate::analysis::{self, Analysis};
use crate::bridge::{self, DocFile};
use crate::commands::ExitStatus;
use crate::error::{Error, Result};
use crate::header::{self, State, Vars};
use crate::history::{self, Migration};
use crate::report::{self, Diagnostic};
use crate::schema::Schema;
use crate::sql::{self, SqlFile};
use crate::text;
use crate::workspace::Workspace;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct ResearchOpts {
    /// Short name of the change, e.g. add_job_priority.
    #[arg(required_unless_present = "refresh")]
    pub slug: Option<String>,
    #[arg(long)]
    pub title: Option<String>,
    #[arg(long)]
    pub issue: Option<String>,
    /// The migration SQL (a file, or - for standard input).
    #[arg(long, value_name = "FILE|-")]
    pub sql: Option<PathBuf>,
    /// Date of the migration (YYYY-MM-DD), default today.
    #[arg(long)]
    pub date: Option<String>,
    /// Re-run the analysis of an existing draft after its SQL changed.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["slug", "sql", "title", "date", "problem", "solution", "strategy"])]
    pub refresh: Option<PathBuf>,
    /// Text of the PROBLEM section (default: a placeholder to fill in).
    #[arg(long)]
    pub problem: Option<String>,
    /// Text of the SOLUTION section (default: a placeholder to fill in).
    #[arg(long)]
    pub solution: Option<String>,
    /// Text of the MIGRATION STRATEGY section (default: derived from the locks).
    #[arg(long)]
    pub strategy: Option<String>,
}

const NO_SQL: &str =
    "-- Write the migration SQL here, then run: touchpoint research --refresh <this file>";

pub fn run(
    ws: &Workspace,
    opts: &ResearchOpts,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<ExitStatus> {
    let schema = Schema::load(ws)?;
    let docs = bridge::discover(ws)?;
    let (path, diags) = match &opts.refresh {
        Some(file) => refresh(ws, &schema, &docs, file)?,
        None => create(ws, &schema, &docs, opts)?,
    };
    report_notes(&schema, &diags, err);
    let _ = writeln!(out, "{}", ws.display(&path).display());
    Ok(ExitStatus::Success)
}

fn report_notes(schema: &Schema, diags: &[Diagnostic], err: &mut dyn Write) {
    if !diags.is_empty() {
        let _ = write!(err, "{}", report::render_human(diags));
    }
    if !schema.notes.is_empty() {
        let _ = writeln!(
            err,
            "note: current_schema has {} statement(s) touchpoint cannot follow (run `touchpoint check` for the list)",
            schema.notes.len()
        );
    }
}

fn create(
    ws: &Workspace,
    schema: &Schema,
    docs: &[DocFile],
    opts: &ResearchOpts,
) -> Result<(PathBuf, Vec<Diagnostic>)> {
    let raw_slug = opts.slug.as_deref().ok_or_else(|| {
        Error::usage("research needs a SLUG (or --refresh FILE)")
            .help("e.g. touchpoint research add_job_priority --sql draft.sql")
    })?;
    let slug = history::sanitize_slug(raw_slug)?;
    let date = match &opts.date {
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
            Error::usage(format!("--date {d} is not a date"))
                .help("use YYYY-MM-DD, e.g. 2026-11-21")
        })?,
        None => chrono::Local::now().date_naive(),
    };
    let body = match &opts.sql {
        Some(p) => read_sql_arg(p)?,
        None => NO_SQL.to_string(),
    };
    let sql_display = opts.sql.as_deref().map_or_else(
        || PathBuf::from("<sql>"),
        |p| {
            if p == Path::new("-") {
                PathBuf::from("<stdin>")
            } else {
                p.to_path_buf()
            }
        },
    );
    // Parse first: SQL that PostgreSQL rejects writes nothing.
    let sql_file = sql::parse(&sql_display, body.clone())?;

    let entries = history::list(ws)?;
    let nn = history::next_number(&entries);
    let width = entries
        .iter()
        .filter_map(|e| e.number_text.as_ref())
        .map(String::len)
        .max()
        .unwrap_or(2)
        .max(2);
    let file_name = format!("{}_{:0width$}_{slug}.sql", date.format("%Y-%m-%d"), nn);
    let path = history::folder_for(ws, &entries, date).join(&file_name);
    if path.exists() {
        return Err(
            Error::usage(format!("{} already exists", ws.display(&path).display()))
                .help("pick another slug"),
        );
    }
    let title = opts.title.clone().unwrap_or_else(|| humanize(&slug));
    let (template, template_path) = header::template(&ws.templates_dir())?;
    let template_path = ws.display(&template_path);
    let display = ws.display(&path);
    let mut offset = 0;
    let mut rendered = String::new();
    let mut analysis = Analysis::default();
    // The header's length depends on the analysis, and the analysis quotes
    // statement lines below the header: render until the lines agree.
    for _ in 0..4 {
        let located = SqlFile {
            path: display.clone(),
            ..sql_file.clone()
        };
        analysis = analysis::analyze(schema, &located, docs, &|p| ws.display(p), offset);
        let mut vars = vars_for(
            &analysis,
            &title,
            &date.to_string(),
            opts.issue.as_deref().unwrap_or("none"),
        );
        vars.sql = body.trim_end().to_string();
        let lines = |t: &Option<String>, default: Vec<String>| {
            t.as_ref()
                .map_or(default, |t| t.lines().map(str::to_string).collect())
        };
        vars.problem = lines(&opts.problem, vec![header::PROBLEM_PLACEHOLDER.into()]);
        vars.solution = lines(&opts.solution, vec![header::SOLUTION_PLACEHOLDER.into()]);
        vars.strategy = lines(&opts.strategy, vars.strategy.clone());
        rendered = header::render(&template, &template_path, &vars)?;
        let parsed = sql::parse(&display, rendered.clone()).map_err(|e| {
            Error::new(
                "template",
                format!(
                    "the rendered migration does not parse: {}",
                    e.diagnostic().message
                ),
            )
            .file(&template_path)
            .help(
                "keep everything but {{ sql }} inside -- comments or /* */ blocks in the template",
            )
        })?;
        let want = parsed.statements.first().map(|s| s.line).unwrap_or(0);
        let have = sql_file
            .statements
            .first()
            .map(|s| s.line + offset)
            .unwrap_or(0);
        if want == have {
            break;
        }
        offset = want.saturating_sub(sql_file.statements.first().map_or(0, |s| s.line));
    }
    ws.check_write_target(&path)?;
    text::write_atomic(&path, &rendered)?;
    Ok((path, analysis.diagnostics))
}

fn refresh(
    ws: &Workspace,
    schema: &Schema,
    docs: &[DocFile],
    file: &Path,
) -> Result<(PathBuf, Vec<Diagnostic>)> {
    let path = ws.resolve_user_path(file)?;
    let mut m = Migration::load(ws, &path)?;
    if m.state() == State::Finalized {
        return Err(
            Error::usage(format!("{} is finalized", m.entry.display.display())).help(
                "a finalized migration is history: write a new migration for further changes",
            ),
        );
    }
    if m.header.is_none() {
        return Err(Error::new("header", "the file has no header comment block to refresh")
            .file(&m.entry.display)
            .help("--refresh rewrites the generated sections of a header; start with `touchpoint research SLUG --sql FILE` instead"));
    }
    let (template, template_path) = header::template(&ws.templates_dir())?;
    let template_path = ws.display(&template_path);
    let original = m.sql.text.clone();
    let mut text = original.clone();
    let mut analysis = Analysis::default();
    for _ in 0..4 {
        analysis = analysis::analyze(schema, &m.sql, docs, &|p| ws.display(p), 0);
        let h = m.header.as_ref();
        let title = h.and_then(|h| h.title()).unwrap_or("").to_string();
        let date = h.and_then(|h| h.field("Date")).unwrap_or("").to_string();
        let issue = h.and_then(|h| h.field("Issue")).unwrap_or("").to_string();
        let vars = vars_for(&analysis, &title, &date, &issue);
        let rendered = header::render(&template, &template_path, &vars)?;
        let fresh = header::parse(&rendered).ok_or_else(|| {
            Error::new("template", "the template renders no header").file(&template_path)
        })?;
        text = m.sql.text.clone();
        for name in header::GENERATED_SECTIONS {
            if let Some(s) = fresh.section(name) {
                let lines: Vec<String> = s.body[..s
                    .body
                    .iter()
                    .rposition(|b| !b.text.trim().is_empty())
                    .map_or(0, |i| i + 1)]
                    .iter()
                    .map(|b| b.text.clone())
                    .collect();
                text = header::set_section_body(&text, name, &lines, Some("MIGRATION STRATEGY"))?;
            }
        }
        if let Some(t) =
            header::replace_generated_block(&text, "VERIFICATION QUERY", &vars.verification)
        {
            text = t;
        }
        if let Some(t) = header::replace_generated_block(&text, "ROLLBACK SCRIPT", &vars.rollback) {
            text = t;
        }
        let reparsed = sql::parse(&m.entry.display, text.clone())?;
        let lines = |f: &SqlFile| f.statements.iter().map(|s| s.line).collect::<Vec<_>>();
        let stable = lines(&reparsed) == lines(&m.sql);
        m.header = header::parse(&text);
        m.sql = reparsed;
        if stable {
            break;
        }
    }
    if text != original {
        text::write_atomic(&path, &text)?;
    }
    Ok((path, analysis.diagnostics))
}

fn read_sql_arg(p: &Path) -> Result<String> {
    if p == Path::new("-") {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Error::new("io", format!("reading SQL from standard input: {e}")))?;
        return Ok(s);
    }
    sql::check_size(p, p)?;
    let bytes = std::fs::read(p).map_err(|e| Error::io(p, e))?;
    sql::decode(bytes, p)
}

fn humanize(slug: &str) -> String {
    let s = slug.replace('_', " ");
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => s,
    }
}

/// A first strategy from the lock analysis, for the author to adjust.
fn strategy(a: &Analysis) -> Vec<String> {
    let mut out = vec![if a.needs_no_transaction {
        "Runs through touchpoint finalize; statements that cannot run inside a transaction run on their own.".to_string()
    } else {
        "Runs in one transaction through touchpoint finalize (all or nothing).".to_string()
    }];
    let rewrites: Vec<String> = a
        .statements
        .iter()
        .flat_map(|s| {
            s.locks
                .iter()
                .filter(|l| l.rewrite)
                .flat_map(|l| l.tables.iter().map(|t| t.to_string()))
        })
        .collect();
    let scans: Vec<String> = a
        .statements
        .iter()
        .flat_map(|s| {
            s.locks
                .iter()
                .filter(|l| l.scan && !l.rewrite)
                .flat_map(|l| l.tables.iter().map(|t| t.to_string()))
        })
        .collect();
    if rewrites.is_empty() && scans.is_empty() {
        out.push("No table is rewritten or scanned: locks are held only briefly.".into());
    }
    if !rewrites.is_empty() {
        out.push(format!(
            "Rewrites {}: schedule it for low traffic and expect the lock for the whole rewrite.",
            rewrites.join(", ")
        ));
    }
    if !scans.is_empty() {
        out.push(format!(
            "Scans {} under its lock: its duration grows with the table.",
            scans.join(", ")
        ));
    }
    out
}

/// Template values from an analysis.
pub fn vars_for(a: &Analysis, title: &str, date: &str, issue: &str) -> Vars {
    let mut verification = vec![header::GENERATED_MARKER.to_string()];
    if a.verification.is_empty() {
        verification.push("-- no verification query could be derived: write one".into());
    }
    verification.extend(a.verification.iter().cloned());
    let mut rollback = vec![header::GENERATED_MARKER.to_string()];
    if a.rollback.is_empty() {
        rollback.push("-- nothing to roll back yet".into());
    }
    rollback.extend(a.rollback.iter().cloned());
    Vars {
        title: title.to_string(),
        date: date.to_string(),
        issue: issue.to_string(),
        problem: Vec::new(),
        solution: Vec::new(),
        strategy: strategy(a),
        affected_tables: a.affected_tables.iter().map(ToString::to_string).collect(),
        schema_files: a
            .schema_files
            .iter()
            .map(|(p, notes)| header::SchemaFileVar {
                path: p.display().to_string(),
                notes: notes.clone(),
            })
            .collect(),
        docs: a
            .docs
            .iter()
            .map(|(p, exists)| header::DocVar {
                mark: if *exists { " ".into() } else { "N/A".into() },
                path: p.display().to_string(),
                note: if *exists {
                    String::new()
                } else {
                    "no doc of this tier exists for the table".into()
                },
            })
            .collect(),
        impact: a.impact_lines(),
        locks: a.lock_lines(),
        sql: String::new(),
        verification: verification.join("\n"),
        rollback: rollback.join("\n"),
    }
}
