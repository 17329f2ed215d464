//! Test helpers: a temporary copy of a workspace and a ready command.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary workspace, removed when dropped.
pub struct Ws {
    pub dir: tempfile::TempDir,
}

impl Ws {
    /// A copy of the sample workspace shipped at the repository root.
    pub fn sample() -> Ws {
        let dir = tempfile::tempdir().unwrap();
        for sub in [
            "current_schema",
            "migration_history",
            "bridge-schemas",
            "templates",
        ] {
            copy_dir(&repo_root().join(sub), &dir.path().join(sub));
        }
        {
            let f = "touchpoint.toml";
            let src = repo_root().join(f);
            if src.exists() {
                std::fs::copy(&src, dir.path().join(f)).unwrap();
            }
        }
        Ws { dir }
    }

    /// A copy of `tests/fixtures/NAME`.
    pub fn fixture(name: &str) -> Ws {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&repo_root().join("tests/fixtures").join(name), dir.path());
        std::fs::create_dir_all(dir.path().join("migration_history")).unwrap();
        Ws { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.file(rel)).unwrap()
    }

    pub fn write(&self, rel: &str, content: &str) {
        let p = self.file(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    /// `touchpoint --root <ws> ARGS...`, run in the workspace.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_touchpoint"));
        c.arg("--root")
            .arg(self.path())
            .args(args)
            .current_dir(self.path());
        c.env_remove("DATABASE_URL");
        c
    }

    /// `research` (dated 2026-11-21, with PROBLEM and SOLUTION written)
    /// and `approve` of a migration of `sql`; its path relative to the root.
    pub fn drafted(&self, sql: &str, slug: &str) -> String {
        self.write("draft.sql", sql);
        let out = run(self.cmd(&[
            "research",
            slug,
            "--sql",
            "draft.sql",
            "--date",
            "2026-11-21",
            "--problem",
            "Workers need it.",
            "--solution",
            "Add it.",
        ]));
        assert_eq!(out.code, 0, "{}", out.stderr);
        let rel = out.stdout.trim().to_string();
        let out = run(self.cmd(&["approve", &rel, "--by", "dana", "--date", "2026-11-21"]));
        assert_eq!(out.code, 0, "{}", out.stderr);
        rel
    }

    /// Every file under the workspace with its content, for "nothing
    /// changed" assertions.
    pub fn snapshot(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut v: Vec<(PathBuf, Vec<u8>)> = walkdir::WalkDir::new(self.path())
            .sort_by_file_name()
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_file())
            .map(|e| (e.path().to_path_buf(), std::fs::read(e.path()).unwrap()))
            .collect();
        v.sort();
        v
    }
}

pub fn copy_dir(src: &Path, dst: &Path) {
    if !src.exists() {
        return;
    }
    for e in walkdir::WalkDir::new(src) {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(src).unwrap();
        let target = dst.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(mut c: Command) -> Output {
    let o = c.output().unwrap();
    Output {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// 1-based line `n` of a file.
pub fn line_of(text: &str, n: usize) -> &str {
    text.lines().nth(n - 1).unwrap_or("")
}

/// One embedded PostgreSQL per test process (a real server started from
/// the local binaries), one fresh database per test.
pub mod pg {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::OnceLock;
    use touchpoint::db::Embedded;

    static SERVER: OnceLock<Embedded> = OnceLock::new();
    static NEXT: AtomicUsize = AtomicUsize::new(0);

    pub fn server() -> &'static Embedded {
        SERVER.get_or_init(|| Embedded::start().unwrap_or_else(|e| panic!("embedded server: {e}")))
    }

    /// A new empty database; its URL.
    pub fn fresh_db() -> String {
        let name = format!(
            "it_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        server()
            .create_database(&name, Some("template0"))
            .expect("create database");
        server().url(&name)
    }

    pub fn client(url: &str) -> postgres::Client {
        touchpoint::db::connect(url).unwrap_or_else(|e| panic!("connect: {e}"))
    }

    /// A database with the Supabase prelude and the workspace's
    /// current_schema replayed: the "development database" of a team.
    pub fn dev_db(root: &std::path::Path) -> String {
        let url = fresh_db();
        let ws = touchpoint::workspace::Workspace::open(root).unwrap();
        let schema = touchpoint::schema::Schema::load(&ws).unwrap();
        let mut c = client(&url);
        touchpoint::db::replay::apply_prelude(&mut c, "supabase").unwrap();
        touchpoint::db::replay::replay(&mut c, &schema.files)
            .unwrap_or_else(|f| panic!("replay: {f}"));
        url
    }
}
