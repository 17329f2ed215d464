//! Bridge docs: per-table documentation in three tiers, regenerated from the
//! schema model. Structure belongs to touchpoint; prose belongs to people.
//!
//! Layout: `bridge-schemas/source/<group>/TABLE.md`,
//! `bridge-schemas/detailed/<group>/TABLE.json`,
//! `bridge-schemas/minimal/<group>/TABLE.json`. Sub-folders are groups; the
//! file stem is the table name; folders matching `[bridge] ignore` (archived
//! copies such as `pass-1-versions/`) are left alone.

use crate::error::{Error, Result};
use crate::workspace::Workspace;
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Source,
    Detailed,
    Minimal,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Source, Tier::Detailed, Tier::Minimal];
    pub fn dir(self) -> &'static str {
        match self {
            Tier::Source => "source",
            Tier::Detailed => "detailed",
            Tier::Minimal => "minimal",
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            Tier::Source => "md",
            Tier::Detailed | Tier::Minimal => "json",
        }
    }
}

/// One doc file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct DocFile {
    /// The table name as the file stem spells it (unqualified).
    pub table: String,
    /// Sub-folder path under the tier folder (`pass-1`), empty at the top.
    pub group: String,
    pub tier: Tier,
    /// Absolute path.
    pub path: PathBuf,
}

/// Does a folder name match one of the ignore globs (`*` wildcards only)?
pub fn ignored(name: &str, globs: &[String]) -> bool {
    globs.iter().any(|g| glob_match(g, name))
}

fn glob_match(glob: &str, name: &str) -> bool {
    let parts: Vec<&str> = glob.split('*').collect();
    if parts.len() == 1 {
        return glob == name;
    }
    let mut rest = name;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(p) else { return false };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(p);
        } else {
            let Some(pos) = rest.find(p) else { return false };
            rest = &rest[pos + p.len()..];
        }
    }
    true
}

/// Every doc file of every tier, sorted (tier, group, table).
pub fn discover(ws: &Workspace) -> Result<Vec<DocFile>> {
    let base = ws.bridge_dir();
    let mut out = Vec::new();
    if !base.is_dir() {
        return Ok(out);
    }
    let globs = &ws.config.bridge.ignore;
    for tier in Tier::ALL {
        let dir = base.join(tier.dir());
        if !dir.is_dir() {
            continue;
        }
        let walker = walkdir::WalkDir::new(&dir)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                e.depth() == 0 || !(e.file_type().is_dir() && ignored(&e.file_name().to_string_lossy(), globs))
            });
        for entry in walker {
            let entry = entry.map_err(|e| {
                let path = e.path().map(Path::to_path_buf).unwrap_or_else(|| dir.clone());
                Error::new("io", e.to_string()).file(ws.display(&path))
            })?;
            let path = entry.path();
            if !entry.file_type().is_file() || path.extension().and_then(|x| x.to_str()) != Some(tier.extension()) {
                continue;
            }
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else { continue };
            let group = path
                .parent()
                .and_then(|p| p.strip_prefix(&dir).ok())
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            out.push(DocFile {
                table: stem.to_string(),
                group,
                tier,
                path: path.to_path_buf(),
            });
        }
    }
    out.sort_by(|a, b| (a.tier, &a.group, &a.table).cmp(&(b.tier, &b.group, &b.table)));
    Ok(out)
}

/// The doc files of one table (matched by unqualified name), every tier and
/// group.
pub fn docs_for<'a>(docs: &'a [DocFile], table: &str) -> Vec<&'a DocFile> {
    docs.iter().filter(|d| d.table == table).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*-versions", "pass-1-versions"));
        assert!(!glob_match("*-versions", "pass-1"));
        assert!(glob_match("archive", "archive"));
        assert!(glob_match("a*b*c", "axxbyyc"));
    }
}
