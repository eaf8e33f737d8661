#!/usr/bin/env python3
"""Times change sets at scale: a ROWS-row workbook against CARRIERS synthetic carriers.

Starts `serve --state` (release build) over `synth --count CARRIERS`, writes a workbook of ROWS
carriers with a new available floor area each (openpyxl, keys in the first row), then times,
each REPEAT times on fresh values: the preview (POST …/changesets, upload to answer), an apply
(POST …/apply) with nothing else running, and a second apply while READERS threads read
10-feature pages, with how many they read per second during it against the same readers on an
idle server just before; and the same preview and apply by a scoped token (a park operator's:
a `where` filter every row passes and one editable property, issue 29), so the cost of
checking every row against its rights is read side by side. Prints one line per run and the
medians; BENCHMARKS.md records them.
"""
import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from crash import Server, free_port, synth_with_editor  # noqa: E402

import openpyxl  # noqa: E402

COLLECTION = "spatial-carriers"


def post(port, path, tok, body=b"", ct=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST")
    req.add_header("Authorization", f"Bearer {tok}")
    if ct:
        req.add_header("Content-Type", ct)
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=600) as r:
        out = json.loads(r.read())
    return time.perf_counter() - t, out


def readers(port, n, stop, counts):
    def run(i):
        url = f"http://127.0.0.1:{port}/collections/{COLLECTION}/items?limit=10&offset={i * 1000}"
        while not stop.is_set():
            with urllib.request.urlopen(url, timeout=60) as r:
                r.read()
            counts[i] += 1
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    return threads


def rate(port, n, seconds):
    stop, counts = threading.Event(), [0] * n
    threads = readers(port, n, stop, counts)
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    return sum(counts) / seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--carriers", type=int, default=1_000_000)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--readers", type=int, default=4)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="changeset-bench-")
    server = None
    try:
        data, state, tok = synth_with_editor(a.bin, work, a.carriers)
        out = subprocess.run([a.bin, "token", "create", "--state", state, "--name", "park-bench", "--role", "editor",
                              "--collections", COLLECTION, "--where", "available_floor_area_m2 >= 0",
                              "--fields", "available_floor_area_m2"], check=True, capture_output=True, text=True)
        scoped_tok = next(w for w in (out.stdout + out.stderr).split() if w.startswith("eta_"))
        ids = []
        with open(os.path.join(data, f"{COLLECTION}.geojson")) as fh:
            for f in json.load(fh)["features"][: a.rows]:
                ids.append(f["id"])
        os.environ["ETOWN_ATLAS_DATA"] = data
        port = free_port()
        server = Server(a.bin, state, port)
        server.start()
        xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        previews, applies, ratios = [], [], []
        idles, scoped_previews, scoped_applies = [], [], []

        def preview(values, tok=tok):
            wb = openpyxl.Workbook()
            ws = wb.active
            ws.append(["id", "available_floor_area_m2"])
            for fid, v in zip(ids, values):
                ws.append([fid, v])
            buf = io.BytesIO()
            wb.save(buf)
            body = buf.getvalue()
            t, doc = post(port, f"/collections/{COLLECTION}/changesets", tok, body, xlsx)
            if doc["summary"]["changed"] != len(ids):
                sys.exit(f"the preview is not {len(ids)} changed rows: {doc['summary']}")
            return t, doc, len(body)

        def apply(doc, tok=tok):
            t, applied = post(port, f"/collections/{COLLECTION}/changesets/{doc['id']}/apply", tok)
            if applied["applied"]["changes"] != len(ids):
                sys.exit(f"applied {applied['applied']}")
            return t

        for run in range(a.repeat):
            # Fresh values every time, so every row is a change: one apply alone, one under reads.
            base = 7_000_000 + run * 200_000
            _, alone, _ = preview([base + i for i in range(len(ids))])
            t_idle = apply(alone)
            t_preview, doc, size = preview([base + 100_000 + i for i in range(len(ids))])
            idle = rate(port, a.readers, 3.0)
            stop, counts = threading.Event(), [0] * a.readers
            threads = readers(port, a.readers, stop, counts)
            time.sleep(0.2)
            before = sum(counts)
            t_apply = apply(doc)
            during = (sum(counts) - before) / t_apply
            stop.set()
            for t in threads:
                t.join()
            t_scoped_preview, scoped, _ = preview([base + 150_000 + i for i in range(len(ids))], scoped_tok)
            t_scoped_apply = apply(scoped, scoped_tok)
            scoped_previews.append(t_scoped_preview)
            scoped_applies.append(t_scoped_apply)
            previews.append(t_preview)
            idles.append(t_idle)
            applies.append(t_apply)
            ratios.append(during / idle)
            print(f"run {run + 1}: {size / 1e6:.2f} MB workbook; preview {t_preview:.2f} s, apply {t_idle:.2f} s alone, "
                  f"{t_apply:.2f} s under reads; reads {idle:.0f}/s idle, {during:.0f}/s during the apply "
                  f"({during / idle:.0%}); scoped token: preview {t_scoped_preview:.2f} s, apply {t_scoped_apply:.2f} s",
                  flush=True)
        print(f"median of {a.repeat}: preview {statistics.median(previews):.2f} s, apply {statistics.median(idles):.2f} s "
              f"alone and {statistics.median(applies):.2f} s under reads, "
              f"reads during an apply {statistics.median(ratios):.0%} of idle; by a scoped token preview "
              f"{statistics.median(scoped_previews):.2f} s, apply {statistics.median(scoped_applies):.2f} s "
              f"({a.rows:,} rows, {a.carriers:,} carriers)")
    finally:
        if server and server.proc:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
