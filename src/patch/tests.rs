//! Patcher tests: each applies a migration to small schema files and
//! snapshots the unified diff, so the snapshot shows exactly which bytes
//! changed and that nothing else did.

use super::*;
use std::path::Path;

const SCHEMA: &str = "\
-- Documents uploaded by patients.
CREATE TABLE public.shell_files (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id      uuid        NOT NULL REFERENCES public.profiles(id) ON DELETE CASCADE,
    status          text        NOT NULL DEFAULT 'uploaded'
                                CHECK (status IN ('uploaded', 'processing', 'done')), -- lifecycle
    mime_type       text,                   -- as uploaded
    page_count      integer                 -- filled by the extractor
);

CREATE INDEX idx_shell_files_patient ON public.shell_files (patient_id);

ALTER TABLE public.shell_files ENABLE ROW LEVEL SECURITY;

CREATE POLICY shell_files_owner ON public.shell_files
    FOR SELECT USING (patient_id = auth.uid());

COMMENT ON COLUMN public.shell_files.mime_type IS 'MIME type';

CREATE OR REPLACE FUNCTION public.touch(p_id uuid)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE public.shell_files SET status = 'processing' WHERE id = p_id;
END;
$$;

CREATE TYPE public.job_status AS ENUM ('pending', 'running');
";

const PROFILES: &str = "CREATE TABLE public.profiles (\n    id uuid PRIMARY KEY\n);\n";

fn run(migration: &str) -> (String, Outcome) {
    let files = vec![
        crate::sql::parse(
            Path::new("current_schema/01_profiles.sql"),
            PROFILES.to_string(),
        )
        .unwrap(),
        crate::sql::parse(
            Path::new("current_schema/02_documents.sql"),
            SCHEMA.to_string(),
        )
        .unwrap(),
    ];
    let m = crate::sql::parse(Path::new("migration_history/m.sql"), migration.to_string()).unwrap();
    let schema = crate::schema::Schema::build(files.into_iter().map(std::sync::Arc::new).collect());
    let out = patch(
        &schema,
        &m,
        &Options {
            note: Some("-- Migration 07: test change".into()),
        },
    )
    .unwrap();
    let mut diff = String::new();
    for f in &out.files {
        let d = similar::TextDiff::from_lines(&f.old, &f.new);
        diff.push_str(
            &d.unified_diff()
                .context_radius(1)
                .header(&f.path.display().to_string(), &f.path.display().to_string())
                .to_string(),
        );
    }
    for c in &out.changes {
        diff.push_str(&format!(
            "change: {}:{} {}\n",
            c.path.display(),
            c.line,
            c.what
        ));
    }
    for u in &out.unmapped {
        diff.push_str(&format!("unmapped: {}\n", u.message));
    }
    for r in &out.reported {
        diff.push_str(&format!("reported: {r}\n"));
    }
    // Every patched file still parses (apply() guarantees it; check anyway).
    for f in &out.files {
        crate::sql::parse(&f.path, f.new.clone()).unwrap();
    }
    (diff, out)
}

#[test]
fn add_column_after_the_last_column_aligned_with_a_note() {
    let (d, out) =
        run("ALTER TABLE public.shell_files ADD COLUMN processing_time_minutes integer;");
    assert!(out.unmapped.is_empty());
    insta::assert_snapshot!(d);
}

#[test]
fn add_two_columns_in_one_statement() {
    let (d, _) = run(
        "ALTER TABLE public.shell_files ADD COLUMN a text, ADD COLUMN b int NOT NULL DEFAULT 0;",
    );
    insta::assert_snapshot!(d);
}

#[test]
fn drop_last_column_fixes_the_comma() {
    let (d, _) = run("ALTER TABLE public.shell_files DROP COLUMN page_count;");
    insta::assert_snapshot!(d);
}

#[test]
fn drop_middle_column_takes_its_comment_and_dependents() {
    let (d, _) = run("ALTER TABLE public.shell_files DROP COLUMN mime_type;");
    insta::assert_snapshot!(d);
}

#[test]
fn drop_inline_check_by_its_implicit_name() {
    let (d, out) = run("ALTER TABLE public.shell_files DROP CONSTRAINT shell_files_status_check;\nALTER TABLE public.shell_files ADD CONSTRAINT shell_files_status_valid CHECK (status IN ('uploaded', 'processing', 'done', 'failed'));");
    assert!(out.unmapped.is_empty(), "{:?}", out.unmapped);
    insta::assert_snapshot!(d);
}

