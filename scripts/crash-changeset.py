#!/usr/bin/env python3
"""Kills the server with SIGKILL while it applies a change set, and checks it was all or nothing.

Every round: start `serve --state DIR` over synthetic carriers, preview a CSV change set that
gives ROWS carriers a value of the round (available floor area, floor area and English name
together), ask for it to be applied, SIGKILL the server at a random instant during the
request, start it again and read every one of those carriers. Then:

- either every row of the set is there (each carrier has the round's values) or none is (each
  has the previous round's);
- an apply that was acknowledged (200) is there;
- the change set's status says the same (`applied` exactly when its rows are there);
- if it was not applied, applying it again after the restart applies all of it.

Standard-library Python; scripts/crash-changeset.sh builds the binary and runs this.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from crash import Server, call, free_port  # noqa: E402

COLLECTION = "spatial-carriers"


def token(binary, state):
    out = subprocess.run([binary, "token", "create", "--state", state, "--name", "crash",
                          "--role", "editor"], check=True, capture_output=True, text=True)
    for word in (out.stdout + out.stderr).split():
        if word.startswith("eta_"):
            return word
    sys.exit("no token in: " + out.stdout + out.stderr)


def csv_for(ids, v):
    lines = ["id,available_floor_area_m2,floor_area_m2,name_en"]
    lines += [f"{fid},{v},{v + 20000},crash {v}" for fid in ids]
    return ("\n".join(lines) + "\n").encode()


def upload(port, tok, body):
    import urllib.request
    req = urllib.request.Request(f"http://127.0.0.1:{port}/collections/{COLLECTION}/changesets",
                                 data=body, method="POST")
    req.add_header("Authorization", f"Bearer {tok}")
    req.add_header("Content-Type", "text/csv")
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())


def values_of(port, tok, ids):
    """The three values of each carrier in `ids`, read page by page (10,000 a page)."""
    wanted, found, offset = set(ids), {}, 0
    while True:
        status, _, page = call(port, "GET", f"/collections/{COLLECTION}/items?limit=10000&offset={offset}", tok)
        if status != 200:
            sys.exit(f"reading the carriers failed: {status} {page}")
        for f in page["features"]:
            if str(f["id"]) in wanted:
                p = f["properties"]
                found[str(f["id"])] = (p.get("available_floor_area_m2"), p.get("floor_area_m2"), p.get("name_en"))
        if len(page["features"]) < 10000:
            return found
        offset += 10000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--carriers", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    work = tempfile.mkdtemp(prefix="crash-changeset-")
    try:
        data, state = os.path.join(work, "data"), os.path.join(work, "state")
        subprocess.run([a.bin, "synth", "--count", str(a.carriers), "--out", data, "--seed", "1"],
                       check=True, capture_output=True)
        with open(os.path.join(data, f"{COLLECTION}.geojson")) as fh:
            seed = json.load(fh)["features"]
        ids = [str(f["id"]) for f in seed[: a.rows]]
        first = {str(f["id"]): (f["properties"].get("available_floor_area_m2"),
                                f["properties"].get("floor_area_m2"),
                                f["properties"].get("name_en")) for f in seed[: a.rows]}
        tok = token(a.bin, state)
        port = free_port()
        os.environ["ETOWN_ATLAS_DATA"] = data
        server = Server(a.bin, state, port)
        previous = first
        outcomes = {"all": 0, "none": 0}
        for rnd in range(1, a.rounds + 1):
            server.start()
            v = 1000 + rnd
            preview = upload(port, tok, csv_for(ids, v))
            if preview["summary"]["changed"] != len(ids) or preview["summary"]["error"]:
                sys.exit(f"round {rnd}: the preview is not {len(ids)} changed rows: {preview['summary']}")
            set_id = preview["id"]
            answer = {}

            def apply():
                answer["status"] = call(port, "POST", f"/collections/{COLLECTION}/changesets/{set_id}/apply", tok)[0]

            t = threading.Thread(target=apply)
            t.start()
            time.sleep(rng.uniform(0.0, 2.5))
            server.kill()
            t.join()
            server.start()
            now = values_of(port, tok, ids)
            target = {fid: (v, v + 20000, f"crash {v}") for fid in ids}
            if now == target:
                state_is = "all"
            elif now == previous:
                state_is = "none"
            else:
                mixed = sum(1 for fid in ids if now.get(fid) == target[fid])
                sys.exit(f"round {rnd}: {mixed} of {len(ids)} rows applied: a change set was half-applied")
            if answer.get("status") == 200 and state_is != "all":
                sys.exit(f"round {rnd}: the apply was acknowledged but its rows are not there")
            _, _, shown = call(port, "GET", f"/collections/{COLLECTION}/changesets/{set_id}", tok)
            if (shown["status"] == "applied") != (state_is == "all"):
                sys.exit(f"round {rnd}: the set says {shown['status']} but {state_is} of its rows are there")
            outcomes[state_is] += 1
            if state_is == "none":
                status = call(port, "POST", f"/collections/{COLLECTION}/changesets/{set_id}/apply", tok)[0]
                if status != 200 or values_of(port, tok, ids) != target:
                    sys.exit(f"round {rnd}: applying again after the restart failed ({status})")
            previous = target
            server.kill()
            print(f"round {rnd}: killed with the set {'applied' if state_is == 'all' else 'not applied'} "
                  f"(answer {answer.get('status', 'none')})", flush=True)
        print(f"ok: {a.rounds} rounds of {len(ids)} rows: {outcomes['all']} applied whole before the kill, "
              f"{outcomes['none']} not at all (then applied whole on retry); never part of one")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
