//! The one diagnostics type and its renderers.
//!
//! Every finding (a lint rule, a check, an error that stops a command) is a
//! `Diagnostic`. Byte offsets become line and column in one place
//! (`LineIndex`), and each output format has exactly one renderer, so tests
//! that render through these functions show exactly what users see.

use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Hash, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    // `--fail-on info` would fail on every note: not offered.
    #[value(skip)]
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A finding or an error, always with enough context to act on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Stable kebab-case rule or error code, e.g. `syntax-error`.
    pub code: String,
    pub severity: Severity,
    /// Path as the user should see it: relative to the workspace root when
    /// the file lies inside it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(code: &str, severity: Severity, message: impl Into<String>) -> Self {
        Diagnostic {
            code: code.to_string(),
            severity,
            file: None,
            line: None,
            column: None,
            message: message.into(),
            help: None,
        }
    }
    pub fn error(code: &str, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Error, message)
    }
    pub fn warning(code: &str, message: impl Into<String>) -> Self {
        Self::new(code, Severity::Warning, message)
    }
    pub fn file(mut self, file: impl AsRef<Path>) -> Self {
        self.file = Some(file.as_ref().to_path_buf());
        self
    }
    pub fn at(mut self, line: usize, column: usize) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }
    pub fn line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `file:line:column`, as far as it is known.
    pub fn location(&self) -> Option<String> {
        let file = self.file.as_ref()?.display().to_string();
        Some(match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{file}:{l}:{c}"),
            (Some(l), None) => format!("{file}:{l}"),
            _ => file,
        })
    }
}

/// Maps byte offsets of one text to 1-based lines and columns.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }
    /// 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let line = self.line(offset);
        let start = self.starts[line - 1];
        let offset = offset.min(text.len());
        let col = text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(offset - start);
        (line, col + 1)
    }
    /// Byte offset where a 1-based line starts.
    pub fn line_start(&self, line: usize) -> usize {
        self.starts[(line.max(1) - 1).min(self.starts.len() - 1)]
    }
    pub fn line_count(&self) -> usize {
        self.starts.len()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    #[default]
    Human,
    Json,
    Github,
}

/// Human output: grouped by file, one block per finding, a summary line.
pub fn render_human(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    let mut last_file: Option<&PathBuf> = None;
    for d in diags {
        if d.file.as_ref() != last_file {
            if let Some(f) = &d.file {
                if last_file.is_some() {
                    out.push('\n');
                }
                let _ = writeln!(out, "{}", f.display());
            }
            last_file = d.file.as_ref();
        }
        out.push_str(&render_one(d));
    }
    if !diags.is_empty() {
        let _ = writeln!(out, "\n{}", summary(diags));
    }
    out
}

/// One diagnostic in human form (used for errors printed by `main` too).
pub fn render_one(d: &Diagnostic) -> String {
    let mut out = String::new();
    let loc = d.location().map(|l| format!("{l}: ")).unwrap_or_default();
    let _ = writeln!(
        out,
        "  {loc}{}[{}]: {}",
        d.severity.as_str(),
        d.code,
        d.message
    );
    if let Some(h) = &d.help {
        let _ = writeln!(out, "    help: {h}");
    }
    out
}

pub fn summary(diags: &[Diagnostic]) -> String {
    let count = |s| diags.iter().filter(|d| d.severity == s).count();
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let files: std::collections::BTreeSet<_> =
        diags.iter().filter_map(|d| d.file.as_ref()).collect();
    format!(
        "{}, {} in {}",
        plural(count(Severity::Error), "error"),
        plural(count(Severity::Warning), "warning"),
        plural(files.len(), "file")
    )
}

/// JSON: one document `{"diagnostics": [...], "summary": {...}}`.
pub fn render_json(diags: &[Diagnostic]) -> String {
    render_json_with(diags, serde_json::Map::new())
}

/// The same document with a command's own top-level keys after the shared
/// ones (`check` adds what it checked).
pub fn render_json_with(
    diags: &[Diagnostic],
    extra: serde_json::Map<String, serde_json::Value>,
) -> String {
    let count = |s| diags.iter().filter(|d| d.severity == s).count();
    let mut doc = serde_json::json!({
        "diagnostics": diags,
        "summary": {
            "errors": count(Severity::Error),
            "warnings": count(Severity::Warning),
            "infos": count(Severity::Info),
        }
    });
    if let Some(map) = doc.as_object_mut() {
        map.extend(extra);
    }
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// GitHub Actions workflow commands: `::error file=F,line=L,col=C,title=T::M`.
pub fn render_github(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut props = Vec::new();
        if let Some(f) = &d.file {
            props.push(format!(
                "file={}",
                escape_property(&f.display().to_string())
            ));
        }
        if let Some(l) = d.line {
            props.push(format!("line={l}"));
        }
        if let Some(c) = d.column {
            props.push(format!("col={c}"));
        }
        props.push(format!("title={}", escape_property(&d.code)));
        let mut msg = d.message.clone();
        if let Some(h) = &d.help {
            msg.push_str("\nhelp: ");
            msg.push_str(h);
        }
        let _ = writeln!(out, "::{level} {}::{}", props.join(","), escape_data(&msg));
    }
    out
}

pub fn render(diags: &[Diagnostic], format: Format) -> String {
    match format {
        Format::Human => render_human(diags),
        Format::Json => render_json(diags),
        Format::Github => render_github(diags),
    }
}

// Escaping rules of the workflow-command protocol (actions/toolkit core).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_maps_offsets() {
        let text = "ab\ncd\n\nx";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_col(text, 0), (1, 1));
        assert_eq!(idx.line_col(text, 3), (2, 1));
        assert_eq!(idx.line_col(text, 4), (2, 2));
        assert_eq!(idx.line_col(text, 7), (4, 1));
        assert_eq!(idx.line_start(3), 6);
    }

    #[test]
    fn github_escapes_properties_and_data() {
        let d = Diagnostic::error("x", "a\nb: 100%")
            .file("dir/a,b.sql")
            .at(3, 4);
        assert_eq!(
            render_github(&[d]),
            "::error file=dir/a%2Cb.sql,line=3,col=4,title=x::a%0Ab: 100%25\n"
        );
    }
}
