#!/usr/bin/env python3
"""Kills the server with SIGKILL while writers edit, restarts it, and checks what survived.

Every round: start `serve --state DIR`, let WRITERS threads create, patch and delete carriers
(each edit changes three properties together), SIGKILL the server at a random instant, start it
again on the same directory and read every carrier the writers touched. Then:

- every acknowledged edit is there (a create, the last acknowledged patch, a delete);
- nothing appears that no one sent; an edit that was in flight at the kill may be there or not;
- no edit is half-applied (its three properties always agree);
- a create sent with an `Idempotency-Key` and retried after the restart (whether or not the
  kill came before it was stored) is one feature, never two.

Standard-library Python; scripts/crash.sh builds the binary and runs this.
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

COLLECTION = "spatial-carriers"
SOURCE = "crash-test"
IDEM_SOURCE = "crash-idempotent"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def carrier(fid, v, lon, lat):
    d = 0.0005
    ring = [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
    return {"type": "Feature", "id": fid, "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": dict(values(v), **{
                "name_zh": "崩溃测试", "industry": "future_health", "building_type": "laboratory",
                "status": "planned", "delivery_date": "2027-06-30", "clear_height_m": 8.5,
                "floor_load_kn_m2": 10.0, "power_kva": 2000, "schematic": True, "source": SOURCE})}


def values(v):
    """The three properties one edit sets together: they must always agree."""
    return {"available_floor_area_m2": v, "floor_area_m2": v + 20000, "name_en": f"crash {v}"}


def coherent(props):
    v = props.get("available_floor_area_m2")
    return v is not None and props.get("floor_area_m2") == v + 20000 and props.get("name_en") == f"crash {v}"


def synth_with_editor(binary, work, carriers):
    """`synth --count CARRIERS` into WORK/data and an editor's token in WORK/state, for the
    benchmarks: (data, state, token)."""
    data, state = os.path.join(work, "data"), os.path.join(work, "state")
    subprocess.run([binary, "synth", "--count", str(carriers), "--out", data], check=True,
                   capture_output=True)
    out = subprocess.run([binary, "token", "create", "--state", state, "--name", "bench",
                          "--role", "editor"], check=True, capture_output=True, text=True)
    tok = next(w for w in (out.stdout + out.stderr).split() if w.startswith("eta_"))
    return data, state, tok


class Server:
    def __init__(self, binary, state, port):
        self.binary, self.state, self.port = binary, state, port
        self.proc = None

    def start(self):
        log = open(os.path.join(self.state, "..", "server.log"), "ab")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--state", self.state, "--listen", f"127.0.0.1:{self.port}"],
            stdout=log, stderr=log)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"the server exited with {self.proc.returncode} at start (see server.log)")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        sys.exit("the server did not answer /health in 120 s")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def call(port, method, path, token, body=None, headers=None):
    """(status, headers, parsed body or None); a broken connection is status 0."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, r.headers, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, e.headers, json.loads(raw)
        except ValueError:
            return e.code, e.headers, None
    except (OSError, ValueError):
        return 0, {}, None


class Ledger:
    """What one writer knows: per feature, the acknowledged state and the edit in flight.

    A state is a value (the feature exists with these values) or None (it does not exist)."""

    def __init__(self):
        self.acked = {}
        self.inflight = {}
        self.errors = []
        self.busy = 0


