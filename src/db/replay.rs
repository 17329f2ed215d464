//! Replaying SQL files on a database, statement by statement, the way psql
//! would, so that a failure is reported at its own file and line.

use crate::error::{Error, Result};
use crate::sql::SqlFile;
use postgres::error::ErrorPosition;
use postgres::Client;
use std::fmt;
use std::path::PathBuf;

/// The SQL of a named prelude from `[database] prelude`; `None` for "none".
pub fn prelude_sql(name: &str) -> Result<Option<&'static str>> {
    match name.trim() {
        "supabase" => Ok(Some(include_str!("prelude_supabase.sql"))),
        "none" | "" => Ok(None),
        other => Err(Error::new("config", format!("unknown prelude \"{other}\""))
            .file(crate::workspace::CONFIG_FILE)
            .help("set [database] prelude in touchpoint.toml to \"supabase\" or \"none\"")),
    }
}

/// Run the named prelude on a (throwaway) database.
pub fn apply_prelude(client: &mut Client, name: &str) -> Result<()> {
    if let Some(sql) = prelude_sql(name)? {
        let mut result = client.batch_execute(sql);
        // Roles are cluster-wide: two databases of one cluster getting the
        // prelude at the same moment can both find a role missing, and one
        // loses the race with a unique violation. The whole prelude ran in
        // one implicit transaction, so running it again is clean.
        for _ in 0..3 {
            match &result {
                Err(e) if e.code().map(|c| c.code()) == Some("23505") => {
                    result = client.batch_execute(sql)
                }
                _ => break,
            }
        }
        result.map_err(|e| {
            Error::new("replay-failed", format!("the {name} prelude failed: {}", super::error_text(&e)))
                .help("the prelude is meant for an empty throwaway database; set [database] prelude = \"none\" to skip it")
        })?;
    }
    Ok(())
}

/// Why a replay stopped: where, on which statement, and what the server said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayFailure {
    pub file: PathBuf,
    pub line: usize,
    pub column: Option<usize>,
    /// First line of the statement (or the meta-command) that failed.
    pub statement: String,
    /// The server's message, detail and hint; or why touchpoint refused.
    pub message: String,
    pub cause: Cause,
}

/// Who stopped the replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The server rejected the statement, with this SQLSTATE.
    Server { sqlstate: String },
    /// The connection failed.
    Connection,
    /// A psql meta-command touchpoint cannot honour.
    UnsupportedMeta,
}

impl fmt::Display for ReplayFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)?;
        if let Some(c) = self.column {
            write!(f, ":{c}")?;
        }
        write!(f, ": {} ({})", self.message, self.statement)
    }
}

impl From<ReplayFailure> for Error {
    fn from(f: ReplayFailure) -> Error {
        let help = match &f.cause {
            Cause::UnsupportedMeta => {
                "touchpoint replays each file on its own; inline the included SQL or remove the meta-command".to_string()
            }
            Cause::Connection => "the connection to the server was lost: check that it is still running".to_string(),
            Cause::Server { .. } if missing_extension(&f.message).is_some() => {
                let name = missing_extension(&f.message).unwrap_or_default();
                format!(
                    "the throwaway database runs on the local PostgreSQL server binaries, which have no \"{name}\" extension: \
                     install its package for them (Debian: postgresql-15-pgvector for vector, postgresql-15-cron for pg_cron, \
                     with the server's major version), or set TOUCHPOINT_PG_BIN to a bin directory of a server that has it"
                )
            }
            Cause::Server { sqlstate } => replay_help(sqlstate),
        };
        let mut err = Error::new(
            "replay-failed",
            format!("{}\n  in: {}", f.message, f.statement),
        )
        .file(&f.file)
        .help(help);
        err = match f.column {
            Some(c) => err.at(f.line, c),
            None => err.line(f.line),
        };
        err
    }
}

/// `extension "vector" is not available` (the server's message when the
/// extension's files are not installed): the extension's name.
fn missing_extension(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("extension \"")?;
    let (name, tail) = rest.split_once('"')?;
    tail.trim_start()
        .starts_with("is not available")
        .then_some(name)
}

fn replay_help(sqlstate: &str) -> String {
    match Some(sqlstate) {
        // undefined_table, undefined_function, undefined_object, undefined_column
        Some("42P01") | Some("42883") | Some("42704") | Some("42703") => {
            "the statement uses something not defined yet at this point: files run in name order, \
             so move the definition earlier (or this statement later)"
                .into()
        }
        Some("42P07") | Some("42710") | Some("42723") => {
            "this object is already defined earlier in current_schema: remove the duplicate or use IF NOT EXISTS".into()
        }
        Some("42601") => "PostgreSQL rejects the syntax of this statement".into(),
        _ => "current_schema must replay on an empty database in file-name order; fix the statement".into(),
    }
}

