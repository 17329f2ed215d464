//! The finalize journal: what makes finalize all or nothing on disk.
//!
//! Before the migration is committed to its target, finalize writes every
//! file's new content into `.touchpoint/finalize.journal.json` (one atomic
//! write). After the target has committed, the journal is marked
//! `committed` and the files are written one by one, each atomically; then
//! the journal is removed. A run that dies anywhere leaves either no journal
//! (nothing changed), or a journal the next `finalize` completes (roll
//! forward when the target has the migration, else discard). Each file's
//! old and new hash make the roll-forward idempotent and refuse to clobber a
//! file someone edited in between.

use crate::error::{Error, Result};
use crate::history::file_hash;
use crate::text;
use crate::workspace::Workspace;
use serde::{Deserialize, Serialize};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Files staged; the target may or may not have committed.
    Prepared,
    /// The target committed (or there was nothing to commit): roll forward.
    Committed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedFile {
    /// Relative to the workspace root.
    pub path: PathBuf,
    /// SHA-256 of the content finalize started from; `None`: a new file.
    pub old_hash: Option<String>,
    pub new: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    pub migration: PathBuf,
    pub version: String,
    pub checksum: String,
    /// The database URL the migration is committed to (password removed),
    /// when it is a real one; `None` for the embedded database or
    /// `--no-execute`.
    pub target: Option<String>,
    pub phase: Phase,
    pub files: Vec<StagedFile>,
}

fn dir(ws: &Workspace) -> PathBuf {
    ws.root.join(".touchpoint")
}

pub fn path(ws: &Workspace) -> PathBuf {
    dir(ws).join("finalize.journal.json")
}

pub fn write(ws: &Workspace, j: &Journal) -> Result<()> {
    let text = serde_json::to_string_pretty(j).map_err(|e| Error::new("journal", e.to_string()))?;
    text::write_atomic(&path(ws), &text)
}

pub fn read(ws: &Workspace) -> Result<Option<Journal>> {
    let p = path(ws);
    match std::fs::read_to_string(&p) {
        Ok(t) => serde_json::from_str(&t).map(Some).map_err(|e| {
            Error::new("journal", format!("the finalize journal cannot be read: {e}"))
                .file(ws.display(&p))
                .help("it was written by an interrupted finalize; inspect it, then delete it to start over")
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(&ws.display(&p), e)),
    }
}

pub fn remove(ws: &Workspace) -> Result<()> {
    match std::fs::remove_file(path(ws)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(&path(ws), e)),
    }
}

fn safe(rel: &Path) -> bool {
    !rel.is_absolute() && rel.components().all(|c| matches!(c, Component::Normal(_)))
}

/// Check that every file is as the journal expects before anything is
/// written (old content, or already the new one).
pub fn verify(ws: &Workspace, j: &Journal) -> Result<()> {
    for f in &j.files {
        if !safe(&f.path) {
            return Err(Error::new(
                "journal",
                format!("journal path {} leaves the workspace", f.path.display()),
            )
            .file(ws.display(&path(ws)))
            .help("the journal was not written by touchpoint as it stands; inspect it, then delete it"));
        }
        ws.check_write_target(&f.path)?;
        let current = std::fs::read(ws.root.join(&f.path))
            .ok()
            .map(|b| file_hash(&b));
        let new = file_hash(f.new.as_bytes());
        if current.as_deref() != Some(new.as_str()) && current != f.old_hash {
            return Err(Error::new(
                "conflict",
                format!("{} changed while finalize was running", f.path.display()),
            )
            .file(&f.path)
            .help("someone edited it in between; finalize again once the edit is settled"));
        }
    }
    Ok(())
}

/// Remove the temporary files a killed run left beside the journal's
/// targets (only inside the workspace, whatever the journal says).
pub fn sweep_temp_files(ws: &Workspace, j: &Journal) {
    for f in j.files.iter().filter(|f| safe(&f.path)) {
        if let Some(dir) = ws.root.join(&f.path).parent() {
            text::sweep_stale_temp_files(dir);
        }
    }
}

/// Write every staged file whose content is not new yet. Idempotent.
pub fn apply(ws: &Workspace, j: &Journal) -> Result<()> {
    stage(ws, j)?.commit()
}

/// New contents written to temporary files next to their targets, not yet
/// renamed over them. Dropping it removes the temporary files.
pub struct Staged {
    files: Vec<(tempfile::NamedTempFile, PathBuf)>,
}

/// Write every file that is not new yet to a temporary file beside it
/// (flushed to disk), touching no target. A read-only folder or a full disk
/// fails here, before the migration commits anywhere and before any target
/// changes, instead of halfway through the targets.
pub fn stage(ws: &Workspace, j: &Journal) -> Result<Staged> {
    verify(ws, j)?;
    stage_verified(ws, j)
}

