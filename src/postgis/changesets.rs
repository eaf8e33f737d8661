//! Change sets in PostgreSQL: previews in `atlas_changesets`, and the `changeset` column of
//! `atlas_changes` that says which recorded changes applied one (as the embedded store keeps
//! them).

use postgres::Client;

use super::ledger::{change, SELECT_CHANGES};
use crate::record::{Applied, Change, ChangesetRecord, ChangesetStatus};

pub(super) fn save(client: &mut Client, r: &ChangesetRecord) -> Result<(), postgres::Error> {
    client.execute(
        "INSERT INTO atlas_changesets (id, collection, principal, created_at, reverts, summary, document)
         VALUES ($1, $2, $3, $4, $5, $6::text::json, $7::text::json)",
        &[
            &r.id,
            &r.collection,
            &r.principal,
            &r.created_at,
            &r.reverts,
            &r.summary.to_string(),
            &r.document.to_string(),
        ],
    )?;
    Ok(())
}

fn status(client: &mut Client, id: &str) -> Result<ChangesetStatus, postgres::Error> {
    let row = client.query_one(
        "SELECT MIN(version), MAX(version), COUNT(*),
                to_char(MIN(at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), MIN(author)
         FROM atlas_changes WHERE changeset = $1",
        &[&id],
    )?;
    let applied = match row.try_get::<_, Option<i64>>(0)? {
        None => None,
        Some(first_seq) => Some(Applied {
            first_seq,
            last_seq: row.try_get(1)?,
            changes: row.try_get(2)?,
            at: row.try_get(3)?,
            principal: row.try_get(4)?,
        }),
    };
    let reverted_by = client
        .query_opt(
            "SELECT c.id FROM atlas_changesets c WHERE c.reverts = $1
               AND EXISTS (SELECT 1 FROM atlas_changes WHERE changeset = c.id) LIMIT 1",
            &[&id],
        )?
        .map(|r| r.try_get(0))
        .transpose()?;
    Ok(ChangesetStatus {
        applied,
        reverted_by,
    })
}

fn record(r: &postgres::Row, with_document: bool) -> Result<ChangesetRecord, postgres::Error> {
    let json = |i: usize| -> Result<serde_json::Value, postgres::Error> {
        let t: Option<String> = r.try_get(i)?;
        Ok(t.and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(serde_json::Value::Null))
    };
    Ok(ChangesetRecord {
        id: r.try_get(0)?,
        collection: r.try_get(1)?,
        principal: r.try_get(2)?,
        created_at: r.try_get(3)?,
        reverts: r.try_get(4)?,
        summary: json(5)?,
        document: if with_document {
            json(6)?
        } else {
            serde_json::Value::Null
        },
    })
}

pub(super) fn find(
    client: &mut Client,
    id: &str,
) -> Result<Option<(ChangesetRecord, ChangesetStatus)>, postgres::Error> {
    let row = client.query_opt(
        "SELECT id, collection, principal, created_at, reverts, summary::text, document::text
         FROM atlas_changesets WHERE id = $1",
        &[&id],
    )?;
    match row {
        None => Ok(None),
        Some(row) => {
            let r = record(&row, true)?;
            let s = status(client, &r.id)?;
            Ok(Some((r, s)))
        }
    }
}

pub(super) fn list(
    client: &mut Client,
    collection: &str,
    limit: usize,
) -> Result<Vec<(ChangesetRecord, ChangesetStatus)>, postgres::Error> {
    let rows = client.query(
        "SELECT id, collection, principal, created_at, reverts, summary::text, NULL::text
         FROM atlas_changesets WHERE collection = $1 ORDER BY made DESC LIMIT $2",
        &[&collection, &i64::try_from(limit).unwrap_or(i64::MAX)],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let r = record(&row, false)?;
        let s = status(client, &r.id)?;
        out.push((r, s));
    }
    Ok(out)
}

pub(super) fn changes(client: &mut Client, id: &str) -> Result<Vec<Change>, postgres::Error> {
    let rows = client.query(
        &format!("{SELECT_CHANGES} WHERE changeset = $1 ORDER BY version"),
        &[&id],
    )?;
    rows.iter().map(change).collect()
}