/// psql meta-commands that only print, format or set variables: nothing
/// the database sees, so a replay can pass over them.
const HARMLESS_META: &[&str] = &[
    "echo",
    "qecho",
    "warn",
    "set",
    "unset",
    "timing",
    "pset",
    "a",
    "t",
    "x",
    "H",
    "f",
    "C",
    "T",
    "encoding",
    "conninfo",
    "g",
    "p",
    "print",
    "errverbose",
    "l",
    "list",
    "?",
    "help",
];

/// The meta-command's name, e.g. `echo` for `\echo 'x'`.
pub fn meta_name(text: &str) -> &str {
    let t = text.trim_start_matches('\\');
    let end = t.find(|c: char| c.is_whitespace()).unwrap_or(t.len());
    let name = &t[..end];
    // `\dt+` and `\d+` are the same commands with more detail.
    name.trim_end_matches(['+', 'S'])
}

pub fn meta_is_harmless(text: &str) -> bool {
    let name = meta_name(text);
    // The `\d` family only describes objects.
    HARMLESS_META.contains(&name) || (name.starts_with('d') && name.len() <= 3)
}

/// Execute every statement of every file in order. Harmless psql
/// meta-commands are skipped; includes, connection changes and the others
/// that would change what runs stop the replay, reported where they are.
pub fn replay<F: std::borrow::Borrow<SqlFile>>(
    client: &mut Client,
    files: &[F],
) -> Result<(), ReplayFailure> {
    for file in files {
        replay_file(client, file.borrow())?;
    }
    Ok(())
}

