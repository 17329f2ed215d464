//! `touchpoint apply`, `touchpoint rollback`, completions and the man page,
//! end to end through the binary against real PostgreSQL databases: one
//! embedded cluster per test run, every test in databases of its own.

use crate::common::{run, Output, Ws};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use touchpoint::db::{self, replay, Embedded};

static SERVER: OnceLock<Embedded> = OnceLock::new();
static TEMPLATE: OnceLock<()> = OnceLock::new();
static NEXT: AtomicUsize = AtomicUsize::new(0);

fn server() -> &'static Embedded {
    SERVER.get_or_init(|| Embedded::start().unwrap_or_else(|e| panic!("embedded server: {e}")))
}

/// The sample workspace's current_schema replayed once (with the supabase
/// prelude) into a template database; each test copies it, which is much
/// faster than replaying again.
fn sample_template() -> &'static str {
    const NAME: &str = "deploy_sample";
    TEMPLATE.get_or_init(|| {
        let srv = server();
        srv.create_database(NAME, Some("template0")).unwrap();
        let ws = touchpoint::workspace::Workspace::open(&crate::common::repo_root()).unwrap();
        let schema = touchpoint::schema::Schema::load(&ws).unwrap();
        // The client is dropped at the end of this block: a template with
        // an open connection cannot be copied.
        let mut c = srv.connect(NAME).unwrap();
        replay::apply_prelude(&mut c, &ws.config.database.prelude).unwrap();
        if let Err(f) = replay::replay(&mut c, &schema.files) {
            let e: touchpoint::Error = f.into();
            panic!("sample current_schema does not replay: {e}");
        }
    });
    NAME
}

/// A new database built from the sample current_schema, and its URL.
fn sample_db() -> String {
    let srv = server();
    let name = format!(
        "deploy_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    srv.create_database(&name, Some(sample_template())).unwrap();
    srv.url(&name)
}

fn client(url: &str) -> postgres::Client {
    db::connect(url).unwrap()
}

fn has_column(url: &str, table: &str, column: &str) -> bool {
    client(url)
        .query_one(
            "select count(*) > 0 from information_schema.columns where table_schema = 'public' and table_name = $1 and column_name = $2",
            &[&table, &column],
        )
        .unwrap()
        .get(0)
}

fn has_table(url: &str, table: &str) -> bool {
    client(url)
        .query_one("select to_regclass($1) is not null", &[&table])
        .unwrap()
        .get(0)
}

/// (version, success, baseline, batch, reverted, error) of every tracking
/// row, oldest first.
type Row = (String, bool, bool, Option<i32>, bool, Option<String>);

fn rows(url: &str) -> Vec<Row> {
    let mut c = client(url);
    touchpoint::db::tracking::Tracker::new("touchpoint")
        .history(&mut c)
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.version,
                r.success,
                r.baseline,
                r.batch,
                r.reverted_at.is_some(),
                r.error,
            )
        })
        .collect()
}

fn applied_versions(url: &str) -> Vec<String> {
    let mut c = client(url);
    touchpoint::db::tracking::Tracker::new("touchpoint")
        .applied(&mut c)
        .unwrap()
        .into_iter()
        .map(|r| r.version)
        .collect()
}

/// Files that differ between two snapshots, under `prefix` (the
/// workspace lock under .touchpoint/ is not content).
fn changed(
    ws: &Ws,
    a: &[(PathBuf, Vec<u8>)],
    b: &[(PathBuf, Vec<u8>)],
    prefix: &str,
) -> Vec<PathBuf> {
    let keep = |p: &PathBuf| {
        p.starts_with(ws.path().join(prefix)) && !p.starts_with(ws.path().join(".touchpoint"))
    };
    let mut out: Vec<PathBuf> = a
        .iter()
        .filter(|(p, _)| keep(p))
        .filter(|(p, c)| b.iter().find(|(q, _)| q == p).map(|(_, d)| d) != Some(c))
        .map(|(p, _)| p.clone())
        .collect();
    out.extend(
        b.iter()
            .filter(|(p, _)| keep(p) && !a.iter().any(|(q, _)| q == p))
            .map(|(p, _)| p.clone()),
    );
    out
}

fn tp(ws: &Ws, args: &[&str]) -> Output {
    run(ws.cmd(args))
}

fn ok(o: &Output) {
    assert_eq!(o.code, 0, "stdout:\n{}\nstderr:\n{}", o.stdout, o.stderr);
}

