//! touchpoint: research, review and finalize PostgreSQL migrations against a
//! source-of-truth schema kept as ordered SQL files.
//!
//! Data flows one way: workspace -> sql -> schema -> analysis / lint / patch /
//! bridge / header -> db -> report. Commands in `commands` wire them together.

pub mod analysis;
pub mod ast;
pub mod bridge;
pub mod check;
pub mod cli;
pub mod commands;
pub mod db;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod header;
pub mod history;
pub mod journal;
pub mod lint;
pub mod patch;
pub mod report;
pub mod schema;
pub mod sql;
pub mod text;
pub mod workspace;

pub use error::{Error, Result};
