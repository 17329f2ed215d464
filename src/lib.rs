//! touchpoint: research, review and finalize PostgreSQL migrations against a
//! source-of-truth schema kept as ordered SQL files.
//!
//! Data flows one way: workspace -> sql -> schema -> analysis / lint / patch /
//! bridge / header -> db -> report. Commands in `commands` wire them together.

pub mod db;
pub mod error;
pub mod report;
pub mod sql;
pub mod workspace;

pub use error::{Error, Result};
pub mod ast;
pub mod schema;
pub mod bridge;
pub mod commands;
pub mod header;
pub mod history;
pub mod text;
pub mod analysis;
pub mod lint;
pub mod cli;
pub mod patch;
