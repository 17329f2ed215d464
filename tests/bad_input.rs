//! The bad-input corpus: inputs a real user feeds touchpoint by mistake,
//! each with the error it must get. The inputs live in `tests/bad_input/`
//! (the 50 MB file is generated); the expected output of each is an insta
//! snapshot of what the binary prints (stdout and stderr, rendered by
//! `report`), with temporary paths replaced. Every case must: exit 1 or 2,
//! never panic, name the file and line where there is one, and leave every
//! file as it was.

use crate::common::{pg, repo_root, run, Ws};
use std::path::Path;

const MIGRATION: &str = "migration_history/2026-11/2026-11-21_06_bad.sql";

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(repo_root().join("tests/bad_input").join(name))
        .unwrap_or_else(|e| panic!("tests/bad_input/{name}: {e}"))
}

fn put(ws: &Ws, rel: &str, bytes: &[u8]) {
    let p = ws.file(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// A corpus file as the migration under test.
fn migration(ws: &Ws, name: &str) {
    put(ws, MIGRATION, &corpus(name));
}

/// Every file under the workspace but `.touchpoint/lock`, which the
/// commands that take the workspace lock create (empty) on first use.
fn state(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(root)
        .follow_links(false)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_type().is_dir())
        .map(|e| {
            let rel = e.path().strip_prefix(root).unwrap().display().to_string();
            let bytes = if e.file_type().is_symlink() {
                std::fs::read_link(e.path())
                    .unwrap()
                    .display()
                    .to_string()
                    .into_bytes()
            } else {
                std::fs::read(e.path()).unwrap()
            };
            (rel, bytes)
        })
        .filter(|(rel, _)| rel != ".touchpoint/lock")
        .collect();
    v.sort();
    v
}

/// Temporary paths, the test server's socket and port, and timings out of
/// the output, so that snapshots are stable.
fn normalize(text: &str, ws: &Ws) -> String {
    let mut t = text.to_string();
    let root = ws.path().canonicalize().unwrap();
    for p in [root.display().to_string(), ws.path().display().to_string()] {
        t = t.replace(&p, "[ROOT]");
    }
    let srv = pg::server();
    t = t.replace(&srv.socket_dir().display().to_string(), "[SOCKET]");
    t = t.replace(
        &srv.socket_dir().display().to_string().replace('/', "%2F"),
        "[SOCKET]",
    );
    t = t.replace(&format!("port={}", srv.port()), "port=[PORT]");
    t = t.replace(&format!(".s.PGSQL.{}", srv.port()), ".s.PGSQL.[PORT]");
    let tmp = regex::Regex::new(r"/tmp/\.tmp[A-Za-z0-9]+").unwrap();
    t = tmp.replace_all(&t, "[TMP]").into_owned();
    let db = regex::Regex::new(r"it_\d+_\d+").unwrap();
    t = db.replace_all(&t, "[DB]").into_owned();
    // Snapshots are repository files, and the repository holds no emoji.
    t.chars()
        .map(|c| {
            if touchpoint::text::is_emoji(c) {
                format!("<U+{:04X}>", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Run one case: exit 1 or 2, no panic, the location named, nothing
/// changed; the output matches the snapshot `name`.
fn check(name: &str, ws: &Ws, args: &[&str], location: Option<&str>) {
    check_with(name, ws, ws.cmd(args), location)
}

fn check_with(name: &str, ws: &Ws, cmd: std::process::Command, location: Option<&str>) {
    let before = state(ws.path());
    let out = run(cmd);
    let shown = format!("{}{}", out.stdout, out.stderr);
    assert!(
        out.code == 1 || out.code == 2,
        "{name}: exit {}\n{shown}",
        out.code
    );
    for bad in ["panicked", "internal", "RUST_BACKTRACE"] {
        assert!(!shown.contains(bad), "{name}: {bad}\n{shown}");
    }
    if let Some(loc) = location {
        assert!(shown.contains(loc), "{name}: does not name {loc}\n{shown}");
    }
    assert!(
        before == state(ws.path()),
        "{name}: the workspace changed\n{shown}"
    );
    let rendered = format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.code,
        normalize(&out.stdout, ws),
        normalize(&out.stderr, ws)
    );
    insta::with_settings!({ snapshot_path => "bad_input/snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_snapshot!(name, rendered);
    });
}

/// `lint FILE` on a corpus file placed as a migration.
macro_rules! lint_case {
    ($name:ident, $file:expr, $loc:expr) => {
        #[test]
        fn $name() {
            let ws = Ws::sample();
            migration(&ws, $file);
            check(stringify!($name), &ws, &["lint", MIGRATION], $loc);
        }
    };
}

/// `finalize FILE` on a corpus file placed as a migration, with the review
/// gate off so that the input itself is what finalize judges.
macro_rules! finalize_case {
    ($name:ident, $file:expr, $loc:expr) => {
        finalize_case!($name, $file, [], $loc);
    };
    ($name:ident, $file:expr, [$($arg:expr),*], $loc:expr) => {
        #[test]
        fn $name() {
            let ws = Ws::sample();
            no_review(&ws);
            migration(&ws, $file);
            check(stringify!($name), &ws, &["finalize", MIGRATION $(, $arg)*], $loc);
        }
    };
}

fn no_review(ws: &Ws) {
    let cfg = std::fs::read_to_string(ws.file("touchpoint.toml")).unwrap();
    let off = cfg.replace("\nrequired = true\n", "\nrequired = false\n");
    assert!(
        cfg != off,
        "the sample's touchpoint.toml has [review] required = true"
    );
    put(ws, "touchpoint.toml", off.as_bytes());
}

const AT: &str = "2026-11-21_06_bad.sql:";

// SQL PostgreSQL's grammar rejects.
lint_case!(
    lint_syntax_missing_paren,
    "syntax_missing_paren.sql",
    Some(AT)
);
lint_case!(
    lint_syntax_misspelled_keyword,
    "syntax_misspelled_keyword.sql",
    Some(AT)
);
lint_case!(
    lint_syntax_add_constraint_if_not_exists,
    "syntax_add_constraint_if_not_exists.sql",
    Some(AT)
);
lint_case!(
    lint_syntax_create_policy_if_not_exists,
    "syntax_create_policy_if_not_exists.sql",
    Some(AT)
);
lint_case!(
    lint_syntax_trailing_comma,
    "syntax_trailing_comma.sql",
    Some(AT)
);
lint_case!(
    lint_syntax_error_late_in_file,
    "syntax_error_late_in_file.sql",
    Some("2026-11-21_06_bad.sql:52:")
);
lint_case!(
    lint_syntax_missing_semicolon_after_function,
    "syntax_plpgsql_body_not_checked_but_outer_is.sql",
    Some(AT)
);
finalize_case!(
    finalize_syntax_missing_paren,
    "syntax_missing_paren.sql",
    Some(AT)
);

// Unterminated quotes, dollar quotes and comments.
lint_case!(
    lint_unterminated_dollar_quote,
    "unterminated_dollar_quote.sql",
    Some(AT)
);
lint_case!(lint_unterminated_quote, "unterminated_quote.sql", Some(AT));
lint_case!(
    lint_unterminated_quoted_identifier,
    "unterminated_quoted_identifier.sql",
    Some(AT)
);
lint_case!(
    lint_unterminated_block_comment,
    "unterminated_block_comment.sql",
    Some(AT)
);
lint_case!(
    lint_unterminated_nested_comment,
    "unterminated_nested_comment.sql",
    Some(AT)
);
lint_case!(
    lint_unterminated_escape_string,
    "unterminated_escape_string.sql",
    Some(AT)
);
finalize_case!(
    finalize_unterminated_dollar_quote,
    "unterminated_dollar_quote.sql",
    Some(AT)
);

// Encodings and odd bytes.
lint_case!(lint_non_utf8, "non_utf8.sql", Some(AT));
lint_case!(lint_nul_byte, "nul_byte.sql", Some(AT));
lint_case!(lint_utf16, "utf16.sql", Some(AT));
finalize_case!(finalize_non_utf8, "non_utf8.sql", Some(AT));
finalize_case!(finalize_nul_byte, "nul_byte.sql", Some(AT));

// Empty migrations.
lint_case!(
    lint_empty_migration,
    "empty.sql",
    Some("2026-11-21_06_bad.sql")
);
lint_case!(
    lint_whitespace_only_migration,
    "whitespace_only.sql",
    Some("2026-11-21_06_bad.sql")
);
finalize_case!(
    finalize_empty_migration,
    "empty.sql",
    Some("2026-11-21_06_bad.sql")
);
finalize_case!(
    finalize_comments_only_migration,
    "comments_only.sql",
    Some("2026-11-21_06_bad.sql")
);

// Headers.
/// Emoji in the title and in a section; generated, because the repository
/// itself holds no emoji (tests/sample.rs).
#[test]
fn lint_emoji_in_header() {
    let ws = Ws::sample();
    let text = String::from_utf8(corpus("valid_migration.sql"))
        .unwrap()
        .replace("Add retry after", "Add retry after \u{2705}")
        .replace("Workers need it.", "Workers need it \u{1F680}");
    put(&ws, MIGRATION, text.as_bytes());
    check("lint_emoji_in_header", &ws, &["lint", MIGRATION], Some(AT));
}
lint_case!(
    lint_duplicated_header_sections,
    "duplicated_header_sections.sql",
    Some(AT)
);
lint_case!(
    lint_no_header,
    "no_header.sql",
    Some("2026-11-21_06_bad.sql")
);
lint_case!(
    lint_header_without_closing_banner,
    "header_without_closing_banner.sql",
    Some("2026-11-21_06_bad.sql")
);
lint_case!(
    lint_header_missing_sections,
    "header_missing_sections.sql",
    Some("2026-11-21_06_bad.sql")
);
lint_case!(lint_psql_meta_command, "psql_meta_command.sql", Some(AT));
finalize_case!(
    finalize_no_header,
    "no_header.sql",
    Some("2026-11-21_06_bad.sql")
);
finalize_case!(
    finalize_placeholders_left,
    "placeholders_left.sql",
    Some("2026-11-21_06_bad.sql")
);
#[test]
fn finalize_unapproved() {
    let ws = Ws::sample();
    migration(&ws, "valid_migration.sql");
    check(
        "finalize_unapproved",
        &ws,
        &["finalize", MIGRATION],
        Some("2026-11-21_06_bad.sql"),
    );
}
lint_case!(lint_unknown_table, "unknown_table_migration.sql", Some(AT));
finalize_case!(
    finalize_unknown_table,
    "unknown_table_migration.sql",
    Some("2026-11-21_06_bad.sql")
);
finalize_case!(
    finalize_unknown_column,
    "unknown_column_migration.sql",
    Some("2026-11-21_06_bad.sql")
);
finalize_case!(
    finalize_invalid_date,
    "valid_migration.sql",
    ["--date", "21/11/2026"],
    None
);

/// A 50 MB migration, generated (not committed).
#[test]
fn lint_50_mb_file() {
    let ws = Ws::sample();
    let row = "INSERT INTO public.job_queue (job_type, job_name) VALUES ('ai_processing', 'imported job');\n";
    let big = row.repeat(50 * 1024 * 1024 / row.len() + 1);
    put(&ws, MIGRATION, big.as_bytes());
    check(
        "lint_50_mb_file",
        &ws,
        &["lint", MIGRATION],
        Some("2026-11-21_06_bad.sql"),
    );
    check(
        "finalize_50_mb_file",
        &ws,
        &["finalize", MIGRATION],
        Some("2026-11-21_06_bad.sql"),
    );
    let out_path = ws.path().join("big.sql");
    std::fs::rename(ws.file(MIGRATION), &out_path).unwrap();
    check(
        "research_50_mb_sql",
        &ws,
        &["research", "big", "--sql", "big.sql"],
        Some("big.sql"),
    );
}

// research: slugs, --sql, dates, templates.
fn research(extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = vec!["research".into()];
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

macro_rules! research_case {
    ($name:ident, $setup:expr, [$($arg:expr),*], $loc:expr) => {
        #[test]
        fn $name() {
            let ws = Ws::sample();
            put(&ws, "draft.sql", b"ALTER TABLE public.job_queue ADD COLUMN retry_after timestamptz;\n");
            let setup: &dyn Fn(&Ws) = &$setup;
            setup(&ws);
            let args = research(&[$($arg),*]);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            check(stringify!($name), &ws, &args, $loc);
        }
    };
}

research_case!(
    research_slug_parent_dir,
    |_| {},
    ["../x", "--sql", "draft.sql"],
    None
);
research_case!(
    research_slug_absolute,
    |_| {},
    ["/etc/x", "--sql", "draft.sql"],
    None
);
research_case!(
    research_slug_empty,
    |_| {},
    ["", "--sql", "draft.sql"],
    None
);
research_case!(
    research_slug_emoji,
    |_| {},
    ["\u{1F680}", "--sql", "draft.sql"],
    None
);
research_case!(
    research_sql_file_missing,
    |_| {},
    ["x", "--sql", "no_such.sql"],
    Some("no_such.sql")
);
research_case!(
    research_sql_syntax_error,
    |ws| put(ws, "draft.sql", &corpus("draft_syntax_error.sql")),
    ["x", "--sql", "draft.sql"],
    Some("draft.sql:2:")
);
research_case!(
    research_sql_non_utf8,
    |ws| put(ws, "draft.sql", &corpus("non_utf8.sql")),
    ["x", "--sql", "draft.sql"],
    Some("draft.sql")
);
research_case!(
    research_sql_is_a_directory,
    |_| {},
    ["x", "--sql", "current_schema"],
    Some("current_schema")
);
research_case!(
    research_invalid_date,
    |_| {},
    ["x", "--sql", "draft.sql", "--date", "2026-13-45"],
    None
);
research_case!(
    research_template_renders_invalid_sql,
    |ws| put(
        ws,
        "templates/migration.sql.tera",
        &corpus("template_invalid_sql.tera")
    ),
    ["x", "--sql", "draft.sql"],
    Some("templates/migration.sql.tera")
);
research_case!(
    research_template_syntax_error,
    |ws| put(
        ws,
        "templates/migration.sql.tera",
        &corpus("template_syntax.tera")
    ),
    ["x", "--sql", "draft.sql"],
    Some("templates/migration.sql.tera")
);
research_case!(
    research_template_unknown_variable,
    |ws| put(
        ws,
        "templates/migration.sql.tera",
        &corpus("template_unknown_variable.tera")
    ),
    ["x", "--sql", "draft.sql"],
    Some("templates/migration.sql.tera")
);
research_case!(
    research_missing_current_schema,
    |ws| std::fs::remove_dir_all(ws.file("current_schema")).unwrap(),
    ["x", "--sql", "draft.sql"],
    Some("current_schema")
);
research_case!(
    research_schema_file_syntax_error,
    |ws| put(
        ws,
        "current_schema/07_extra.sql",
        &corpus("schema_syntax_error.sql")
    ),
    ["x", "--sql", "draft.sql"],
    Some("current_schema/07_extra.sql:3:")
);
research_case!(
    research_schema_file_non_utf8,
    |ws| put(
        ws,
        "current_schema/07_extra.sql",
        &corpus("schema_non_utf8.sql")
    ),
    ["x", "--sql", "draft.sql"],
    Some("current_schema/07_extra.sql:1:")
);
research_case!(
    research_schema_file_nul_byte,
    |ws| put(
        ws,
        "current_schema/07_extra.sql",
        b"CREATE TABLE public.extra (id int);\n\0\n"
    ),
    ["x", "--sql", "draft.sql"],
    Some("current_schema/07_extra.sql:2:")
);

// Configuration.
macro_rules! config_case {
    ($name:ident, $file:expr, $loc:expr) => {
        #[test]
        fn $name() {
            let ws = Ws::sample();
            put(&ws, "touchpoint.toml", &corpus($file));
            migration(&ws, "no_header.sql");
            check(stringify!($name), &ws, &["lint", MIGRATION], $loc);
        }
    };
}
config_case!(
    config_syntax_error,
    "config_syntax.toml",
    Some("touchpoint.toml:2:")
);
config_case!(
    config_unknown_key,
    "config_unknown_key.toml",
    Some("touchpoint.toml:3:")
);
config_case!(
    config_wrong_type,
    "config_wrong_type.toml",
    Some("touchpoint.toml:2:")
);
config_case!(
    config_path_leaves_root,
    "config_path_leaves_root.toml",
    Some("touchpoint.toml")
);

#[test]
fn config_unknown_prelude() {
    let ws = Ws::sample();
    put(
        &ws,
        "touchpoint.toml",
        &corpus("config_unknown_prelude.toml"),
    );
    migration(&ws, "valid_migration.sql");
    check(
        "config_unknown_prelude",
        &ws,
        &["finalize", MIGRATION],
        Some("touchpoint.toml"),
    );
}

// The finalize journal left by an interrupted run.
macro_rules! journal_case {
    ($name:ident, $file:expr) => {
        #[test]
        fn $name() {
            let ws = Ws::sample();
            put(&ws, ".touchpoint/finalize.journal.json", &corpus($file));
            migration(&ws, "no_header.sql");
            check(
                stringify!($name),
                &ws,
                &["finalize", MIGRATION],
                Some(".touchpoint/finalize.journal.json"),
            );
        }
    };
}
journal_case!(journal_corrupt, "journal_corrupt.json");
journal_case!(journal_wrong_shape, "journal_wrong_shape.json");

#[test]
fn journal_escaping_the_root() {
    let ws = Ws::sample();
    put(
        &ws,
        ".touchpoint/finalize.journal.json",
        &corpus("journal_escapes_root.json"),
    );
    migration(&ws, "no_header.sql");
    check(
        "journal_escaping_the_root",
        &ws,
        &["finalize", MIGRATION],
        None,
    );
    assert!(!ws.path().parent().unwrap().join("escaped.txt").exists());
}

#[test]
fn journal_of_a_database_run_without_its_database() {
    let ws = Ws::sample();
    let j = serde_json::json!({
        "migration": "migration_history/x.sql", "version": "99", "checksum": "0",
        "target": "postgres://app:***@db.example.com:5432/app", "phase": "prepared", "files": []
    });
    put(
        &ws,
        ".touchpoint/finalize.journal.json",
        j.to_string().as_bytes(),
    );
    migration(&ws, "no_header.sql");
    check(
        "journal_of_a_database_run_without_its_database",
        &ws,
        &["finalize", MIGRATION],
        Some(".touchpoint/finalize.journal.json"),
    );
}

// Paths: missing, outside the root, through symlinks, folders.
#[test]
fn finalize_missing_file() {
    let ws = Ws::sample();
    check(
        "finalize_missing_file",
        &ws,
        &["finalize", "migration_history/2026-11/nope.sql"],
        Some("nope.sql"),
    );
}

#[test]
fn finalize_file_outside_the_root() {
    let ws = Ws::sample();
    let outside = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(outside.path(), corpus("no_header.sql")).unwrap();
    let p = outside.path().display().to_string();
    check(
        "finalize_file_outside_the_root",
        &ws,
        &["finalize", &p],
        None,
    );
}

#[test]
fn finalize_symlink_leaving_the_root() {
    let ws = Ws::sample();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("2026-11-21_06_bad.sql");
    std::fs::write(&target, corpus("no_header.sql")).unwrap();
    std::fs::create_dir_all(ws.file("migration_history/2026-11")).unwrap();
    std::os::unix::fs::symlink(&target, ws.file(MIGRATION)).unwrap();
    check(
        "finalize_symlink_leaving_the_root",
        &ws,
        &["finalize", MIGRATION],
        Some("2026-11-21_06_bad.sql"),
    );
}

#[test]
fn finalize_a_directory() {
    let ws = Ws::sample();
    check(
        "finalize_a_directory",
        &ws,
        &["finalize", "migration_history"],
        Some("migration_history"),
    );
}

#[test]
fn finalize_with_missing_migration_history() {
    let ws = Ws::sample();
    std::fs::remove_dir_all(ws.file("migration_history")).unwrap();
    check(
        "finalize_with_missing_migration_history",
        &ws,
        &["finalize", MIGRATION],
        Some("migration_history"),
    );
}

#[test]
fn finalize_with_missing_current_schema() {
    let ws = Ws::sample();
    no_review(&ws);
    migration(&ws, "valid_migration.sql");
    std::fs::remove_dir_all(ws.file("current_schema")).unwrap();
    check(
        "finalize_with_missing_current_schema",
        &ws,
        &["finalize", MIGRATION],
        Some("current_schema"),
    );
}

#[test]
fn lint_missing_file() {
    let ws = Ws::sample();
    check(
        "lint_missing_file",
        &ws,
        &["lint", "nope.sql"],
        Some("nope.sql"),
    );
}

#[test]
fn root_is_not_a_directory() {
    let ws = Ws::sample();
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_touchpoint"));
    c.arg("--root")
        .arg(ws.file("touchpoint.toml"))
        .args(["lint", "x.sql"])
        .current_dir(ws.path());
    check_with("root_is_not_a_directory", &ws, c, Some("touchpoint.toml"));
}

#[test]
fn unknown_flag() {
    let ws = Ws::sample();
    check(
        "unknown_flag",
        &ws,
        &["finalize", "--frobnicate", MIGRATION],
        None,
    );
}

#[test]
fn no_execute_without_applied_via() {
    let ws = Ws::sample();
    let rel = approved(&ws);
    check(
        "no_execute_without_applied_via",
        &ws,
        &["finalize", &rel, "--no-execute"],
        None,
    );
}

// Bridge docs.
#[test]
fn bridge_doc_invalid_json() {
    let ws = Ws::sample();
    put(
        &ws,
        "bridge-schemas/detailed/pass-1/job_queue.json",
        &corpus("doc_invalid_json.json"),
    );
    check(
        "bridge_doc_invalid_json",
        &ws,
        &["bridge"],
        Some("bridge-schemas/detailed/pass-1/job_queue.json:4"),
    );
}

#[test]
fn bridge_doc_json_not_an_object() {
    let ws = Ws::sample();
    put(
        &ws,
        "bridge-schemas/minimal/pass-1/shell_files.json",
        &corpus("doc_json_not_object.json"),
    );
    check(
        "bridge_doc_json_not_an_object",
        &ws,
        &["bridge"],
        Some("bridge-schemas/minimal/pass-1/shell_files.json"),
    );
}

#[test]
fn bridge_unknown_table() {
    let ws = Ws::sample();
    check(
        "bridge_unknown_table",
        &ws,
        &["bridge", "no_such_table"],
        Some("no_such_table"),
    );
}

#[test]
fn bridge_doc_for_a_table_that_does_not_exist() {
    let ws = Ws::sample();
    put(
        &ws,
        "bridge-schemas/source/pass-1/ghost_table.md",
        b"# ghost_table\n\n## Table Structure\n\n```sql\nCREATE TABLE public.ghost_table (id int);\n```\n",
    );
    check(
        "bridge_doc_for_a_table_that_does_not_exist",
        &ws,
        &["bridge"],
        Some("bridge-schemas/source/pass-1/ghost_table.md"),
    );
}

// Databases: unreachable, wrong password, malformed URL.
fn approved(ws: &Ws) -> String {
    ws.drafted(
        "ALTER TABLE public.job_queue ADD COLUMN retry_after timestamptz;\n",
        "retry",
    )
}

#[test]
fn database_unreachable() {
    let ws = Ws::sample();
    let rel = approved(&ws);
    check(
        "database_unreachable",
        &ws,
        &[
            "finalize",
            &rel,
            "--database-url",
            "postgres://app:hunter2@127.0.0.1:1/app?connect_timeout=3",
        ],
        None,
    );
}

#[test]
fn database_malformed_url() {
    let ws = Ws::sample();
    let rel = approved(&ws);
    check(
        "database_malformed_url",
        &ws,
        &[
            "finalize",
            &rel,
            "--database-url",
            "postgres://app:hunter2@db:notaport/app",
        ],
        None,
    );
}

#[test]
fn database_does_not_exist() {
    let ws = Ws::sample();
    let rel = approved(&ws);
    let url = pg::server().url("no_such_database");
    check(
        "database_does_not_exist",
        &ws,
        &["finalize", &rel, "--database-url", &url],
        None,
    );
}

#[test]
fn database_wrong_password() {
    crate::robust::secret_role();
    let ws = Ws::sample();
    let rel = approved(&ws);
    let url = crate::robust::secret_url(&pg::server().url("postgres"), Some("not-the-password"));
    check(
        "database_wrong_password",
        &ws,
        &["finalize", &rel, "--database-url", &url],
        None,
    );
}

#[test]
fn database_password_missing() {
    crate::robust::secret_role();
    let ws = Ws::sample();
    let rel = approved(&ws);
    let url = crate::robust::secret_url(&pg::server().url("postgres"), None);
    let mut c = ws.cmd(&["finalize", &rel, "--database-url", &url]);
    let home = tempfile::tempdir().unwrap();
    c.env_remove("PGPASSWORD")
        .env_remove("PGPASSFILE")
        .env("HOME", home.path());
    check_with("database_password_missing", &ws, c, None);
}

// Other commands on bad input.
#[test]
fn approve_sql_that_does_not_parse() {
    let ws = Ws::sample();
    migration(&ws, "syntax_trailing_comma.sql");
    check(
        "approve_sql_that_does_not_parse",
        &ws,
        &["approve", MIGRATION, "--by", "dana"],
        Some(AT),
    );
}

#[test]
fn refresh_a_file_without_header() {
    let ws = Ws::sample();
    migration(&ws, "no_header.sql");
    check(
        "refresh_a_file_without_header",
        &ws,
        &["research", "--refresh", MIGRATION],
        Some("2026-11-21_06_bad.sql"),
    );
}

#[test]
fn rollback_a_draft() {
    let ws = Ws::sample();
    migration(&ws, "valid_migration.sql");
    check(
        "rollback_a_draft",
        &ws,
        &["rollback", MIGRATION, "--yes"],
        Some("2026-11-21_06_bad.sql"),
    );
}

#[test]
fn apply_to_an_unreachable_database() {
    let ws = Ws::sample();
    check(
        "apply_to_an_unreachable_database",
        &ws,
        &[
            "apply",
            "--database-url",
            "postgres://app:hunter2@127.0.0.1:1/app?connect_timeout=3",
        ],
        None,
    );
}

#[test]
fn finalize_misnamed_file() {
    let ws = Ws::sample();
    no_review(&ws);
    put(
        &ws,
        "migration_history/fix_jobs.sql",
        &corpus("valid_migration.sql"),
    );
    check(
        "finalize_misnamed_file",
        &ws,
        &["finalize", "migration_history/fix_jobs.sql"],
        Some("fix_jobs.sql"),
    );
}

#[test]
fn lint_unknown_format() {
    let ws = Ws::sample();
    migration(&ws, "valid_migration.sql");
    check(
        "lint_unknown_format",
        &ws,
        &["lint", MIGRATION, "--format", "xml"],
        None,
    );
}

#[test]
fn approve_invalid_date() {
    let ws = Ws::sample();
    migration(&ws, "valid_migration.sql");
    check(
        "approve_invalid_date",
        &ws,
        &[
            "approve",
            MIGRATION,
            "--by",
            "dana",
            "--date",
            "next tuesday",
        ],
        None,
    );
}

#[test]
fn finalize_a_file_outside_the_history() {
    let ws = Ws::sample();
    no_review(&ws);
    put(
        &ws,
        "drafts/2026-11-21_06_retry.sql",
        &corpus("valid_migration.sql"),
    );
    check(
        "finalize_a_file_outside_the_history",
        &ws,
        &["finalize", "drafts/2026-11-21_06_retry.sql"],
        Some("drafts/2026-11-21_06_retry.sql"),
    );
}

#[test]
fn journal_of_another_database() {
    let ws = Ws::sample();
    let j = serde_json::json!({
        "migration": "migration_history/x.sql", "version": "99", "checksum": "0",
        "target": "postgres://app:***@db.example.com:5432/app", "phase": "prepared", "files": []
    });
    put(
        &ws,
        ".touchpoint/finalize.journal.json",
        j.to_string().as_bytes(),
    );
    no_review(&ws);
    migration(&ws, "valid_migration.sql");
    let url = pg::server().url("postgres");
    check(
        "journal_of_another_database",
        &ws,
        &["finalize", MIGRATION, "--database-url", &url],
        Some(".touchpoint/finalize.journal.json"),
    );
}
