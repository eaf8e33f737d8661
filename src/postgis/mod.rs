//! PostgreSQL with PostGIS as the system of record (issue 19), first part: the schema the
//! server keeps there, created and migrated by numbered migrations, and the import of layers
//! into it, so that QGIS and `ogr2ogr PG:` read the same features and values as the API.
//!
//! Every collection is a table of its own, named as the collection: `feature_id` (the API's
//! id, as text) as the primary key, a column per property with its SQL type (boolean,
//! bigint, double precision, text, date, timestamptz, text[], jsonb), the derived properties
//! included, and `geom`, a PostGIS geometry in EPSG:4326 with a GiST index. `atlas_collections`
//! lists the tables and their fields; `atlas_changes` is the change log the edits and the
//! replicas will use.
//!
//! Values reach PostgreSQL only as bind parameters; identifiers (table and column names, which
//! come from validated data files, never from a request) are quoted.

mod changesets;
mod follow;
mod import;
mod ledger;
mod load;
mod migrate;
mod open;
mod tables;

pub use follow::follow;
pub use import::{import, ImportReport};
pub use ledger::{classify, configure, find_token, PgLedger, PgReads, PgTokens, Settings, CHANNEL};
pub use load::{files, load, LoadError};
pub use migrate::{migrate, MIGRATIONS};
pub use open::open_store;
pub use tables::TableSource;

/// Why a database command failed.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("the store address is not a PostgreSQL connection string or URL: {0}")]
    Address(String),
    #[error("cannot connect to PostgreSQL at {at}: {source}")]
    Connect { at: String, source: postgres::Error },
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        version: i32,
        name: &'static str,
        source: postgres::Error,
    },
    #[error("the database is at schema version {found}, newer than this program's {known}")]
    NewerSchema { found: i32, known: i32 },
    #[error("importing collection {collection}: {reason}")]
    Import { collection: String, reason: String },
    #[error("collection {collection} has a property named {field}, which the table uses itself")]
    Reserved { collection: String, field: String },
    #[error("{0}")]
    Other(#[from] postgres::Error),
}

/// A connection to the store at `address` (a `postgres://` URL or `key=value` pairs). The
/// error names the host and database, never the password.
pub fn connect(address: &str) -> Result<postgres::Client, PgError> {
    let config: postgres::Config = address
        .parse()
        .map_err(|e: postgres::Error| PgError::Address(e.to_string()))?;
    let at = describe(&config);
    let mut client = config
        .connect(postgres::NoTls)
        .map_err(|source| PgError::Connect { at, source })?;
    // `IF NOT EXISTS` and `DROP ... IF EXISTS` notices are expected, not news; dates are read
    // as ISO text whatever the server's default.
    client.batch_execute("SET client_min_messages = warning; SET DateStyle = ISO")?;
    Ok(client)
}

/// Where a configuration points, without its password: for messages and logs.
pub fn describe(config: &postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
    format!(
        "host {} port {} database {}",
        hosts.join(","),
        ports.join(","),
        config.get_dbname().unwrap_or("(default)")
    )
}

/// An SQL identifier, quoted.
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
