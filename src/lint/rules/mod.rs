//! touchpoint's own lint rules, one per file. Each file's doc comment says
//! what the rule does, why, and shows an example.

pub mod duplicate_column;
pub mod emoji;
pub mod header_placeholder;
pub mod header_sections;
pub mod index_not_concurrent;
pub mod missing_if_exists;
pub mod psql_meta_command;
pub mod unknown_object;
