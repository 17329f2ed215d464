//! Text utilities shared by the modules that write files: emoji detection
//! (the house rule), line splicing and atomic writes.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Is `c` an emoji or pictograph? Covers the pictographic blocks, dingbats,
/// the misc-symbols block (check marks, warning signs), regional indicators,
/// the variation selector that turns text into emoji and the zero-width
/// joiner that glues emoji sequences.
pub fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF
        | 0x2600..=0x27BF
        | 0x2B00..=0x2BFF
        | 0x2300..=0x23FF
        | 0xFE0F
        | 0x200D
        | 0xE0020..=0xE007F)
}

/// Byte offsets and characters of every emoji in `text`.
pub fn find_emoji(text: &str) -> Vec<(usize, char)> {
    // Emoji are never ASCII, and most files are: `check` scans every
    // migration, schema file and doc, so skip the per-char walk.
    if text.is_ascii() {
        return Vec::new();
    }
    text.char_indices().filter(|(_, c)| is_emoji(*c)).collect()
}

/// Write a file so that a crash leaves either the old or the new content:
/// write a temporary file next to it, flush it to disk, rename it over.
pub fn write_atomic(path: &Path, contents: &str) -> Result<()> {
    let tmp = temp_file_for(path, contents)?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// The first half of `write_atomic`: `contents` in a temporary file in the
/// folder of `path` (created if needed), flushed to disk and with the mode
/// of the file it will replace. Renaming it over `path` is the second half.
pub fn temp_file_for(path: &Path, contents: &str) -> Result<tempfile::NamedTempFile> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    sweep_once(dir);
    // The pid in the name lets a later run tell a temporary file of a
    // killed process (removed by `sweep_stale_temp_files`) from one that
    // another running process is about to rename.
    let prefix = format!("{TEMP_PREFIX}{}-", std::process::id());
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    tmp.write_all(contents.as_bytes())
        .map_err(|e| Error::io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    Ok(tmp)
}

/// Every folder touchpoint writes into is swept of the leftovers of killed
/// runs (research, approve, bridge ...) the first time this process writes
/// there: once, because `bridge` writes a thousand docs into one folder.
fn sweep_once(dir: &Path) {
    static SWEPT: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());
    let Ok(mut swept) = SWEPT.lock() else { return };
    if !swept.iter().any(|d| d == dir) {
        swept.push(dir.to_path_buf());
        drop(swept);
        sweep_stale_temp_files(dir);
    }
}

const TEMP_PREFIX: &str = ".touchpoint-";
const TEMP_SUFFIX: &str = ".tmp";

/// Remove the temporary files `write_atomic` left in `dir` when its process
/// was killed before the rename (`.touchpoint-PID-XXXX.tmp` whose PID is no
/// longer running). Best effort: a file that cannot be removed stays.
pub fn sweep_stale_temp_files(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    // Without /proc there is no cheap way to tell; leave the files alone.
    if !Path::new("/proc/self").exists() {
        return;
    }
    for e in rd.filter_map(|e| e.ok()) {
        let name = e.file_name();
        let Some(rest) = name
            .to_str()
            .and_then(|n| n.strip_prefix(TEMP_PREFIX))
            .filter(|n| n.ends_with(TEMP_SUFFIX))
        else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Replace 1-based lines `first..=last` of `text` with `new_lines`. With
/// `last == first - 1` the lines are inserted before `first`.
pub fn replace_lines(text: &str, first: usize, last: usize, new_lines: &[String]) -> String {
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let n = text.split_inclusive('\n').count();
    let first = first.max(1);
    let start = (first - 1).min(n);
    let end = last.min(n).max(start);
    // Lines that replace, or follow, a last line without a newline: work on
    // the text with one (else the first new line would be glued to the old
    // last line) and take it off again at the end.
    let tail = end == n && !text.is_empty() && !text.ends_with('\n') && !new_lines.is_empty();
    let owned;
    let src = if tail {
        owned = format!("{text}{nl}");
        owned.as_str()
    } else {
        text
    };
    let mut lines: Vec<&str> = src.split_inclusive('\n').collect();
    let replacement: Vec<String> = new_lines.iter().map(|l| format!("{l}{nl}")).collect();
    lines.splice(start..end, replacement.iter().map(String::as_str));
    let mut out: String = lines.concat();
    if tail && out.ends_with(nl) {
        out.truncate(out.len() - nl.len());
    }
    out
}

/// The first line of a statement, shortened for one-line summaries.
pub fn one_line(sql: &str, max: usize) -> String {
    let flat: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let cut: String = flat.chars().take(max.saturating_sub(3)).collect();
        format!("{cut}...")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_are_found_but_ordinary_symbols_are_not() {
        assert_eq!(find_emoji("ok -> done, 5 > 3").len(), 0);
        assert_eq!(find_emoji("done \u{2705} and \u{1F680}").len(), 2);
        assert_eq!(find_emoji("warn \u{26A0}\u{FE0F}").len(), 2);
    }

    #[test]
    fn replace_and_insert_lines() {
        let t = "a\nb\nc\n";
        assert_eq!(
            replace_lines(t, 2, 2, &["x".into(), "y".into()]),
            "a\nx\ny\nc\n"
        );
        assert_eq!(replace_lines(t, 2, 1, &["i".into()]), "a\ni\nb\nc\n");
        assert_eq!(replace_lines(t, 1, 3, &[]), "");
        // After a last line without a newline.
        assert_eq!(replace_lines("a\nb", 3, 2, &["c".into()]), "a\nb\nc");
        assert_eq!(replace_lines("a\nb", 2, 2, &["c".into()]), "a\nc");
    }

    #[test]
    fn atomic_write_replaces_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.txt");
        write_atomic(&p, "one").unwrap();
        write_atomic(&p, "two").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn stale_temp_files_of_dead_processes_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        // A pid far above any pid_max in use, and this very process.
        let dead = dir.path().join(".touchpoint-2147483646-abc.tmp");
        let live = dir
            .path()
            .join(format!(".touchpoint-{}-abc.tmp", std::process::id()));
        let other = dir.path().join(".touchpoint-notes.tmp");
        for p in [&dead, &live, &other] {
            std::fs::write(p, "x").unwrap();
        }
        sweep_stale_temp_files(dir.path());
        assert!(!dead.exists());
        assert!(live.exists());
        assert!(other.exists());
    }

    #[test]
    fn a_write_sweeps_the_leftovers_of_killed_runs_in_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        let dead = dir.path().join(".touchpoint-2147483646-xyz.tmp");
        std::fs::write(&dead, "half a doc").unwrap();
        write_atomic(&dir.path().join("doc.md"), "whole").unwrap();
        assert!(!dead.exists());
    }
}
