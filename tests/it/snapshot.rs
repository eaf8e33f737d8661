//! The binary snapshot of the ingested layers: used only for exactly the files it was made
//! from, and giving then the same layers as ingesting them; refused (and the GeoJSON ingested
//! instead, and a new snapshot written) when it was made from other files, or is truncated or
//! corrupt.

use std::path::Path;

use etown_atlas::index::Catalog;
use etown_atlas::ingest::{self, LoadOptions, SnapshotUse, SourceFile};

use crate::common::{geodata_dir, served};

fn load(files: &[SourceFile], snapshot: &Path) -> (Catalog, SnapshotUse) {
    ingest::load_with_snapshot(
        files.to_vec(),
        "test",
        LoadOptions::default(),
        Some(snapshot),
    )
    .expect("the files load")
}

fn shipped_files() -> Vec<SourceFile> {
    ingest::read_dir(&geodata_dir()).expect("the shipped geodata")
}

fn refused(used: &SnapshotUse) -> Option<&str> {
    match used {
        SnapshotUse::Written { refused } => refused.as_deref(),
        other => panic!("expected an ingest and a new snapshot, got {other:?}"),
    }
}

#[test]
fn a_snapshot_of_the_same_files_gives_the_same_layers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("layers.snapshot");
    let files = shipped_files();
    let (ingested, first) = load(&files, &path);
    assert!(refused(&first).is_none(), "no snapshot existed: {first:?}");
    assert!(path.exists());
    let (read, second) = load(&files, &path);
    assert!(matches!(second, SnapshotUse::Read), "{second:?}");
    assert_eq!(served(&read), served(&ingested));
    // The indexes are rebuilt from the snapshot: queries see the same features.
    let layer = read.layer("spatial-carriers").unwrap();
    assert_eq!(
        layer
            .slots_in_bbox(&etown_atlas::model::Bbox::new(116.0, 39.0, 117.0, 40.5).unwrap())
            .len(),
        ingested
            .layer("spatial-carriers")
            .unwrap()
            .slots_in_bbox(&etown_atlas::model::Bbox::new(116.0, 39.0, 117.0, 40.5).unwrap())
            .len()
    );
}

#[test]
fn a_snapshot_of_other_files_is_refused_and_the_files_ingested() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("layers.snapshot");
    let files = shipped_files();
    load(&files, &path);
    // The same files but one carrier's available area: a change a size check alone would
    // miss (the number has as many digits).
    let mut changed = files.clone();
    let carriers = changed
        .iter_mut()
        .find(|f| f.name == "spatial-carriers.geojson")
        .unwrap();
    let text = String::from_utf8(carriers.bytes.to_vec()).unwrap();
    let edited = text.replacen(
        "\"available_floor_area_m2\":7300",
        "\"available_floor_area_m2\":7400",
        1,
    );
    assert_ne!(
        edited, text,
        "the shipped carriers hold the value the test changes"
    );
    assert_eq!(edited.len(), text.len());
    carriers.bytes = edited.into_bytes().into();
    let (catalog, used) = load(&changed, &path);
    let reason = refused(&used).expect("the snapshot is refused");
    assert!(reason.contains("other files"), "{reason}");
    let fresh = ingest::load(changed.clone(), "test", LoadOptions::default()).unwrap();
    assert_eq!(served(&catalog), served(&fresh));
    // The new snapshot is of the changed files.
    let (_, again) = load(&changed, &path);
    assert!(matches!(again, SnapshotUse::Read), "{again:?}");
}

#[test]
fn a_truncated_or_corrupt_snapshot_is_refused_and_the_files_ingested() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("layers.snapshot");
    let files = shipped_files();
    let (ingested, _) = load(&files, &path);
    let good = std::fs::read(&path).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated",
            good[..good.len() * 2 / 3].to_vec(),
            "truncated",
        ),
        ("header only", good[..40].to_vec(), "truncated"),
        ("empty", Vec::new(), "not a snapshot"),
        (
            "a flipped byte in the payload",
            {
                let mut b = good.clone();
                let i = b.len() - 1000;
                b[i] ^= 0x55;
                b
            },
            "corrupt",
        ),
        (
            "other magic",
            {
                let mut b = good.clone();
                b[0] = b'X';
                b
            },
            "not a snapshot",
        ),
    ];
    for (what, bytes, expected) in cases {
        std::fs::write(&path, &bytes).unwrap();
        let (catalog, used) = load(&files, &path);
        let reason = refused(&used).unwrap_or_else(|| panic!("{what}: not refused"));
        assert!(reason.contains(expected), "{what}: {reason}");
        assert_eq!(served(&catalog), served(&ingested), "{what}");
        // The refused snapshot was replaced by a good one.
        assert_eq!(std::fs::read(&path).unwrap(), good, "{what}");
    }
}

#[test]
fn options_are_part_of_the_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("layers.snapshot");
    let files = shipped_files();
    load(&files, &path);
    let (_, used) = ingest::load_with_snapshot(
        files,
        "test",
        LoadOptions {
            accept_invalid_geometry: true,
        },
        Some(&path),
    )
    .unwrap();
    assert!(refused(&used).is_some(), "{used:?}");
}