#[test]
fn alter_column_type_default_and_nullability() {
    let (d, out) = run("ALTER TABLE public.shell_files ALTER COLUMN page_count TYPE bigint USING page_count::bigint;\nALTER TABLE public.shell_files ALTER COLUMN status SET DEFAULT 'processing';\nALTER TABLE public.shell_files ALTER COLUMN mime_type SET NOT NULL;\nALTER TABLE public.shell_files ALTER COLUMN patient_id DROP NOT NULL;\nALTER TABLE public.shell_files ALTER COLUMN mime_type SET DEFAULT 'application/pdf';");
    assert!(out.unmapped.is_empty(), "{:?}", out.unmapped);
    insta::assert_snapshot!(d);
}

#[test]
fn index_policy_function_and_enum() {
    let (d, out) = run("CREATE INDEX IF NOT EXISTS idx_shell_files_status ON public.shell_files (status);\nCREATE POLICY shell_files_owner_update ON public.shell_files FOR UPDATE USING (patient_id = auth.uid());\nCREATE OR REPLACE FUNCTION public.touch(p_id uuid)\nRETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n    UPDATE public.shell_files SET status = 'done' WHERE id = p_id;\nEND;\n$$;\nALTER TYPE public.job_status ADD VALUE 'failed';\nALTER TYPE public.job_status ADD VALUE 'queued' BEFORE 'pending';");
    assert!(out.unmapped.is_empty(), "{:?}", out.unmapped);
    insta::assert_snapshot!(d);
}

#[test]
fn drop_and_alter_policy_and_disable_rls() {
    let (d, out) = run("ALTER POLICY shell_files_owner ON public.shell_files USING (patient_id = auth.uid() AND status <> 'done');\nDROP INDEX public.idx_shell_files_patient;");
    assert!(out.unmapped.is_empty(), "{:?}", out.unmapped);
    insta::assert_snapshot!(d);
}

#[test]
fn new_table_goes_after_the_table_it_references() {
    let (d, out) = run("CREATE TABLE public.document_pages (\n    id uuid PRIMARY KEY,\n    shell_file_id uuid NOT NULL REFERENCES public.shell_files(id)\n);\nCREATE INDEX idx_pages_file ON public.document_pages (shell_file_id);");
    assert!(out.unmapped.is_empty(), "{:?}", out.unmapped);
    insta::assert_snapshot!(d);
}

#[test]
fn drop_table_takes_its_statements() {
    let (d, _) = run("DROP TABLE public.shell_files CASCADE;");
    insta::assert_snapshot!(d);
}

#[test]
fn rename_column_follows_into_constraints_indexes_and_policies() {
    let (d, out) = run("ALTER TABLE public.shell_files RENAME COLUMN patient_id TO owner_id;");
    assert!(out.unmapped.is_empty(), "{:?}", out.unmapped);
    insta::assert_snapshot!(d);
}

#[test]
fn data_changes_are_reported_and_do_blocks_unmapped() {
    let (d, out) = run("UPDATE public.shell_files SET page_count = 0 WHERE page_count IS NULL;\nDO $$ BEGIN EXECUTE 'ALTER TABLE public.shell_files ADD COLUMN x int'; END $$;");
    assert_eq!(out.reported.len(), 1);
    assert_eq!(out.unmapped.len(), 1);
    assert!(out.files.is_empty());
    insta::assert_snapshot!(d);
}

fn patch_text(schema: &str, migration: &str) -> (String, Outcome) {
    let files = vec![std::sync::Arc::new(
        crate::sql::parse(Path::new("current_schema/01.sql"), schema.to_string()).unwrap(),
    )];
    let m = crate::sql::parse(Path::new("m.sql"), migration.to_string()).unwrap();
    let out = patch(
        &crate::schema::Schema::build(files),
        &m,
        &Options { note: None },
    )
    .unwrap();
    let text = out.after[0].text.clone();
    (text, out)
}

const VIEWS: &str = "CREATE TABLE public.t (id int PRIMARY KEY, a int);
CREATE TABLE public.u (id int PRIMARY KEY, a int);
CREATE VIEW public.v1 AS SELECT id, a, a + 1 AS a1 FROM public.t WHERE a > 0 ORDER BY a;
CREATE VIEW public.v2 AS SELECT t.a, u.a AS ua FROM public.t JOIN public.u ON u.id = t.id;
";

