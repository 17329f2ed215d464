//! Bridge docs on the fixture workspace `tests/fixtures/bridge/`: two
//! schema files, docs for `shell_files` (hand-written, drifted) and
//! `patient_medications` (in sync) in `pass-1/`, archived copies in
//! `pass-1-versions/`.

use super::*;
use crate::commands::bridge::{execute, BridgeOpts};
use crate::commands::ExitStatus;
use crate::report::Format;
use serde_json::Value;

/// A private copy of the fixture workspace; dropped with the test.
struct Fixture {
    _dir: tempfile::TempDir,
    ws: Workspace,
}

impl Fixture {
    fn new() -> Fixture {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bridge");
        let dir = tempfile::tempdir().expect("tempdir");
        for entry in walkdir::WalkDir::new(&src) {
            let entry = entry.expect("walk fixture");
            let to = dir
                .path()
                .join(entry.path().strip_prefix(&src).expect("inside fixture"));
            if entry.file_type().is_dir() {
                std::fs::create_dir_all(&to).expect("mkdir");
            } else {
                std::fs::copy(entry.path(), &to).expect("copy");
            }
        }
        let ws = Workspace::open(dir.path()).expect("open workspace");
        Fixture { _dir: dir, ws }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.ws.root.join(rel)
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).expect("read")
    }

    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.path(rel), text).expect("write");
    }

    /// Replace exactly one occurrence of `from` in a file.
    fn edit(&self, rel: &str, from: &str, to: &str) {
        let text = self.read(rel);
        assert_eq!(
            text.matches(from).count(),
            1,
            "{from:?} must occur once in {rel}"
        );
        self.write(rel, &text.replacen(from, to, 1));
    }

    fn schema(&self) -> Schema {
        Schema::load(&self.ws).expect("schema loads")
    }

    fn plan(&self, renames: &[(String, String, String)]) -> Vec<DocChange> {
        plan(&self.ws, &self.schema(), &[], renames).expect("plan")
    }

    /// Regenerate and write; returns what changed.
    fn sync(&self) -> Vec<DocChange> {
        let changes = self.plan(&[]);
        write(&self.ws, &changes).expect("write");
        changes
    }

    fn change<'a>(&self, changes: &'a [DocChange], rel: &str) -> &'a DocChange {
        changes
            .iter()
            .find(|c| c.path == self.path(rel))
            .unwrap_or_else(|| panic!("no change for {rel}"))
    }

    fn json(&self, rel: &str) -> Value {
        serde_json::from_str(&self.read(rel)).expect("valid JSON")
    }
}

const MD: &str = "bridge-schemas/source/pass-1/shell_files.md";
const DETAILED: &str = "bridge-schemas/detailed/pass-1/shell_files.json";
const MINIMAL: &str = "bridge-schemas/minimal/pass-1/shell_files.json";
const ARCHIVED: [&str; 2] = [
    "bridge-schemas/source/pass-1-versions/shell_files_v1.md",
    "bridge-schemas/detailed/pass-1-versions/shell_files.json",
];
const SCHEMA: &str = "current_schema/02_documents.sql";

fn rename(table: &str, old: &str, new: &str) -> (String, String, String) {
    (table.into(), old.into(), new.into())
}

#[test]
fn first_run_brings_each_tier_in_sync() {
    let f = Fixture::new();
    let changes = f.plan(&[]);
    let paths: Vec<PathBuf> = changes.iter().map(|c| f.ws.display(&c.path)).collect();
    // patient_medications is already in sync; the archive is never read.
    assert_eq!(
        paths,
        [
            PathBuf::from(MD),
            PathBuf::from(DETAILED),
            PathBuf::from(MINIMAL)
        ]
    );

    let md = f.change(&changes, MD);
    assert_eq!(
        md.added_columns,
        ["ocr_confidence", "document_type", "page_count"]
    );
    assert_eq!(md.dropped_columns, ["file_hash"]);
    let detailed = f.change(&changes, DETAILED);
    assert_eq!(detailed.added_columns, ["document_type"]);
    assert_eq!(detailed.dropped_columns, ["file_hash"]);

    insta::assert_snapshot!("first_run_source_md", md.new);
    insta::assert_snapshot!("first_run_detailed_json", detailed.new);
    insta::assert_snapshot!("first_run_minimal_json", f.change(&changes, MINIMAL).new);
}

