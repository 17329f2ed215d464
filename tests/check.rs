//! `touchpoint check`, `status` and `renumber` end to end. The fixture
//! `tests/fixtures/check/history` is a history with every problem check
//! looks for: monthly subfolders, files in two other naming conventions,
//! three files sharing number 04, `ADD CONSTRAINT IF NOT EXISTS`, emoji in
//! a header, a schema file and a doc, open boxes in a finalized migration,
//! a stale approval, a date that does not exist, a table missing from the
//! manifest, docs out of date, and a schema whose policy calls a function
//! defined in a later file (found statically, and by `--replay`).

use crate::common::{copy_dir, repo_root, run, Output, Ws};
use std::process::Command;

fn fixture() -> Ws {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &repo_root().join("tests/fixtures/check/history"),
        dir.path(),
    );
    // The repository itself keeps the house rule (tests/sample.rs checks
    // it), so the fixture spells its emoji `[[U+2705]]`; the copy gets the
    // real characters.
    let marker = regex::Regex::new(r"\[\[U\+([0-9A-F]{4,6})\]\]").unwrap();
    for e in walkdir::WalkDir::new(dir.path()) {
        let e = e.unwrap();
        if !e.file_type().is_file() {
            continue;
        }
        let text = std::fs::read_to_string(e.path()).unwrap();
        if marker.is_match(&text) {
            let real = marker.replace_all(&text, |m: &regex::Captures| {
                let c = u32::from_str_radix(&m[1], 16).unwrap();
                char::from_u32(c).unwrap().to_string()
            });
            std::fs::write(e.path(), real.as_ref()).unwrap();
        }
    }
    Ws { dir }
}

/// The sample workspace as the lead leaves it: sum file written.
fn sample_with_sum() -> Ws {
    let ws = Ws::sample();
    let out = run(ws.cmd(&["check", "--write-sum"]));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    ws
}

