//! The binary's commands. `args` is the command line; each other module does one command (or a
//! family of them) with the library, like any other client.

pub mod args;
pub mod changeset;
pub mod data;
pub mod db;
pub mod export;
pub mod serve;
pub mod state;
