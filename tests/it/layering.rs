//! Dependencies point one way. Each module of `src/` may use only the modules below it; a
//! lower module that reaches up (the store importing the HTTP layer, say) fails this test,
//! which names the file and the import.
//!
//! ```text
//! main.rs ─► http ─► {changeset, store, export, tiles, encode, query, ingest, index, config, oidc, model, basemap}
//!            changeset ─► {store, record, export, encode, ingest, index, model}
//!            store ─► {record, ingest, query, index, model}     export ─► {encode, query, ingest, index, model}
//!            sqlite, postgis (the backends) ─► {record, store, ingest, index, model}
//!            record (the system of record's nouns and seam) ─► {index, model}
//!            tiles ─► {query, index, model}
//!            encode, query, ingest ─► {index, model}    index ─► model
//!            config ─► {oidc, notify, model}    oidc (single sign-on) ─► {record, model}
//!            notify (webhooks) ─► {store, record, model}
//! ```
//!
//! Only `http` (and `main.rs`) may use axum, tower, hyper or tokio: everything below it is
//! synchronous and knows nothing of HTTP.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each module and the modules it may use.
fn allowed() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let rules: &[(&str, &[&str])] = &[
        ("model", &[]),
        ("basemap", &[]),
        ("synth", &["ingest"]),
        ("config", &["oidc", "notify", "model"]),
        ("notify", &["store", "record", "model"]),
        ("oidc", &["record", "model"]),
        ("index", &["model"]),
        ("ingest", &["index", "model"]),
        ("query", &["index", "model"]),
        ("encode", &["index", "model"]),
        ("export", &["encode", "query", "ingest", "index", "model"]),
        ("record", &["index", "model"]),
        (
            "store",
            &["record", "encode", "ingest", "query", "index", "model"],
        ),
        (
            "changeset",
            &[
                "store", "record", "export", "encode", "ingest", "index", "model",
            ],
        ),
        ("tiles", &["query", "index", "model"]),
        ("sqlite", &["record", "store", "index", "model"]),
        ("postgis", &["record", "store", "ingest", "index", "model"]),
        (
            "http",
            &[
                "changeset",
                "store",
                "record",
                "export",
                "tiles",
                "encode",
                "query",
                "ingest",
                "index",
                "config",
                "oidc",
                "model",
                "basemap",
            ],
        ),
    ];
    rules
        .iter()
        .map(|(m, deps)| (*m, deps.iter().copied().collect()))
        .collect()
}

/// Crates that belong to the HTTP layer only.
const SERVER_CRATES: &[&str] = &[
    "axum",
    "tower",
    "tower_http",
    "hyper",
    "hyper_util",
    "tokio",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`src/query/filter/eval.rs` → `query`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_owned())
}

/// Every `crate::name` a file mentions, and every use of a server crate, outside comments.
fn references(text: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut modules = BTreeSet::new();
    let mut crates = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let name: String = rest[at + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            modules.insert(name);
            rest = &rest[at + 7..];
        }
        for c in SERVER_CRATES {
            // `tokio::` as a path's first segment, not the tail of `foo_tokio::` or `x::tokio::`.
            let starts_a_path = code.match_indices(&format!("{c}::")).any(|(i, _)| {
                i == 0 || {
                    let before = code.as_bytes()[i - 1];
                    !(before.is_ascii_alphanumeric() || before == b'_' || before == b':')
                }
            });
            if starts_a_path {
                crates.insert((*c).to_owned());
            }
        }
    }
    (modules, crates)
}

/// The violations in `src`: (file, what it uses that it may not).
fn violations(src: &Path) -> Vec<(String, String)> {
    let rules = allowed();
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut found = Vec::new();
    for file in files {
        let Some(module) = module_of(src, &file) else {
            continue;
        };
        // The binary: its entry point and its commands use anything.
        if module == "main" || module == "lib" || module == "commands" {
            continue;
        }
        let deps = rules
            .get(module.as_str())
            .unwrap_or_else(|| panic!("{module} has no layering rule: add it to allowed()"));
        let text = std::fs::read_to_string(&file).unwrap();
        let (modules, crates) = references(&text);
        let name = file.strip_prefix(src).unwrap().display().to_string();
        for m in modules {
            if m != module && !deps.contains(m.as_str()) {
                found.push((name.clone(), format!("crate::{m}")));
            }
        }
        if module != "http" {
            for c in crates {
                found.push((name.clone(), c));
            }
        }
    }
    found
}

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn dependencies_point_one_way() {
    let found = violations(&src());
    assert!(
        found.is_empty(),
        "modules that reach above their layer:\n{}",
        found
            .iter()
            .map(|(f, what)| format!("  src/{f} uses {what}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The backends are siblings behind `record`: the store, HTTP and each other see neither of
/// them; only the binary picks one.
#[test]
fn only_the_binary_knows_the_backends() {
    let rules = allowed();
    for backend in ["sqlite", "postgis"] {
        for (module, deps) in &rules {
            assert!(
                !deps.contains(backend),
                "{module} may use the {backend} backend: only main.rs and commands/ pick one"
            );
        }
    }
    let copy = tempfile::tempdir().unwrap();
    let dst = copy.path().join("src");
    copy_dir(&src(), &dst);
    for (file, import) in [
        ("http/error.rs", "crate::sqlite"),
        ("postgis/ledger.rs", "crate::sqlite"),
        ("store/mod.rs", "crate::postgis"),
    ] {
        let path = dst.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("use {import}::Anything;\n{text}")).unwrap();
    }
    let found = violations(&dst);
    for (file, import) in [
        ("http/error.rs", "crate::sqlite"),
        ("postgis/ledger.rs", "crate::sqlite"),
        ("store/mod.rs", "crate::postgis"),
    ] {
        assert!(
            found.contains(&(file.to_owned(), import.to_owned())),
            "{file} importing {import} was not caught: {found:?}"
        );
    }
}

/// The check itself catches an upward import: a copy of `src/` with the store importing the
/// HTTP layer, and the index using tokio, fails it.
#[test]
fn an_upward_import_is_caught() {
    let copy = tempfile::tempdir().unwrap();
    let dst = copy.path().join("src");
    copy_dir(&src(), &dst);
    let store = dst.join("store/mod.rs");
    let text = std::fs::read_to_string(&store).unwrap();
    std::fs::write(&store, format!("use crate::http::AppState;\n{text}")).unwrap();
    let index = dst.join("index/mod.rs");
    let text = std::fs::read_to_string(&index).unwrap();
    std::fs::write(
        &index,
        format!("{text}\nfn _sleep() {{ let _ = tokio::time::sleep; }}\n"),
    )
    .unwrap();
    let found = violations(&dst);
    assert!(
        found.contains(&("store/mod.rs".to_owned(), "crate::http".to_owned())),
        "{found:?}"
    );
    assert!(
        found.contains(&("index/mod.rs".to_owned(), "tokio".to_owned())),
        "{found:?}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}
