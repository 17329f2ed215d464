//! `--since GIT_REV`: the files changed since a revision (`git diff
//! --name-only REV`, which compares with the working tree, plus untracked
//! files). Per-file rules run on these only; the global rules (numbering,
//! the sum file, docs in sync, replay) always run.

use crate::error::{Error, Result};
use crate::workspace::Workspace;
use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;

/// Absolute paths (under the workspace root) of the changed files.
pub fn changed(ws: &Workspace, rev: &str) -> Result<HashSet<PathBuf>> {
    if rev.starts_with('-') {
        return Err(Error::usage(format!("--since {rev}: not a revision"))
            .help("pass a branch, tag or commit, e.g. --since origin/main"));
    }
    // `--relative` keeps the paths relative to the workspace root (and
    // leaves out changes outside it), like ls-files does.
    let diff = git(
        ws,
        &["diff", "--name-only", "-z", "--relative", rev, "--"],
        rev,
    )?;
    let untracked = git(
        ws,
        &["ls-files", "--others", "--exclude-standard", "-z"],
        rev,
    )?;
    Ok(diff
        .split('\0')
        .chain(untracked.split('\0'))
        .filter(|p| !p.is_empty())
        .map(|p| ws.root.join(p))
        .collect())
}

fn git(ws: &Workspace, args: &[&str], rev: &str) -> Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(&ws.root)
        .output()
        .map_err(|e| {
            Error::new("git", format!("could not run git: {e}")).help("--since needs git on PATH")
        })?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(
            Error::new("git", format!("git {}: {msg}", args[0])).help(format!(
                "--since needs a git work tree and a revision git knows ({rev}); in CI, fetch the \
             history (actions/checkout with fetch-depth: 0)"
            )),
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
