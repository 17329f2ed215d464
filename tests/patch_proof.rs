//! The patcher against a real PostgreSQL: each migration is researched,
//! approved and finalized on a copy of the sample workspace. finalize only
//! exits 0 when the patched current_schema, replayed on a fresh database,
//! has exactly the catalog of the old files plus the migration (tables,
//! columns, constraints, indexes, policies, functions, triggers, views,
//! types, comments, grants), so exit 0 is the object-for-object proof.

use crate::common::{run, Ws};

/// A copy of the sample with `sql` researched and approved; the draft's path.
fn drafted(sql: &str) -> (Ws, String) {
    let ws = Ws::sample();
    let rel = ws.drafted(sql, "change");
    (ws, rel)
}

fn finalize_proves(sql: &str) -> Ws {
    let (ws, rel) = drafted(sql);
    let out = run(ws.cmd(&["finalize", &rel]));
    assert_eq!(
        out.code, 0,
        "finalize of\n{sql}\nstdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    // The fast path of --no-execute must agree: the schema model of the
    // patched files vouches for them without asking a database (a
    // disagreement would make every such finalize slow, or hide a bug).
    let (copy, rel) = drafted(sql);
    let out = run(copy.cmd(&["finalize", &rel, "--no-execute", "--applied-via", "x"]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("checked against the schema model"),
        "the model did not vouch for\n{sql}\n{}",
        out.stderr
    );
    let schema_files = |w: &Ws| -> Vec<(std::path::PathBuf, Vec<u8>)> {
        w.snapshot()
            .into_iter()
            .filter_map(|(p, c)| Some((p.strip_prefix(w.path()).ok()?.to_path_buf(), c)))
            .filter(|(p, _)| p.starts_with("current_schema"))
            .collect()
    };
    assert!(
        schema_files(&copy) == schema_files(&ws),
        "the same patch with and without --no-execute"
    );
    ws
}

#[test]
fn replaced_function() {
    let ws = finalize_proves(
        "CREATE OR REPLACE FUNCTION public.update_updated_at_column()\nRETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    NEW.updated_at := clock_timestamp();\n    RETURN NEW;\nEND;\n$$;\n",
    );
    assert!(ws
        .read("current_schema/01_foundations.sql")
        .contains("clock_timestamp()"));
}

#[test]
fn dropped_column() {
    let ws = finalize_proves("ALTER TABLE public.shell_files DROP COLUMN page_count;\n");
    assert!(!ws
        .read("current_schema/03_documents.sql")
        .contains("page_count              integer"));
}

#[test]
fn inline_check_replaced_by_a_named_one() {
    finalize_proves(
        "ALTER TABLE public.shell_files DROP CONSTRAINT shell_files_status_check;\nALTER TABLE public.shell_files ADD CONSTRAINT shell_files_status_valid CHECK (status IN ('uploaded', 'processing', 'completed', 'failed', 'quarantined'));\n",
    );
}

#[test]
fn new_table_with_rls_policy_index_and_trigger() {
    finalize_proves(
        "CREATE TABLE public.medication_refills (\n    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),\n    medication_id uuid NOT NULL REFERENCES public.patient_medications(id) ON DELETE CASCADE,\n    refilled_at timestamptz NOT NULL DEFAULT now(),\n    updated_at timestamptz NOT NULL DEFAULT now()\n);\nALTER TABLE public.medication_refills ENABLE ROW LEVEL SECURITY;\nCREATE POLICY medication_refills_read ON public.medication_refills FOR SELECT TO authenticated USING (true);\nCREATE INDEX idx_medication_refills_med ON public.medication_refills (medication_id);\nCREATE TRIGGER update_medication_refills_updated_at BEFORE UPDATE ON public.medication_refills FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();\nCOMMENT ON TABLE public.medication_refills IS 'One row per pharmacy refill';\nGRANT SELECT ON public.medication_refills TO authenticated;\n",
    );
}

#[test]
fn enum_value_type_change_default_and_not_null() {
    finalize_proves(
        "ALTER TYPE public.job_status ADD VALUE IF NOT EXISTS 'paused';\nALTER TABLE public.shell_files ALTER COLUMN page_count TYPE bigint;\nALTER TABLE public.shell_files ALTER COLUMN page_count SET DEFAULT 0;\nUPDATE public.shell_files SET page_count = 0 WHERE page_count IS NULL;\nALTER TABLE public.shell_files ALTER COLUMN page_count SET NOT NULL;\n",
    );
}

#[test]
fn renamed_column_and_new_view() {
    finalize_proves(
        "ALTER TABLE public.api_rate_limits RENAME COLUMN updated_at TO touched_at;\nCREATE VIEW public.recent_uploads AS SELECT id, patient_id, created_at FROM public.shell_files WHERE created_at > now() - interval '7 days';\n",
    );
}

#[test]
fn comments_policies_and_dropped_index() {
    finalize_proves(
        "COMMENT ON COLUMN public.job_queue.job_type IS 'Which worker handles it';\nDROP POLICY IF EXISTS job_queue_owner_read ON public.job_queue;\nCREATE POLICY job_queue_owner_read ON public.job_queue FOR SELECT TO authenticated USING (false);\nDROP INDEX IF EXISTS public.idx_job_queue_heartbeat;\n",
    );
}

#[test]
fn renamed_column_read_by_a_view() {
    // job_queue_summary selects job_type bare and groups by it. PostgreSQL
    // keeps the view's column name: the patched view reads
    // `kind AS job_type`, and the proof on the database agrees.
    let sql = "ALTER TABLE public.job_queue RENAME COLUMN job_type TO kind;\n";
    let (ws, rel) = drafted(sql);
    let out = run(ws.cmd(&["finalize", &rel]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let text = ws.read("current_schema/06_job_coordination.sql");
    assert!(text.contains("    kind AS job_type,\n"), "{text}");
    assert!(text.contains("GROUP BY kind, status;"), "{text}");

    // The schema model does not model a view's columns: --no-execute asks
    // the database for this one, and writes the same files.
    let (copy, rel) = drafted(sql);
    let out = run(copy.cmd(&["finalize", &rel, "--no-execute", "--applied-via", "x"]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("which view public.job_queue_summary reads"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("comparing catalogs"), "{}", out.stderr);
    assert_eq!(copy.read("current_schema/06_job_coordination.sql"), text);
}

#[test]
fn realtime_publication_and_default_privileges() {
    // Supabase-isms: publish a table to realtime, grant future tables.
    let ws = finalize_proves(
        "ALTER PUBLICATION supabase_realtime ADD TABLE public.job_queue;\nALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO authenticated;\n",
    );
    assert!(ws
        .read("current_schema/06_job_coordination.sql")
        .contains("ALTER PUBLICATION supabase_realtime ADD TABLE public.job_queue;"));
}

#[test]
fn realtime_and_default_privileges_roll_back_to_the_original_files() {
    let original = Ws::sample();
    let sql = "ALTER PUBLICATION supabase_realtime ADD TABLE public.job_queue;\nALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO authenticated;\n";
    let (ws, rel) = drafted(sql);
    // research wrote the inverse of both into the rollback script.
    let draft = ws.read(&rel);
    assert!(
        draft.contains("ALTER PUBLICATION supabase_realtime DROP TABLE public.job_queue;"),
        "{draft}"
    );
    assert!(
        draft.contains("REVOKE select ON TABLES FROM authenticated;"),
        "{draft}"
    );
    assert_eq!(run(ws.cmd(&["finalize", &rel])).code, 0);
    let out = run(ws.cmd(&["rollback", &rel, "--yes"]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let file = "current_schema/06_job_coordination.sql";
    assert_eq!(
        ws.read(file),
        original.read(file),
        "the statements are gone, not undone by others"
    );
    let check = run(ws.cmd(&["check"]));
    assert_eq!(check.code, 0, "{}", check.stdout);
}

#[test]
fn renamed_table_with_policy_indexes_and_unnamed_constraints() {
    // The policy's table, the indexes, RLS and the comment follow the new
    // name; the constraints PostgreSQL named after the old one keep their
    // names, written out. The proof on the database agrees.
    let (ws, rel) = drafted("ALTER TABLE public.pass1_entity_metrics RENAME TO entity_metrics;\n");
    let out = run(ws.cmd(&["finalize", &rel]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let text = ws.read("current_schema/05_ai_processing.sql");
    assert!(!text.contains("ON public.pass1_entity_metrics"), "{text}");
    assert!(
        text.contains("CREATE POLICY pass1_entity_metrics_read ON public.entity_metrics"),
        "{text}"
    );
    assert!(
        text.contains("CONSTRAINT pass1_entity_metrics_pkey PRIMARY KEY"),
        "{text}"
    );
    // The docs keep their file names: finalize says what to do.
    assert!(
        out.stdout
            .contains("keep the old file name; rename each to entity_metrics"),
        "{}",
        out.stdout
    );
}

#[test]
fn renamed_column_keeps_the_name_of_its_unnamed_check() {
    // shell_files.status carries an unnamed inline CHECK, which PostgreSQL
    // named shell_files_status_check and keeps under that name.
    let ws =
        finalize_proves("ALTER TABLE public.shell_files RENAME COLUMN status TO upload_state;\n");
    let text = ws.read("current_schema/03_documents.sql");
    assert!(
        text.contains("CONSTRAINT shell_files_status_check CHECK (upload_state IN"),
        "{text}"
    );
}
