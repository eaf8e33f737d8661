//! `etown-atlas changeset preview|apply`: a collection updated from a file, for scripts, with
//! the same reading, comparison and all-or-nothing apply as the API's change sets.

use std::process::ExitCode;
use std::sync::Arc;

use etown_atlas::changeset::{self, Source};
use etown_atlas::record::ChangesetRecord;
use etown_atlas::store::{FeatureStore, SetError};

use super::args::{ChangesetArgs, ChangesetCommand};
use super::data::{fingerprints, load_files, seed_files};

fn open(args: &ChangesetArgs) -> Result<Arc<dyn FeatureStore>, String> {
    if let Some(address) = &args.store {
        let settings = etown_atlas::postgis::Settings::default();
        return super::serve::open_pg_store(address, &settings, &[], std::time::Instant::now());
    }
    let state = args.state.as_ref().ok_or("--state or --store is needed")?;
    let files = seed_files(args.data.as_ref()).map_err(|e| e.to_string())?;
    let seeds = fingerprints(&files);
    let catalog =
        load_files(args.data.as_ref(), files, args.load.options()).map_err(|e| e.to_string())?;
    let (store, _) =
        etown_atlas::sqlite::open_store(catalog, state, &seeds).map_err(|e| e.to_string())?;
    Ok(Arc::new(store))
}

/// Runs the command; the preview (JSON) or the applied set's id is its standard output.
#[allow(clippy::print_stdout)]
pub(crate) fn run(command: ChangesetCommand) -> Result<ExitCode, String> {
    let (args, apply) = match command {
        ChangesetCommand::Preview(a) => (a, false),
        ChangesetCommand::Apply(a) => (a, true),
    };
    let name = args.file.display().to_string();
    let source = Source::from_file_name(&name)
        .ok_or_else(|| format!("{name}: a change set is read from .xlsx, .csv or .geojson"))?;
    let bytes = std::fs::read(&args.file).map_err(|e| format!("{name}: {e}"))?;
    let store = open(&args)?;
    let editor = store.editor().ok_or("the store keeps no edits")?;
    let snapshot = store.snapshot();
    let layer = snapshot
        .layer(&args.collection)
        .ok_or_else(|| format!("there is no collection {:?}", args.collection))?;
    if !layer.meta.editable {
        return Err(format!(
            "collection {:?} is read-only (its sidecar does not say \"editable\")",
            args.collection
        ));
    }
    let upload = changeset::read_upload(source, &bytes, layer).map_err(|e| {
        let r = e.reason();
        format!("{name}: {} / {}", r.en, r.zh)
    })?;
    let preview = changeset::preview(
        layer,
        |v| snapshot.vocabulary(v),
        &upload,
        args.delete_missing,
    );
    let document = serde_json::to_value(&preview).map_err(|e| e.to_string())?;
    if !apply {
        println!(
            "{}",
            serde_json::to_string_pretty(&document).map_err(|e| e.to_string())?
        );
        return Ok(if preview.applicable() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    if !preview.applicable() {
        for p in &preview.problems {
            eprintln!("{name}: {} / {}", p.en, p.zh);
        }
        for row in preview.rows.iter().filter(|r| r.outcome == "error") {
            for e in &row.errors {
                eprintln!(
                    "{name}: row {}, {}: {} / {}",
                    row.row,
                    e.column.as_deref().or(e.property.as_deref()).unwrap_or("-"),
                    e.reason.en,
                    e.reason.zh
                );
            }
        }
        return Err(format!(
            "{} row(s) and {} column(s) in error; nothing was applied",
            preview.summary.error,
            preview.problems.len()
        ));
    }
    let principal = args.principal.clone().unwrap_or_else(|| {
        format!(
            "cli:{}",
            std::env::var("USER").unwrap_or_else(|_| "unknown".into())
        )
    });
    let id = etown_atlas::record::changesets::new_id().map_err(|e| e.to_string())?;
    let record = ChangesetRecord {
        id: id.clone(),
        collection: args.collection.clone(),
        principal: principal.clone(),
        created_at: etown_atlas::store::now().1,
        reverts: None,
        summary: serde_json::to_value(&preview.summary).map_err(|e| e.to_string())?,
        document: document.clone(),
    };
    editor.save_changeset(record).map_err(|e| e.to_string())?;
    let requests =
        changeset::apply_requests(&document, &principal, &id).map_err(|e| e.to_string())?;
    match editor.apply_set(requests) {
        Ok(edited) => {
            eprintln!(
                "applied change set {id}: {} change(s) to {} ({} changed, {} new, {} deleted), by {principal}",
                edited.len(),
                args.collection,
                preview.summary.changed,
                preview.summary.new,
                preview.summary.delete
            );
            println!("{id}");
            Ok(ExitCode::SUCCESS)
        }
        Err(SetError::Refused(refused)) => {
            for (fid, e) in &refused {
                eprintln!("{fid}: {e}");
            }
            Err(format!(
                "{} feature(s) refused; nothing was applied",
                refused.len()
            ))
        }
        Err(SetError::Store(e)) => Err(format!("{e}")),
        Err(SetError::AlreadyApplied) => Err(format!("change set {id} was applied already")),
    }
}
