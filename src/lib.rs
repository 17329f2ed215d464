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