enum Item<'a> {
    Stmt(&'a crate::sql::Statement),
    Meta(&'a crate::sql::MetaCommand),
}

fn replay_file(client: &mut Client, file: &SqlFile) -> Result<(), ReplayFailure> {
    let mut items: Vec<(usize, Item)> = Vec::new();
    let mut last_span = None;
    for s in &file.statements {
        // One text can parse into several nodes; it runs once.
        if last_span != Some(s.span) {
            items.push((s.span.start, Item::Stmt(s)));
            last_span = Some(s.span);
        }
    }
    items.extend(file.metas.iter().map(|m| (m.span.start, Item::Meta(m))));
    items.sort_by_key(|(start, _)| *start);

    // Fast path: the whole file in one round trip. A multi-statement
    // query runs as one implicit transaction, so a failure leaves nothing
    // behind and the statement-by-statement pass below finds the culprit
    // (and runs what cannot share a transaction, such as CREATE INDEX
    // CONCURRENTLY, on its own).
    let all_harmless = file
        .metas
        .iter()
        .all(|m| meta_is_harmless(m.span.text(&file.text)));
    if all_harmless {
        let joined: String = items
            .iter()
            .filter_map(|(_, i)| match i {
                Item::Stmt(s) => Some(format!("{};\n", s.text(&file.text))),
                Item::Meta(_) => None,
            })
            .collect();
        if joined.is_empty() || client.batch_execute(&joined).is_ok() {
            return Ok(());
        }
        // A BEGIN inside the file may have left a transaction open.
        let _ = client.batch_execute("ROLLBACK");
    }

    for (_, item) in items {
        match item {
            Item::Meta(m) => {
                let text = m.span.text(&file.text);
                if !meta_is_harmless(text) {
                    return Err(ReplayFailure {
                        file: file.path.clone(),
                        line: m.line,
                        column: Some(file.index.line_col(&file.text, m.span.start).1),
                        statement: text.to_string(),
                        message: format!(
                            "psql meta-command \\{} is not supported in a replay",
                            meta_name(text)
                        ),
                        cause: Cause::UnsupportedMeta,
                    });
                }
            }
            Item::Stmt(s) => {
                let text = s.text(&file.text);
                if let Err(e) = client.batch_execute(text) {
                    return Err(statement_failure(file, s.span.start, text, &e));
                }
            }
        }
    }
    Ok(())
}

fn statement_failure(
    file: &SqlFile,
    start: usize,
    text: &str,
    e: &postgres::Error,
) -> ReplayFailure {
    let (line, col) = file.index.line_col(&file.text, start);
    let db = e.as_db_error();
    let (line, column) = match db.and_then(|d| d.position()) {
        Some(ErrorPosition::Original(p)) => {
            let (l, c) = super::position_in(text, line, col, *p as usize);
            (l, Some(c))
        }
        _ => (line, None),
    };
    ReplayFailure {
        file: file.path.clone(),
        line,
        column,
        statement: first_line(text),
        message: super::error_text(e),
        cause: match db {
            Some(d) => Cause::Server {
                sqlstate: d.code().code().to_string(),
            },
            None => Cause::Connection,
        },
    }
}

/// The first line of a statement, shortened for messages.
pub fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if line.chars().count() > 100 {
        let cut: String = line.chars().take(97).collect();
        format!("{cut}...")
    } else {
        line.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_extension_is_recognised_by_its_message() {
        assert_eq!(
            missing_extension("extension \"vector\" is not available\nDETAIL: ..."),
            Some("vector")
        );
        assert_eq!(
            missing_extension("extension \"vector\" already exists"),
            None
        );
        assert_eq!(missing_extension("relation \"x\" does not exist"), None);
    }
    use crate::db::test_support::{client, fresh_db};
    use std::path::Path;

    fn file(name: &str, text: &str) -> SqlFile {
        crate::sql::parse(Path::new(name), text.to_string()).unwrap()
    }

    #[test]
    fn replays_files_in_order_skipping_harmless_meta_commands() {
        let mut c = client(&fresh_db());
        apply_prelude(&mut c, "supabase").unwrap();
        let files = [
            file(
                "current_schema/01_a.sql",
                "\\echo 'creating profiles'\n\\set ON_ERROR_STOP on\ncreate table profiles (\n  id uuid primary key references auth.users(id)\n);\n",
            ),
            file(
                "current_schema/02_b.sql",
                "alter table profiles enable row level security;\n\
                 create policy own on profiles for select to authenticated using (id = auth.uid());\n",
            ),
        ];
        replay(&mut c, &files).unwrap();
        let n: i64 = c
            .query_one(
                "select count(*) from pg_policies where tablename = 'profiles'",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(n, 1);
    }

    #[test]
    fn failure_points_at_file_line_and_column() {
        let mut c = client(&fresh_db());
        let files = [
            file(
                "current_schema/01_a.sql",
                "create table a (id int primary key);\n",
            ),
            file(
                "current_schema/02_b.sql",
                "-- views\ncreate view admins as\n  select id from a\n  where is_admin(id);\n",
            ),
        ];
        let f = replay(&mut c, &files).unwrap_err();
        assert_eq!(f.file, Path::new("current_schema/02_b.sql"));
        // A view calling a function defined in a later file: the server
        // positions the error inside the statement, on the call.
        assert_eq!(f.line, 4, "{f}");
        assert_eq!(f.column, Some(9), "{f}");
        assert_eq!(f.statement, "create view admins as");
        assert!(f.message.contains("is_admin"), "{}", f.message);
        let err: Error = f.into();
        let d = err.diagnostic();
        assert_eq!(d.code, "replay-failed");
        assert_eq!((d.line, d.column), (Some(4), Some(9)));
        assert!(d.help.as_deref().unwrap().contains("not defined yet"));
    }

    #[test]
    fn failure_without_position_uses_the_statement_line() {
        let mut c = client(&fresh_db());
        let files = [file(
            "s.sql",
            "create table t (id int);\n\ninsert into t values (1);\ninsert into t values (1);\n\
             create unique index t_id on t (id);\n",
        )];
        let f = replay(&mut c, &files).unwrap_err();
        assert_eq!((f.line, f.column), (5, None), "{f}");
        assert!(f.message.contains("DETAIL"), "{}", f.message);
    }

    #[test]
    fn includes_are_reported_not_skipped() {
        let mut c = client(&fresh_db());
        let files = [file("s.sql", "select 1;\n\\ir other.sql\n")];
        let f = replay(&mut c, &files).unwrap_err();
        assert_eq!(f.cause, Cause::UnsupportedMeta);
        assert_eq!(f.line, 2);
        assert!(f.message.contains("\\ir"), "{}", f.message);
    }

    #[test]
    fn preludes_by_name() {
        assert!(prelude_sql("supabase")
            .unwrap()
            .unwrap()
            .contains("auth.uid"));
        assert_eq!(prelude_sql("none").unwrap(), None);
        let err = prelude_sql("firebase").unwrap_err();
        assert!(err.to_string().contains("touchpoint.toml"));
    }

    #[test]
    fn meta_command_names() {
        assert_eq!(meta_name("\\echo 'x'"), "echo");
        assert!(meta_is_harmless("\\dt+ public.*"));
        assert!(!meta_is_harmless("\\i other.sql"));
        assert!(!meta_is_harmless("\\c otherdb"));
        assert!(!meta_is_harmless("\\copy t from 'x.csv'"));
        assert!(!meta_is_harmless("\\gexec"));
    }
}
