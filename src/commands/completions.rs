//! `touchpoint completions SHELL` and `touchpoint man [--dir DIR]`: shell
//! completions and manual pages generated from the clap definitions, so
//! they can never disagree with the parser.

use super::ExitStatus;
use crate::cli::Cli;
use crate::error::{Error, Result};
use clap::CommandFactory;
use clap_complete::Shell;
use std::io::Write;
use std::path::Path;

/// Print the completion script for `shell` to `out`.
pub fn completions(shell: Shell, out: &mut dyn Write) -> Result<ExitStatus> {
    let mut cmd = Cli::command();
    let name = cmd.get_name().to_string();
    clap_complete::generate(shell, &mut cmd, name, out);
    Ok(ExitStatus::Success)
}

/// Print `touchpoint.1` to `out`, or, with `dir`, write `touchpoint.1`
/// and one `touchpoint-COMMAND.1` per subcommand into it.
pub fn man(dir: Option<&Path>, out: &mut dyn Write) -> Result<ExitStatus> {
    let cmd = Cli::command();
    match dir {
        None => {
            clap_mangen::Man::new(cmd)
                .render(out)
                .map_err(|e| Error::new("io", format!("writing the man page: {e}")))?;
        }
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
            clap_mangen::generate_to(cmd, d).map_err(|e| Error::io(d, e))?;
            let _ = writeln!(out, "wrote the man pages to {}", d.display());
        }
    }
    Ok(ExitStatus::Success)
}
