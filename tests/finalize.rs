//! `touchpoint approve` and `touchpoint finalize` end to end, on the sample
//! workspace, against real PostgreSQL databases.

use crate::common::{line_of, pg, run, Ws};
use regex::Regex;

fn without(
    snapshot: Vec<(std::path::PathBuf, Vec<u8>)>,
    name: &str,
) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    snapshot
        .into_iter()
        .filter(|(p, _)| !p.ends_with(name) && !p.to_string_lossy().contains(".touchpoint"))
        .collect()
}

#[test]
fn add_column_research_approve_finalize_on_the_embedded_database() {
    let ws = Ws::sample();
    let before_schema = ws.read("current_schema/06_job_coordination.sql");
    let rel = ws.drafted(
        "ALTER TABLE public.job_queue ADD COLUMN retry_after timestamptz;\n",
        "add_retry_after",
    );
    let out = run(ws.cmd(&["finalize", &rel, "--date", "2026-11-21"]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);

    // The schema diff is the new column line and its note (plus the comma
    // the previous last column needs), nothing else.
    let after_schema = ws.read("current_schema/06_job_coordination.sql");
    let diff = similar::TextDiff::from_lines(&before_schema, &after_schema);
    let added: Vec<String> = diff
        .iter_all_changes()
        .filter(|c| c.tag() == similar::ChangeTag::Insert)
        .map(|c| c.value().trim_end().to_string())
        .collect();
    let removed: Vec<String> = diff
        .iter_all_changes()
        .filter(|c| c.tag() == similar::ChangeTag::Delete)
        .map(|c| c.value().trim_end().to_string())
        .collect();
    assert!(
        added
            .iter()
            .any(|l| l.trim() == "-- Migration 06: Add retry after"),
        "{added:?}"
    );
    assert!(
        added
            .iter()
            .any(|l| l.trim_start().starts_with("retry_after") && l.contains("timestamptz")),
        "{added:?}"
    );
    assert!(
        added.len() <= 3 && removed.len() <= 1,
        "added {added:?} removed {removed:?}"
    );

    // The header: no open box, real line numbers.
    let text = ws.read(&rel);
    assert!(!text.contains("[ ]"), "{text}");
    let re =
        Regex::new(r"\[X\] (current_schema/\S+)\n--      - Line (\d+): Added column retry_after")
            .unwrap();
    let m = re.captures(&text).expect("ticked schema box");
    let l: usize = m[2].parse().unwrap();
    assert!(line_of(&ws.read(&m[1]), l).contains("retry_after"));
    assert!(text.contains(
        "[X] Applied to embedded throwaway database on 2026-11-21 via touchpoint finalize"
    ));
    assert!(text.contains("[X] bridge-schemas/detailed/pass-1/job_queue.json"));
    assert!(text.contains("[N/A] bridge-schemas/minimal/pass-1/job_queue.json ("));

    // The docs of the table were regenerated with the new column.
    assert!(ws
        .read("bridge-schemas/detailed/pass-1/job_queue.json")
        .contains("\"retry_after\""));
    assert!(ws
        .read("bridge-schemas/source/pass-1/job_queue.md")
        .contains("retry_after"));
    assert!(ws
        .read("migration_history/touchpoint.sum")
        .contains("2026-11/2026-11-21_06_add_retry_after.sql h1:"));

    // Lint is clean on the result; a second finalize changes nothing.
    let lint = run(ws.cmd(&["lint", &rel]));
    assert_eq!(lint.code, 0, "{}", lint.stdout);
    assert!(!lint.stdout.contains("error["), "{}", lint.stdout);
    let snap = ws.snapshot();
    let again = run(ws.cmd(&["finalize", &rel]));
    assert_eq!(again.code, 0);
    assert!(again.stdout.contains("already finalized"));
    assert_eq!(
        without(snap, "draft.sql"),
        without(ws.snapshot(), "draft.sql")
    );
}

#[test]
fn sql_edited_after_approval_is_refused_and_nothing_is_written() {
    let ws = Ws::sample();
    let rel = ws.drafted(
        "ALTER TABLE public.job_queue ADD COLUMN retry_after timestamptz;\n",
        "add_retry_after",
    );
    let text = ws.read(&rel).replace(
        "ADD COLUMN retry_after timestamptz;",
        "ADD COLUMN retry_after timestamptz NOT NULL;",
    );
    ws.write(&rel, &text);
    let snap = ws.snapshot();
    let out = run(ws.cmd(&["finalize", &rel]));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("changed after it was approved"),
        "{}",
        out.stdout
    );
    assert_eq!(
        without(snap, ".touchpoint"),
        without(ws.snapshot(), ".touchpoint")
    );
}

