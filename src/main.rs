//! The `touchpoint` binary: parse, run, map the outcome to 0, 1 or 2.

use clap::Parser;
use std::io::Write;
use std::process::ExitCode;
use touchpoint::cli::{self, Cli};
use touchpoint::report;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            // clap: --help and --version are not errors.
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut out = stdout.lock();
    let mut err = stderr.lock();
    match cli::run(cli, &mut out, &mut err) {
        Ok(status) => {
            let _ = out.flush();
            ExitCode::from(status.code())
        }
        Err(e) => {
            let _ = out.flush();
            let _ = write!(err, "{}", report::render_one(e.diagnostic()).trim_start());
            ExitCode::from(2)
        }
    }
}