#[test]
fn regenerating_twice_changes_nothing() {
    let f = Fixture::new();
    assert!(!f.sync().is_empty());
    let after_first: Vec<String> = [MD, DETAILED, MINIMAL].iter().map(|p| f.read(p)).collect();
    assert_eq!(f.plan(&[]), Vec::new());
    assert!(f.sync().is_empty());
    let after_second: Vec<String> = [MD, DETAILED, MINIMAL].iter().map(|p| f.read(p)).collect();
    assert_eq!(after_first, after_second);
}

#[test]
fn same_input_same_bytes() {
    let a = Fixture::new().plan(&[]);
    let b = Fixture::new().plan(&[]);
    let texts = |c: &[DocChange]| c.iter().map(|c| c.new.clone()).collect::<Vec<_>>();
    assert_eq!(texts(&a), texts(&b));
    for c in &a {
        assert!(
            !c.new.chars().any(is_emoji),
            "emoji in {}",
            c.path.display()
        );
    }
}

fn is_emoji(c: char) -> bool {
    matches!(c as u32, 0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0xFE0F)
}

#[test]
fn hand_edits_survive_a_new_column() {
    let f = Fixture::new();
    f.sync();

    // People edit prose, add a key and a section.
    f.edit(
        DETAILED,
        "\"Size of the uploaded file in bytes.\"",
        "\"Size in bytes, as stored.\"",
    );
    f.edit(
        DETAILED,
        "\"description\": \"Number of pages after splitting.\",",
        "\"description\": \"Number of pages after splitting.\",\n            \"reviewer_note\": \"checked against 40 real uploads\",",
    );
    f.edit(
        MD,
        "## Privacy\n",
        "## Retention\n\nDeleted 7 years after the last access.\n\n## Privacy\n",
    );
    f.edit(
        MINIMAL,
        "\"page_count\": \"integer? (null until split)\"",
        "\"page_count\": \"integer? (null until split; blank pages count)\"",
    );
    let md_before = f.read(MD);

    // The schema gains a column.
    f.edit(
        SCHEMA,
        "    created_at          timestamptz NOT NULL DEFAULT now(),\n    CONSTRAINT shell_files_pages",
        "    created_at          timestamptz NOT NULL DEFAULT now(),\n    language_code       text        NOT NULL DEFAULT 'en',  -- ISO 639-1 of the text\n    CONSTRAINT shell_files_pages",
    );
    let changes = f.sync();
    // patient_medications moved down a line: only its source line changes.
    assert_eq!(changes.len(), 5);
    for c in changes
        .iter()
        .filter(|c| c.path.to_string_lossy().contains("shell_files"))
    {
        assert_eq!(c.added_columns, ["language_code"], "{}", c.path.display());
        assert!(c.dropped_columns.is_empty());
    }

    let d = f.json(DETAILED);
    assert_eq!(
        d["fields"]["file_size_bytes"]["description"],
        "Size in bytes, as stored."
    );
    assert_eq!(
        d["fields"]["page_count"]["reviewer_note"],
        "checked against 40 real uploads"
    );
    let lang = &d["fields"]["language_code"];
    assert_eq!(lang["type"], "text");
    assert_eq!(lang["nullable"], false);
    assert_eq!(lang["default"], "'en'::text");
    assert_eq!(lang["db_comment"], "ISO 639-1 of the text");
    assert_eq!(lang["description"], "TODO: describe language_code");
    assert!(placeholder::is_placeholder(
        lang["description"].as_str().unwrap()
    ));
    // Inserted in table order: after created_at.
    let keys: Vec<&String> = d["fields"].as_object().unwrap().keys().collect();
    let at = keys.iter().position(|k| *k == "language_code").unwrap();
    assert_eq!(keys[at - 1], "created_at");
    // Top-level prose stays, in order.
    let top: Vec<&String> = d.as_object().unwrap().keys().collect();
    assert_eq!(
        top,
        [
            "table_name",
            "schema",
            "description",
            "database_source",
            "fields",
            "usage_notes",
            "extraction_rules",
            "privacy_notes"
        ]
    );

    let m = f.json(MINIMAL);
    assert_eq!(m["fields"]["language_code"], "text");
    assert_eq!(
        m["fields"]["page_count"],
        "integer? (null until split; blank pages count)"
    );
    assert_eq!(m["examples"][0]["page_count"], 2);

    let md = f.read(MD);
    assert!(md.contains(
        "    language_code       text        NOT NULL DEFAULT 'en',  -- ISO 639-1 of the text\n"
    ));
    assert!(md.contains("## Retention\n\nDeleted 7 years after the last access.\n"));
    // Only the sql block and the source line differ.
    let changed: Vec<_> = similar::TextDiff::from_lines(&md_before, &md)
        .iter_all_changes()
        .filter(|c| c.tag() != similar::ChangeTag::Equal)
        .map(|c| c.value().to_string())
        .collect();
    assert_eq!(
        changed,
        [
            "**Database Source:** current_schema/02_documents.sql (lines 9-26)\n",
            "**Database Source:** current_schema/02_documents.sql (lines 9-27)\n",
            "    language_code       text        NOT NULL DEFAULT 'en',  -- ISO 639-1 of the text\n",
        ]
    );
    assert!(f.plan(&[]).is_empty());
}