#[test]
fn placeholders_block_approval_and_finalize() {
    let ws = Ws::sample();
    ws.write(
        "draft.sql",
        "ALTER TABLE public.job_queue ADD COLUMN x int;\n",
    );
    let rel = run(ws.cmd(&["research", "x", "--sql", "draft.sql"]))
        .stdout
        .trim()
        .to_string();
    let out = run(ws.cmd(&["approve", &rel, "--by", "dana"]));
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .contains("PROBLEM, SOLUTION still hold(s) the template placeholder"),
        "{}",
        out.stdout
    );
    let out = run(ws.cmd(&["finalize", &rel]));
    assert_eq!(out.code, 1);
}

#[test]
fn unapproved_migration_is_refused() {
    let ws = Ws::sample();
    ws.write(
        "draft.sql",
        "ALTER TABLE public.job_queue ADD COLUMN x int;\n",
    );
    let rel = run(ws.cmd(&[
        "research",
        "x",
        "--sql",
        "draft.sql",
        "--problem",
        "p",
        "--solution",
        "s",
    ]))
    .stdout
    .trim()
    .to_string();
    let out = run(ws.cmd(&["finalize", &rel]));
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("has not been approved"));
}

#[test]
fn real_database_records_the_tracking_row() {
    let ws = Ws::sample();
    let url = pg::dev_db(ws.path());
    let rel = ws.drafted(
        "ALTER TABLE public.shell_files ADD COLUMN retention_days integer;\n",
        "retention",
    );
    let out = run(ws.cmd(&["finalize", &rel, "--database-url", &url]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let mut c = pg::client(&url);
    let row = c
        .query_one("SELECT version, checksum, success, execution_time_ms, applied_by FROM touchpoint.migrations", &[])
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "06");
    assert_eq!(row.get::<_, String>(1).len(), 64);
    assert!(row.get::<_, bool>(2));
    assert!(row.get::<_, Option<i64>>(3).is_some());
    assert!(row.get::<_, Option<String>>(4).unwrap().contains('@'));
    let col = c
        .query_opt("SELECT 1 FROM information_schema.columns WHERE table_name = 'shell_files' AND column_name = 'retention_days'", &[])
        .unwrap();
    assert!(col.is_some());
    let text = ws.read(&rel);
    assert!(
        text.contains("[X] Applied to postgresql://") || text.contains("[X] Applied to postgres"),
        "{text}"
    );
    assert!(!text.contains("password"));
}

#[test]
fn failing_third_statement_leaves_database_and_files_unchanged() {
    let ws = Ws::sample();
    let url = pg::dev_db(ws.path());
    let rel = ws.drafted("ALTER TABLE public.job_queue ADD COLUMN a1 integer;\nALTER TABLE public.job_queue ADD COLUMN a2 integer;\nALTER TABLE public.job_queue ADD COLUMN a3 integer REFERENCES public.no_such_table(id);\n",
        "fails",
    );
    let snap = ws.snapshot();
    let out = run(ws.cmd(&["finalize", &rel, "--database-url", &url]));
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("no_such_table"), "{}", out.stderr);
    assert_eq!(
        without(snap, ".touchpoint"),
        without(ws.snapshot(), ".touchpoint")
    );
    let mut c = pg::client(&url);
    let cols = c
        .query("SELECT 1 FROM information_schema.columns WHERE table_name = 'job_queue' AND column_name IN ('a1','a2','a3')", &[])
        .unwrap();
    assert!(cols.is_empty(), "the database is unchanged");
}

#[test]
fn failure_on_the_target_is_recorded_and_rolls_back() {
    // The proof database and the target differ: the target already has
    // the column, so the migration fails there after passing the proof.
    let ws = Ws::sample();
    let url = pg::dev_db(ws.path());
    pg::client(&url)
        .batch_execute("ALTER TABLE public.job_queue ADD COLUMN a2 integer")
        .unwrap();
    let rel = ws.drafted("ALTER TABLE public.job_queue ADD COLUMN a1 integer;\nCREATE INDEX idx_jq_a1 ON public.job_queue (a1);\nALTER TABLE public.job_queue ADD COLUMN a2 integer;\n",
        "fails_on_target",
    );
    let snap = ws.snapshot();
    let out = run(ws.cmd(&["finalize", &rel, "--database-url", &url]));
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        without(snap, ".touchpoint"),
        without(ws.snapshot(), ".touchpoint")
    );
    let mut c = pg::client(&url);
    assert!(c.query("SELECT 1 FROM information_schema.columns WHERE table_name = 'job_queue' AND column_name = 'a1'", &[]).unwrap().is_empty());
    let row = c
        .query_one(
            "SELECT success, error FROM touchpoint.migrations WHERE version = '06'",
            &[],
        )
        .unwrap();
    assert!(!row.get::<_, bool>(0));
    assert!(
        row.get::<_, Option<String>>(1).unwrap().contains("line "),
        "the failing statement's line is recorded"
    );
}

