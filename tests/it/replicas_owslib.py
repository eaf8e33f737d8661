# Edits through replica A with OWSLib's Features client, and the time each takes to show on
# replica B. Run by tests/it/replicas.rs: python replicas_owslib.py A_URL B_URL TOKEN N.
#
# N edits: half creates, then updates of the first 60 % of those (with the ETag read from B, so
# both servers must agree on it), then deletes of the rest (ETag from A). After each edit
# OWSLib acknowledged, A's data version is read (A answers with its own write), and B is asked
# until its answer reflects that version; the feature on B must then be what A has.
import json
import sys
import time

import requests
from owslib.ogcapi.features import Features

a, b, token, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
C = "spatial-carriers"
auth = {"Authorization": "Bearer " + token}
HEADER = "Atlas-Data-Version"


def carrier(i, available):
    x, y = 116.50 + (i % 20) * 0.002, 39.75 + (i // 20) * 0.002
    ring = [[x, y], [x + 0.001, y], [x + 0.001, y + 0.001], [x, y + 0.001], [x, y]]
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"name_zh": f"副本 {i}", "name_en": f"replica {i}",
                           "industry": "future_information", "status": "planned",
                           "available_floor_area_m2": available, "schematic": True,
                           "source": "replica test"}}


def item(url, fid):
    return requests.get(f"{url}/collections/{C}/items/{fid}", timeout=30)


def converge(fid, t0):
    """Milliseconds from A's acknowledgement (at t0) until B reflects A's version, and B's
    answer."""
    want = int(requests.get(f"{a}/health", timeout=30).json()["change"])
    while True:
        r = item(b, fid)
        if int(r.headers[HEADER]) >= want:
            return (time.perf_counter() - t0) * 1000, r, want
        if time.perf_counter() - t0 > 60:
            sys.exit(f"replica B did not reach version {want} in 60 s")
        time.sleep(0.001)


def same_on_both(fid, on_b):
    on_a = item(a, fid)
    assert on_a.status_code == on_b.status_code, (fid, on_a.status_code, on_b.status_code)
    if on_a.status_code == 200:
        fa, fb = on_a.json(), on_b.json()
        fa.pop("links", None), fb.pop("links", None)  # they name each server's own address
        assert fa == fb, (fid, fa, fb)
        assert on_a.headers["ETag"] == on_b.headers["ETag"], fid


api = Features(a, headers=dict(auth))
creates = n // 2
updates = (n - creates) * 3 // 5
deletes = n - creates - updates
assert updates <= creates and updates + deletes == creates
ids, ms, versions = [], [], []
for i in range(creates):
    assert api.collection_item_create(C, carrier(i, 1000 + i))
    t0 = time.perf_counter()
    found = requests.get(f"{a}/collections/{C}/items", params={"name_en": f"replica {i}"}, timeout=30).json()["features"]
    assert len(found) == 1, found
    fid = found[0]["id"]
    took, on_b, v = converge(fid, t0)
    ms.append(took)
    assert on_b.status_code == 200, (fid, on_b.status_code)
    same_on_both(fid, on_b)
    ids.append(fid)
    versions.append(v)
kept = {}
for i in range(updates):
    fid = ids[i]
    etag = item(b, fid).headers["ETag"]
    put = Features(a, headers={**auth, "If-Match": etag, "Content-Type": "application/geo+json"})
    assert put.collection_item_update(C, fid, json.dumps(carrier(i, 5000 + i)))
    took, on_b, v = converge(fid, time.perf_counter())
    ms.append(took)
    assert on_b.json()["properties"]["available_floor_area_m2"] == 5000 + i
    same_on_both(fid, on_b)
    kept[fid] = 5000 + i
    versions.append(v)
deleted = []
for fid in ids[updates:]:
    etag = item(a, fid).headers["ETag"]
    delete = Features(a, headers={**auth, "If-Match": etag})
    assert delete.collection_item_delete(C, fid)
    took, on_b, v = converge(fid, time.perf_counter())
    ms.append(took)
    assert on_b.status_code == 404, (fid, on_b.status_code)
    deleted.append(fid)
    versions.append(v)
assert versions == sorted(versions) and len(set(versions)) == len(versions), versions
print(json.dumps({"convergence_ms": ms, "kept": kept, "deleted": deleted, "versions": versions}))
