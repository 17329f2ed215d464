//! The workspace: where the root is, what `touchpoint.toml` says, and where
//! each folder lives. Everything else asks this module for paths.

use crate::error::{Error, Result};
use crate::report::LineIndex;
use serde::Deserialize;
use std::path::{Component, Path, PathBuf};

pub const CONFIG_FILE: &str = "touchpoint.toml";

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Paths {
    pub current_schema: PathBuf,
    pub migration_history: PathBuf,
    pub bridge_schemas: PathBuf,
    pub templates: PathBuf,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            current_schema: "current_schema".into(),
            migration_history: "migration_history".into(),
            bridge_schemas: "bridge-schemas".into(),
            templates: "templates".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Database {
    /// Connection string of the development database; `--database-url` and
    /// `DATABASE_URL` take precedence. Empty: the embedded throwaway cluster.
    pub url: Option<String>,
    /// Stand-ins created in throwaway databases before `current_schema` is
    /// replayed: `"supabase"` or `"none"`.
    pub prelude: String,
    pub lock_timeout: String,
    pub statement_timeout: String,
    /// Schema of the tracking table.
    pub tracking_schema: String,
    /// How long a second runner waits for the advisory lock, in seconds.
    pub advisory_lock_wait_seconds: u64,
}

impl Default for Database {
    fn default() -> Self {
        Database {
            url: None,
            prelude: "supabase".into(),
            lock_timeout: "5s".into(),
            statement_timeout: "15min".into(),
            tracking_schema: "touchpoint".into(),
            advisory_lock_wait_seconds: 60,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Review {
    /// `finalize` refuses migrations without an approval matching their SQL.
    pub required: bool,
}

impl Default for Review {
    fn default() -> Self {
        Review { required: true }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Finalize {
    /// Add a `-- Migration NN: title` note next to every patched place.
    pub notes: bool,
    /// Run the no-drift proof on `finalize --no-execute` too.
    pub prove_no_execute: bool,
}

impl Default for Finalize {
    fn default() -> Self {
        Finalize {
            notes: true,
            prove_no_execute: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(untagged)]
pub enum Baseline {
    #[default]
    None,
    UpTo(String),
    List(Vec<String>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Check {
    /// Regex the file name of a migration must match; groups `date`, `nn`
    /// and `slug` are read from it.
    pub naming_pattern: String,
    /// Migrations grandfathered for the header and naming rules.
    pub baseline: Baseline,
}

impl Default for Check {
    fn default() -> Self {
        Check {
            naming_pattern:
                r"^(?P<date>\d{4}-\d{2}-\d{2})_(?P<nn>\d{2,})_(?P<slug>[a-z0-9][a-z0-9_]*)\.sql$"
                    .into(),
            baseline: Baseline::None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeTable {
    pub table: String,
    #[serde(default)]
    pub group: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Bridge {
    /// Folder-name globs under `bridge-schemas/<tier>/` left alone (archives).
    pub ignore: Vec<String>,
    /// Tables that get docs even before any doc file exists.
    pub tables: Vec<BridgeTable>,
}

impl Default for Bridge {
    fn default() -> Self {
        Bridge {
            ignore: vec!["*-versions".into(), "archive".into()],
            tables: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Lint {
    /// Rule names to switch off (touchpoint's own or squawk's).
    pub exclude: Vec<String>,
    /// Opt-in squawk rules to switch on.
    pub include: Vec<String>,
    /// `error` (default) or `warning`: the lowest severity that fails.
    pub fail_on: String,
}

impl Default for Lint {
    fn default() -> Self {
        Lint {
            exclude: Vec::new(),
            include: Vec::new(),
            fail_on: "error".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Manifest {
    pub tables: Vec<String>,
    pub enums: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub paths: Paths,
    pub database: Database,
    pub review: Review,
    pub finalize: Finalize,
    pub check: Check,
    pub bridge: Bridge,
    pub lint: Lint,
    pub manifest: Option<Manifest>,
}

impl Config {
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        toml::from_str(text).map_err(|e| {
            let mut err = Error::new("config", e.message().to_string())
                .file(path)
                .help("see the configuration reference in README.md");
            if let Some(span) = e.span() {
                let (line, col) = LineIndex::new(text).line_col(text, span.start);
                err = err.at(line, col);
            }
            err
        })
    }
}

/// A workspace: its root and its configuration.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    pub config: Config,
}

impl Workspace {
    /// Find the root (`--root`, else the nearest parent holding
    /// `touchpoint.toml`, else the current directory) and read its config.
    pub fn discover(root: Option<&Path>) -> Result<Workspace> {
        let root = match root {
            Some(r) => {
                if !r.is_dir() {
                    return Err(
                        Error::usage(format!("--root {} is not a directory", r.display())).help(
                            "pass the folder that holds current_schema/ and migration_history/",
                        ),
                    );
                }
                r.to_path_buf()
            }
            None => {
                let cwd = std::env::current_dir().map_err(|e| Error::io(Path::new("."), e))?;
                cwd.ancestors()
                    .find(|d| d.join(CONFIG_FILE).is_file())
                    .map(Path::to_path_buf)
                    .unwrap_or(cwd)
            }
        };
        Self::open(&root)
    }

    pub fn open(root: &Path) -> Result<Workspace> {
        let root = root.canonicalize().map_err(|e| Error::io(root, e))?;
        let cfg_path = root.join(CONFIG_FILE);
        let config = if cfg_path.is_file() {
            let text = std::fs::read_to_string(&cfg_path)
                .map_err(|e| Error::io(Path::new(CONFIG_FILE), e))?;
            Config::parse(&text, Path::new(CONFIG_FILE))?
        } else {
            Config::default()
        };
        let ws = Workspace { root, config };
        for p in [
            &ws.config.paths.current_schema,
            &ws.config.paths.migration_history,
            &ws.config.paths.bridge_schemas,
            &ws.config.paths.templates,
        ] {
            ws.check_inside(p, CONFIG_FILE)?;
        }
        Ok(ws)
    }

    /// Refuse configured paths that leave the root: touchpoint never writes
    /// outside the workspace.
    fn check_inside(&self, p: &Path, origin: &str) -> Result<()> {
        if p.is_absolute() || p.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err(Error::new(
                "config",
                format!("path {} leaves the workspace root", p.display()),
            )
            .file(origin)
            .help("use a path relative to the folder holding touchpoint.toml, without `..`"));
        }
        Ok(())
    }

    pub fn schema_dir(&self) -> PathBuf {
        self.root.join(&self.config.paths.current_schema)
    }
    pub fn history_dir(&self) -> PathBuf {
        self.root.join(&self.config.paths.migration_history)
    }
    pub fn bridge_dir(&self) -> PathBuf {
        self.root.join(&self.config.paths.bridge_schemas)
    }
    pub fn templates_dir(&self) -> PathBuf {
        self.root.join(&self.config.paths.templates)
    }

    /// The path as users see it: relative to the root when inside it.
    pub fn display(&self, path: &Path) -> PathBuf {
        path.strip_prefix(&self.root)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| path.to_path_buf())
    }

    /// Resolve a path the user typed (relative to the current directory) and
    /// make sure it lies inside the root, symlinks resolved.
    pub fn resolve_user_path(&self, path: &Path) -> Result<PathBuf> {
        let abs = path.canonicalize().map_err(|e| Error::io(path, e))?;
        if !abs.starts_with(&self.root) {
            return Err(Error::usage(format!(
                "{} is outside the workspace root {}",
                path.display(),
                self.root.display()
            ))
            .help("touchpoint only reads and writes files inside its workspace; pass --root"));
        }
        Ok(abs)
    }

    /// Refuse to write `path` when it, or the nearest of its folders that
    /// exists, resolves outside the root: a folder inside the workspace
    /// that is a symlink to somewhere else must not receive files.
    pub fn check_write_target(&self, path: &Path) -> Result<()> {
        let abs = self.root.join(path);
        let existing = abs
            .ancestors()
            .find(|a| a.symlink_metadata().is_ok())
            .unwrap_or(&self.root);
        let real = existing
            .canonicalize()
            .map_err(|e| Error::io(&self.display(existing), e))?;
        if !real.starts_with(&self.root) {
            return Err(Error::new(
                "outside-root",
                format!(
                    "refusing to write {}: {} leads to {}, outside the workspace",
                    self.display(&abs).display(),
                    self.display(existing).display(),
                    real.display()
                ),
            )
            .file(self.display(&abs))
            .help("touchpoint only writes inside its workspace; replace the symlink with a real folder or file"));
        }
        Ok(())
    }

    /// The `current_schema/*.sql` files in the order they are applied.
    pub fn schema_files(&self) -> Result<Vec<PathBuf>> {
        let dir = self.schema_dir();
        let rd = std::fs::read_dir(&dir).map_err(|e| {
            Error::io(&self.display(&dir), e)
                .help("create current_schema/ or set [paths] current_schema in touchpoint.toml")
        })?;
        let mut files: Vec<PathBuf> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "sql") && p.is_file())
            .collect();
        files.sort();
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_name_the_line() {
        let err = Config::parse(
            "[paths]\ncurrent_schema = \"a\"\nbogus = 1\n",
            Path::new("touchpoint.toml"),
        )
        .unwrap_err();
        assert_eq!(err.diagnostic().line, Some(3));
    }

    #[test]
    fn baseline_accepts_one_or_many() {
        let c = Config::parse("[check]\nbaseline = \"12\"\n", Path::new("t")).unwrap();
        assert!(matches!(c.check.baseline, Baseline::UpTo(ref s) if s == "12"));
        let c = Config::parse("[check]\nbaseline = [\"01\", \"03\"]\n", Path::new("t")).unwrap();
        assert!(matches!(c.check.baseline, Baseline::List(ref v) if v.len() == 2));
    }
}
