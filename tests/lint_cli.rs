//! `touchpoint lint` end to end: exit codes and the three formats.

use crate::common::{run, Ws};

#[test]
fn add_constraint_if_not_exists_is_a_syntax_error_at_its_line() {
    let ws = Ws::sample();
    ws.write(
        "m.sql",
        "-- fix\nALTER TABLE public.shell_files\n  ADD CONSTRAINT IF NOT EXISTS fk_x FOREIGN KEY (patient_id) REFERENCES public.user_profiles(id);\n",
    );
    let out = run(ws.cmd(&["lint", "m.sql"]));
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("m.sql:3:"), "{}", out.stdout);
    assert!(out.stdout.contains("error[syntax-error]"));
    assert!(out.stdout.contains("no ADD CONSTRAINT IF NOT EXISTS"));
}

#[test]
fn github_format_lines_are_workflow_commands() {
    let ws = Ws::sample();
    ws.write("m.sql", "ALTER TABLE public.nope ADD COLUMN x int;\nALTER TABLE public.job_queue ADD COLUMN status text;\n");
    let out = run(ws.cmd(&["lint", "m.sql", "--format", "github"]));
    assert_eq!(out.code, 1);
    let re = regex::Regex::new(
        r"^::(error|warning|notice) file=[^,:]+,line=\d+(,col=\d+)?,title=[a-z-]+::.+$",
    )
    .unwrap();
    for l in out.stdout.lines() {
        assert!(re.is_match(l), "not a workflow command: {l}");
    }
    assert!(out.stdout.contains("title=unknown-object"));
    assert!(out.stdout.contains("title=duplicate-column"));
}

#[test]
fn json_format_is_one_document() {
    let ws = Ws::sample();
    ws.write("m.sql", "CREATE INDEX i ON public.job_queue (status);\n");
    let out = run(ws.cmd(&["lint", "m.sql", "--format", "json"]));
    assert_eq!(out.code, 0, "warnings do not fail by default");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let codes: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"index-not-concurrent"), "{codes:?}");
    let out = run(ws.cmd(&["lint", "m.sql", "--fail-on", "warning"]));
    assert_eq!(out.code, 1);
}

#[test]
fn sample_history_lints_without_errors() {
    let ws = Ws::sample();
    let files: Vec<String> = walkdir::WalkDir::new(ws.file("migration_history"))
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "sql"))
        .map(|e| e.path().display().to_string())
        .collect();
    assert!(files.len() >= 5);
    let mut args = vec!["lint"];
    args.extend(files.iter().map(String::as_str));
    let out = run(ws.cmd(&args));
    assert_eq!(out.code, 0, "{}", out.stdout);
}

#[test]
fn missing_file_is_an_error_not_a_panic() {
    let ws = Ws::sample();
    let out = run(ws.cmd(&["lint", "nope.sql"]));
    assert_eq!(out.code, 2);
    assert!(out.stdout.contains("nope.sql"));
}

#[test]
fn init_creates_a_workspace_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_touchpoint"));
    c.arg("--root").arg(dir.path()).arg("init");
    let out = run(c);
    assert_eq!(out.code, 0);
    assert!(dir.path().join("touchpoint.toml").is_file());
    assert!(dir.path().join("templates/migration.sql.tera").is_file());
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_touchpoint"));
    c.arg("--root").arg(dir.path()).arg("init");
    assert!(run(c).stdout.contains("nothing to do"));
}
