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
    if git(ws, &["rev-parse", "--is-inside-work-tree"]).is_err() {
        return Err(Error::new(
            "git",
            format!(
                "--since: {} is not inside a git work tree",
                ws.root.display()
            ),
        )
        .help("run check without --since, or in a clone of the repository"));
    }
    if git(
        ws,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    )
    .is_err()
    {
        return Err(
            Error::new("git", format!("--since: unknown revision {rev}")).help(
                "pass a branch, tag or commit git knows; in CI, fetch the history \
             (actions/checkout with fetch-depth: 0)",
            ),
        );
    }
    // `--relative` keeps the paths relative to the workspace root (and
    // leaves out changes outside it), like ls-files does.
    let diff = git(ws, &["diff", "--name-only", "-z", "--relative", rev, "--"])?;
    let untracked = git(ws, &["ls-files", "--others", "--exclude-standard", "-z"])?;
    Ok(diff
        .split('\0')
        .chain(untracked.split('\0'))
        .filter(|p| !p.is_empty())
        .map(|p| ws.root.join(p))
        .collect())
}

fn git(ws: &Workspace, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(&ws.root)
        .output()
        .map_err(|e| {
            Error::new("git", format!("could not run git: {e}")).help("--since needs git on PATH")
        })?;
    if !out.status.success() {
        // git's first line says what went wrong; the rest is usage text.
        let stderr = String::from_utf8_lossy(&out.stderr);
        let msg = stderr.lines().next().unwrap_or("failed").trim().to_string();
        return Err(Error::new("git", format!("git {}: {msg}", args[0])));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