def writer(port, token, wid, rnd, ledger, stop, rng):
    live = {}  # id -> ETag of features this writer created and may edit
    n = 0
    base_lon = 116.40 + 0.01 * wid
    while not stop.is_set():
        n += 1
        v = rnd * 1_000_000 + wid * 10_000 + n
        choice = rng.random()
        if not live or choice < 0.4:
            fid = f"crash-r{rnd}-w{wid}-{n}"
            ledger.inflight[fid] = v
            status, headers, _ = call(port, "POST", f"/collections/{COLLECTION}/items", token,
                                      carrier(fid, v, base_lon + 0.0001 * (n % 50), 39.75 + 0.0001 * (n // 50 % 50)),
                                      {"Content-Type": "application/geo+json"})
            if status == 201:
                ledger.acked[fid] = v
                live[fid] = headers.get("ETag")
            elif status == 503:
                ledger.busy += 1  # refused: changes nothing, not in flight any more
            elif status != 0:
                ledger.errors.append(f"create {fid}: unexpected {status}")
                return
            else:
                return  # the server is gone: the edit stays in flight
            ledger.inflight.pop(fid, None)
        elif choice < 0.85:
            fid = rng.choice(list(live))
            ledger.inflight[fid] = v
            status, headers, _ = call(port, "PATCH", f"/collections/{COLLECTION}/items/{fid}", token,
                                      {"properties": values(v)}, {"Content-Type": "application/merge-patch+json",
                                                  "If-Match": live[fid]})
            if status == 200:
                ledger.acked[fid] = v
                live[fid] = headers.get("ETag")
            elif status == 503:
                ledger.busy += 1  # refused: changes nothing, not in flight any more
            elif status != 0:
                ledger.errors.append(f"patch {fid}: unexpected {status}")
                return
            else:
                return  # the server is gone: the edit stays in flight
            ledger.inflight.pop(fid, None)
        else:
            fid = rng.choice(list(live))
            ledger.inflight[fid] = None
            status, _, _ = call(port, "DELETE", f"/collections/{COLLECTION}/items/{fid}", token,
                                headers={"If-Match": live[fid]})
            if status == 204:
                ledger.acked[fid] = None
                del live[fid]
            elif status == 503:
                ledger.busy += 1  # refused: changes nothing, not in flight any more
            elif status != 0:
                ledger.errors.append(f"delete {fid}: unexpected {status}")
                return
            else:
                return  # the server is gone: the edit stays in flight
            ledger.inflight.pop(fid, None)


def idempotent_body(key, lon, lat):
    """An id-less create: only its Idempotency-Key (and its name) tells a retry from a new one."""
    f = carrier(None, 1, lon, lat)
    del f["id"]
    f["properties"].update(name_en=key, source=IDEM_SOURCE)
    return f


def idempotent_writer(port, token, rnd, sent, stop):
    """Creates id-less carriers, each with its own Idempotency-Key; `sent` maps each key to
    its body and whether it was acknowledged."""
    n = 0
    while not stop.is_set():
        n += 1
        key = f"idem-r{rnd}-{n}"
        body = idempotent_body(key, 116.60 + 0.0001 * (n % 50), 39.70 + 0.0001 * (n // 50 % 50))
        sent[key] = [body, False]
        status, _, _ = call(port, "POST", f"/collections/{COLLECTION}/items", token, body,
                            {"Content-Type": "application/geo+json", "Idempotency-Key": key})
        if status == 201:
            sent[key][1] = True
        elif status == 0:
            return  # the server is gone: the create stays in flight, to be retried
        elif status != 503:
            sent[key].append(f"unexpected {status}")
            return


def read_all(port, token, source=SOURCE):
    """Every carrier of `source` the restarted server holds, by id."""
    found = {}
    path = (f"/collections/{COLLECTION}/items?limit=10000&filter="
            + urllib.request.quote(f"source = '{source}'"))
    while path:
        status, _, page = call(port, "GET", path, token)
        if status != 200:
            sys.exit(f"reading back: {status}")
        for f in page["features"]:
            found[str(f["id"])] = f["properties"]
        nxt = [l["href"] for l in page.get("links", []) if l["rel"] == "next"]
        path = nxt[0].split(f":{port}", 1)[1] if nxt else None
    return found


def changes_count(port, token):
    total, since = 0, 0
    while True:
        status, _, body = call(port, "GET", f"/changes?since={since}&limit=1000", token)
        if status != 200:
            sys.exit(f"/changes: {status}")
        total += len(body["changes"])
        if not body["changes"]:
            return total
        since = body["last"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--writers", type=int, default=16)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    work = tempfile.mkdtemp(prefix="etown-crash-")
    state = os.path.join(work, "state")
    token = subprocess.run([a.bin, "token", "create", "--state", state,
                            "--name", "crash-writer", "--role", "editor"],
                           check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    server = Server(a.bin, state, free_port())
    expected = {}  # id -> the set of states it may be in after the last restart
    totals = {"acknowledged": 0, "in_flight": 0, "lost": 0, "phantom": 0, "half_applied": 0, "busy": 0,
              "idempotent_retried": 0, "idempotent_wrong": 0}
    try:
        for rnd in range(1, a.rounds + 1):
            server.start()
            ledgers = [Ledger() for _ in range(a.writers)]
            stop = threading.Event()
            threads = [threading.Thread(target=writer, daemon=True, args=(
                server.port, token, w, rnd, ledgers[w], stop, random.Random(rng.random())))
                for w in range(a.writers)]
            sent = {}
            threads.append(threading.Thread(target=idempotent_writer, daemon=True,
                                            args=(server.port, token, rnd, sent, stop)))
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.3, 2.0))
            server.kill()
            stop.set()
            for t in threads:
                t.join()
            for led in ledgers:
                for e in led.errors:
                    sys.exit(f"round {rnd}: {e}")
                totals["busy"] += led.busy
                totals["acknowledged"] += len(led.acked)
                totals["in_flight"] += len(led.inflight)
                for fid, st in led.acked.items():
                    expected[fid] = {st}
                for fid, st in led.inflight.items():
                    expected.setdefault(fid, {None}).add(st)
            server.start()
            # Every create with a key is sent again, as a client that never saw (or did not
            # trust) its answer would: each must be answered 201, and exist exactly once.
            for key, (body, _acked, *errors) in sent.items():
                if errors:
                    sys.exit(f"round {rnd}: {key}: {errors[0]}")
                status, _, _ = call(server.port, "POST", f"/collections/{COLLECTION}/items", token, body,
                                    {"Content-Type": "application/geo+json", "Idempotency-Key": key})
                totals["idempotent_retried"] += 1
                if status != 201:
                    totals["idempotent_wrong"] += 1
                    print(f"round {rnd}: the retry of {key} answered {status}", file=sys.stderr)
            names = {}
            for props in read_all(server.port, token, IDEM_SOURCE).values():
                names[props["name_en"]] = names.get(props["name_en"], 0) + 1
            for key in sent:
                if names.get(key, 0) != 1:
                    totals["idempotent_wrong"] += 1
                    print(f"round {rnd}: {key} exists {names.get(key, 0)} times", file=sys.stderr)
            found = read_all(server.port, token)
            for fid, allowed in expected.items():
                props = found.get(fid)
                if props is not None and not coherent(props):
                    totals["half_applied"] += 1
                    print(f"round {rnd}: {fid} half-applied: {props}", file=sys.stderr)
                    continue
                state_now = None if props is None else props["available_floor_area_m2"]
                if state_now not in allowed:
                    totals["lost"] += 1
                    print(f"round {rnd}: {fid} is {state_now}, expected one of {allowed}", file=sys.stderr)
                expected[fid] = {state_now}
            for fid in found.keys() - expected.keys():
                totals["phantom"] += 1
                print(f"round {rnd}: {fid} exists but was never sent", file=sys.stderr)
            acked_now = sum(len(l.acked) for l in ledgers)
            print(f"round {rnd}: {acked_now} acknowledged, "
                  f"{sum(len(l.inflight) for l in ledgers)} in flight at the kill, "
                  f"{len(found)} test carriers after the restart", flush=True)
            server.kill()
        server.start()
        feed = changes_count(server.port, token)
        server.kill()
    finally:
        if server.proc and server.proc.poll() is None:
            server.kill()
    print(json.dumps(dict(totals, rounds=a.rounds, writers=a.writers, change_feed_entries=feed)))
    bad = totals["lost"] + totals["phantom"] + totals["half_applied"] + totals["idempotent_wrong"]
    if bad:
        print(f"FAILED: {bad} violations; the state directory is kept in {work}", file=sys.stderr)
        sys.exit(1)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
