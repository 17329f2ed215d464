//! `touchpoint init`: write `touchpoint.toml`, the folders and the
//! templates. Never overwrites a file that exists.

use crate::commands::ExitStatus;
use crate::error::{Error, Result};
use crate::header;
use crate::text;
use crate::workspace::CONFIG_FILE;
use std::io::Write;
use std::path::Path;

pub const DEFAULT_CONFIG: &str = r#"# touchpoint configuration. Every key is optional; these are the defaults.

[paths]
current_schema = "current_schema"
migration_history = "migration_history"
bridge_schemas = "bridge-schemas"
templates = "templates"

[database]
# Development database for `finalize`. --database-url and DATABASE_URL win;
# without any, touchpoint starts a throwaway PostgreSQL from the local
# server binaries and replays current_schema into it first.
# url = "postgres://postgres@localhost:5432/app_dev"
# Stand-ins created in throwaway databases so Supabase schemas replay:
# auth.users, auth.uid(), auth.jwt(), roles anon/authenticated/service_role.
prelude = "supabase"
lock_timeout = "5s"
statement_timeout = "15min"
tracking_schema = "touchpoint"

[review]
# finalize refuses migrations without an approval matching their SQL.
required = true

[finalize]
# Mark each patched place in current_schema with `-- Migration NN: title`.
notes = true
# finalize --no-execute checks the patched files against the schema model and
# asks a throwaway database only when the model cannot vouch for them; true
# always asks it (as --prove does).
prove_no_execute = false

[lint]
exclude = []
fail_on = "error"

[bridge]
# Folders under bridge-schemas/<tier>/ that hold archived copies.
ignore = ["*-versions", "archive"]
"#;

pub fn run(root: &Path, out: &mut dyn Write) -> Result<ExitStatus> {
    std::fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
    let mut created = Vec::new();
    for dir in [
        "current_schema",
        "migration_history",
        "bridge-schemas/source",
        "bridge-schemas/detailed",
        "bridge-schemas/minimal",
        "templates",
    ] {
        let p = root.join(dir);
        if !p.exists() {
            std::fs::create_dir_all(&p).map_err(|e| Error::io(&p, e))?;
            created.push(format!("{dir}/"));
        }
    }
    let files: Vec<(&str, &str)> = vec![
        (CONFIG_FILE, DEFAULT_CONFIG),
        ("templates/migration.sql.tera", header::DEFAULT_TEMPLATE),
    ];
    for (name, content) in files {
        let p = root.join(name);
        if !p.exists() {
            text::write_atomic(&p, content)?;
            created.push(name.to_string());
        }
    }
    if created.is_empty() {
        let _ = writeln!(out, "nothing to do: the workspace is already initialized");
    } else {
        for c in created {
            let _ = writeln!(out, "created {c}");
        }
    }
    Ok(ExitStatus::Success)
}
