#!/usr/bin/env python3
"""Vector tiles side by side: etown-atlas and martin (from PostGIS) on the same carriers.

For each zoom, the 3 x 3 block of tiles around a point (every tile of the data at low zooms),
fetched one at a time from each server in turn, RUNS times, caches off on both sides. Prints per
zoom: median time per tile, the largest tile in bytes, features drawn, and whether our tile says
it is complete (martin never thins, so a complete/incomplete marker has no counterpart there).

Then the caps check (ours only): every tile of zooms 0 to CAP_ZOOM over the data's extent is at
most 500 KB and holds at most the documented feature cap per layer.

Standard-library Python, with a small protobuf reader for the MVT layer/feature counts.
"""

import argparse
import json
import math
import statistics
import sys
import time
import urllib.error
import urllib.request

MAX_BYTES = 500 * 1024
MAX_FEATURES = 20_000


def varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def fields(buf):
    """(field number, wire type, value or bytes) of one protobuf message."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = varint(buf, i)
            yield num, wire, v
        elif wire == 2:
            n, i = varint(buf, i)
            yield num, wire, buf[i:i + n]
            i += n
        elif wire == 5:
            yield num, wire, buf[i:i + 4]
            i += 4
        elif wire == 1:
            yield num, wire, buf[i:i + 8]
            i += 8
        else:
            raise ValueError(f"wire type {wire}")


def layers(tile):
    """{layer name: feature count} of an MVT tile."""
    out = {}
    for num, _, layer in fields(tile):
        if num != 3:
            continue
        name, count = None, 0
        for n, _, v in fields(layer):
            if n == 1:
                name = v.decode()
            elif n == 2:
                count += 1
        out[name] = count
    return out


def tile_of(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def fetch(url):
    req = urllib.request.Request(url, headers={"Accept-Encoding": "identity"})
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            body = r.read()
            headers = r.headers
            status = r.status
    except urllib.error.HTTPError as e:
        body, headers, status = e.read(), e.headers, e.code
    return time.perf_counter() - t0, status, body, headers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--atlas", required=True)
    ap.add_argument("--martin", required=True, help="martin's base URL")
    ap.add_argument("--martin-source", default="carriers", help="its PostGIS table source")
    ap.add_argument("--martin-geojson", default=None, help="its GeoJSON file source, if any")
    ap.add_argument("--wrk-lists", default=None, help="write z14 and z16 tile path lists here for wrk")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cap-zoom", type=int, default=11)
    ap.add_argument("--bbox", required=True, help="the data's extent: w,s,e,n")
    a = ap.parse_args()
    w, s, e, n = map(float, a.bbox.split(","))
    cx, cy = (w + e) / 2, (s + n) / 2
    # The same four properties as martin's table source publishes (tiles/mod.rs writes every
    # property unless `properties` names some).
    props = "properties=name_zh,industry,available_floor_area_m2,status"
    ours = lambda z, x, y: f"{a.atlas}/collections/spatial-carriers/tiles/WebMercatorQuad/{z}/{y}/{x}?{props}"
    theirs = lambda z, x, y: f"{a.martin}/{a.martin_source}/{z}/{x}/{y}"
    sides = [("ours", ours, None, a.runs), ("martin_postgis", theirs, None, a.runs)]
    if a.martin_geojson:
        # Its GeoJSON source takes seconds per tile at every zoom: the centre tile, once.
        sides.append(("martin_geojson", lambda z, x, y: f"{a.martin}/{a.martin_geojson}/{z}/{x}/{y}", "centre", 0))
    rows = []
    for z in (8, 10, 12, 14, 16):
        x0, y0 = tile_of(cx, cy, z)
        block = [(x0 + dx, y0 + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
        if z <= 8:
            (xa, ya), (xb, yb) = tile_of(w, n, z), tile_of(e, s, z)
            block = [(x, y) for x in range(xa, xb + 1) for y in range(ya, yb + 1)]
        result = {"zoom": z, "tiles": len(block)}
        if a.wrk_lists and z in (14, 16):
            with open(f"{a.wrk_lists}/z{z}.txt", "w") as f:
                wide = [(x0 + dx, y0 + dy) for dx in range(-3, 4) for dy in range(-3, 4)]
                f.write("\n".join(f"{z}/{x}/{y}" for x, y in wide) + "\n")
        for side, url, only, runs in sides:
            times, largest, feats, complete = [], 0, 0, True
            tiles = [(x0, y0)] if only == "centre" else block
            # The first run warms the OS and the servers' pools (not for a side fetched once).
            for run in range(runs + 1):
                for x, y in tiles:
                    dt, status, body, headers = fetch(url(z, x, y))
                    if status not in (200, 204):
                        sys.exit(f"{side} {z}/{x}/{y}: {status} {body[:200]!r}")
                    if run == 0 and runs > 0:
                        continue
                    times.append(dt)
                    if run == min(1, runs):
                        largest = max(largest, len(body))
                        counts = layers(body) if body else {}
                        feats += sum(c for name, c in counts.items() if name not in ("tile_info",))
                        if side == "ours" and headers.get("X-Tile-Complete") == "false":
                            complete = False
            result[side] = {"median_ms": round(statistics.median(times) * 1000, 1),
                            "largest_kb": round(largest / 1024, 1), "features": feats}
            if side == "ours":
                result[side]["complete"] = complete
        result["martin_postgis_over_ours"] = round(result["martin_postgis"]["median_ms"] / max(result["ours"]["median_ms"], 1e-6), 2)
        print(json.dumps(result), flush=True)
        rows.append(result)
    # Caps: every tile of zooms 0..cap_zoom over the data's extent.
    worst_bytes = worst_feats = checked = incomplete = 0
    for z in range(0, a.cap_zoom + 1):
        (xa, ya), (xb, yb) = tile_of(w, n, z), tile_of(e, s, z)
        for x in range(xa, xb + 1):
            for y in range(ya, yb + 1):
                _, status, body, headers = fetch(ours(z, x, y))
                if status not in (200, 204):
                    sys.exit(f"ours {z}/{x}/{y}: {status}")
                checked += 1
                worst_bytes = max(worst_bytes, len(body))
                counts = layers(body) if body else {}
                worst_feats = max([worst_feats] + [c for name, c in counts.items() if name != "tile_info"])
                incomplete += headers.get("X-Tile-Complete") == "false"
                if len(body) > MAX_BYTES or worst_feats > MAX_FEATURES:
                    sys.exit(f"cap broken at {z}/{x}/{y}: {len(body)} bytes, {counts}")
    print(json.dumps({"caps_checked_tiles": checked, "zooms": f"0-{a.cap_zoom}", "largest_kb": round(worst_bytes / 1024, 1),
                      "most_features_in_a_layer": worst_feats, "incomplete_tiles": incomplete,
                      "limits": {"kb": MAX_BYTES // 1024, "features": MAX_FEATURES}}))


if __name__ == "__main__":
    main()
