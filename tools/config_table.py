#!/usr/bin/env python3
"""Writes the settings table of docs/configuration.md from the doc comments of `FileConfig`
(and the structs it holds) in src/config.rs, so the table and the program cannot drift apart.

    python3 tools/config_table.py           # rewrite the table between the markers
    python3 tools/config_table.py --check   # fail if the committed table is not what it writes
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "config.rs"
# Settings whose structs live beside the code that uses them.
MORE_SOURCES = [ROOT / "src" / "oidc.rs", ROOT / "src" / "notify" / "mod.rs"]
DOC = ROOT / "docs" / "configuration.md"
BEGIN = "<!-- settings table: written by tools/config_table.py -->"
END = "<!-- end of settings table -->"

# The structs whose fields are settings, with the TOML path their fields live under.
STRUCTS = [("FileConfig", ""), ("MapConfig", "map."), ("Contact", "map.contact."),
           ("Basemap", "map.basemaps[]."), ("PostgisTable", "postgis_tables[]."),
           ("StoreFileConfig", "store."), ("AuthFileConfig", "auth."),
           ("OidcConfig", "auth.oidc."), ("RoleGrant", "auth.oidc.roles.NAME."),
           ("NotifyConfig", "notify."), ("WebhookConfig", "notify.webhook[].")]


def fields(text, struct):
    """(name, type, doc) of each `pub` field of `struct`, in order."""
    m = re.search(r"pub struct " + struct + r" \{\n(.*?)\n\}", text, re.S)
    if not m:
        sys.exit(f"{SOURCE}: no struct {struct}")
    out, doc, rename = [], [], None
    for line in m.group(1).split("\n"):
        line = line.strip()
        if line.startswith("///"):
            doc.append(line[3:].strip())
        elif line.startswith("pub "):
            name, ty = line[4:].rstrip(",").split(":", 1)
            out.append((rename or name.strip(), ty.strip(), " ".join(doc)))
            doc, rename = [], None
        elif line.startswith("#["):
            r = re.search(r'rename = "([^"]+)"', line)
            if r:
                rename = r.group(1)
        else:
            doc, rename = [], None
    return out


def table(text):
    rows = ["| setting | type | what (default) |", "| --- | --- | --- |"]
    nested = {s for s, _ in STRUCTS}
    for struct, prefix in STRUCTS:
        for name, ty, doc in fields(text, struct):
            inner = re.sub(r"^(Option|Vec)<(.*)>$", r"\2", ty)
            inner = re.sub(r"^BTreeMap<String, (.*)>$", r"\1", inner).split("::")[-1]
            if inner in nested:
                continue  # its own rows follow
            if not doc:
                sys.exit(f"{SOURCE}: {struct}.{name} has no doc comment; say what it is")
            rows.append(f"| `{prefix}{name}` | `{ty}` | {doc.replace('|', '/')} |")
    return "\n".join(rows)


def main():
    text = "\n".join(p.read_text(encoding="utf-8") for p in [SOURCE, *MORE_SOURCES])
    doc = DOC.read_text(encoding="utf-8")
    if BEGIN not in doc or END not in doc:
        sys.exit(f"{DOC}: the markers of the settings table are missing")
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    written = f"{head}{BEGIN}\n{table(text)}\n{END}{tail}"
    if "--check" in sys.argv:
        if written != doc:
            sys.exit(f"{DOC} is not what tools/config_table.py writes; run it and commit the result")
        return
    DOC.write_text(written, encoding="utf-8")


if __name__ == "__main__":
    main()