#[test]
fn dry_run_prints_diffs_and_writes_nothing() {
    let ws = Ws::sample();
    let rel = ws.drafted(
        "ALTER TABLE public.job_queue ADD COLUMN retry_after timestamptz;\n",
        "add_retry_after",
    );
    let snap = ws.snapshot();
    let out = run(ws.cmd(&["finalize", &rel, "--dry-run"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out
        .stdout
        .contains("+++ b/current_schema/06_job_coordination.sql"));
    assert!(out.stdout.contains("+    retry_after"));
    assert!(out.stdout.contains("dry run: nothing was written"));
    assert_eq!(
        without(snap, ".touchpoint"),
        without(ws.snapshot(), ".touchpoint")
    );
}

#[test]
fn no_execute_records_where_it_was_applied() {
    let ws = Ws::sample();
    let rel = ws.drafted(
        "CREATE INDEX IF NOT EXISTS idx_job_queue_created ON public.job_queue (created_at);\n",
        "idx",
    );
    let out = run(ws.cmd(&[
        "finalize",
        &rel,
        "--no-execute",
        "--applied-via",
        "production (Supabase SQL editor)",
        "--date",
        "2026-11-21",
    ]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let text = ws.read(&rel);
    assert!(text.contains("[X] Applied to production (Supabase SQL editor) on 2026-11-21 (recorded by touchpoint finalize --no-execute)"));
    assert!(ws
        .read("current_schema/06_job_coordination.sql")
        .contains("CREATE INDEX IF NOT EXISTS idx_job_queue_created"));
    // Recording a migration applied elsewhere needs no database: the
    // proof is opt-in there, and the user is told how to ask for it.
    assert!(!out.stderr.contains("starting the embedded database"));
    assert!(out.stderr.contains("add --prove"), "{}", out.stderr);
    assert!(!out.stderr.contains("WARNING"), "{}", out.stderr);
}

#[test]
fn no_execute_with_prove_runs_the_proof_and_still_refuses_drift() {
    let ws = Ws::sample();
    // --prove: the proof runs, and passes on a migration the patcher maps.
    let rel = ws.drafted(
        "ALTER TABLE public.job_queue ADD COLUMN IF NOT EXISTS visible integer;\n",
        "prove",
    );
    let out = run(ws.cmd(&[
        "finalize",
        &rel,
        "--no-execute",
        "--applied-via",
        "staging",
        "--prove",
    ]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("starting the embedded database"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("comparing catalogs"), "{}", out.stderr);

    // The same switch from the configuration.
    let ws = Ws::sample();
    let toml = ws.read("touchpoint.toml");
    assert!(toml.contains("[finalize]"));
    ws.write(
        "touchpoint.toml",
        &toml.replace("[finalize]", "[finalize]\nprove_no_execute = true"),
    );
    let rel = ws.drafted(
        "CREATE INDEX IF NOT EXISTS idx_job_queue_created ON public.job_queue (created_at);\n",
        "idx",
    );
    let out = run(ws.cmd(&["finalize", &rel, "--no-execute", "--applied-via", "staging"]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("comparing catalogs"), "{}", out.stderr);
}

#[test]
fn no_execute_asks_the_database_when_the_model_cannot_vouch() {
    // The migration calls a function of its own that adds a column: the
    // patched files cannot show it, and no model of the text sees it.
    // Without --prove, finalize --no-execute still sends it to the
    // database, which finds the column, and stops before writing.
    let ws = Ws::sample();
    let rel = ws.drafted("CREATE OR REPLACE FUNCTION public.job_queue_sneak() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'ALTER TABLE public.job_queue ADD COLUMN sneaky integer'; END $$;\nSELECT public.job_queue_sneak();\n",
        "sneak",
    );
    let snap = ws.snapshot();
    let out = run(ws.cmd(&["finalize", &rel, "--no-execute", "--applied-via", "staging"]));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("calls public.job_queue_sneak"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("sneaky"), "{}", out.stdout);
    assert_eq!(
        without(snap, ".touchpoint"),
        without(ws.snapshot(), ".touchpoint")
    );

    // A DO block that only moves data: the patcher cannot map it, the
    // database shows it changes no schema, so it is finalized.
    let ws = Ws::sample();
    let rel = ws.drafted(
        "DO $$ BEGIN UPDATE public.job_queue SET updated_at = updated_at WHERE false; END $$;\n",
        "data",
    );
    let out = run(ws.cmd(&["finalize", &rel, "--no-execute", "--applied-via", "staging"]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("cannot map"), "{}", out.stderr);
    assert!(out.stderr.contains("comparing catalogs"), "{}", out.stderr);
}

#[test]
fn ddl_in_a_do_block_is_caught_by_the_catalog_comparison() {
    let ws = Ws::sample();
    let rel = ws.drafted(
        "DO $$ BEGIN EXECUTE 'ALTER TABLE public.job_queue ADD COLUMN sneaky integer'; END $$;\n",
        "sneaky",
    );
    let snap = ws.snapshot();
    let out = run(ws.cmd(&["finalize", &rel]));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("sneaky"),
        "the object needing a hand edit is named: {}",
        out.stdout
    );
    assert!(out.stdout.contains("DO block"));
    assert_eq!(
        without(snap, ".touchpoint"),
        without(ws.snapshot(), ".touchpoint")
    );
}

#[test]
fn an_interrupted_finalize_is_completed_by_the_next_run() {
    let ws = Ws::sample();
    let target = "current_schema/01_foundations.sql";
    let old = ws.read(target);
    let new = format!("{old}\n-- completed by recovery\n");
    let journal = serde_json::json!({
        "migration": "migration_history/x.sql",
        "version": "99",
        "checksum": "0",
        "target": null,
        "phase": "committed",
        "files": [{
            "path": target,
            "old_hash": touchpoint::history::file_hash(old.as_bytes()),
            "new": new,
        }]
    });
    ws.write(".touchpoint/finalize.journal.json", &journal.to_string());
    let rel = "migration_history/2026-09/2026-09-18_01_add_shell_file_page_count.sql";
    let out = run(ws.cmd(&["finalize", rel]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("completing the interrupted finalize"));
    assert_eq!(ws.read(target), new);
    assert!(!ws.file(".touchpoint/finalize.journal.json").exists());
}

#[test]
fn no_proof_skips_the_database_with_a_warning() {
    let ws = Ws::sample();
    let rel = ws.drafted(
        "COMMENT ON TABLE public.job_queue IS 'Work for the workers';\n",
        "comment",
    );
    let out = run(ws.cmd(&["finalize", &rel, "--no-proof"]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("WARNING: no-drift proof skipped"));
    assert!(!out.stderr.contains("starting the embedded database"));
    // Nothing ran anywhere: the header does not claim an execution.
    assert!(
        ws.read(&rel).contains("Not executed on"),
        "{}",
        ws.read(&rel)
    );
    assert!(ws
        .read("current_schema/06_job_coordination.sql")
        .contains("'Work for the workers'"));
}

#[test]
fn a_current_schema_that_does_not_replay_is_reported_and_still_patched() {
    let ws = Ws::sample();
    // Real repositories drift this way: an object used before the file
    // that defines it.
    let f = "current_schema/01_foundations.sql";
    let text = format!(
        "{}\nCREATE POLICY too_early ON public.job_queue FOR SELECT USING (true);\n",
        ws.read(f)
    );
    ws.write(f, &text);
    let bad_line = text.lines().count();
    let rel = ws.drafted(
        "ALTER TABLE public.job_queue ADD COLUMN retry_after timestamptz;\n",
        "add_retry_after",
    );
    let strict = run(ws.cmd(&["finalize", &rel, "--strict"]));
    assert_eq!(strict.code, 2, "{}\n{}", strict.stdout, strict.stderr);
    assert!(
        strict
            .stderr
            .contains(&format!("01_foundations.sql:{bad_line}")),
        "{}",
        strict.stderr
    );
    let out = run(ws.cmd(&["finalize", &rel]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("WARNING: no-drift proof skipped"));
    assert!(
        out.stderr
            .contains(&format!("01_foundations.sql:{bad_line}")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("job_queue"),
        "the server's message is shown"
    );
    let header = ws.read(&rel);
    assert!(
        header.contains("Not executed on"),
        "no execution is claimed: {header}"
    );
    assert!(ws
        .read("current_schema/06_job_coordination.sql")
        .contains("retry_after"));
}

#[test]
fn docs_of_other_tables_follow_their_moved_lines() {
    // A column on patient_clinical_events moves patient_medications, which
    // is documented and defined further down the same file: its docs quote
    // its line numbers, so finalize refreshes them and check stays green.
    let ws = Ws::sample();
    let before = ws.read("bridge-schemas/detailed/pass-1/patient_medications.json");
    let rel = ws.drafted(
        "ALTER TABLE public.patient_clinical_events ADD COLUMN reviewed_by uuid;\n",
        "reviewed_by",
    );
    let out = run(ws.cmd(&["finalize", &rel, "--no-execute", "--applied-via", "staging"]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let after = ws.read("bridge-schemas/detailed/pass-1/patient_medications.json");
    assert_ne!(before, after, "the database_source lines moved");
    assert!(out
        .stdout
        .contains("wrote bridge-schemas/detailed/pass-1/patient_medications.json"));
    let check = run(ws.cmd(&["check"]));
    assert!(
        !check.stdout.contains("bridge-out-of-date"),
        "{}",
        check.stdout
    );
}
