#!/usr/bin/env python3
"""Times `GET /search` over CARRIERS synthetic carriers, as the web map's search box sends it.

Starts `serve --state` (release build, response cache off) over `synth --count CARRIERS`, then
times: the first search (which builds the name index), and ROUNDS rounds of five kinds of query
each on a different carrier (an exact English name, a Chinese name's start, a misspelt English
name, a number alone, a person typing an English name one letter at a time: one request per
letter, as the box sends them). Prints per kind the median and worst time and the server's CPU
per query (from /proc), then edits 1,000 carriers' names and times the same again (the edited
names are tested one by one until the next merge). BENCHMARKS.md records the figures.
"""
import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from crash import Server, free_port, synth_with_editor  # noqa: E402

COLLECTION = "spatial-carriers"


def get(port, q, limit=10):
    url = f"http://127.0.0.1:{port}/search?" + urllib.parse.urlencode({"q": q, "limit": limit})
    t = time.perf_counter()
    with urllib.request.urlopen(url, timeout=600) as r:
        body = json.loads(r.read())
    return time.perf_counter() - t, body


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def kinds(n):
    return {
        "exact name (en)": lambda: [f"Synthetic Carrier {n}"],
        "Chinese start": lambda: [f"合成载体 {n // 10}"],
        "misspelt (en)": lambda: [f"Synthetc Carier {n}"],
        "number alone": lambda: [str(n)],
        "typed letter by letter": lambda: [f"Synthetic Carrier {n}"[:k]
                                           for k in range(1, len(f"Synthetic Carrier {n}") + 1)],
    }


def run(port, pid, rng, carriers, rounds, label):
    print(f"-- {label}", flush=True)
    for kind in kinds(0):
        times = []
        cpu0 = cpu_s(pid)
        for _ in range(rounds):
            n = rng.randrange(1, carriers + 1)
            for q in kinds(n)[kind]():
                dt, body = get(port, q)
                if not body["features"]:
                    sys.exit(f"{q!r} found nothing")
                times.append(dt)
        cpu = (cpu_s(pid) - cpu0) / len(times)
        times.sort()
        print(f"{kind:24} {len(times):4} queries  median {statistics.median(times) * 1e3:8.2f} ms  "
              f"worst {times[-1] * 1e3:8.2f} ms  server CPU {cpu * 1e3:7.2f} ms/query", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--carriers", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=20)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="search-bench-")
    server = None
    try:
        data, state, tok = synth_with_editor(a.bin, work, a.carriers)
        config = os.path.join(work, "atlas.toml")
        with open(config, "w") as fh:
            fh.write("response_cache_mb = 0\n")
        os.environ["ETOWN_ATLAS_DATA"] = data
        os.environ["ETOWN_ATLAS_CONFIG"] = config
        port = free_port()
        server = Server(a.bin, state, port)
        server.start()
        pid = server.proc.pid
        dt, body = get(port, "Synthetic Carrier 1")
        print(f"first search (builds the index): {dt * 1e3:.0f} ms, "
              f"{body['numberMatched']:,} matched", flush=True)
        rng = random.Random(34)
        run(port, pid, rng, a.carriers, a.rounds, f"{a.carriers:,} carriers as loaded")
        # 1,000 renames in one change set: stale slots the search tests one by one.
        ids = rng.sample(range(1, a.carriers + 1), 1000)
        items = [{"type": "Feature", "id": fid, "geometry": None,
                  "properties": {"name_en": f"Renamed Carrier {fid}"}} for fid in ids]
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/collections/{COLLECTION}/changesets",
            data=json.dumps({"type": "FeatureCollection", "features": items}).encode(), method="POST")
        req.add_header("Authorization", f"Bearer {tok}")
        req.add_header("Content-Type", "application/geo+json")
        try:
            with urllib.request.urlopen(req, timeout=600) as r:
                doc = json.loads(r.read())
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/collections/{COLLECTION}/changesets/{doc['id']}/apply",
                data=b"", method="POST")
            req.add_header("Authorization", f"Bearer {tok}")
            urllib.request.urlopen(req, timeout=600).read()
            dt, body = get(port, f"Renamed Carrier {ids[0]}")
            assert body["features"][0]["properties"]["name_en"] == f"Renamed Carrier {ids[0]}"
            run(port, pid, rng, a.carriers, a.rounds, "after 1,000 renames")
        except urllib.error.HTTPError as e:
            print(f"(the renames were refused: {e.code} {e.read()[:300]!r})")
    finally:
        if server is not None:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
