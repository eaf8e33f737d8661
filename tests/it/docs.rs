//! The docs a newcomer reads stay findable and true to the program: the README stays short and
//! opens with the two commands, every link between the documents reaches a file (and a heading,
//! where it names one), and the settings table is the one `tools/config_table.py` writes from
//! the program's own definitions.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The documents: the README, BENCHMARKS.md and every page of `docs/`.
fn documents() -> Vec<PathBuf> {
    let mut out = vec![root().join("README.md"), root().join("BENCHMARKS.md")];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
    out
}

/// A heading's anchor as GitHub makes it: lower case, spaces to `-`, punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown file's headings (outside code blocks).
fn anchors(text: &str) -> BTreeSet<String> {
    let mut fenced = false;
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            out.insert(anchor(line.trim_start_matches('#')));
        }
    }
    out
}

/// Every `](target)` link of a Markdown text outside code blocks and inline code.
fn links(text: &str) -> Vec<String> {
    let mut fenced = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // Inline code is not a link: keep only the text between code spans.
        let prose: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            let tail = &rest[at + 2..];
            let Some(end) = tail.find(')') else { break };
            out.push(tail[..end].to_owned());
            rest = &tail[end..];
        }
    }
    out
}

#[test]
fn the_readme_is_short_and_opens_with_the_two_commands() {
    let text = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.len() <= 150,
        "the README has {} lines; move detail into docs/",
        lines.len()
    );
    let first_screen = lines[..lines.len().min(40)].join("\n");
    for command in ["cargo run --release", "scripts/test.sh"] {
        assert!(
            first_screen.contains(command),
            "the first screen lacks `{command}`"
        );
    }
}

#[test]
fn every_link_between_the_documents_arrives() {
    let mut broken = Vec::new();
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        let dir = doc.parent().unwrap();
        for link in links(&text) {
            if link.starts_with("http://")
                || link.starts_with("https://")
                || link.starts_with("mailto:")
            {
                continue;
            }
            let (file, fragment) = match link.split_once('#') {
                Some((f, a)) => (f, Some(a)),
                None => (link.as_str(), None),
            };
            let target: PathBuf = if file.is_empty() {
                doc.clone()
            } else {
                dir.join(file)
            };
            if !target.exists() {
                broken.push(format!("{}: {link} (no such file)", name(&doc)));
                continue;
            }
            if let (Some(a), true) = (fragment, target.extension().is_some_and(|e| e == "md")) {
                let headings = anchors(&std::fs::read_to_string(&target).unwrap());
                if !headings.contains(a) {
                    broken.push(format!("{}: {link} (no such heading)", name(&doc)));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

fn name(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

/// The check itself finds a broken link and a missing heading.
#[test]
fn a_broken_link_is_found() {
    let text = "see [x](nowhere.md) and [y](#a-heading) but not `[z](code)`\n# A heading\n```\n[w](in-code.md)\n```";
    assert_eq!(links(text), vec!["nowhere.md", "#a-heading"]);
    assert!(anchors(text).contains("a-heading"));
    assert_eq!(
        anchor(" Matching a company's needs"),
        "matching-a-companys-needs"
    );
}

/// Every setting of the file is in the table of docs/configuration.md, as the generator writes
/// it from `src/config.rs` (its `--check` fails on any difference).
#[test]
fn the_settings_table_is_current() {
    let out = std::process::Command::new("python3")
        .arg(root().join("tools/config_table.py"))
        .arg("--check")
        .output()
        .expect("python3 runs the table generator");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = std::fs::read_to_string(root().join("docs/configuration.md")).unwrap();
    for key in [
        "request_timeout_s",
        "max_connections_per_address",
        "map.basemaps[].mbtiles",
    ] {
        assert!(
            table.contains(&format!("`{key}`")),
            "{key} is not in the table"
        );
    }
}
