//! PostgreSQL as the editable store's ledger: every server of one database records its edits
//! here and applies the others' from here.
//!
//! A batch of edits is one transaction. It first takes a transaction-scoped advisory lock, so
//! the writers of all servers take turns; under it, the writer reads what others recorded
//! since its own version and applies that first, then checks its edits against the result.
//! So an `If-Match` is checked against the newest version whichever server takes it, and a new
//! integer id is never taken twice. In the same transaction each change goes into
//! `atlas_changes`, each edited feature's row into its collection's table (so QGIS and
//! `ogr2ogr PG:` see it), and a `NOTIFY atlas_changes` with the last version wakes the other
//! servers. Versions are taken under the lock, so they commit in order: a follower that has
//! applied version N has seen every change up to N.

use std::collections::BTreeMap;
use std::time::Duration;

use postgres::{Client, NoTls};
use serde_json::Value as Json;

use super::import::{write_rows, ImportFailure};
use super::{describe, PgError};
use crate::record::scope::{scopes_from_text, scopes_text};
use crate::record::tokens::{self, collections_text, verified, TokenBook};
use crate::record::{
    AuditQuery, Change, ChangesetRecord, ChangesetStatus, Layers, Ledger, LedgerReads, Operation,
    RecordError, RequestKey, TokenRecord, TokenWork, PAGE_BYTES,
};

/// The channel of change notifications.
pub const CHANNEL: &str = "atlas_changes";

/// The advisory lock the writers take turns under (arbitrary; not the migrations' key).
const WRITE_LOCK: i64 = 0x6574_6f77_6e00_0002;

/// Most changes read in one catch-up; a server further behind catches up in several.
const CATCH_UP_LIMIT: i64 = 10_000;

/// How a server uses its PostgreSQL: settings with defaults for a small cluster.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Connections kept for reads of history, the change feed and tokens.
    pub pool_size: u32,
    /// The longest any statement may run (PostgreSQL's `statement_timeout`).
    pub statement_timeout: Duration,
    /// The longest a connection attempt may take.
    pub connect_timeout: Duration,
    /// How often a follower asks for changes it was not notified of.
    pub poll: Duration,
    /// The longest wait between reconnection attempts (it doubles up to this).
    pub backoff_max: Duration,
    /// What a refused write tells its client to wait.
    pub retry_after: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            pool_size: 4,
            statement_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
            poll: Duration::from_secs(1),
            backoff_max: Duration::from_secs(10),
            retry_after: Duration::from_secs(5),
        }
    }
}

/// The connection configuration of `address` with `settings` applied.
pub fn configure(address: &str, settings: &Settings) -> Result<postgres::Config, PgError> {
    let mut config: postgres::Config = address
        .parse()
        .map_err(|e: postgres::Error| PgError::Address(e.to_string()))?;
    config.connect_timeout(settings.connect_timeout);
    config.options(&format!(
        "-c statement_timeout={} -c client_min_messages=warning -c DateStyle=ISO",
        settings.statement_timeout.as_millis()
    ));
    config.application_name("etown-atlas");
    // A database that vanished without closing the connection (a network partition, a
    // powered-off host) is noticed within about 20 s instead of TCP's quarter of an hour:
    // statement_timeout is the server's and cannot fire then.
    config.keepalives(true);
    config.keepalives_idle(Duration::from_secs(10));
    config.keepalives_interval(Duration::from_secs(3));
    config.keepalives_retries(3);
    Ok(config)
}

/// Whether a failure means "not reachable now" (retry later) or "refused" (the request's own
/// fault or a bug). The message never carries the password: the driver's errors do not
/// include the connection string.
pub fn classify(e: &postgres::Error) -> RecordError {
    let Some(code) = e.code() else {
        // No SQLSTATE: the connection failed, closed or timed out.
        return RecordError::Unavailable(e.to_string());
    };
    let state = code.code();
    // 08: connection exception; 57P01-03: shutting down or starting; 53: out of resources;
    // 57014: cancelled by the statement timeout; 40001/40P01: try again.
    if state.starts_with("08")
        || state.starts_with("57P")
        || state.starts_with("53")
        || state == "57014"
        || state == "40001"
        || state == "40P01"
    {
        RecordError::Unavailable(e.to_string())
    } else {
        RecordError::Refused(e.to_string())
    }
}

