//! `replay-failed` (with `--replay`)
//!
//! What it does: replays `current_schema`, in file-name order, on a
//! throwaway database of the embedded cluster (after the `[database]
//! prelude`), the way psql would; the first statement the server rejects
//! is reported at its file and line with the server's message.
//!
//! Why is this bad? `current_schema` is the source of truth: if it does not
//! build an empty database, nobody can tell what the truth is, and
//! `finalize` cannot prove a migration against it.
//!
//! Example: a policy in `01_foundations.sql` calling a function that
//! `02_profiles.sql` defines.

use crate::db::{replay, Embedded};
use crate::error::{Error, Result};
use crate::report::Diagnostic;
use crate::sql::SqlFile;
use crate::workspace::Workspace;

/// `unparsed`: schema files that do not parse. The replay stops at the
/// first of them, as psql would stop at the syntax error.
pub fn run(
    ws: &Workspace,
    files: &[std::sync::Arc<SqlFile>],
    unparsed: &[Diagnostic],
) -> Result<Vec<Diagnostic>> {
    // Files run in name order; a file that does not parse is where the
    // replay would stop, so only the files before it are replayed.
    let stop = unparsed.iter().filter_map(|d| d.file.clone()).min();
    let before: Vec<&SqlFile> = files
        .iter()
        .filter(|f| stop.as_ref().is_none_or(|s| f.path < *s))
        .map(|f| &**f)
        .collect();
    let emb = Embedded::start()?;
    emb.create_database("touchpoint_check", None)?;
    let mut client = emb.connect("touchpoint_check")?;
    replay::apply_prelude(&mut client, &ws.config.database.prelude)?;
    // The syntax error itself is reported by the syntax rule.
    Ok(match replay::replay(&mut client, &before) {
        Ok(()) => Vec::new(),
        Err(f) => vec![Error::from(f).diagnostic().clone()],
    })
}
