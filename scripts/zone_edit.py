#!/usr/bin/env python3
"""A surveyed park outline over many carriers: the edit must not freeze the others, nor the restart.

Issue 25, item 1: editing a zone re-zones the carriers around it, and every start used to repeat
that for every carrier with a full DE-9IM relate per candidate (minutes for a 1,000-vertex park).
This script, on N synthetic carriers with a state store:

1. replaces the outline of the park `biomedicine-park` with a VERTICES-vertex circle over the
   densest part of the carriers;
2. while that edit runs, another editor PATCHes a carrier far away: its answer must come within
   PATCH_S seconds;
3. checks the re-zoning against an independent computation: a carrier whose every vertex lies
   inside the circle (by a margin) must list the park in `zones`, one with a vertex outside
   must not;
4. stops the server (SIGTERM) and starts it again on the same state: it must answer /health
   within RESTART_S seconds, with the same zones.

Standard-library Python; scripts/zone-edit.sh builds the binary and runs this. Loopback only.
"""

import argparse
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

PARK = "biomedicine-park"
CARRIERS = "spatial-carriers"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port, method, path, token=None, body=None, headers=None, timeout=600):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, r.headers, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, e.headers, (json.loads(raw) if raw else None)


class Server:
    def __init__(self, binary, data, state, log):
        self.binary, self.data, self.state, self.log = binary, data, state, log
        self.port, self.proc = free_port(), None

    def start(self):
        """Starts the server; the seconds until /health answers 200."""
        started = time.monotonic()
        out = open(self.log, "ab")
        self.proc = subprocess.Popen([self.binary, "serve", "--data", self.data, "--state", self.state,
                                      "--listen", f"127.0.0.1:{self.port}"], stdout=out, stderr=out)
        while time.monotonic() - started < 900:
            if self.proc.poll() is not None:
                sys.exit(f"the server exited with {self.proc.returncode} at start (see {self.log})")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as r:
                    if r.status == 200:
                        return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.05)
        sys.exit("the server did not answer /health in 900 s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)


def carriers(path):
    with open(path) as f:
        return json.load(f)["features"]


def vertices(geometry):
    def walk(c):
        if isinstance(c[0], (int, float)):
            yield c
        else:
            for x in c:
                yield from walk(x)
    return list(walk(geometry["coordinates"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--vertices", type=int, default=10_000)
    ap.add_argument("--patch-s", type=float, default=2.0)
    ap.add_argument("--restart-s", type=float, default=10.0)
    a = ap.parse_args()

    data = os.path.join("target", f"synth-{a.count}")
    if not os.path.exists(os.path.join(data, f"{CARRIERS}.geojson")):
        subprocess.run([a.bin, "synth", "--count", str(a.count), "--out", data], check=True,
                       stderr=subprocess.DEVNULL)
    seed = carriers(os.path.join(data, f"{CARRIERS}.geojson"))
    # The circle goes where the carriers are densest: the median of their first vertices.
    firsts = sorted(vertices(f["geometry"])[0] for f in seed)
    lon = sorted(v[0] for v in firsts)[len(firsts) // 2]
    lat = sorted(v[1] for v in firsts)[len(firsts) // 2]
    r = 0.06  # degrees of latitude: about 6.7 km
    kx = 1 / math.cos(math.radians(lat))
    ring = [[lon + kx * r * math.cos(2 * math.pi * i / a.vertices), lat + r * math.sin(2 * math.pi * i / a.vertices)]
            for i in range(a.vertices)]
    ring.append(ring[0])
    # The polygon's edges cut inside the circle by at most r(1 - cos(π/n)); a margin of that
    # plus a little tells inside from outside without ambiguity.
    margin = r * (1 - math.cos(math.pi / a.vertices)) + 1e-9

    def rel(v):
        return math.hypot((v[0] - lon) / kx, v[1] - lat)

    inside, outside = set(), set()
    for f in seed:
        d = [rel(v) for v in vertices(f["geometry"])]
        if max(d) < r - margin:
            inside.add(str(f["id"]))
        elif max(d) > r + margin:
            outside.add(str(f["id"]))
    far = next(str(f["id"]) for f in seed if min(rel(v) for v in vertices(f["geometry"])) > 3 * r)

    work = tempfile.mkdtemp(prefix="etown-zone-edit-")
    state = os.path.join(work, "state")
    token = lambda name: subprocess.run(
        [a.bin, "token", "create", "--state", state, "--name", name, "--role", "editor"],
        check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    surveyor, officer = token("surveyor"), token("officer")
    server = Server(a.bin, data, state, os.path.join(work, "server.log"))
    failures = []
    try:
        first_start = server.start()
        status, headers, _ = call(server.port, "GET", f"/collections/parks/items/{PARK}")
        etag = headers["ETag"]
        body = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}}
        result = {}

        def edit_park():
            t = time.monotonic()
            result["park"] = call(server.port, "PATCH", f"/collections/parks/items/{PARK}", surveyor, body,
                                  {"Content-Type": "application/merge-patch+json", "If-Match": etag})[0]
            result["park_s"] = time.monotonic() - t

        _, h, _ = call(server.port, "GET", f"/collections/{CARRIERS}/items/{far}")
        park = threading.Thread(target=edit_park)
        park.start()
        time.sleep(0.05)  # the park's body is on its way: the PATCH queues behind or beside it
        t = time.monotonic()
        status, _, _ = call(server.port, "PATCH", f"/collections/{CARRIERS}/items/{far}", officer,
                            {"properties": {"available_floor_area_m2": 1234}},
                            {"Content-Type": "application/merge-patch+json", "If-Match": h["ETag"]})
        patch_s = time.monotonic() - t
        park.join()
        print(f"park edit ({a.vertices} vertices over {a.count} carriers): {result['park']} in {result['park_s']:.2f} s")
        print(f"another editor's PATCH meanwhile: {status} in {patch_s:.2f} s (bound {a.patch_s} s)")
        if result["park"] != 200 or status != 200 or patch_s > a.patch_s:
            failures.append("the PATCH beside the park edit")

        def zoned():
            ids, path = set(), (f"/collections/{CARRIERS}/items?limit=10000&properties=zones&filter="
                                + urllib.parse.quote(f"A_CONTAINS(zones, ('{PARK}'))"))
            while path:
                status, _, page = call(server.port, "GET", path)
                if status != 200:
                    sys.exit(f"reading zones: {status}")
                ids |= {str(f["id"]) for f in page["features"]}
                nxt = [l["href"] for l in page.get("links", []) if l["rel"] == "next"]
                path = nxt[0].split(f":{server.port}", 1)[1] if nxt else None
            return ids

        def check(label, ids):
            missing, wrong = inside - ids, ids & outside
            print(f"{label}: {len(ids)} carriers in the park; {len(inside)} wholly inside the circle and "
                  f"{len(outside)} reaching outside by the independent test; {len(missing)} missing, {len(wrong)} wrong")
            if missing or wrong or not inside:
                failures.append(label)

        before = zoned()
        check("after the edit", before)
        server.stop()
        restart_s = server.start()
        print(f"restart: /health in {restart_s:.2f} s (first start {first_start:.2f} s; bound {a.restart_s} s)")
        if restart_s > a.restart_s:
            failures.append("the restart")
        after = zoned()
        check("after the restart", after)
        if after != before:
            failures.append("zones differ across the restart")
    finally:
        server.stop()
    if failures:
        print(f"FAILED: {', '.join(failures)}; the server log is in {work}", file=sys.stderr)
        sys.exit(1)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