#[test]
fn dropped_column_is_removed_and_reported() {
    let f = Fixture::new();
    f.sync();
    f.edit(
        SCHEMA,
        "    mime_type           varchar(100),                   -- as reported by the browser\n",
        "",
    );
    let changes = f.sync();
    // patient_medications moved up a line: only its source line changes.
    assert_eq!(changes.len(), 5);
    for c in &changes {
        let dropped: &[&str] =
            if c.path.ends_with("shell_files.md") || c.path.ends_with("shell_files.json") {
                &["mime_type"]
            } else {
                &[]
            };
        assert_eq!(c.dropped_columns, dropped, "{}", c.path.display());
        assert!(c.added_columns.is_empty());
    }
    assert!(f.json(DETAILED)["fields"].get("mime_type").is_none());
    assert!(f.json(MINIMAL)["fields"].get("mime_type").is_none());
    assert!(!f.read(MD).contains("mime_type           varchar"));
    // The prose that mentions it elsewhere is not the tool's to touch.
    assert!(f.read(MD).contains("## Privacy"));
}

#[test]
fn renamed_column_keeps_its_prose() {
    let f = Fixture::new();
    f.sync();
    f.edit(
        SCHEMA,
        "    page_count          integer,",
        "    pages               integer,",
    );
    f.edit(
        SCHEMA,
        "page_count IS NULL OR page_count BETWEEN",
        "pages IS NULL OR pages BETWEEN",
    );
    let changes = f.plan(&[rename("public.shell_files", "page_count", "pages")]);
    write(&f.ws, &changes).unwrap();
    for c in &changes {
        assert!(
            c.added_columns.is_empty() && c.dropped_columns.is_empty(),
            "{c:?}"
        );
    }
    let d = f.json(DETAILED);
    assert!(d["fields"].get("page_count").is_none());
    assert_eq!(
        d["fields"]["pages"]["description"],
        "Number of pages after splitting."
    );
    assert_eq!(
        d["fields"]["pages"]["check"],
        "pages IS NULL OR pages BETWEEN 1 AND 2000"
    );
    // Still where page_count was.
    let keys: Vec<&String> = d["fields"].as_object().unwrap().keys().collect();
    assert_eq!(
        keys[keys.iter().position(|k| *k == "pages").unwrap() - 1],
        "document_type"
    );
    assert_eq!(
        f.json(MINIMAL)["fields"]["pages"],
        "integer? (null until split)"
    );

    // Without the rename the prose would go: dropped and re-added.
    let g = Fixture::new();
    g.sync();
    g.edit(
        SCHEMA,
        "    page_count          integer,",
        "    pages               integer,",
    );
    let d = g.change(&g.plan(&[]), DETAILED).clone();
    assert_eq!(d.dropped_columns, ["page_count"]);
    assert_eq!(d.added_columns, ["pages"]);
}