fn codes(out: &Output) -> Vec<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["file"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn has(codes: &[(String, String)], code: &str, file_part: &str) -> bool {
    codes
        .iter()
        .any(|(c, f)| c == code && f.contains(file_part))
}

fn git(ws: &Ws, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(ws.path())
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

#[test]
fn sample_passes_once_the_sum_file_is_written() {
    let ws = Ws::sample();
    // As before adoption, whether or not the repository has its sum file.
    let _ = std::fs::remove_file(ws.file("migration_history/touchpoint.sum"));
    let out = run(ws.cmd(&["check"]));
    assert_eq!(out.code, 1, "{}", out.stdout);
    // Each finalized migration is reported, with the adoption help.
    assert_eq!(out.stdout.matches("error[sum-missing]").count(), 4);
    assert!(out
        .stdout
        .contains("run `touchpoint check --write-sum` once when adopting touchpoint"));

    let out = run(ws.cmd(&["check", "--write-sum"]));
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out
        .stderr
        .contains("wrote migration_history/touchpoint.sum: 4 finalized migrations"));
    assert!(out
        .stdout
        .ends_with("checked 5 migrations, 6 schema files, 20 bridge docs: no findings\n"));
    let out = run(ws.cmd(&[
        "approve",
        "migration_history/2026-11/2026-11-20_05_add_job_queue_priority.sql",
        "--by",
        "dana",
        "--date",
        "2026-11-21",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = run(ws.cmd(&["check", "--format", "json"]));
    assert_eq!(out.code, 0, "{}", out.stdout);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["diagnostics"], serde_json::json!([]));
    assert_eq!(v["summary"]["errors"], 0);
    assert_eq!(v["checked"]["migrations"], 5);
}

#[test]
fn sample_replays() {
    let ws = sample_with_sum();
    let out = run(ws.cmd(&["check", "--replay"]));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("replayed current_schema: no findings"));
}

#[test]
fn fixture_history_findings() {
    let ws = fixture();
    let out = run(ws.cmd(&["check"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    insta::assert_snapshot!("check_fixture_human", out.stdout);
}

#[test]
fn json_is_one_document_with_every_finding() {
    let ws = fixture();
    let out = run(ws.cmd(&["check", "--format", "json"]));
    assert_eq!(out.code, 1);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    for key in ["diagnostics", "summary", "checked"] {
        assert!(v.get(key).is_some(), "no {key}");
    }
    for d in v["diagnostics"].as_array().unwrap() {
        for key in ["code", "severity", "message"] {
            assert!(d[key].is_string(), "{d}");
        }
    }
    assert_eq!(v["checked"]["migrations"], 11);
    let c = codes(&out);
    for (code, file) in [
        ("migration-name", "20250105_01_init_schema.sql"),
        ("migration-name", "002_add_notes.sql"),
        ("migration-name", "2025-02-30_09_bad_date.sql"),
        ("duplicate-number", "2025-03-01_04_add_visit_kind.sql"),
        ("duplicate-number", "2025-03-03_04_add_visits_index.sql"),
        ("duplicate-number", "2025-03-05_04_scratch_notes.sql"),
        ("syntax-error", "2025-04-01_05_patient_fk.sql"),
        ("emoji", "2025-02-10_03_add_status.sql"),
        ("emoji", "current_schema/03_visits.sql"),
        ("emoji", "bridge-schemas/source/patients.md"),
        ("header-sections", "002_add_notes.sql"),
        ("header-sections", "20250105_01_init_schema.sql"),
        ("unticked-box", "2025-04-10_06_backfill_status.sql"),
        ("na-without-reason", "2025-04-10_06_backfill_status.sql"),
        ("execution-date", "2025-04-10_06_backfill_status.sql"),
        ("review-checksum", "2025-05-02_07_rename_full_name.sql"),
        ("header-placeholder", "2025-05-30_08_draft_placeholders.sql"),
        ("sum-missing", "2025-02-10_03_add_status.sql"),
        ("not-in-manifest", "2025-03-05_04_scratch_notes.sql"),
        ("bridge-out-of-date", "bridge-schemas/source/visits.md"),
        (
            "bridge-placeholder",
            "bridge-schemas/detailed/patients.json",
        ),
    ] {
        assert!(has(&c, code, file), "no {code} for {file} in {c:?}");
    }
}

#[test]
fn github_lines_are_workflow_commands() {
    let ws = fixture();
    let out = run(ws.cmd(&["check", "--format", "github"]));
    assert_eq!(out.code, 1);
    // The workflow-command grammar: `::level props::data`, properties
    // comma separated, with `%`, CR, LF, `:` and `,` escaped in values.
    let re = regex::Regex::new(
        r"^::(error|warning|notice)( (file=[^,:\r\n]+)(,line=\d+)?(,col=\d+)?,title=[a-z-]+| title=[a-z-]+)::[^\r\n]+$",
    )
    .unwrap();
    assert!(out.stdout.lines().count() > 20);
    for l in out.stdout.lines() {
        assert!(re.is_match(l), "not a workflow command: {l}");
    }
    assert!(out.stdout.contains(
        "::error file=migration_history/2025-04/2025-04-01_05_patient_fk.sql,line=33,col=27,title=syntax-error::"
    ));
}

#[test]
fn since_limits_per_file_rules_to_changed_files() {
    let ws = fixture();
    git(&ws, &["init", "-q"]);
    git(&ws, &["add", "-A"]);
    git(&ws, &["commit", "-qm", "history"]);
    let out = run(ws.cmd(&["check", "--since", "HEAD", "--format", "json"]));
    assert_eq!(out.code, 1);
    let c = codes(&out);
    // Nothing changed: only the global rules speak.
    let global = [
        "duplicate-number",
        "schema-order",
        "sum-missing",
        "bridge-out-of-date",
        "bridge-not-checked",
    ];
    assert!(
        c.iter().all(|(code, _)| global.contains(&code.as_str())),
        "{c:?}"
    );
    assert!(has(
        &c,
        "duplicate-number",
        "2025-03-05_04_scratch_notes.sql"
    ));

    // One changed file and one new file get the per-file rules.
    let fk = "migration_history/2025-04/2025-04-01_05_patient_fk.sql";
    ws.write(fk, &format!("{}\n-- done \u{2705}\n", ws.read(fk)));
    ws.write("migration_history/2025-06/new.sql", "select 1;\n");
    let out = run(ws.cmd(&["check", "--since", "HEAD", "--format", "json"]));
    let c = codes(&out);
    assert!(has(&c, "emoji", "2025-04-01_05_patient_fk.sql"), "{c:?}");
    assert!(has(&c, "syntax-error", "2025-04-01_05_patient_fk.sql"));
    assert!(has(&c, "migration-name", "2025-06/new.sql"));
    assert!(!has(&c, "emoji", "2025-02-10_03_add_status.sql"));
    assert!(!has(&c, "unticked-box", ""));
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["checked"]["since"], "HEAD");
    assert_eq!(v["checked"]["changed_files"], 2);

    let out = run(ws.cmd(&["check", "--since", "no-such-rev"]));
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(out.stderr.contains("no-such-rev"), "{}", out.stderr);
}

#[test]
fn sum_file_catches_edits_deletions_and_reordering() {
    let ws = sample_with_sum();
    let m1 = "migration_history/2026-09/2026-09-18_01_add_shell_file_page_count.sql";
    let m3 = "migration_history/2026-10/2026-10-29_03_clinical_events_review_index_and_archive_guard.sql";
    let original = ws.read(m1);
    ws.write(m1, &original.replace("Backfill from", "Backfilled from"));
    std::fs::remove_file(ws.file(m3)).unwrap();
    let out = run(ws.cmd(&["check", "--format", "json"]));
    assert_eq!(out.code, 1);
    let c = codes(&out);
    assert!(has(&c, "sum-mismatch", "2026-09-18_01"), "{c:?}");
    assert!(has(&c, "sum-deleted", "touchpoint.sum"), "{c:?}");

    ws.write(m1, &original);
    let sum = ws.read("migration_history/touchpoint.sum");
    let mut lines: Vec<&str> = sum.lines().collect();
    let n = lines.len();
    lines.swap(n - 1, n - 2);
    ws.write(
        "migration_history/touchpoint.sum",
        &(lines.join("\n") + "\n"),
    );
    let out = run(ws.cmd(&["check", "--format", "json"]));
    let c = codes(&out);
    assert!(has(&c, "sum-chain", "touchpoint.sum"), "{c:?}");
}

#[test]
fn baseline_grandfathers_header_and_naming_rules_only() {
    let ws = fixture();
    ws.write(
        "touchpoint.toml",
        &format!(
            "{}\n[check]\nbaseline = \"03\"\n",
            ws.read("touchpoint.toml")
        ),
    );
    let out = run(ws.cmd(&["check", "--format", "json"]));
    let c = codes(&out);
    for file in ["20250105_01_init_schema.sql", "002_add_notes.sql"] {
        assert!(!has(&c, "migration-name", file), "{c:?}");
        assert!(!has(&c, "header-sections", file), "{c:?}");
    }
    // Still parsed, counted and covered by the rest.
    assert!(has(&c, "emoji", "2025-02-10_03_add_status.sql"));
    assert!(has(&c, "sum-missing", "2025-02-10_03_add_status.sql"));
    assert!(has(
        &c,
        "duplicate-number",
        "2025-03-01_04_add_visit_kind.sql"
    ));
    assert!(has(&c, "migration-name", "2025-02-30_09_bad_date.sql"));
    ws.write("migration_history/2025-01/0003_x.sql", "select 1 +;\n");
    let out = run(ws.cmd(&["check", "--format", "json"]));
    let c = codes(&out);
    assert!(has(&c, "syntax-error", "0003_x.sql"), "{c:?}");
    assert!(has(&c, "duplicate-number", "0003_x.sql"), "{c:?}");
}

#[test]
fn fail_on_warning_and_could_not_run() {
    let ws = sample_with_sum();
    ws.write(
        "migration_history/2026-11/2026-11-20_05_add_job_queue_priority.sql",
        &ws.read("migration_history/2026-11/2026-11-20_05_add_job_queue_priority.sql")
            .replace(
                "-- PROBLEM:\n",
                "-- PROBLEM:\n--   <describe the problem this migration solves>\n",
            ),
    );
    let out = run(ws.cmd(&["check"]));
    assert_eq!(
        out.code, 0,
        "warnings do not fail by default: {}",
        out.stdout
    );
    assert!(
        out.stdout.contains("0 errors, 1 warning in 1 file"),
        "{}",
        out.stdout
    );
    let out = run(ws.cmd(&["check", "--fail-on", "warning"]));
    assert_eq!(out.code, 1);
    ws.write("touchpoint.toml", "[check]\nnaming_pattern = \"(\"\n");
    let out = run(ws.cmd(&["check"]));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("naming_pattern"), "{}", out.stderr);
}

#[test]
fn replay_reports_the_failing_file_line_and_server_message() {
    let ws = fixture();
    let out = run(ws.cmd(&["check", "--replay", "--format", "json"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let d = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "replay-failed")
        .expect("a replay finding");
    assert_eq!(d["file"], "current_schema/01_core.sql");
    // The server gives no position for an unknown function in a policy:
    // the statement's first line.
    assert_eq!(d["line"], 18, "{d}");
    let msg = d["message"].as_str().unwrap();
    assert!(
        msg.contains("function public.is_owner(uuid) does not exist"),
        "{msg}"
    );
    assert!(
        d["help"].as_str().unwrap().contains("not defined yet"),
        "{d}"
    );
}

#[test]
fn renumber_moves_a_draft_and_refuses_a_finalized_one() {
    let ws = fixture();
    let draft = "migration_history/2025-03/2025-03-05_04_scratch_notes.sql";
    let out = run(ws.cmd(&["renumber", draft]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "renamed migration_history/2025-03/2025-03-05_04_scratch_notes.sql -> \
         migration_history/2025-03/2025-03-05_10_scratch_notes.sql\n\
         updated the Migration line of the header\n"
    );
    assert!(!ws.file(draft).exists());
    let text = ws.read("migration_history/2025-03/2025-03-05_10_scratch_notes.sql");
    assert!(text.contains("-- Migration: 10 Scratch notes\n"), "{text}");
    assert!(text.contains("-- Date: 2025-03-05\n"));

    let before = ws.snapshot();
    let out = run(ws.cmd(&[
        "renumber",
        "migration_history/2025-03/2025-03-01_04_add_visit_kind.sql",
    ]));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("is finalized"), "{}", out.stderr);
    assert_eq!(before, ws.snapshot(), "a refusal changes nothing");

    // The draft left on 04 moves too; then only the finalized one has it.
    let out = run(ws.cmd(&[
        "renumber",
        "migration_history/2025-03/2025-03-03_04_add_visits_index.sql",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("2025-03-03_11_add_visits_index.sql"));
    let out = run(ws.cmd(&["check", "--format", "json"]));
    assert!(!has(&codes(&out), "duplicate-number", ""));
}

#[test]
fn status_without_a_database_lists_states() {
    let ws = fixture();
    let out = run(ws.cmd(&["status"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["NN", "STATE", "FILE"]);
    // Numbers from other conventions are shown as written, in order.
    assert_eq!(
        rows[2],
        [
            "002",
            "draft",
            "migration_history/2025-01/002_add_notes.sql"
        ]
    );
    assert_eq!(
        rows[3],
        [
            "03",
            "finalized",
            "migration_history/2025-02/2025-02-10_03_add_status.sql"
        ]
    );
    assert_eq!(
        rows[9],
        [
            "07",
            "approved",
            "migration_history/2025-05/2025-05-02_07_rename_full_name.sql"
        ]
    );
    assert!(
        out.stdout
            .ends_with("11 migrations: 1 approved, 7 draft, 3 finalized\n"),
        "{}",
        out.stdout
    );
    let out = run(ws.cmd(&["status", "--format", "json"]));
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["database"], serde_json::Value::Null);
    assert_eq!(v["migrations"].as_array().unwrap().len(), 11);
    assert_eq!(v["migrations"][0]["state"], "draft");
}

#[test]
fn status_with_a_database_reads_the_tracking_table() {
    use touchpoint::db::tracking::{Record, Tracker};
    let ws = sample_with_sum();
    let emb = touchpoint::db::Embedded::start().expect("embedded server");
    emb.create_database("status_test", None).unwrap();
    let url = emb.url("status_test");
    let mut client = touchpoint::db::connect(&url).unwrap();
    let tracker = Tracker::new("touchpoint");
    tracker.ensure(&mut client).unwrap();
    let sum = |rel: &str| {
        let f = touchpoint::sql::parse(std::path::Path::new(rel), ws.read(rel)).unwrap();
        touchpoint::history::checksum(&f)
    };
    let files = [
        "migration_history/2026-09/2026-09-18_01_add_shell_file_page_count.sql",
        "migration_history/2026-10/2026-10-14_02_add_job_processing_time.sql",
        "migration_history/2026-10/2026-10-29_03_clinical_events_review_index_and_archive_guard.sql",
        "migration_history/2026-11/2026-11-06_04_complete_job_computes_processing_time.sql",
    ];
    let rec = |version: &str, checksum: String, success: bool| Record {
        version: version.into(),
        name: format!("m{version}"),
        checksum,
        success,
        batch: Some(1),
        error: (!success).then(|| "boom".to_string()),
        ..Default::default()
    };
    tracker
        .record(&mut client, &rec("01", sum(files[0]), true))
        .unwrap();
    tracker
        .record(&mut client, &rec("02", "0".repeat(64), true))
        .unwrap();
    tracker
        .record(&mut client, &rec("03", sum(files[2]), false))
        .unwrap();
    tracker
        .record(&mut client, &rec("04", sum(files[3]), true))
        .unwrap();
    tracker.mark_reverted(&mut client, "04", "dana").unwrap();
    tracker
        .record(&mut client, &rec("99", "1".repeat(64), true))
        .unwrap();

    let out = run(ws.cmd(&["status", "--database-url", &url]));
    assert_eq!(
        out.code, 1,
        "divergent, failed and missing need attention: {}",
        out.stderr
    );
    let rows: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(rows[0], ["NN", "STATE", "DATABASE", "FILE"]);
    assert_eq!(rows[1][..3], ["01", "finalized", "applied, batch 1"]);
    assert_eq!(rows[2][..3], ["02", "finalized", "divergent, batch 1"]);
    assert_eq!(rows[3][..3], ["03", "finalized", "failed, batch 1"]);
    assert_eq!(rows[4][..3], ["04", "finalized", "reverted, batch 1"]);
    // 05 is a draft in the sample, or approved once the lead approves it.
    assert_eq!((rows[5][0], rows[5][2]), ("05", "pending"));
    assert_eq!(
        rows[6],
        ["99", "-", "missing file, batch 1", "(no file) m99"]
    );

    let mut cmd = ws.cmd(&["status", "--format", "json"]);
    cmd.env("DATABASE_URL", &url);
    let out = run(cmd);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(v["database"].as_str().unwrap().starts_with("postgresql://"));
    let statuses: Vec<&str> = v["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["database"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "applied",
            "divergent",
            "failed",
            "reverted",
            "pending",
            "missing_file"
        ]
    );
    assert_eq!(v["migrations"][3]["database"]["reverted_by"], "dana");
    assert_eq!(v["migrations"][5]["file"], serde_json::Value::Null);
}
