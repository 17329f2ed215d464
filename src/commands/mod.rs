//! One module per subcommand. Each `run` wires library modules together and
//! returns an `ExitStatus`; `main` maps it to the process exit code.

/// 0 ok, 1 findings (the check failed), 2 usage or runtime error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    Failure,
    Error,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Error => 2,
        }
    }
}

pub mod apply;
pub mod approve;
pub mod bridge;
pub mod check;
pub mod completions;
pub mod finalize;
pub mod init;
pub mod lint;
pub mod renumber;
pub mod research;
pub mod rollback;
pub mod status;
