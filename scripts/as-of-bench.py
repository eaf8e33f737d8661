#!/usr/bin/env python3
"""Times `asOf` at scale: a page of CARRIERS synthetic carriers as it was, after EDITS edits.

Starts `serve --state` (release build) over `synth --count CARRIERS`, makes EDITS edits as
MOMENTS change sets (XLSX workbooks of distinct carriers, a new available floor area each),
notes a moment before each set and one after the last, then times a 100-feature page `asOf`
each moment as a date slider asks for them: first the oldest (every edit undone: the cold
case), then each later one in turn (each rebuilt from its neighbour), then the same moments
again newest first with another page (the versions kept, or rebuilt from the nearest kept
one), and one `/stats` and one tile `asOf` the oldest moment. Each request is a distinct URL,
so the response cache never answers. Prints each time and the server's resident memory before
and after; BENCHMARKS.md records them.
"""
import argparse
import io
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(__file__))
from crash import Server, free_port, synth_with_editor  # noqa: E402

import openpyxl  # noqa: E402

COLLECTION = "spatial-carriers"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def post(port, path, tok, body=b"", ct=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST")
    req.add_header("Authorization", f"Bearer {tok}")
    if ct:
        req.add_header("Content-Type", ct)
    with urllib.request.urlopen(req, timeout=600) as r:
        import json
        return json.loads(r.read())


def timed_get(port, path):
    t = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=600) as r:
        r.read()
        status = r.status
    if status not in (200, 204):
        sys.exit(f"{path}: {status}")
    return time.perf_counter() - t


def now():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--carriers", type=int, default=1_000_000)
    ap.add_argument("--edits", type=int, default=10_000)
    ap.add_argument("--moments", type=int, default=10)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="as-of-bench-")
    server = None
    try:
        data, state, tok = synth_with_editor(a.bin, work, a.carriers)
        os.environ["ETOWN_ATLAS_DATA"] = data
        port = free_port()
        server = Server(a.bin, state, port)
        server.start()
        rng = random.Random(30)
        ids = rng.sample(range(1, a.carriers + 1), a.edits)
        per = a.edits // a.moments
        moments = []
        t0 = time.perf_counter()
        for m in range(a.moments):
            moments.append(now())
            time.sleep(0.01)
            wb = openpyxl.Workbook()
            ws = wb.active
            ws.append(["id", "available_floor_area_m2"])
            for fid in ids[m * per:(m + 1) * per]:
                ws.append([fid, rng.randrange(0, 20_000)])
            buf = io.BytesIO()
            wb.save(buf)
            doc = post(port, f"/collections/{COLLECTION}/changesets", tok, buf.getvalue(), XLSX)
            post(port, f"/collections/{COLLECTION}/changesets/{doc['id']}/apply", tok)
            time.sleep(0.01)
        moments.append(now())
        print(f"{a.edits:,} edits in {a.moments} change sets over {a.carriers:,} carriers: "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
        before = rss_mb(server.proc.pid)

        def page(at, offset):
            q = urllib.parse.urlencode({"limit": 100, "offset": offset, "asOf": at})
            return timed_get(port, f"/collections/{COLLECTION}/items?{q}")

        cold = page(moments[0], 0)
        forward = [page(at, 0) for at in moments[1:-1]]
        backward = [page(at, 100) for at in reversed(moments[:-1])]
        stats = timed_get(port, f"/collections/{COLLECTION}/stats?group-by=industry&asOf="
                          + urllib.parse.quote(moments[0]))
        tile = timed_get(port, f"/collections/{COLLECTION}/tiles/WebMercatorQuad/12/1552/3102?asOf="
                         + urllib.parse.quote(moments[0]))
        present = timed_get(port, f"/collections/{COLLECTION}/items?limit=100&offset=200")
        after = rss_mb(server.proc.pid)
        ms = lambda xs: ", ".join(f"{x * 1000:.0f}" for x in xs)  # noqa: E731
        print(f"page asOf the oldest moment (all {a.edits:,} edits undone, cold): {cold * 1000:.0f} ms")
        print(f"then each later moment ({per:,} changes from its neighbour): {ms(forward)} ms "
              f"(median {statistics.median(forward) * 1000:.0f})")
        print(f"the same moments again, newest first: {ms(backward)} ms "
              f"(median {statistics.median(backward) * 1000:.0f})")
        print(f"/stats group-by industry asOf the oldest: {stats * 1000:.0f} ms; a z12 tile: {tile * 1000:.0f} ms; "
              f"a present page: {present * 1000:.0f} ms")
        print(f"resident memory {before:.0f} MB before, {after:.0f} MB with the past versions kept")
    finally:
        if server and server.proc:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