#[test]
fn rename_column_follows_into_views_keeping_their_column_names() {
    let (text, out) = patch_text(VIEWS, "ALTER TABLE public.t RENAME COLUMN a TO x;");
    assert!(out.unmapped.is_empty(), "{:?}", out.unmapped);
    assert!(
        text.contains("CREATE TABLE public.t (id int PRIMARY KEY, x int);"),
        "{text}"
    );
    assert!(
        text.contains("SELECT id, x AS a, x + 1 AS a1 FROM public.t WHERE x > 0 ORDER BY x;"),
        "{text}"
    );
    assert!(
        text.contains("SELECT t.x AS a, u.a AS ua FROM public.t JOIN public.u"),
        "{text}"
    );
    // The other table's column of the same name is left alone.
    assert!(
        text.contains("CREATE TABLE public.u (id int PRIMARY KEY, a int);"),
        "{text}"
    );
}

#[test]
fn rename_column_stops_at_what_views_use_that_names_cannot_follow() {
    for view in [
        "CREATE VIEW public.v3 AS SELECT * FROM public.t;",
        "CREATE VIEW public.v3 AS SELECT a FROM public.t JOIN public.u USING (id) WHERE t.id > 0;",
        "CREATE VIEW public.v3 AS SELECT id FROM public.t JOIN public.u USING (a);",
    ] {
        let schema = format!("{VIEWS}{view}\n");
        let (text, out) = patch_text(&schema, "ALTER TABLE public.t RENAME COLUMN a TO x;");
        assert_eq!(out.unmapped.len(), 1, "{view}: {text}");
        assert!(
            out.unmapped[0].message.contains("view public.v3"),
            "{view}: {}",
            out.unmapped[0].message
        );
        assert_eq!(text, schema, "nothing is half-renamed");
    }
}

#[test]
fn publications_and_default_privileges_go_where_they_replay_the_same() {
    let schema = "CREATE TABLE public.t (id int PRIMARY KEY);\n\nGRANT SELECT ON public.t TO anon;\n\nCREATE TABLE public.u (id int);\n";
    let (text, out) = patch_text(
        schema,
        "ALTER PUBLICATION supabase_realtime ADD TABLE public.t;\nALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO authenticated;",
    );
    assert!(out.unmapped.is_empty(), "{:?}", out.unmapped);
    // After the table's grant; default privileges after everything, so
    // that tables written earlier do not get the new grant on replay.
    assert_eq!(
        text,
        "CREATE TABLE public.t (id int PRIMARY KEY);\n\nGRANT SELECT ON public.t TO anon;\n\nALTER PUBLICATION supabase_realtime ADD TABLE public.t;\n\nCREATE TABLE public.u (id int);\n\nALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO authenticated;\n"
    );
    let (back, out) = patch_text(
        &text,
        "ALTER PUBLICATION supabase_realtime DROP TABLE public.t;",
    );
    assert!(out.unmapped.is_empty(), "{:?}", out.unmapped);
    assert!(!back.contains("ADD TABLE public.t"), "{back}");
    let (_, out) = patch_text(
        schema,
        "ALTER PUBLICATION supabase_realtime SET TABLE public.u;",
    );
    assert_eq!(out.unmapped.len(), 1);
    // Taking the default privileges back removes the statement that gave them.
    let (back, out) = patch_text(
        &text,
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT ON TABLES FROM authenticated;",
    );
    assert!(out.unmapped.is_empty(), "{:?}", out.unmapped);
    assert!(!back.contains("DEFAULT PRIVILEGES"), "{back}");
}

#[test]
fn a_new_policy_goes_after_the_function_it_calls() {
    // The table is in the first file, the function it needs in the second:
    // the policy can only replay after both.
    let files = vec![
        std::sync::Arc::new(
            crate::sql::parse(
                Path::new("current_schema/01.sql"),
                "CREATE TABLE public.t (id int PRIMARY KEY, owner uuid);\n".to_string(),
            )
            .unwrap(),
        ),
        std::sync::Arc::new(
            crate::sql::parse(
                Path::new("current_schema/02.sql"),
                "CREATE FUNCTION public.is_owner(u uuid) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;\n"
                    .to_string(),
            )
            .unwrap(),
        ),
    ];
    let m = crate::sql::parse(
        Path::new("m.sql"),
        "CREATE POLICY t_owner ON public.t USING (public.is_owner(owner));".to_string(),
    )
    .unwrap();
    let out = patch(
        &crate::schema::Schema::build(files),
        &m,
        &Options { note: None },
    )
    .unwrap();
    assert!(out.unmapped.is_empty(), "{:?}", out.unmapped);
    assert!(
        !out.after[0].text.contains("CREATE POLICY"),
        "{}",
        out.after[0].text
    );
    assert!(
        out.after[1].text.contains("CREATE POLICY t_owner"),
        "{}",
        out.after[1].text
    );
}
