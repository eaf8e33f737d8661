//! The `etown-atlas` command: `serve` the layers over HTTP, or `validate` a data directory.

use std::process::ExitCode;

use clap::Parser;

mod commands;

use commands::args::*;
use commands::data::{init, synth, validate};
use commands::db::{db_import, db_migrate, export_state, export_store};
use commands::export::export;
use commands::serve::serve;

/// mimalloc: ingest makes millions of small allocations (strings, coordinate vectors), where it is
/// markedly faster than glibc's allocator, and it returns freed memory to the system.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_json);
    // With no subcommand, serve with the defaults (and the ETOWN_ATLAS_* environment).
    let command = cli
        .command
        .unwrap_or_else(|| Command::Serve(ServeArgs::parse_from(["etown-atlas"])));
    match command {
        Command::Validate { dir, load } => validate(dir.as_ref(), load.options()),
        Command::Init { dir, load } => init(&dir, load.options()),
        Command::Serve(args) => serve(args),
        Command::Export(args) => match export(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Token(t) => done(match t {
            TokenCommand::Create {
                place,
                name,
                role,
                collections,
                expires,
                scope,
            } => scope.scope().and_then(|scope| {
                commands::state::create_token(
                    &place.place(),
                    &name,
                    &role,
                    collections,
                    expires.as_deref(),
                    scope,
                )
            }),
            TokenCommand::List { place } => commands::state::list_tokens(&place.place()),
            TokenCommand::Revoke { place, name } => {
                commands::state::revoke_token(&place.place(), &name)
            }
        }),
        Command::State(StateCommand::Export {
            state,
            store,
            data,
            out,
            load,
        }) => done(match (state, store) {
            (_, Some(address)) => export_store(&address, &out),
            (Some(state), None) => export_state(&state, data.as_ref(), &out, load.options()),
            (None, None) => Err("--state or --store is needed".into()),
        }),
        Command::Db(DbCommand::Migrate { store }) => done(db_migrate(&store)),
        Command::Db(DbCommand::Import { store, data, load }) => {
            done(db_import(&store, data.as_ref(), load.options()))
        }
        Command::Changeset(c) => match commands::changeset::run(c) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Synth { count, out, seed } => match synth(count, &out, seed) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {}: {e}", out.display());
                ExitCode::FAILURE
            }
        },
    }
}

fn done(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
