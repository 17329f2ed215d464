//! `touchpoint research` on the sample workspace.

use crate::common::{line_of, run, Ws};
use regex::Regex;

fn research(ws: &Ws, sql: &str, slug: &str) -> crate::common::Output {
    ws.write("draft.sql", sql);
    run(ws.cmd(&[
        "research",
        slug,
        "--sql",
        "draft.sql",
        "--date",
        "2026-11-21",
        "--issue",
        "#77",
    ]))
}

#[test]
fn add_column_names_the_defining_file_and_the_create_table_line() {
    let ws = Ws::sample();
    let out = research(
        &ws,
        "ALTER TABLE public.job_queue ADD COLUMN retry_after timestamptz;\n",
        "add_retry_after",
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    // NN is one above the highest number in the whole history (05).
    let rel = "migration_history/2026-11/2026-11-21_06_add_retry_after.sql";
    assert_eq!(out.stdout.trim(), rel);
    let text = ws.read(rel);

    // The SOURCE OF TRUTH entry names the file and a line that really is
    // the table's CREATE TABLE line.
    let re = Regex::new(
        r"\[ \] (current_schema/\S+)\n--      - Line (\d+): public\.job_queue \(CREATE TABLE",
    )
    .unwrap();
    let m = re.captures(&text).expect("source-of-truth entry");
    let schema = ws.read(&m[1]);
    let line: usize = m[2].parse().unwrap();
    assert!(
        line_of(&schema, line).contains("CREATE TABLE"),
        "line {line}: {}",
        line_of(&schema, line)
    );
    assert!(line_of(&schema, line).contains("job_queue"));

    // The statement line quoted in the analysis is the statement's line.
    let re = Regex::new(r"1\. line (\d+): ALTER TABLE").unwrap();
    let stmt_line: usize = re.captures(&text).unwrap()[1].parse().unwrap();
    assert!(line_of(&text, stmt_line)
        .starts_with("ALTER TABLE public.job_queue ADD COLUMN retry_after"));

    // Docs of the table, lock facts, rollback and verification.
    assert!(text.contains("[ ] bridge-schemas/source/pass-1/job_queue.md"));
    assert!(text.contains("ACCESS EXCLUSIVE on public.job_queue; no rewrite, no scan"));
    assert!(text.contains("ALTER TABLE public.job_queue DROP COLUMN IF EXISTS retry_after;"));
    assert!(text.contains("column_name = 'retry_after'"));
    assert!(crate_has_no_emoji(&text));
    insta::assert_snapshot!("research_add_column_header", text);
}

fn crate_has_no_emoji(text: &str) -> bool {
    touchpoint::text::find_emoji(text).is_empty()
}

#[test]
fn new_table_goes_after_the_table_it_references() {
    let ws = Ws::sample();
    let sql = "CREATE TABLE public.medication_refills (\n  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),\n  medication_id uuid NOT NULL REFERENCES public.patient_medications(id) ON DELETE CASCADE,\n  refilled_at timestamptz NOT NULL DEFAULT now()\n);\nCREATE INDEX idx_refills_med ON public.medication_refills (medication_id);\n";
    let out = research(&ws, sql, "medication_refills");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = ws.read(out.stdout.trim());
    assert!(text.contains("new table: goes in current_schema/04_clinical.sql (it references public.patient_medications"), "{text}");
    assert!(text.contains("SHARE ROW EXCLUSIVE on public.patient_medications"));
    // The index on the new table contends with nobody.
    assert!(text.contains("table created in this migration"));
    assert!(text.contains("DROP TABLE IF EXISTS public.medication_refills;"));
}

#[test]
fn sql_that_does_not_parse_writes_nothing_and_names_the_line() {
    let ws = Ws::sample();
    let before = ws.snapshot();
    let out = research(
        &ws,
        "ALTER TABLE job_queue ADD COLUMN a int;\nALTER TABLE job_queue ADD CONSTRAINT IF NOT EXISTS c CHECK (a > 0);\n",
        "bad",
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("draft.sql:2:"), "{}", out.stderr);
    assert!(out.stderr.contains("syntax error"));
    // draft.sql itself was written by the test before the run.
    let after: Vec<_> = ws
        .snapshot()
        .into_iter()
        .filter(|(p, _)| !p.ends_with("draft.sql"))
        .collect();
    let before: Vec<_> = before
        .into_iter()
        .filter(|(p, _)| !p.ends_with("draft.sql"))
        .collect();
    assert_eq!(before, after);
}

#[test]
fn slug_with_a_path_separator_is_refused() {
    let ws = Ws::sample();
    let out = run(ws.cmd(&["research", "../x"]));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("path separator"), "{}", out.stderr);
}

#[test]
fn refresh_rewrites_only_generated_sections_and_is_idempotent() {
    let ws = Ws::sample();
    let out = research(
        &ws,
        "ALTER TABLE public.job_queue ADD COLUMN retry_after timestamptz;\n",
        "add_retry_after",
    );
    let rel = out.stdout.trim().to_string();
    let text = ws.read(&rel)
        .replace("<describe the problem this migration solves>", "Workers retry too eagerly.")
        .replace(
            "ALTER TABLE public.job_queue ADD COLUMN retry_after timestamptz;",
            "ALTER TABLE public.job_queue ADD COLUMN retry_after timestamptz;\nALTER TABLE public.shell_files ALTER COLUMN mime_type SET NOT NULL;",
        );
    ws.write(&rel, &text);
    let out = run(ws.cmd(&["research", "--refresh", &rel]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let refreshed = ws.read(&rel);
    assert!(refreshed.contains("Workers retry too eagerly."));
    assert!(refreshed.contains("--   - public.shell_files"));
    assert!(
        refreshed.contains("SET NOT NULL on public.shell_files.mime_type")
            || refreshed.contains("set NOT NULL on public.shell_files.mime_type")
    );
    assert!(refreshed.contains("full scan"));
    // Line numbers in the analysis follow the statements after the header grew.
    let re = Regex::new(r"2\. line (\d+): ALTER TABLE public.shell_files").unwrap();
    let l: usize = re.captures(&refreshed).unwrap()[1].parse().unwrap();
    assert!(line_of(&refreshed, l).starts_with("ALTER TABLE public.shell_files"));
    let out = run(ws.cmd(&["research", "--refresh", &rel]));
    assert_eq!(out.code, 0);
    assert_eq!(ws.read(&rel), refreshed, "a second refresh changes nothing");
}

#[test]
fn unknown_table_is_reported_but_the_draft_is_written() {
    let ws = Ws::sample();
    let out = research(
        &ws,
        "ALTER TABLE public.job_que ADD COLUMN x int;\n",
        "typo",
    );
    assert_eq!(out.code, 0);
    assert!(out.stderr.contains("unknown-table"), "{}", out.stderr);
    assert!(ws
        .read(out.stdout.trim())
        .contains("table public.job_que: NOT FOUND in current_schema"));
}