/// `stage` for a journal `verify` has just passed. The files are written
/// (and flushed) on two threads: a finalize that moves the line numbers of
/// many documented tables writes dozens of docs, and each write waits on
/// the disk.
pub fn stage_verified(ws: &Workspace, j: &Journal) -> Result<Staged> {
    let pending: Vec<&StagedFile> = j
        .files
        .iter()
        .filter(|f| {
            let current = std::fs::read(ws.root.join(&f.path))
                .ok()
                .map(|b| file_hash(&b));
            current.as_deref() != Some(file_hash(f.new.as_bytes()).as_str())
        })
        .collect();
    let write = |f: &StagedFile| -> Result<(tempfile::NamedTempFile, PathBuf)> {
        let target = ws.root.join(&f.path);
        let tmp = text::temp_file_for(&target, &f.new).map_err(|e| e.file(&f.path))?;
        Ok((tmp, target))
    };
    let half = pending.len().div_ceil(2);
    let (a, b) = pending.split_at(half);
    let (ra, rb) = std::thread::scope(|s| {
        let other = s.spawn(|| b.iter().map(|f| write(f)).collect::<Result<Vec<_>>>());
        let mine = a.iter().map(|f| write(f)).collect::<Result<Vec<_>>>();
        let theirs = other.join().unwrap_or_else(|_| {
            Err(crate::error::Error::new(
                "internal",
                "a staging thread panicked",
            ))
        });
        (mine, theirs)
    });
    // Either error drops every temporary file written so far.
    let mut files = ra?;
    files.extend(rb?);
    Ok(Staged { files })
}

impl Staged {
    /// Rename every temporary file over its target.
    pub fn commit(self) -> Result<()> {
        for (tmp, target) in self.files {
            tmp.persist(&target)
                .map_err(|e| Error::io(&target, e.error))?;
        }
        Ok(())
    }
}

/// The workspace lock: one finalize (or rollback) writes files at a time.
/// Waits up to `wait`, then fails clearly.
pub fn lock(ws: &Workspace, wait: Duration) -> Result<std::fs::File> {
    let d = dir(ws);
    std::fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
    let p = d.join("lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .map_err(|e| Error::io(&p, e))?;
    let start = Instant::now();
    loop {
        match f.try_lock() {
            Ok(()) => return Ok(f),
            Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < wait => {
                std::thread::sleep(Duration::from_millis(100))
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::new(
                    "locked",
                    "another touchpoint finalize is running in this workspace",
                )
                .file(ws.display(&p))
                .help(format!(
                    "waited {}s; try again when it has finished",
                    wait.as_secs()
                )))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&p, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws() -> (tempfile::TempDir, Workspace) {
        let d = tempfile::tempdir().unwrap();
        let ws = Workspace::open(d.path()).unwrap();
        (d, ws)
    }

    #[test]
    fn apply_is_idempotent_and_refuses_foreign_edits() {
        let (_d, ws) = ws();
        std::fs::write(ws.root.join("a.sql"), "old").unwrap();
        let j = Journal {
            migration: "m.sql".into(),
            version: "01".into(),
            checksum: "x".into(),
            target: None,
            phase: Phase::Committed,
            files: vec![
                StagedFile {
                    path: "a.sql".into(),
                    old_hash: Some(file_hash(b"old")),
                    new: "new".into(),
                },
                StagedFile {
                    path: "sub/b.sql".into(),
                    old_hash: None,
                    new: "created".into(),
                },
            ],
        };
        write(&ws, &j).unwrap();
        assert_eq!(read(&ws).unwrap().unwrap(), j);
        apply(&ws, &j).unwrap();
        apply(&ws, &j).unwrap();
        assert_eq!(
            std::fs::read_to_string(ws.root.join("a.sql")).unwrap(),
            "new"
        );
        assert_eq!(
            std::fs::read_to_string(ws.root.join("sub/b.sql")).unwrap(),
            "created"
        );
        std::fs::write(ws.root.join("a.sql"), "someone else").unwrap();
        assert!(apply(&ws, &j).is_err());
    }

    #[test]
    fn the_lock_is_exclusive() {
        let (_d, ws) = ws();
        let held = lock(&ws, Duration::from_millis(10)).unwrap();
        let err = lock(&ws, Duration::from_millis(200)).unwrap_err();
        assert_eq!(err.diagnostic().code, "locked");
        drop(held);
        lock(&ws, Duration::from_millis(10)).unwrap();
    }
}
