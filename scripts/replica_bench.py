#!/usr/bin/env python3
"""Replicas on one PostgreSQL (issue 19); scripts/replica-bench.sh runs it.

- reads: wrk on the same bbox page and attribute page against the embedded server and a
  replica of the same data, alternated (embedded, replica, embedded, replica) so that both
  see the same machine; the median of each side;
- edits through PostgreSQL: W writers PATCHing through replica A (edits/s, p50/p99);
- convergence: RATE edits/s through A (paced) while a poller asks replica B's /health as fast
  as it can; each edit's convergence is from A's acknowledgement to the first answer of B
  that reflects its version (the Atlas-Data-Version header A answered with).
Prints one JSON line per case, for BENCHMARKS.md.
"""

import argparse
import json
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from edit_bench import connect, etag_of, run_writers, wrk  # noqa: E402


def reads(embedded, replica, seconds, rounds):
    cases = {
        "bbox page": "/collections/spatial-carriers/items?bbox=116.50,39.78,116.506,39.7845&limit=100",
        "attribute page": "/collections/spatial-carriers/items?filter=industry%3D%27future_health%27%20AND%20available_floor_area_m2%3E%3D3000&limit=100",
    }
    for name, path in cases.items():
        e, r = [], []
        for _ in range(rounds):
            e.append(wrk(embedded, path, seconds)["reads_per_s"])
            r.append(wrk(replica, path, seconds)["reads_per_s"])
        me, mr = statistics.median(e), statistics.median(r)
        print(json.dumps({"case": f"{name}: embedded vs replica", "embedded_rps": me, "replica_rps": mr,
                          "replica_vs_embedded": round(mr / me, 3), "runs": rounds}), flush=True)


def paced_edits(a, token, rate, seconds, fids, seen):
    """PATCHes through A paced at `rate` for `seconds`; then waits until B (whose answers
    `seen` collects) has the last one, or a minute. Returns (time, version) per acknowledgement."""
    conn = connect(a)
    etags = {f: etag_of(conn, f) for f in fids}
    acks = []  # (time, version)
    n = 0
    t_end = time.monotonic() + seconds
    next_at = time.monotonic()
    while time.monotonic() < t_end:
        next_at += 1.0 / rate
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        fid = fids[n % len(fids)]
        n += 1
        body = json.dumps({"properties": {"available_floor_area_m2": 2000 + n}})
        conn.request("PATCH", f"/collections/spatial-carriers/items/{fid}", body=body, headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/merge-patch+json",
            "If-Match": etags[fid]})
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            raise SystemExit(f"PATCH {fid}: {r.status}")
        acks.append((time.perf_counter(), int(r.getheader("Atlas-Data-Version"))))
        etags[fid] = r.getheader("ETag")
    # Until B has the last edit (or a minute has passed).
    deadline = time.perf_counter() + 60
    while time.perf_counter() < deadline and not (seen and seen[-1][1] >= acks[-1][1]):
        time.sleep(0.05)
    return acks


def convergence(a, b, token, rate, seconds, fids):
    seen = []  # (time, version) of B's answers
    stop = threading.Event()
    failures = []

    def poll():
        conn = connect(b)
        while not stop.is_set():
            try:
                conn.request("GET", "/health")
                r = conn.getresponse()
                r.read()
            except OSError as e:  # a dropped keep-alive connection: reconnect, say so
                failures.append(repr(e))
                conn.close()
                conn = connect(b)
                continue
            seen.append((time.perf_counter(), int(r.getheader("Atlas-Data-Version"))))

    # A daemon, stopped in `finally`: a failed run must not leave it polling B (a stray poller
    # once kept a core busy under later measurements).
    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        acks = paced_edits(a, token, rate, seconds, fids, seen)
    finally:
        stop.set()
        poller.join()
    ms = []
    j = 0
    for t, v in acks:
        # The first answer of B after the acknowledgement that reflects its version (both
        # lists are in time order, and versions grow: the search goes on from the last match).
        while j < len(seen) and not (seen[j][0] >= t and seen[j][1] >= v):
            j += 1
        if j == len(seen):
            raise SystemExit(f"replica B never reflected version {v} (its last answer: {seen[-1] if seen else None}, "
                             f"{len(seen)} answers, last acknowledgement at {acks[-1]})")
        ms.append((seen[j][0] - t) * 1000)
    q = statistics.quantiles(ms, n=100)
    print(json.dumps({"case": f"convergence on B while {rate:g} edits/s go through A", "edits": len(ms),
                      "p50_ms": round(q[49], 2), "p99_ms": round(q[98], 2), "max_ms": round(max(ms), 2),
                      "polls_of_b": len(seen), "poll_errors": failures[:3]}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--embedded", required=True)
    ap.add_argument("--a", required=True)
    ap.add_argument("--b", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rate", type=float, default=50)
    a = ap.parse_args()
    reads(a.embedded, a.a, a.seconds, a.rounds)
    for w in (1, 16):
        print(json.dumps(dict(case=f"PATCH through PostgreSQL, {w} writer(s)",
                              **run_writers(a.a, a.token, w, a.seconds, 1 + 1000 * w))), flush=True)
    convergence(a.a, a.b, a.token, a.rate, a.seconds, [str(50000 + i) for i in range(8)])


if __name__ == "__main__":
    main()
