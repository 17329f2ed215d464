//! The sample workspace shipped at the repository root stays healthy.

use crate::common::{pg, run, Ws};

#[test]
fn sample_current_schema_replays_on_an_empty_database() {
    let ws = Ws::sample();
    // dev_db replays the prelude and every schema file, panicking with the
    // file, line and server message on the first failure.
    let url = pg::dev_db(ws.path());
    let mut c = pg::client(&url);
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(n >= 15, "{n} tables");
}

#[test]
fn sample_bridge_docs_are_in_sync() {
    let ws = Ws::sample();
    let out = run(ws.cmd(&["bridge", "--check"]));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

#[test]
fn nothing_in_the_sample_has_emoji() {
    for e in walkdir::WalkDir::new(crate::common::repo_root())
        .into_iter()
        // fuzz/corpus and fuzz/artifacts hold what cargo-fuzz generates
        // (not committed): any bytes at all.
        .filter_entry(|e| {
            !matches!(
                e.file_name().to_str(),
                Some("target" | ".git" | "corpus" | "artifacts")
            )
        })
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
    {
        if let Ok(text) = std::fs::read_to_string(e.path()) {
            assert!(
                touchpoint::text::find_emoji(&text).is_empty(),
                "emoji in {}",
                e.path().display()
            );
        }
    }
}
