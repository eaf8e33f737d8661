//! `etown-atlas token …` and `etown-atlas state export`: managing who may edit, and writing the
//! current state back out as GeoJSON files.

use std::io::Write;
use std::path::{Path, PathBuf};

use etown_atlas::encode::{write_feature, Properties};
use etown_atlas::index::Catalog;
use etown_atlas::model::Crs;
use etown_atlas::record::tokens::{self, TokenBook};
use etown_atlas::record::{NewToken, RecordError, Scope, Scopes};
use etown_atlas::sqlite::Journal;

/// Where tokens are kept.
pub enum Tokens {
    /// The embedded state store of a directory.
    State(PathBuf),
    /// A PostgreSQL store (its address).
    Store(String),
}

/// A connection to the PostgreSQL store, its schema brought up to date.
fn store(address: &str) -> Result<postgres::Client, String> {
    let mut client = etown_atlas::postgis::connect(address).map_err(|e| e.to_string())?;
    etown_atlas::postgis::migrate(&mut client).map_err(|e| e.to_string())?;
    Ok(client)
}

/// Runs `work` on the token book of `place`, whichever backend keeps it.
fn with_book<T>(
    place: &Tokens,
    work: impl FnOnce(&mut dyn TokenBook) -> Result<T, RecordError>,
) -> Result<T, String> {
    match place {
        Tokens::State(dir) => Journal::open(dir).and_then(|mut j| work(&mut j)),
        Tokens::Store(address) => work(&mut etown_atlas::postgis::PgTokens(&mut store(address)?)),
    }
    .map_err(|e| e.to_string())
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Makes a token and prints it (only it, on stdout: the one time it is shown).
#[allow(clippy::print_stdout)]
pub fn create_token(
    place: &Tokens,
    name: &str,
    role: &str,
    collections: Option<Vec<String>>,
    expires: Option<&str>,
    scope: Option<Scope>,
) -> Result<(), String> {
    let expires_at = expires
        .map(|e| tokens::parse_expiry(e).map_err(|e| format!("--expires {e}")))
        .transpose()?;
    let mut scopes = Scopes::new();
    if let Some(scope) = scope {
        let Some(named) = &collections else {
            return Err(
                "--where, --fields and --area limit a token inside the collections \
                 it names: give --collections too"
                    .into(),
            );
        };
        for c in named {
            scopes.insert(c.clone(), scope.clone());
        }
    }
    let new = NewToken {
        name: name.to_owned(),
        role: role.to_owned(),
        collections,
        scopes,
        expires_at,
    };
    let (token, rec) = with_book(place, |book| tokens::create(book, &new, &now()))?;
    eprintln!(
        "token {:?} ({}{}{}) made; it is shown once, below, and stored only as a hash:",
        rec.name,
        rec.role,
        rec.collections
            .map(|c| format!(", for {}", c.join(", ")))
            .unwrap_or_default(),
        rec.expires_at
            .map(|e| format!(", until {e}"))
            .unwrap_or_default()
    );
    for (collection, scope) in &rec.scopes {
        eprintln!(
            "  in {collection}: {}",
            serde_json::to_string(scope).unwrap_or_default()
        );
    }
    println!("{token}");
    Ok(())
}

#[allow(clippy::print_stdout)]
pub fn list_tokens(place: &Tokens) -> Result<(), String> {
    let tokens = with_book(place, |book| book.list())?;
    println!(
        "{:<24} {:<7} {:<28} {:<21} {:<21} revoked",
        "name", "role", "collections", "created", "expires"
    );
    for t in tokens {
        println!(
            "{:<24} {:<7} {:<28} {:<21} {:<21} {}",
            t.name,
            t.role,
            t.collections
                .map_or_else(|| "(all)".to_owned(), |c| c.join(",")),
            t.created_at,
            t.expires_at.unwrap_or_else(|| "never".into()),
            t.revoked_at.unwrap_or_default()
        );
        for (collection, scope) in &t.scopes {
            println!(
                "    in {collection}: {}",
                serde_json::to_string(scope).unwrap_or_default()
            );
        }
    }
    Ok(())
}

pub fn revoke_token(place: &Tokens, name: &str) -> Result<(), String> {
    let revoked = with_book(place, |book| book.revoke(name, &now()))?;
    if revoked {
        eprintln!("token {name:?} revoked: it is refused from the next request on");
        Ok(())
    } else {
        Err(format!("there is no active token named {name:?}"))
    }
}

/// Writes every layer of `catalog` (the seed with the state store's edits) into `out` as a
/// data directory: GeoJSON without the derived properties (the server derives them again), the
/// seed's sidecars with `as_of` set to today for editable layers, and the vocabularies. Written
/// into a temporary directory beside `out`, each file synced, then renamed into place: `out`
/// appears whole or not at all.
pub fn export_state(
    catalog: &Catalog,
    seed_files: &[etown_atlas::ingest::SourceFile],
    out: &Path,
) -> Result<usize, String> {
    if out.exists() {
        return Err(format!("{} exists; name a new directory", out.display()));
    }
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp: PathBuf = parent.join(format!(
        ".{}.partial-{}",
        out.file_name().and_then(|n| n.to_str()).unwrap_or("export"),
        std::process::id()
    ));
    let fail = |e: std::io::Error, p: &Path| format!("{}: {e}", p.display());
    std::fs::create_dir_all(&tmp).map_err(|e| fail(e, &tmp))?;
    let write = |name: &str, bytes: &[u8]| -> Result<(), String> {
        let p = tmp.join(name);
        let mut f = std::fs::File::create(&p).map_err(|e| fail(e, &p))?;
        f.write_all(bytes).map_err(|e| fail(e, &p))?;
        f.sync_all().map_err(|e| fail(e, &p))
    };
    let mut features = 0;
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    for layer in catalog.layers() {
        let own: Vec<usize> = (0..layer.fields.len())
            .filter(|&i| !layer.fields[i].derived)
            .collect();
        let mut buf = Vec::with_capacity(layer.live_count() * 600 + 64);
        buf.extend_from_slice(b"{\"type\":\"FeatureCollection\",\"features\":[\n");
        let mut first = true;
        for slot in layer.live_slots() {
            if !first {
                buf.extend_from_slice(b",\n");
            }
            first = false;
            write_feature(
                &mut buf,
                &layer.ids[slot],
                &layer.geometries[slot],
                Properties::Slot {
                    layer,
                    slot,
                    only: Some(&own),
                },
                Crs::Crs84,
                &[],
            );
            features += 1;
        }
        buf.extend_from_slice(b"\n]}\n");
        write(&format!("{}.geojson", layer.id), &buf)?;
    }
    for f in seed_files {
        if f.name.ends_with(".vocab.json") {
            write(&f.name, &f.bytes)?;
        } else if let Some(stem) = f.name.strip_suffix(".meta.json") {
            let mut meta: serde_json::Value =
                serde_json::from_slice(&f.bytes).map_err(|e| format!("{}: {e}", f.name))?;
            if catalog.layer(stem).is_some_and(|l| l.meta.editable) {
                meta["as_of"] = serde_json::Value::from(today.clone());
            }
            let text = serde_json::to_vec_pretty(&meta).map_err(|e| e.to_string())?;
            write(&f.name, &text)?;
        }
    }
    std::fs::File::open(&tmp)
        .and_then(|d| d.sync_all())
        .map_err(|e| fail(e, &tmp))?;
    std::fs::rename(&tmp, out).map_err(|e| fail(e, out))?;
    std::fs::File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(|e| fail(e, parent))?;
    Ok(features)
}
