//! A schema written the way real repositories write them: pg_dump
//! preambles, psql meta-commands, quoted identifiers, partitions, identity
//! columns, SECURITY DEFINER functions with dollar-tagged bodies, triggers on
//! auth.users, policies on storage.objects, materialized views, default
//! privileges.

use crate::common::{line_of, pg, run, Ws};
use regex::Regex;

#[test]
fn the_realworld_fixture_replays() {
    let ws = Ws::fixture("realworld");
    pg::dev_db(ws.path());
}

#[test]
fn research_names_files_and_lines_in_a_realworld_schema() {
    let ws = Ws::fixture("realworld");
    ws.write(
        "draft.sql",
        "ALTER TABLE app.accounts ADD COLUMN trial_ends_at timestamptz;\nALTER TABLE app.invoices DROP CONSTRAINT invoices_amount_check;\nCREATE OR REPLACE FUNCTION app.current_account_id() RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$ SELECT id FROM app.accounts WHERE owner_id = auth.uid() LIMIT 1 $$;\n",
    );
    let out = run(ws.cmd(&["research", "trial", "--sql", "draft.sql"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = ws.read(out.stdout.trim());
    let schema = ws.read("current_schema/01_tables.sql");
    let m = Regex::new(r"Line (\d+): app\.accounts \(CREATE TABLE")
        .unwrap()
        .captures(&text)
        .unwrap();
    assert!(line_of(&schema, m[1].parse().unwrap()).starts_with("CREATE TABLE app.accounts"));
    // The inline check's implicit name resolves to the column's line.
    let m = Regex::new(r"constraint invoices_amount_check inline on column amount \(current_schema/01_tables.sql:(\d+)\)").unwrap();
    let l: usize = m.captures(&text).expect("inline check target")[1]
        .parse()
        .unwrap();
    assert!(line_of(&schema, l).contains("amount"));
    assert!(text.contains("function app.current_account_id() (current_schema/02_functions.sql:1-7): replaced where it stands"));
    // Dependents found through policy text.
    assert!(
        text.contains("policy invoices_own on app.invoices"),
        "{text}"
    );
}

#[test]
fn finalize_proves_changes_in_a_realworld_schema() {
    let ws = Ws::fixture("realworld");
    ws.write(
        "draft.sql",
        "ALTER TABLE app.accounts ADD COLUMN \"TrialEnds\" timestamptz;\nALTER TABLE app.invoices DROP CONSTRAINT invoices_amount_check;\nALTER TABLE app.invoices ADD CONSTRAINT invoices_amount_positive CHECK (amount > 0);\nALTER TYPE app.\"Plan\" ADD VALUE 'enterprise';\nCREATE POLICY invoices_insert ON app.invoices FOR INSERT TO authenticated WITH CHECK (account_id = app.current_account_id());\n",
    );
    let out = run(ws.cmd(&[
        "research",
        "trial",
        "--sql",
        "draft.sql",
        "--problem",
        "p",
        "--solution",
        "s",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rel = out.stdout.trim().to_string();
    assert_eq!(run(ws.cmd(&["approve", &rel, "--by", "t"])).code, 0);
    let out = run(ws.cmd(&["finalize", &rel]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let tables = ws.read("current_schema/01_tables.sql");
    assert!(tables.contains("\"TrialEnds\""));
    assert!(
        tables.contains("'free', 'pro', 'team'")
            || ws
                .read("current_schema/00_init.sql")
                .contains("'enterprise'")
    );
}
