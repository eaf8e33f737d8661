"""Runs the same queries against etown-atlas (HTTP, keep-alive) and PostGIS (psycopg, one
connection) from this one client, checks that both answer the same, and prints the median time
of each and our time divided by PostGIS's. Called by scripts/postgis-compare.sh, which starts both.

Both sides do the whole job a map client needs: count the matches, build the GeoJSON text of the
first page (or the grouped sums) and hand it over a loopback socket.

With --throughput it then measures requests per second with 8 concurrent clients on each side
(wrk for ours, pgbench for PostGIS), and for PostGIS in two styles: the query that counts the
matches as our pages do, and the query a PostGIS user would write for a page, `LIMIT` without a
count, so that neither ratio hides a case. It also measures two ceilings for our small answers:
a small static JSON document and a static file as large as the bbox page.
"""

import argparse
import http.client
import os
import re
import subprocess
import tempfile
import json
import math
import socket
import statistics
import time
import urllib.parse

import psycopg

LAYER = "spatial-carriers"
COLUMNS = (
    "id, name_zh, name_en, industry, floor_area_m2, available_floor_area_m2, building_type, "
    "status, delivery_date, floor_load_kn_m2, clear_height_m, power_kva, schematic, source, geom"
)


class Atlas:
    """Our side, through two HTTP clients on keep-alive connections: a minimal one that sends the
    request and reads exactly Content-Length bytes, and Python's http.client. The minimal client
    is the measure: http.client parses every response header with the email package, which
    costs about 0.15 ms per response here, more than some of the queries themselves, and
    measures Python rather than either server. Its time is reported beside it."""

    def __init__(self, base):
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname, url.port
        self.conn = http.client.HTTPConnection(url.hostname, url.port)
        self.sock = socket.create_connection((url.hostname, url.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.pending = b""

    def target(self, path, params):
        return f"{path}?{urllib.parse.urlencode(params)}"

    def get(self, path, params):
        request = f"GET {self.target(path, params)} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n"
        self.sock.sendall(request.encode())
        buf = self.pending
        while b"\r\n\r\n" not in buf:
            buf += self.recv()
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = None
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise SystemExit(f"etown-atlas answered without Content-Length: {head[:300]!r}")
        chunks, have = [rest], len(rest)
        while have < length:
            chunk = self.recv(max(65536, length - have))
            chunks.append(chunk)
            have += len(chunk)
        data = b"".join(chunks)
        body, self.pending = data[:length], data[length:]
        if status != 200:
            raise SystemExit(f"etown-atlas answered {status}: {body[:300]!r}")
        return body

    def recv(self, size=65536):
        chunk = self.sock.recv(size)
        if not chunk:
            raise SystemExit("etown-atlas closed the connection")
        return chunk

    def get_stdlib(self, path, params):
        self.conn.request("GET", self.target(path, params))
        response = self.conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"etown-atlas answered {response.status}: {body[:300]!r}")
        return body


def feature_sql(where):
    """A FeatureCollection like an items page: the match count and the first 100 by id."""
    return f"""
      SELECT json_build_object(
        'type', 'FeatureCollection',
        'numberMatched', (SELECT count(*) FROM carriers WHERE {where}),
        'features', (SELECT coalesce(json_agg(ST_AsGeoJSON(p.*, 'geom', 6)::json), '[]'::json)
                     FROM (SELECT {COLUMNS} FROM carriers WHERE {where} ORDER BY id LIMIT %(limit)s) p)
      )::text"""


def page_sql(where):
    """The page a PostGIS user would ask for: the first 100 by id, without counting them all."""
    return f"""
      SELECT json_build_object(
        'type', 'FeatureCollection',
        'features', (SELECT coalesce(json_agg(ST_AsGeoJSON(p.*, 'geom', 6)::json), '[]'::json)
                     FROM (SELECT {COLUMNS} FROM carriers WHERE {where} ORDER BY id LIMIT %(limit)s) p)
      )::text"""


def count_sql(where):
    """The total of /stats without group-by: the count and the sums of the matches."""
    return f"""
      SELECT json_build_object('count', count(*), 'floor_area_m2', sum(floor_area_m2),
                               'available_floor_area_m2', sum(available_floor_area_m2))::text
      FROM carriers WHERE {where}"""


def wrk_rps(url, seconds):
    """Requests per second of 8 connections on 2 threads, and the share of non-2xx answers."""
    out = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds}s", url], capture_output=True,
                         text=True, check=True).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        raise SystemExit(f"wrk met {bad.group(1)} error answers from {url}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def pgbench_tps(pgbench, dsn, sql, limit, seconds):
    """Transactions per second of 8 pgbench clients running `sql` (one statement each)."""
    params = dict(kv.split("=", 1) for kv in dsn.split())
    text = " ".join(sql.replace("%(limit)s", str(limit or 0)).split()) + ";\n"
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(text)
    try:
        out = subprocess.run(
            [pgbench, "-n", "-c8", "-j2", f"-T{seconds}", "-f", f.name, "-h", params["host"],
             "-p", params["port"], "-U", params["user"], params["dbname"]],
            capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(f.name)
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


def stats_sql(where):
    return f"""
      SELECT coalesce(json_agg(g), '[]'::json)::text FROM (
        SELECT industry, count(*) AS count, sum(floor_area_m2) AS floor_area_m2,
               sum(available_floor_area_m2) AS available_floor_area_m2
        FROM carriers WHERE {where} GROUP BY industry) g"""


def grow_box(atlas, x, y, wanted):
    """A square around (x, y) holding at least `wanted` carriers, found through our API."""
    h = 0.001
    while True:
        box = (x - h, y - h, x + h, y + h)
        body = atlas.get(f"/collections/{LAYER}/items", {"bbox": fmt(box), "limit": 1})
        if json.loads(body)["numberMatched"] >= wanted:
            return box
        h *= 1.25


def fmt(values):
    return ",".join(f"{v:.6f}" for v in values)


def circle(x, y, r, n=64):
    ring = [(x + r * math.cos(2 * math.pi * i / n), y + r * math.sin(2 * math.pi * i / n)) for i in range(n)]
    ring.append(ring[0])
    return "POLYGON((" + ",".join(f"{a:.6f} {b:.6f}" for a, b in ring) + "))"


def timed(fn, runs):
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def main():
    args = argparse.ArgumentParser()
    args.add_argument("--atlas", required=True)
    args.add_argument("--dsn", required=True)
    args.add_argument("--runs", type=int, default=15)
    args.add_argument("--throughput", type=int, default=0,
                      help="seconds of wrk and pgbench per query (0: latency only)")
    args.add_argument("--pgbench", default="pgbench")
    args.add_argument("--static", help="a file of the web app as large as a bbox page (path on the server)")
    opts = args.parse_args()

    atlas = Atlas(opts.atlas)
    pg = psycopg.connect(opts.dsn, autocommit=True)
    first = json.loads(atlas.get(f"/collections/{LAYER}/items", {"limit": 1}))["features"][0]
    ring = first["geometry"]["coordinates"][0][:-1]
    x = sum(p[0] for p in ring) / len(ring)
    y = sum(p[1] for p in ring) / len(ring)
    small = grow_box(atlas, x, y, 100)
    large = grow_box(atlas, x, y, 10_000)
    polygon = circle(x, y, (small[2] - small[0]) * 1.5)
    envelope = "ST_MakeEnvelope({},{},{},{},4326)"
    in_small = f"ST_Intersects(geom, {envelope.format(*small)})"
    in_large = f"ST_Intersects(geom, {envelope.format(*large)})"
    attribute = "industry = 'future_health' AND available_floor_area_m2 >= 3000"
    cql_attribute = "industry='future_health' AND available_floor_area_m2>=3000"
    five = ("industry = 'future_health' AND status = 'planned' AND available_floor_area_m2 >= 3000 "
            "AND clear_height_m >= 8 AND power_kva >= 2000")

    items = f"/collections/{LAYER}/items"
    stats = f"/collections/{LAYER}/stats"
    sums = "floor_area_m2,available_floor_area_m2"
    queries = [
        ("bbox, ~100 features", items, {"bbox": fmt(small), "limit": 100}, feature_sql(in_small), 100),
        ("S_INTERSECTS 64-vertex polygon", items, {"filter": f"S_INTERSECTS(geometry,{polygon})", "limit": 100},
         feature_sql(f"ST_Intersects(geom, ST_GeomFromText('{polygon}', 4326))"), 100),
        ("attribute filter (industry, available area)", items, {"filter": cql_attribute, "limit": 100},
         feature_sql(attribute), 100),
        ("bbox + attribute filter", items, {"bbox": fmt(large), "filter": cql_attribute, "limit": 100},
         feature_sql(f"{in_large} AND {attribute}"), 100),
        ("GeoJSON of 10,000 features", items, {"bbox": fmt(large), "limit": 10_000}, feature_sql(in_large), 10_000),
        ("count_filter: stats of five attribute terms", stats, {"filter": five, "sum": sums},
         count_sql(five), None),
        ("group-by sums, all features", stats, {"group-by": "industry", "sum": sums}, stats_sql("true"), None),
        ("group-by sums, bbox", stats, {"group-by": "industry", "sum": sums, "bbox": fmt(large)},
         stats_sql(in_large), None),
    ]

    rows = []
    for name, path, params, sql, limit in queries:
        ours_ms, ours = timed(lambda: atlas.get(path, params), opts.runs)
        stdlib_ms, stdlib = timed(lambda: atlas.get_stdlib(path, params), opts.runs)
        theirs_ms, theirs = timed(lambda: pg.execute(sql, {"limit": limit}).fetchone()[0], opts.runs)
        check_same(name, json.loads(ours), json.loads(theirs))
        check_same(name, json.loads(stdlib), json.loads(theirs))
        rows.append((name, ours_ms, stdlib_ms, theirs_ms))

    print_latency(rows, opts.runs)
    if opts.throughput:
        throughput(opts, atlas, queries, small)


def print_latency(rows, runs):
    print(f"\nmedian of {runs} runs after one warm-up; one client, loopback, same machine")
    print(f"| {'query':44} | {'etown-atlas':>11} | {'(http.client)':>13} | {'PostGIS':>9} | {'ours / PostGIS':>14} |")
    print(f"| {'-' * 44} | {'-' * 11} | {'-' * 13} | {'-' * 9} | {'-' * 14} |")
    for name, ours_ms, stdlib_ms, theirs_ms in rows:
        print(f"| {name:44} | {ours_ms:8.2f} ms | {stdlib_ms:10.2f} ms | {theirs_ms:6.2f} ms "
              f"| {ours_ms / theirs_ms:14.3f} |")


def throughput(opts, atlas, queries, small):
    """Requests per second with 8 clients on each side, PostGIS in both query styles."""
    base = f"http://{atlas.host}:{atlas.port}"
    print(f"\nthroughput: wrk -t2 -c8 and pgbench -c8 -j2, {opts.throughput} s each, one after another")
    print(f"| {'query':44} | {'ours req/s':>10} | {'PostGIS, counting':>17} | {'PostGIS, LIMIT only':>19} "
          f"| {'ours / counting':>15} | {'ours / LIMIT':>12} |")
    print(f"| {'-' * 44} | {'-' * 10} | {'-' * 17} | {'-' * 19} | {'-' * 15} | {'-' * 12} |")
    for name, path, params, sql, limit in queries:
        ours = wrk_rps(base + atlas.target(path, params), opts.throughput)
        counting = pgbench_tps(opts.pgbench, opts.dsn, sql, limit, opts.throughput)
        if limit is not None:
            where = re.search(r"FROM carriers WHERE (.*?)\),\s*'features'", sql, re.S).group(1)
            plain = pgbench_tps(opts.pgbench, opts.dsn, page_sql(where), limit, opts.throughput)
            plain_cell, ratio = f"{plain:19.1f}", f"{ours / plain:12.2f}"
        else:
            plain_cell, ratio = f"{'(same)':>19}", f"{ours / counting:12.2f}"
        print(f"| {name:44} | {ours:10.1f} | {counting:17.1f} | {plain_cell} | {ours / counting:15.2f} | {ratio} |",
              flush=True)
    # The timed connection has idled past the server's keep-alive timeout meanwhile.
    atlas = Atlas(base)
    page = atlas.get(f"/collections/{LAYER}/items", {"bbox": fmt(small), "limit": 100})
    dynamic = wrk_rps(base + atlas.target(f"/collections/{LAYER}/items", {"bbox": fmt(small), "limit": 100}),
                      opts.throughput)
    tiny = atlas.get_stdlib("/conformance", {})
    tiny_rps = wrk_rps(base + "/conformance", opts.throughput)
    print(f"\nsmall answers: the bbox page ({len(page):,} bytes) {dynamic:.0f} req/s; "
          f"a small static JSON (/conformance, {len(tiny):,} bytes) {tiny_rps:.0f} req/s "
          f"({dynamic / tiny_rps:.0%})", end="")
    if opts.static:
        big = atlas.get_stdlib(opts.static, {})
        big_rps = wrk_rps(base + opts.static, opts.throughput)
        print(f"; a static file as large ({opts.static}, {len(big):,} bytes) {big_rps:.0f} req/s "
              f"({dynamic / big_rps:.0%})")
    else:
        print()


def check_same(name, ours, theirs):
    """Both sides must give the same answer, or the timing compares different work."""
    if "groups" in ours and not ours["groups"] and "count" in theirs:
        total = ours["total"]
        mine = (total["count"], total["sums"]["floor_area_m2"], total["sums"]["available_floor_area_m2"])
        other = (theirs["count"], float(theirs["floor_area_m2"] or 0), float(theirs["available_floor_area_m2"] or 0))
        if mine != other:
            raise SystemExit(f"{name}: etown-atlas {mine} != PostGIS {other}")
        return
    if "features" in ours:
        ours_ids = [f["id"] for f in ours["features"]]
        theirs_ids = [f["properties"]["id"] for f in theirs["features"] or []]
        if ours["numberMatched"] != theirs["numberMatched"] or ours_ids != theirs_ids:
            raise SystemExit(f"{name}: etown-atlas matched {ours['numberMatched']} "
                             f"(first ids {ours_ids[:5]}), PostGIS {theirs['numberMatched']} "
                             f"(first ids {theirs_ids[:5]})")
        return
    ours_groups = {g["key"]: (g["count"], g["sums"]["floor_area_m2"], g["sums"]["available_floor_area_m2"])
                   for g in ours["groups"]}
    theirs_groups = {g["industry"]: (g["count"], float(g["floor_area_m2"]), float(g["available_floor_area_m2"]))
                     for g in theirs}
    if ours_groups != theirs_groups:
        raise SystemExit(f"{name}: etown-atlas {ours_groups} != PostGIS {theirs_groups}")


if __name__ == "__main__":
    main()
