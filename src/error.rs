//! The library's error type. An error that stops a command is the same
//! `Diagnostic` a finding is, so it carries file, line and a help line, and is
//! rendered by the same code.

use crate::report::Diagnostic;
use std::fmt;
use std::path::Path;

#[derive(Debug, Clone)]
pub struct Error(pub Box<Diagnostic>);

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Error(Box::new(Diagnostic::error(code, message)))
    }
    /// A usage error: bad arguments or configuration.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new("usage", message)
    }
    pub fn io(path: &Path, err: std::io::Error) -> Self {
        let help = match err.kind() {
            std::io::ErrorKind::NotFound => {
                "check the path; run `touchpoint init` to create a workspace"
            }
            std::io::ErrorKind::PermissionDenied => {
                "check the permissions of the file and its folder"
            }
            _ => "check the file and the disk",
        };
        Self::new("io", err.to_string()).file(path).help(help)
    }
    pub fn file(mut self, file: impl AsRef<Path>) -> Self {
        self.0.file = Some(file.as_ref().to_path_buf());
        self
    }
    pub fn at(mut self, line: usize, column: usize) -> Self {
        self.0.line = Some(line);
        self.0.column = Some(column);
        self
    }
    pub fn line(mut self, line: usize) -> Self {
        self.0.line = Some(line);
        self
    }
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.0.help = Some(help.into());
        self
    }
    pub fn diagnostic(&self) -> &Diagnostic {
        &self.0
    }
}

impl From<Diagnostic> for Error {
    fn from(d: Diagnostic) -> Self {
        Error(Box::new(d))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = self.0.location() {
            write!(f, "{loc}: ")?;
        }
        write!(f, "{}", self.0.message)?;
        if let Some(h) = &self.0.help {
            write!(f, "\n  help: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
