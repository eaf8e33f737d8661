#!/usr/bin/env python3
"""Edit throughput and latency, and what edits cost readers; scripts/edit-bench.sh runs it.

- writers: W threads, each on its own keep-alive connection, PATCH their own carriers with
  If-Match for SECONDS; edits/s, latency p50/p99 (every one acknowledged = on disk);
- reads: wrk on a 0.5 km bbox page, idle and while RATE edits/s arrive (paced, one writer);
- prints one JSON line per case, for BENCHMARKS.md.

Standard-library Python: the client is the limit above a few thousand requests a second, so
the writer figures are lower bounds; the read figures come from wrk.
"""

import argparse
import http.client
import json
import statistics
import subprocess
import threading
import time


def connect(addr):
    host, port = addr.split(":")
    return http.client.HTTPConnection(host, int(port), timeout=60)


def etag_of(conn, fid):
    conn.request("GET", f"/collections/spatial-carriers/items/{fid}", headers={"Accept": "application/geo+json"})
    r = conn.getresponse()
    r.read()
    if r.status != 200:
        raise SystemExit(f"GET {fid}: {r.status}")
    return r.getheader("ETag")


def writer(addr, token, fids, stop, latencies, errors, pace=None):
    conn = connect(addr)
    etags = {fid: etag_of(conn, fid) for fid in fids}
    n = 0
    next_at = time.monotonic()
    while not stop.is_set():
        fid = fids[n % len(fids)]
        n += 1
        if pace:
            next_at += 1.0 / pace
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        body = json.dumps({"properties": {"available_floor_area_m2": 1000 + n}})
        t0 = time.perf_counter()
        conn.request("PATCH", f"/collections/spatial-carriers/items/{fid}", body=body, headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/merge-patch+json",
            "If-Match": etags[fid]})
        r = conn.getresponse()
        r.read()
        latencies.append(time.perf_counter() - t0)
        if r.status != 200:
            errors.append(r.status)
            return
        etags[fid] = r.getheader("ETag")
    conn.close()


def run_writers(addr, token, writers, seconds, first_id, per_writer=8, pace=None):
    stop = threading.Event()
    lat = [[] for _ in range(writers)]
    errors = []
    threads = []
    for w in range(writers):
        fids = [str(first_id + w * per_writer + i) for i in range(per_writer)]
        threads.append(threading.Thread(target=writer, args=(addr, token, fids, stop, lat[w], errors, pace)))
    t0 = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    all_lat = sorted(x for l in lat for x in l)
    if errors:
        raise SystemExit(f"writers got {errors[:5]}")
    q = statistics.quantiles(all_lat, n=100)
    return {"edits": len(all_lat), "edits_per_s": round(len(all_lat) / elapsed, 1),
            "p50_ms": round(q[49] * 1000, 2), "p99_ms": round(q[98] * 1000, 2)}


def wrk(addr, path, seconds, connections=8):
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", f"http://{addr}{path}"],
                         check=True, capture_output=True, text=True).stdout
    rps = float(next(l for l in out.splitlines() if l.startswith("Requests/sec")).split()[1])
    lat = {l.split()[0]: l.split()[1] for l in out.splitlines() if l.strip().startswith(("50%", "99%"))}
    return {"reads_per_s": rps, "p50": lat.get("50%"), "p99": lat.get("99%")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--rate", type=float, default=50)
    a = ap.parse_args()
    for w in (1, 16):
        print(json.dumps(dict(case=f"PATCH, {w} writer(s)", **run_writers(a.addr, a.token, w, a.seconds, 1 + 1000 * w))), flush=True)
    bbox = "/collections/spatial-carriers/items?bbox=116.50,39.78,116.506,39.7845&limit=100"
    print(json.dumps(dict(case="bbox page, idle", **wrk(a.addr, bbox, a.seconds))), flush=True)
    stop = threading.Event()
    lat, errors = [], []
    t = threading.Thread(target=writer, args=(a.addr, a.token, [str(500000 + i) for i in range(8)], stop, lat, errors, a.rate))
    t.start()
    reads = wrk(a.addr, bbox, a.seconds)
    stop.set()
    t.join()
    print(json.dumps(dict(case=f"bbox page, while {a.rate:g} edits/s arrive", edits_done=len(lat), **reads)), flush=True)


if __name__ == "__main__":
    main()
