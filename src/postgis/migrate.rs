//! The schema's numbered migrations, applied in order, each once, each in its own transaction,
//! under an advisory lock so that two servers starting together do not both apply one.

use super::PgError;

/// `(version, name, SQL)`, oldest first. A released migration is never edited: a change is a
/// new one.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "collections and change log",
        "CREATE EXTENSION IF NOT EXISTS postgis;
     CREATE TABLE atlas_collections (
         id text PRIMARY KEY,
         table_name text NOT NULL UNIQUE,
         fields jsonb NOT NULL,
         features bigint NOT NULL,
         imported_at timestamptz NOT NULL DEFAULT now()
     );
     CREATE TABLE atlas_changes (
         version bigserial PRIMARY KEY,
         collection text NOT NULL REFERENCES atlas_collections (id) ON DELETE CASCADE,
         feature_id text NOT NULL,
         op text NOT NULL CHECK (op IN ('create', 'replace', 'delete')),
         feature jsonb,
         author text NOT NULL,
         at timestamptz NOT NULL DEFAULT now()
     );
     CREATE INDEX atlas_changes_feature ON atlas_changes (collection, feature_id);",
    ),
    (
        2,
        "sidecars, vocabularies and id kinds",
        "CREATE TABLE atlas_files (
             name text PRIMARY KEY,
             content bytea NOT NULL
         );
         ALTER TABLE atlas_collections ADD COLUMN integer_ids boolean NOT NULL DEFAULT false;",
    ),
    (
        3,
        "edits: every operation, the feature before, and tokens",
        "ALTER TABLE atlas_changes DROP CONSTRAINT atlas_changes_op_check;
         ALTER TABLE atlas_changes ADD CONSTRAINT atlas_changes_op_check
             CHECK (op IN ('create', 'replace', 'update', 'delete'));
         -- json, not jsonb: the features come back as they were written, key order included.
         ALTER TABLE atlas_changes ALTER COLUMN feature TYPE json;
         ALTER TABLE atlas_changes ADD COLUMN before json;
         CREATE TABLE atlas_tokens (
             name text PRIMARY KEY,
             role text NOT NULL,
             collections jsonb,
             hash bytea NOT NULL UNIQUE,
             created_at text NOT NULL,
             expires_at text,
             revoked_at text
         );",
    ),
    (
        4,
        "idempotency keys of creates",
        "ALTER TABLE atlas_changes ADD COLUMN request_key text;
         ALTER TABLE atlas_changes ADD COLUMN request_hash text;
         CREATE UNIQUE INDEX atlas_changes_request ON atlas_changes (request_key)
             WHERE request_key IS NOT NULL;",
    ),
    (
        5,
        "change sets",
        "ALTER TABLE atlas_changes ADD COLUMN changeset text;
         CREATE INDEX atlas_changes_changeset ON atlas_changes (changeset)
             WHERE changeset IS NOT NULL;
         CREATE TABLE atlas_changesets (
             id text PRIMARY KEY,
             collection text NOT NULL,
             principal text NOT NULL,
             created_at text NOT NULL,
             reverts text,
             summary json NOT NULL,
             document json NOT NULL,
             made bigserial
         );
         CREATE INDEX atlas_changesets_collection ON atlas_changesets (collection, made);
         CREATE INDEX atlas_changesets_reverts ON atlas_changesets (reverts)
             WHERE reverts IS NOT NULL;",
    ),
    (
        6,
        "scoped tokens",
        "ALTER TABLE atlas_tokens ADD COLUMN scopes json;",
    ),
];

/// An arbitrary key of this program's advisory lock.
const LOCK: i64 = 0x6574_6f77_6e00_0001;

/// Brings the schema up to date; returns the versions applied now (none when it already was).
pub fn migrate(client: &mut postgres::Client) -> Result<Vec<i32>, PgError> {
    client.batch_execute(
        "CREATE TABLE IF NOT EXISTS atlas_migrations (
             version integer PRIMARY KEY,
             name text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )?;
    let mut applied = Vec::new();
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    for &(version, name, sql) in MIGRATIONS {
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])?;
        let current: i32 = tx
            .query_one(
                "SELECT coalesce(max(version), 0) FROM atlas_migrations",
                &[],
            )?
            .get(0);
        if current > known {
            return Err(PgError::NewerSchema {
                found: current,
                known,
            });
        }
        if current >= version {
            continue;
        }
        tx.batch_execute(sql)
            .and_then(|()| {
                tx.execute(
                    "INSERT INTO atlas_migrations (version, name) VALUES ($1, $2)",
                    &[&version, &name],
                )
                .map(drop)
            })
            .map_err(|source| PgError::Migration {
                version,
                name,
                source,
            })?;
        tx.commit()?;
        applied.push(version);
    }
    Ok(applied)
}