/// A finalized migration written by hand, as finalize leaves it (the
/// execution box ticked), for tests that need several of them quickly.
fn finalized(ws: &Ws, nn: &str, slug: &str, sql: &str, rollback: Option<&str>) -> String {
    let rel = format!("migration_history/2026-12/2026-12-01_{nn}_{slug}.sql");
    let mut text = format!(
        "-- ============================================================================\n\
         -- Migration: {slug}\n\
         -- Date: 2026-12-01\n\
         --\n\
         -- MIGRATION EXECUTED:\n\
         --   [X] Applied to dev on 2026-12-01 via touchpoint finalize\n\
         -- ============================================================================\n\
         \n{sql}\n"
    );
    if let Some(r) = rollback {
        text.push_str(&format!(
            "\n-- ============================================================================\n\
             -- ROLLBACK SCRIPT\n\
             -- ============================================================================\n\
             /*\n{r}\n*/\n"
        ));
    }
    ws.write(&rel, &text);
    rel
}

/// research, approve and finalize a new migration on `url`; its path.
fn finalize_new(ws: &Ws, url: &str, slug: &str, sql: &str) -> String {
    ws.write("draft.sql", sql);
    let o = tp(
        ws,
        &[
            "research",
            slug,
            "--sql",
            "draft.sql",
            "--date",
            "2026-11-21",
            "--problem",
            "Retries hammer the provider.",
            "--solution",
            "Record when a job may run again.",
        ],
    );
    ok(&o);
    let rel = o.stdout.trim().to_string();
    ok(&tp(
        ws,
        &["approve", &rel, "--by", "dana", "--date", "2026-11-21"],
    ));
    let o = tp(
        ws,
        &[
            "finalize",
            &rel,
            "--database-url",
            url,
            "--date",
            "2026-11-21",
        ],
    );
    ok(&o);
    rel
}