/// A failed read as the reader is told: an outage stays an outage; otherwise the driver's
/// message alone (nothing was being written, so nothing was refused).
pub(super) fn read_error(e: &postgres::Error) -> RecordError {
    match classify(e) {
        RecordError::Refused(reason) => RecordError::Invalid(reason),
        other => other,
    }
}

/// The writer's connection: opened when first needed, and again after it failed.
pub struct PgLedger {
    config: postgres::Config,
    client: Option<Client>,
}

impl PgLedger {
    pub fn new(config: postgres::Config) -> Self {
        PgLedger {
            config,
            client: None,
        }
    }

    fn client(&mut self) -> Result<&mut Client, RecordError> {
        if self.client.as_ref().is_some_and(Client::is_closed) {
            self.client = None;
        }
        match &mut self.client {
            Some(c) => Ok(c),
            slot => {
                let c = self.config.connect(NoTls).map_err(|e| {
                    RecordError::Unavailable(format!("{}: {e}", describe(&self.config)))
                })?;
                Ok(slot.insert(c))
            }
        }
    }

    /// Ends the open transaction after `e`; a broken connection is dropped, to be reopened.
    fn fail(&mut self, e: &postgres::Error) -> RecordError {
        let kind = classify(e);
        match (&kind, &mut self.client) {
            (RecordError::Refused(_), Some(c)) => {
                if c.batch_execute("ROLLBACK").is_err() {
                    self.client = None;
                }
            }
            _ => self.client = None,
        }
        kind
    }

    fn record(
        client: &mut Client,
        changes: Vec<Change>,
        rezoned: &[(String, String)],
        layers: Layers<'_>,
    ) -> Result<Vec<Change>, ImportFailure> {
        let insert = client.prepare(
            "INSERT INTO atlas_changes (collection, feature_id, op, feature, before, author, at, request_key, request_hash, changeset)
             VALUES ($1, $2, $3, $4::text::json, $5::text::json, $6, $7::text::timestamptz, $8, $9, $10)
             RETURNING version",
        )?;
        let mut out = Vec::with_capacity(changes.len());
        let mut by_collection: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for mut c in changes {
            let after = c.after.as_ref().map(Json::to_string);
            let before = c.before.as_ref().map(Json::to_string);
            let request_key = c.request.as_ref().map(|r| r.key.as_str());
            let request_hash = c.request.as_ref().map(|r| r.body_hash.as_str());
            let row = client.query_one(
                &insert,
                &[
                    &c.collection,
                    &c.feature_id,
                    &c.operation.as_str(),
                    &after,
                    &before,
                    &c.principal,
                    &c.at,
                    &request_key,
                    &request_hash,
                    &c.changeset,
                ],
            )?;
            c.seq = row.get(0);
            let ids = by_collection.entry(c.collection.clone()).or_default();
            if !ids.contains(&c.feature_id) {
                ids.push(c.feature_id.clone());
            }
            out.push(c);
        }
        for (collection, id) in rezoned {
            let ids = by_collection.entry(collection.clone()).or_default();
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        for (collection, ids) in by_collection {
            if let Some(layer) = layers(&collection) {
                write_rows(client, layer, &ids)?;
            }
        }
        let last = out.last().map_or(0, |c| c.seq).to_string();
        client.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &last])?;
        Ok(out)
    }
}

/// One page of the change log's rows matching `condition` (`$1` since, `$2` limit, `$3`
/// bytes), bounded in SQL by a running total of the features' bytes as the SQLite store is.
fn page(
    client: &mut Client,
    condition: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> Result<Vec<Change>, RecordError> {
    let sql = format!(
        "SELECT version, collection, feature_id, op, author, at_text, before_text, feature_text, request_key, request_hash, changeset FROM (
             SELECT *, SUM(size) OVER (ORDER BY version) AS running FROM (
                 SELECT version, collection, feature_id, op, author,
                        to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS at_text,
                        before::text AS before_text, feature::text AS feature_text,
                        request_key, request_hash, changeset,
                        COALESCE(octet_length(before::text), 0)
                          + COALESCE(octet_length(feature::text), 0) AS size
                 FROM atlas_changes WHERE {condition} ORDER BY version LIMIT $2) rows) sized
         WHERE running - size < $3 ORDER BY version"
    );
    let rows = client.query(&sql, params).map_err(|e| read_error(&e))?;
    rows.iter()
        .map(change)
        .collect::<Result<_, _>>()
        .map_err(|e| read_error(&e))
}