#[test]
fn archived_folders_are_never_touched() {
    let f = Fixture::new();
    let before: Vec<String> = ARCHIVED.iter().map(|p| f.read(p)).collect();
    let changes = f.sync();
    assert!(changes
        .iter()
        .all(|c| !c.path.to_string_lossy().contains("-versions")));
    let after: Vec<String> = ARCHIVED.iter().map(|p| f.read(p)).collect();
    assert_eq!(before, after);
    assert!(discover(&f.ws)
        .unwrap()
        .iter()
        .all(|d| !d.group.ends_with("-versions")));
}

#[test]
fn doc_for_a_missing_table_is_reported_not_deleted() {
    let f = Fixture::new();
    let ghost = "bridge-schemas/detailed/pass-1/ghost_table.json";
    f.write(ghost, "{\"fields\": {}}\n");
    let report = plan_report(&f.ws, &f.schema(), &[], &[]).unwrap();
    let errors: Vec<&Diagnostic> = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, "bridge-unknown-table");
    assert_eq!(errors[0].file.as_deref(), Some(Path::new(ghost)));
    // The other tables are still regenerated.
    assert_eq!(report.changes.len(), 3);
    let err = plan(&f.ws, &f.schema(), &[], &[]).unwrap_err();
    assert_eq!(err.diagnostic().code, "bridge-unknown-table");

    let (out, status) = execute(&f.ws, &BridgeOpts::default()).unwrap();
    assert_eq!(status, ExitStatus::Failure);
    assert!(out.contains("ghost_table"), "{out}");
    assert!(f.path(ghost).exists());
}

#[test]
fn new_docs_from_the_templates() {
    let f = Fixture::new();
    let changes = new_docs(&f.ws, &f.schema(), "user_profiles", "pass-2").unwrap();
    let shown: Vec<PathBuf> = changes.iter().map(|c| f.ws.display(&c.path)).collect();
    assert_eq!(
        shown,
        [
            PathBuf::from("bridge-schemas/source/pass-2/user_profiles.md"),
            PathBuf::from("bridge-schemas/detailed/pass-2/user_profiles.json"),
            PathBuf::from("bridge-schemas/minimal/pass-2/user_profiles.json"),
        ]
    );
    assert!(changes.iter().all(|c| c.old.is_none()));
    insta::assert_snapshot!("new_source_md", changes[0].new);
    insta::assert_snapshot!("new_detailed_json", changes[1].new);
    insta::assert_snapshot!("new_minimal_json", changes[2].new);

    write(&f.ws, &changes).unwrap();
    let again = plan(&f.ws, &f.schema(), &["user_profiles".to_string()], &[]).unwrap();
    assert!(again.is_empty(), "new docs start in sync");
    let err = new_docs(&f.ws, &f.schema(), "user_profiles", "pass-2").unwrap_err();
    assert_eq!(err.diagnostic().code, "usage");
    assert!(new_docs(&f.ws, &f.schema(), "nope", "pass-2").is_err());
    assert!(new_docs(&f.ws, &f.schema(), "user_profiles", "../x").is_err());
    assert!(new_docs(&f.ws, &f.schema(), "user_profiles", "pass-1-versions").is_err());
}

#[test]
fn workspace_templates_override_the_shipped_ones() {
    let f = Fixture::new();
    std::fs::create_dir_all(f.path("templates/bridge")).unwrap();
    f.write(
        "templates/bridge/minimal.json.tera",
        "{\n    \"table\": {{ table | json_encode() }},\n    \"owner\": \"clinical team\",\n    \"fields\": {}\n}\n",
    );
    let changes = new_docs(&f.ws, &f.schema(), "user_profiles", "").unwrap();
    let minimal = &changes[2];
    assert_eq!(
        f.ws.display(&minimal.path),
        Path::new("bridge-schemas/minimal/user_profiles.json")
    );
    assert!(minimal.new.starts_with("{\n    \"table\": \"user_profiles\",\n    \"required\": [\n        \"account_id\",\n        \"display_name\"\n    ],\n    \"owner\": \"clinical team\","), "{}", minimal.new);
}