#[test]
fn apply_brings_a_second_database_to_the_finalized_history() {
    let ws = Ws::sample();
    let (first, second) = (sample_db(), sample_db());
    // Both predate touchpoint: 01 to 04 are in them already (05 is a draft).
    for url in [&first, &second] {
        let o = tp(&ws, &["apply", "--baseline", "4", "--database-url", url]);
        ok(&o);
        assert!(o.stdout.contains("baselined 4 migrations"), "{}", o.stdout);
    }
    let rel = finalize_new(
        &ws,
        &first,
        "add_retry_not_before",
        "ALTER TABLE public.job_queue ADD COLUMN retry_not_before timestamptz;\n",
    );
    assert!(rel.contains("_06_add_retry_not_before"), "{rel}");
    assert!(has_column(&first, "job_queue", "retry_not_before"));
    assert!(!has_column(&second, "job_queue", "retry_not_before"));

    // The draft 05 stays out; 06 is the one pending migration.
    let o = tp(&ws, &["apply", "--database-url", &second]);
    ok(&o);
    assert!(o.stderr.contains("[1/1] 06 "), "{}", o.stderr);
    assert!(o.stdout.contains("applied 1 migration"), "{}", o.stdout);
    assert!(has_column(&second, "job_queue", "retry_not_before"));
    assert!(
        !has_column(&second, "job_queue", "priority"),
        "draft 05 never runs"
    );
    let r = rows(&second);
    assert_eq!(r.len(), 5);
    assert!(r[..4].iter().all(|x| x.1 && x.2 && x.3 == Some(1)));
    assert_eq!(r[4], ("06".into(), true, false, Some(2), false, None));
    let mut c = client(&second);
    let by: String = c
        .query_one(
            "select applied_by from touchpoint.migrations where version = '06'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(by.contains('@'), "applied_by is user@host: {by}");

    // Both agree on what they have.
    assert_eq!(applied_versions(&first), applied_versions(&second));

    // A second apply does nothing.
    let o = tp(
        &ws,
        &["apply", "--database-url", &second, "--format", "json"],
    );
    ok(&o);
    let doc: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(doc["migrations"].as_array().unwrap().len(), 0);
    assert_eq!(doc["batch"], serde_json::Value::Null);
    assert_eq!(rows(&second).len(), 5);
}

#[test]
fn an_edited_finalized_migration_stops_apply_before_anything_runs() {
    let ws = Ws::sample();
    let url = sample_db();
    ok(&tp(
        &ws,
        &["apply", "--baseline", "4", "--database-url", &url],
    ));
    finalized(
        &ws,
        "06",
        "new_table",
        "CREATE TABLE public.deploy_probe (id int);",
        None,
    );
    let rel = "migration_history/2026-10/2026-10-14_02_add_job_processing_time.sql";
    let text = ws.read(rel);
    let edited = text.replacen(
        "processing_time_minutes integer;",
        "processing_time_minutes bigint;",
        1,
    );
    assert_ne!(
        text, edited,
        "the sample migration changed; update the test"
    );
    ws.write(rel, &edited);

    let o = tp(&ws, &["apply", "--database-url", &url]);
    assert_eq!(o.code, 2, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("divergent-migration"), "{}", o.stdout);
    assert!(o.stdout.contains(rel), "{}", o.stdout);
    assert!(
        o.stdout.contains("migration 02 was applied"),
        "{}",
        o.stdout
    );
    assert!(o.stderr.contains("stopped before running anything"));
    assert!(!has_table(&url, "public.deploy_probe"));
    assert_eq!(rows(&url).len(), 4, "nothing recorded");

    // Dry run: the same refusal.
    let o = tp(&ws, &["apply", "--dry-run", "--database-url", &url]);
    assert_eq!(o.code, 2);
}

#[test]
fn rollback_takes_the_database_current_schema_and_docs_back() {
    let ws = Ws::sample();
    let url = sample_db();
    let other = sample_db();
    for u in [&url, &other] {
        ok(&tp(&ws, &["apply", "--baseline", "4", "--database-url", u]));
    }
    let before = ws.snapshot();
    let rel = finalize_new(
        &ws,
        &url,
        "add_retry_not_before",
        "ALTER TABLE public.job_queue ADD COLUMN retry_not_before timestamptz;\n",
    );
    let schema_file = "current_schema/06_job_coordination.sql";
    let docs = [
        "bridge-schemas/source/pass-1/job_queue.md",
        "bridge-schemas/detailed/pass-1/job_queue.json",
    ];
    assert!(ws.read(schema_file).contains("retry_not_before"));
    for d in docs {
        assert!(ws.read(d).contains("retry_not_before"), "{d}");
    }

    // Without a terminal and without --yes: refused, nothing changes.
    let after_finalize = ws.snapshot();
    let o = tp(&ws, &["rollback", &rel, "--database-url", &url]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("--yes"), "{}", o.stderr);
    assert_eq!(
        changed(&ws, &after_finalize, &ws.snapshot(), ""),
        Vec::<PathBuf>::new()
    );
    assert!(has_column(&url, "job_queue", "retry_not_before"));

    let o = tp(&ws, &["rollback", &rel, "--database-url", &url, "--yes"]);
    ok(&o);
    assert!(!has_column(&url, "job_queue", "retry_not_before"));
    assert!(!ws.read(schema_file).contains("retry_not_before"));
    for d in docs {
        assert!(!ws.read(d).contains("retry_not_before"), "{d}");
    }
    // current_schema and the docs are byte for byte what they were before
    // finalize: the note finalize left is gone too.
    let now = ws.snapshot();
    for dir in ["current_schema", "bridge-schemas"] {
        assert_eq!(changed(&ws, &before, &now, dir), Vec::<PathBuf>::new());
    }
    let header = ws.read(&rel);
    assert!(
        header.contains("-- ROLLED BACK:\n--   Rolled back on postgresql://postgres@/"),
        "{header}"
    );
    assert!(header.contains(" via touchpoint rollback"));
    assert!(header.contains("--      - Line "), "{header}");
    let sums = ws.read("migration_history/touchpoint.sum");
    let hash = touchpoint::history::file_hash(header.as_bytes());
    assert!(sums.contains(&hash), "sum file follows the header note");

    let r = rows(&url);
    let six: Vec<&Row> = r.iter().filter(|x| x.0 == "06").collect();
    assert_eq!(six.len(), 1);
    assert!(six[0].1 && six[0].4, "applied, then reverted: {:?}", six[0]);
    assert!(!applied_versions(&url).contains(&"06".to_string()));

    // Rolled back in the workspace: other environments do not get it.
    let o = tp(&ws, &["apply", "--database-url", &other]);
    ok(&o);
    assert!(!has_column(&other, "job_queue", "retry_not_before"));
    assert!(o.stdout.contains("up to date"), "{}", o.stdout);

    // A second rollback on the same database: nothing left to do there.
    let o = tp(&ws, &["rollback", &rel, "--database-url", &url, "--yes"]);
    ok(&o);
    assert!(o.stderr.contains("already rolled back"), "{}", o.stderr);
}

#[test]
fn rollback_refuses_without_a_script() {
    let ws = Ws::sample();
    let rel = finalized(
        &ws,
        "06",
        "no_way_back",
        "CREATE TABLE public.t6 (id int);",
        None,
    );
    let before = ws.snapshot();
    let o = tp(
        &ws,
        &[
            "rollback",
            &rel,
            "--yes",
            "--database-url",
            "postgres://x@127.0.0.1:1/db",
        ],
    );
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("no-rollback-script"), "{}", o.stderr);
    assert!(o.stderr.contains(&rel));
    assert_eq!(
        changed(&ws, &before, &ws.snapshot(), ""),
        Vec::<PathBuf>::new()
    );
    // A migration the target does not have: refused before any slow work.
    let url = sample_db();
    let rel = finalized(
        &ws,
        "07",
        "not_there",
        "CREATE TABLE public.t7 (id int);",
        Some("DROP TABLE public.t7;"),
    );
    let o = tp(&ws, &["rollback", &rel, "--yes", "--database-url", &url]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("not-applied"), "{}", o.stderr);
    assert!(!o.stderr.contains("embedded database"), "{}", o.stderr);
    // A draft is refused too: it never ran.
    let o = tp(
        &ws,
        &[
            "rollback",
            "migration_history/2026-11/2026-11-20_05_add_job_queue_priority.sql",
            "--yes",
        ],
    );
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("not-finalized"), "{}", o.stderr);
}