/// Changes after `applied`, oldest first.
fn read_since(client: &mut Client, applied: i64) -> Result<Vec<Change>, postgres::Error> {
    let rows = client.query(
        &format!("{SELECT_CHANGES} WHERE version > $1 ORDER BY version LIMIT $2"),
        &[&applied, &CATCH_UP_LIMIT],
    )?;
    rows.iter().map(change).collect()
}

/// The columns of a change, as [`change`] reads them.
pub(super) const SELECT_CHANGES: &str = "SELECT version, collection, feature_id, op, author, \
     to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), before::text, feature::text, \
     request_key, request_hash, changeset FROM atlas_changes";

pub(super) fn change(r: &postgres::Row) -> Result<Change, postgres::Error> {
    let json = |i: usize| -> Result<Option<Json>, postgres::Error> {
        Ok(r.try_get::<_, Option<String>>(i)?
            .and_then(|t| serde_json::from_str(&t).ok()))
    };
    let op: String = r.try_get(3)?;
    Ok(Change {
        seq: r.try_get(0)?,
        collection: r.try_get(1)?,
        feature_id: r.try_get(2)?,
        operation: match op.as_str() {
            "create" => Operation::Create,
            "replace" => Operation::Replace,
            "update" => Operation::Update,
            _ => Operation::Delete,
        },
        principal: r.try_get(4)?,
        at: r.try_get(5)?,
        before: json(6)?,
        after: json(7)?,
        request: r
            .try_get::<_, Option<String>>(8)?
            .map(|key| -> Result<RequestKey, postgres::Error> {
                Ok(RequestKey {
                    key,
                    body_hash: r.try_get::<_, Option<String>>(9)?.unwrap_or_default(),
                })
            })
            .transpose()?,
        changeset: r.try_get(10)?,
    })
}

impl Ledger for PgLedger {
    fn begin(&mut self, applied: i64) -> Result<Vec<Change>, RecordError> {
        let client = self.client()?;
        let result = client
            .batch_execute("BEGIN")
            .and_then(|()| client.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK]))
            .and_then(|_| read_since(client, applied));
        result.map_err(|e| self.fail(&e))
    }

    fn commit(
        &mut self,
        changes: Vec<Change>,
        rezoned: &[(String, String)],
        layers: Layers<'_>,
    ) -> Result<Vec<Change>, RecordError> {
        let client = self.client()?;
        let result = Self::record(client, changes, rezoned, layers).and_then(|out| {
            client.batch_execute("COMMIT")?;
            Ok(out)
        });
        result.map_err(|e| match e {
            ImportFailure::Db(e) => self.fail(&e),
            // The row stream broke: the connection did.
            ImportFailure::Stream(e) => {
                self.client = None;
                RecordError::Unavailable(e.to_string())
            }
        })
    }

    fn abandon(&mut self) {
        if let Some(c) = &mut self.client {
            if c.batch_execute("ROLLBACK").is_err() {
                self.client = None;
            }
        }
    }

    fn since(&mut self, applied: i64) -> Result<Vec<Change>, RecordError> {
        let client = self.client()?;
        read_since(client, applied).map_err(|e| self.fail(&e))
    }

    fn largest_integer_id(&mut self, collection: &str) -> Result<Option<i64>, RecordError> {
        let client = self.client()?;
        let found = client
            .query_one(
                "SELECT max(feature_id::bigint) FROM atlas_changes
                 WHERE collection = $1 AND feature_id ~ '^-?[0-9]{1,18}$'",
                &[&collection],
            )
            .and_then(|row| row.try_get::<_, Option<i64>>(0));
        found.map_err(|e| self.fail(&e))
    }

    fn request(&mut self, key: &str) -> Result<Option<Change>, RecordError> {
        let client = self.client()?;
        let found = client
            .query_opt(&format!("{SELECT_CHANGES} WHERE request_key = $1"), &[&key])
            .and_then(|row| row.as_ref().map(change).transpose());
        found.map_err(|e| self.fail(&e))
    }

    fn changeset_applied(&mut self, id: &str) -> Result<bool, RecordError> {
        let client = self.client()?;
        let found = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM atlas_changes WHERE changeset = $1)",
                &[&id],
            )
            .and_then(|r| r.try_get::<_, bool>(0));
        found.map_err(|e| self.fail(&e))
    }

    fn save_changeset(&mut self, record: &ChangesetRecord) -> Result<(), RecordError> {
        let client = self.client()?;
        let saved = super::changesets::save(client, record);
        saved.map_err(|e| self.fail(&e))
    }

    fn with_tokens(&mut self, work: TokenWork) {
        match self.client() {
            Ok(client) => work(Ok(&mut PgTokens(client))),
            Err(e) => work(Err(e)),
        }
    }
}