#[test]
fn tables_listed_in_the_config_get_docs() {
    let f = Fixture::new();
    let cfg = f.read("touchpoint.toml");
    f.write(
        "touchpoint.toml",
        &format!("{cfg}tables = [{{ table = \"user_profiles\", group = \"pass-1\" }}]\n"),
    );
    let ws = Workspace::open(&f.ws.root).unwrap();
    let changes = plan(&ws, &f.schema(), &["user_profiles".to_string()], &[]).unwrap();
    assert_eq!(changes.len(), 3);
    assert!(changes
        .iter()
        .all(|c| c.old.is_none() && c.path.to_string_lossy().contains("pass-1")));
}

#[test]
fn selected_tables_only() {
    let f = Fixture::new();
    f.edit(
        "bridge-schemas/minimal/pass-1/patient_medications.json",
        "\"as_needed\": \"boolean (PRN)\"",
        "\"as_needed\": \"text (PRN)\"",
    );
    let only = plan(
        &f.ws,
        &f.schema(),
        &["patient_medications".to_string()],
        &[],
    )
    .unwrap();
    assert_eq!(only.len(), 1);
    assert!(only[0].new.contains("\"as_needed\": \"boolean (PRN)\""));
    let report = plan_report(&f.ws, &f.schema(), &["user_profiles".to_string()], &[]).unwrap();
    assert!(report.changes.is_empty());
    assert_eq!(report.diagnostics[0].code, "bridge-no-docs");
    let report = plan_report(&f.ws, &f.schema(), &["nope".to_string()], &[]).unwrap();
    assert!(report.has_errors());
}

#[test]
fn check_prints_a_diff_and_fails_until_synced() {
    let f = Fixture::new();
    let check = BridgeOpts {
        check: true,
        ..Default::default()
    };
    let before = f.read(MD);
    let (out, status) = execute(&f.ws, &check).unwrap();
    assert_eq!(status, ExitStatus::Failure);
    assert_eq!(f.read(MD), before, "--check writes nothing");
    insta::assert_snapshot!("check_human", out);

    let (out, status) = execute(
        &f.ws,
        &BridgeOpts {
            check: true,
            format: Format::Json,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(status, ExitStatus::Failure);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["summary"]["changed"], 3);
    assert_eq!(report["files"][0]["path"], MD);
    assert_eq!(report["files"][0]["status"], "updated");
    assert_eq!(report["files"][0]["dropped_columns"][0], "file_hash");
    assert!(report["files"][0]["diff"]
        .as_str()
        .unwrap()
        .starts_with("--- a/"));

    let (out, status) = execute(&f.ws, &BridgeOpts::default()).unwrap();
    assert_eq!(status, ExitStatus::Success);
    assert_eq!(
        out,
        format!("updated {MD} (added ocr_confidence, document_type, page_count; dropped file_hash)\nupdated {DETAILED} (added document_type; dropped file_hash)\nupdated {MINIMAL} (added document_type; dropped file_hash)\n")
    );
    let (out, status) = execute(&f.ws, &check).unwrap();
    assert_eq!(
        (out.as_str(), status),
        ("bridge docs are up to date\n", ExitStatus::Success)
    );
}

#[test]
fn invalid_json_is_reported_and_left_alone() {
    let f = Fixture::new();
    f.write(
        MINIMAL,
        "{\n  \"table\": \"shell_files\",\n  \"fields\": {\n}\n",
    );
    let report = plan_report(&f.ws, &f.schema(), &[], &[]).unwrap();
    let d = report
        .diagnostics
        .iter()
        .find(|d| d.code == "bridge-invalid-doc")
        .unwrap();
    assert_eq!(d.file.as_deref(), Some(Path::new(MINIMAL)));
    assert_eq!(d.line, Some(5));
    assert!(report.changes.iter().all(|c| c.path != f.path(MINIMAL)));
}

#[test]
fn write_keeps_permissions_and_leaves_no_temp_files() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::new();
    std::fs::set_permissions(f.path(DETAILED), std::fs::Permissions::from_mode(0o640)).unwrap();
    f.sync();
    let mode = std::fs::metadata(f.path(DETAILED))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o640);
    let leftovers: Vec<_> = walkdir::WalkDir::new(f.ws.bridge_dir())
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
    let outside = DocChange {
        path: f.path("current_schema/02_documents.sql"),
        old: None,
        new: String::new(),
        dropped_columns: vec![],
        added_columns: vec![],
    };
    assert!(write(&f.ws, &[outside]).is_err());
}