#[test]
fn a_failure_in_the_middle_keeps_earlier_migrations_and_records_the_failure() {
    let ws = Ws::sample();
    let url = sample_db();
    ok(&tp(
        &ws,
        &["apply", "--baseline", "4", "--database-url", &url],
    ));
    finalized(
        &ws,
        "06",
        "first",
        "CREATE TABLE public.deploy_first (id int);",
        None,
    );
    finalized(
        &ws,
        "07",
        "breaks",
        "ALTER TABLE public.job_queue ADD COLUMN deploy_x int;\n\nSELECT 1/0;",
        None,
    );
    finalized(
        &ws,
        "08",
        "later",
        "CREATE TABLE public.deploy_later (id int);",
        None,
    );

    let o = tp(&ws, &["apply", "--database-url", &url]);
    assert_eq!(o.code, 2, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("[1/3] 06 ") && o.stderr.contains("applied"));
    assert!(o.stderr.contains("[2/3] 07 ") && o.stderr.contains("FAILED"));
    assert!(!o.stderr.contains("[3/3]"));
    assert!(o.stdout.contains("division by zero"), "{}", o.stdout);
    assert!(o.stdout.contains("_07_breaks.sql:"), "{}", o.stdout);
    assert!(o.stdout.contains("not run: 08"), "{}", o.stdout);
    assert!(has_table(&url, "public.deploy_first"));
    assert!(!has_column(&url, "job_queue", "deploy_x"), "07 rolled back");
    assert!(!has_table(&url, "public.deploy_later"));
    let r = rows(&url);
    assert_eq!(r.len(), 6);
    assert_eq!((r[4].0.as_str(), r[4].1, r[4].3), ("06", true, Some(2)));
    assert_eq!((r[5].0.as_str(), r[5].1, r[5].3), ("07", false, Some(2)));
    let error = r[5].5.as_deref().unwrap();
    assert!(
        error.starts_with("line 11: SELECT 1/0: division by zero"),
        "{error}"
    );

    // Fixed, the next apply is a new batch and picks up at 07.
    finalized(
        &ws,
        "07",
        "breaks",
        "ALTER TABLE public.job_queue ADD COLUMN deploy_x int;",
        None,
    );
    let o = tp(&ws, &["apply", "--database-url", &url]);
    ok(&o);
    assert!(o.stdout.contains("(batch 3) (07, 08)"), "{}", o.stdout);
    assert!(has_table(&url, "public.deploy_later"));
}

#[test]
fn single_transaction_and_dry_run_leave_nothing_behind() {
    let ws = Ws::sample();
    let url = sample_db();
    ok(&tp(
        &ws,
        &["apply", "--baseline", "4", "--database-url", &url],
    ));
    finalized(
        &ws,
        "06",
        "first",
        "CREATE TABLE public.deploy_first (id int);",
        None,
    );
    // 07 needs 06: a dry run must try it on the schema 06 produced.
    finalized(
        &ws,
        "07",
        "second",
        "ALTER TABLE public.deploy_first ADD COLUMN b int;",
        None,
    );

    let o = tp(&ws, &["apply", "--dry-run", "--database-url", &url]);
    ok(&o);
    assert!(
        o.stdout.contains("dry run: 2 migrations would be applied"),
        "{}",
        o.stdout
    );
    assert!(!has_table(&url, "public.deploy_first"));
    assert_eq!(rows(&url).len(), 4);

    finalized(&ws, "08", "fails", "SELECT 1/0;", None);
    let o = tp(
        &ws,
        &["apply", "--single-transaction", "--database-url", &url],
    );
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stdout
            .contains("rolled back with the single transaction: 06, 07"),
        "{}",
        o.stdout
    );
    assert!(!has_table(&url, "public.deploy_first"));
    let r = rows(&url);
    assert_eq!(r.len(), 5, "only the failure is recorded: {r:?}");
    assert_eq!((r[4].0.as_str(), r[4].1), ("08", false));

    // --to stops before the broken one.
    let o = tp(
        &ws,
        &[
            "apply",
            "--to",
            "7",
            "--database-url",
            &url,
            "--format",
            "json",
        ],
    );
    ok(&o);
    let doc: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let st: Vec<&str> = doc["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["status"].as_str().unwrap())
        .collect();
    assert_eq!(st, vec!["applied", "applied"]);
    assert!(has_column(&url, "deploy_first", "b"));
}