type Pool = r2d2::Pool<r2d2_postgres::PostgresConnectionManager<NoTls>>;

/// Reads beside the writer, from a pool of connections.
pub struct PgReads {
    pool: Pool,
}

impl PgReads {
    /// A pool that connects lazily: a server starts even if a connection cannot be made now.
    pub fn new(config: postgres::Config, settings: &Settings) -> Self {
        let manager = r2d2_postgres::PostgresConnectionManager::new(config, NoTls);
        let pool = r2d2::Pool::builder()
            .max_size(settings.pool_size.max(1))
            .min_idle(Some(0))
            .connection_timeout(settings.connect_timeout)
            .error_handler(Box::new(QuietErrors))
            .build_unchecked(manager);
        PgReads { pool }
    }

    fn conn(
        &self,
    ) -> Result<r2d2::PooledConnection<r2d2_postgres::PostgresConnectionManager<NoTls>>, RecordError>
    {
        self.pool
            .get()
            .map_err(|e| RecordError::Unavailable(e.to_string()))
    }
}

/// The pool's connection errors, logged once by whoever asked rather than by the pool.
#[derive(Debug)]
struct QuietErrors;

impl<E: std::fmt::Display> r2d2::HandleError<E> for QuietErrors {
    fn handle_error(&self, error: E) {
        tracing::debug!(%error, "a pooled connection failed");
    }
}

impl LedgerReads for PgReads {
    fn history(
        &self,
        collection: &str,
        id: &str,
        since: i64,
        limit: usize,
    ) -> Result<Vec<Change>, RecordError> {
        let mut c = self.conn()?;
        page(
            &mut c,
            "version > $1 AND collection = $4 AND feature_id = $5",
            &[
                &since,
                &i64::try_from(limit).unwrap_or(i64::MAX),
                &PAGE_BYTES,
                &collection,
                &id,
            ],
        )
    }

    fn changes(&self, since: i64, limit: usize) -> Result<Vec<Change>, RecordError> {
        let mut c = self.conn()?;
        page(
            &mut c,
            "version > $1",
            &[
                &since,
                &i64::try_from(limit).unwrap_or(i64::MAX),
                &PAGE_BYTES,
            ],
        )
    }

    fn first_change_from(&self, seq: i64) -> Result<Option<(i64, String)>, RecordError> {
        let mut c = self.conn()?;
        let row = c
            .query_opt(
                "SELECT version, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') \
                 FROM atlas_changes WHERE version >= $1 ORDER BY version LIMIT 1",
                &[&seq],
            )
            .map_err(|e| read_error(&e))?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .transpose()
            .map_err(|e: postgres::Error| read_error(&e))
    }

    fn audit(&self, q: &AuditQuery) -> Result<Vec<Change>, RecordError> {
        let mut c = self.conn()?;
        let mut conditions = vec!["TRUE".to_owned()];
        let mut values: Vec<Box<dyn postgres::types::ToSql + Sync>> = Vec::new();
        let mut add = |sql: &str, v: Box<dyn postgres::types::ToSql + Sync>| {
            values.push(v);
            conditions.push(sql.replace('?', &format!("${}", values.len())));
        };
        if let Some(p) = &q.principal {
            add("author = ?", Box::new(p.clone()));
        }
        if let Some(col) = &q.collection {
            add("collection = ?", Box::new(col.clone()));
        }
        if let Some(t) = &q.since {
            add("at >= ?::text::timestamptz", Box::new(t.clone()));
        }
        if let Some(t) = &q.until {
            add("at < ?::text::timestamptz", Box::new(t.clone()));
        }
        if let Some(b) = q.before {
            add("version < ?", Box::new(b));
        }
        values.push(Box::new(i64::try_from(q.limit).unwrap_or(i64::MAX)));
        let sql = format!(
            "SELECT version, collection, feature_id, op, author, \
             to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), NULL::text, NULL::text, \
             request_key, request_hash, changeset FROM atlas_changes WHERE {} ORDER BY version DESC LIMIT ${}",
            conditions.join(" AND "),
            values.len()
        );
        let params: Vec<&(dyn postgres::types::ToSql + Sync)> =
            values.iter().map(|v| v.as_ref()).collect();
        let rows = c.query(&sql, &params).map_err(|e| read_error(&e))?;
        rows.iter()
            .map(change)
            .collect::<Result<_, _>>()
            .map_err(|e| read_error(&e))
    }

    fn token(&self, presented: &str) -> Result<Option<TokenRecord>, RecordError> {
        let mut c = self.conn()?;
        find_token(&mut c, presented)
    }

    fn changeset(
        &self,
        id: &str,
    ) -> Result<Option<(ChangesetRecord, ChangesetStatus)>, RecordError> {
        let mut c = self.conn()?;
        super::changesets::find(&mut c, id).map_err(|e| read_error(&e))
    }

    fn changesets(
        &self,
        collection: &str,
        limit: usize,
    ) -> Result<Vec<(ChangesetRecord, ChangesetStatus)>, RecordError> {
        let mut c = self.conn()?;
        super::changesets::list(&mut c, collection, limit).map_err(|e| read_error(&e))
    }

    fn changeset_changes(&self, id: &str) -> Result<Vec<Change>, RecordError> {
        let mut c = self.conn()?;
        super::changesets::changes(&mut c, id).map_err(|e| read_error(&e))
    }

    fn pool(&self) -> Option<(u32, u32)> {
        let s = self.pool.state();
        Some((s.connections, s.idle_connections))
    }
}

const TOKEN_COLUMNS: &str =
    "name, role, collections::text, hash, created_at, expires_at, revoked_at, scopes::text";

fn token_record(r: &postgres::Row) -> Result<(TokenRecord, Vec<u8>), RecordError> {
    let get = |e: postgres::Error| read_error(&e);
    let collections: Option<String> = r.try_get(2).map_err(get)?;
    let scopes: Option<String> = r.try_get(7).map_err(get)?;
    Ok((
        TokenRecord {
            name: r.try_get(0).map_err(get)?,
            role: r.try_get(1).map_err(get)?,
            collections: collections.and_then(|c| serde_json::from_str(&c).ok()),
            scopes: scopes_from_text(scopes.as_deref())?,
            created_at: r.try_get(4).map_err(get)?,
            expires_at: r.try_get(5).map_err(get)?,
            revoked_at: r.try_get(6).map_err(get)?,
        },
        r.try_get(3).map_err(get)?,
    ))
}

/// The record of the token `presented`, compared by hash in constant time (as the embedded
/// store does).
pub fn find_token(
    client: &mut Client,
    presented: &str,
) -> Result<Option<TokenRecord>, RecordError> {
    let h = tokens::hash(presented);
    let row = client
        .query_opt(
            &format!("SELECT {TOKEN_COLUMNS} FROM atlas_tokens WHERE hash = $1"),
            &[&h.as_slice()],
        )
        .map_err(|e| read_error(&e))?;
    let found = row.map(|row| token_record(&row)).transpose()?;
    Ok(verified(found, &h))
}

/// The token rows of a PostgreSQL store.
pub struct PgTokens<'a>(pub &'a mut Client);

impl TokenBook for PgTokens<'_> {
    fn insert(&mut self, record: &TokenRecord, hash: &[u8; 32]) -> Result<bool, RecordError> {
        let n = self
            .0
            .execute(
                "INSERT INTO atlas_tokens (name, role, collections, hash, created_at, expires_at, scopes)
                 VALUES ($1, $2, $3::text::jsonb, $4, $5, $6, $7::text::json) ON CONFLICT (name) DO NOTHING",
                &[
                    &record.name,
                    &record.role,
                    &collections_text(record.collections.as_ref()),
                    &hash.as_slice(),
                    &record.created_at,
                    &record.expires_at,
                    &scopes_text(&record.scopes),
                ],
            )
            .map_err(|e| read_error(&e))?;
        Ok(n > 0)
    }

    fn list(&mut self) -> Result<Vec<TokenRecord>, RecordError> {
        let rows = self
            .0
            .query(
                &format!("SELECT {TOKEN_COLUMNS} FROM atlas_tokens ORDER BY created_at, name"),
                &[],
            )
            .map_err(|e| read_error(&e))?;
        rows.iter()
            .map(|r| token_record(r).map(|(rec, _)| rec))
            .collect()
    }

    fn revoke(&mut self, name: &str, now: &str) -> Result<bool, RecordError> {
        let n = self
            .0
            .execute(
                "UPDATE atlas_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL",
                &[&name, &now],
            )
            .map_err(|e| read_error(&e))?;
        Ok(n > 0)
    }
}