#[test]
fn baseline_records_without_running() {
    let ws = Ws::sample();
    let url = sample_db();
    // Would fail if it ran: the table exists in the sample already.
    finalized(
        &ws,
        "06",
        "adopted",
        "CREATE TABLE public.job_queue (id int);",
        None,
    );
    let o = tp(
        &ws,
        &[
            "apply",
            "--baseline",
            "6",
            "--dry-run",
            "--database-url",
            &url,
        ],
    );
    ok(&o);
    assert!(o.stdout.contains("would be recorded"), "{}", o.stdout);
    assert_eq!(rows(&url).len(), 0);

    let o = tp(&ws, &["apply", "--baseline", "6", "--database-url", &url]);
    ok(&o);
    let r = rows(&url);
    let versions: Vec<&str> = r.iter().map(|x| x.0.as_str()).collect();
    assert_eq!(
        versions,
        vec!["01", "02", "03", "04", "06"],
        "05 is a draft"
    );
    assert!(r.iter().all(|x| x.1 && x.2 && x.3 == Some(1)));
    let o = tp(&ws, &["apply", "--database-url", &url]);
    ok(&o);
    assert!(o.stdout.contains("up to date"), "{}", o.stdout);
}

#[test]
fn a_password_in_the_url_is_never_printed() {
    let ws = Ws::sample();
    let secret = "s3cretPassw0rd";
    let dead = format!("postgres://app:{secret}@127.0.0.1:1/prod");
    let rel = "migration_history/2026-10/2026-10-14_02_add_job_processing_time.sql";
    for args in [
        vec!["apply", "--database-url", &dead],
        vec!["apply", "--dry-run", "--database-url", &dead],
        vec![
            "rollback",
            rel,
            "--yes",
            "--no-patch",
            "--database-url",
            &dead,
        ],
    ] {
        let o = tp(&ws, &args);
        assert_eq!(o.code, 2, "{args:?}: {}", o.stderr);
        assert!(
            !o.stdout.contains(secret) && !o.stderr.contains(secret),
            "{args:?}:\n{}\n{}",
            o.stdout,
            o.stderr
        );
        assert!(o.stderr.contains("***"), "{}", o.stderr);
    }
    // From the environment as well, and on a server that accepts it.
    let url = sample_db().replacen(
        "postgresql://postgres@",
        &format!("postgresql://postgres:{secret}@"),
        1,
    );
    let o = run({
        let mut c = ws.cmd(&["apply", "--baseline", "4"]);
        c.env("DATABASE_URL", &url);
        c
    });
    ok(&o);
    assert!(!o.stdout.contains(secret) && !o.stderr.contains(secret));
    assert!(o.stdout.contains("postgres:***@"), "{}", o.stdout);
}

#[test]
fn completions_and_man_page_come_from_the_cli() {
    let ws = Ws::sample();
    for shell in ["bash", "zsh", "fish"] {
        let o = tp(&ws, &["completions", shell]);
        ok(&o);
        assert!(o.stdout.contains("touchpoint"), "{shell}");
        assert!(
            o.stdout.contains("rollback") && o.stdout.contains("single-transaction"),
            "{shell}"
        );
    }
    let o = tp(&ws, &["man"]);
    ok(&o);
    assert!(
        o.stdout.starts_with(".ie") || o.stdout.contains(".TH touchpoint"),
        "{}",
        &o.stdout[..200.min(o.stdout.len())]
    );
    assert!(o.stdout.contains("apply"));
    let dir = ws.path().join("man");
    ok(&tp(&ws, &["man", "--dir", dir.to_str().unwrap()]));
    assert!(Path::new(&dir.join("touchpoint-apply.1")).exists());
    assert!(Path::new(&dir.join("touchpoint-rollback.1")).exists());
}
