#!/usr/bin/env python3
"""Deterministic generator of the shipped, *schematic* E-Town layers in geodata/.

No surveyed boundary of these zones is public in machine-readable form. This script draws each
zone in its real neighbourhood (DATA.md: BDA core 116.47-116.64 E, 39.74-39.83 N; Taihu
north-east of the core; Changziying south-east) and sizes it to its published area; the 58
carriers are illustrative parcels, clustered in characteristic parks, whose totals honour the
public figures. Run it from the repository root:

    python3 tools/generate_geodata.py          # rewrites geodata/*.geojson
    python3 tools/generate_geodata.py --check  # fails if the committed files differ

It uses only the standard library and a fixed seed, so the output is byte-for-byte reproducible.
Areas are computed on the WGS84 ellipsoid with the (exactly equal-area) ellipsoidal cylindrical
equal-area projection; the server recomputes them independently with geographiclib (via geo).
"""

import json
import math
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "geodata"
SEED = 20240919  # the date of the press conference that announced the 58 carriers
# Statuses and delivery dates are stated as of this date (operating => delivered before it).
AS_OF = "2026-11-01"

# --- WGS84 equal-area arithmetic --------------------------------------------------------------

A = 6378137.0
F = 1 / 298.257223563
E2 = F * (2 - F)
E = math.sqrt(E2)


def authalic_q(lat_deg):
    s = math.sin(math.radians(lat_deg))
    return (1 - E2) * (s / (1 - E2 * s * s) - (1 / (2 * E)) * math.log((1 - E * s) / (1 + E * s)))


def ring_area_m2(ring):
    """Area of a lon/lat ring on the WGS84 ellipsoid (cylindrical equal-area + shoelace)."""
    pts = [(A * math.radians(lon), A * authalic_q(lat) / 2) for lon, lat in ring]
    s = 0.0
    for (x1, y1), (x2, y2) in zip(pts, pts[1:]):
        s += x1 * y2 - x2 * y1
    return abs(s) / 2


# Local metres <-> degrees around E-Town (good to well under 0.1 % over 20 km).
LAT0 = 39.78
M_PER_DEG_LAT = 111_132.954 - 559.822 * math.cos(2 * math.radians(LAT0)) + 1.175 * math.cos(4 * math.radians(LAT0))
M_PER_DEG_LON = math.pi * A * math.cos(math.radians(LAT0)) / (180 * math.sqrt(1 - E2 * math.sin(math.radians(LAT0)) ** 2))


def offset(lon, lat, dx_m, dy_m):
    return (lon + dx_m / M_PER_DEG_LON, lat + dy_m / M_PER_DEG_LAT)


def rnd(x, digits=6):
    return round(x, digits)


def close(ring):
    ring = [(rnd(x), rnd(y)) for x, y in ring]
    return ring + [ring[0]]


def ccw(ring):
    s = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:]))
    return ring if s > 0 else list(reversed(ring))


def point_in_ring(pt, ring):
    x, y = pt
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
        if (y1 > y) != (y2 > y):
            xi = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < xi:
                inside = not inside
    return inside


# --- zone outlines ----------------------------------------------------------------------------

def star_polygon(rng, center, radius_m, aspect, n, jitter, rotation):
    """A simple (star-shaped about its centre, so never self-intersecting) irregular polygon."""
    pts = []
    for i in range(n):
        t = rotation + 2 * math.pi * i / n
        r = radius_m * (1 + rng.uniform(-jitter, jitter))
        pts.append((r * math.cos(t) * aspect, r * math.sin(t)))
    return pts


def to_lonlat(center, pts_m):
    return [offset(center[0], center[1], x, y) for x, y in pts_m]


def sized(center, pts_m, target_m2):
    """Scales a metre-space polygon about the centre until its ellipsoidal area is the target."""
    scale = 1.0
    for _ in range(60):
        ring = close(to_lonlat(center, [(x * scale, y * scale) for x, y in pts_m]))
        area = ring_area_m2(ring)
        if abs(area - target_m2) / target_m2 < 2e-6:
            break
        scale *= math.sqrt(target_m2 / area)
    return ccw(ring)


# --- vocabularies -----------------------------------------------------------------------------

INDUSTRIES = [
    ("future_information", "未来信息", "Future information", "#2f6fdf"),
    ("future_health", "未来健康", "Future health", "#1fa67a"),
    ("future_manufacturing", "未来制造", "Future manufacturing", "#e0752d"),
    ("future_energy", "未来能源", "Future energy", "#d9b400"),
    ("future_materials", "未来材料", "Future materials", "#8e5bd1"),
    ("future_space", "未来空间", "Future space", "#d23c5a"),
]
INDUSTRY_LABEL = {i: (zh, en) for i, zh, en, _ in INDUSTRIES}

CLUSTERS = [
    ("integrated_circuits", "集成电路", "Integrated circuits"),
    ("autonomous_driving", "高级别自动驾驶", "High-level autonomous driving"),
    ("xinchuang", "信创（信息技术应用创新）", "Xinchuang (IT application innovation)"),
    ("data_ai", "数据基础制度与全域人工智能", "Data infrastructure and all-domain AI"),
    ("robotics", "机器人与具身智能", "Robotics and embodied intelligence"),
    ("commercial_aerospace", "商业航天", "Commercial aerospace"),
    ("biomedicine", "生物医药与基因技术", "Biomedicine and gene technology"),
    ("new_energy_vehicles", "新能源智能网联汽车", "New-energy intelligent connected vehicles"),
]

BUILDING_TYPES = [
    ("standard_factory", "标准厂房", "Standard factory"),
    ("rnd_office", "研发办公", "R&D office"),
    ("laboratory", "实验室", "Laboratory"),
    ("warehouse_logistics", "仓储物流", "Warehouse and logistics"),
    ("mixed", "综合", "Mixed use"),
]

STATUSES = [
    ("operating", "已投用", "Operating"),
    ("under_construction", "在建", "Under construction"),
    ("planned", "规划", "Planned"),
]

# --- sources ----------------------------------------------------------------------------------

SRC_FTZ = "E-Town Cluster of the China (Beijing) Pilot FTZ, overview (2024): 27.83 km2"
SRC_DPZ = "Beijing E-Town press conference, 2024-02-01: data infrastructure pilot zone, 32 km2 centred on Taihu"
SRC_BONDED = "Beijing Municipal Government press conference, 2024-09-19 (State Council approval); 0.61 km2 in Changziying from press reports 2024-2025; focus from the E-Town Cluster overview (2024)"
SRC_NEWTOWN = "Yizhuang New Town, 225 km2 since 2019 (press reports)"
SRC_CARRIERS = "Beijing Municipal Government press conference, 2024-09-19: 58 spatial carriers, more than 6 million m2, six future industries"
SRC_PARK = "Beijing Municipal Government press conference, 2024-09-19: characteristic parks"
# Each zone's policy focus, paraphrased (zh, en) from the documents its source names.
FOCUS_FTZ = (
    "国际金融、文化创意、生物技术与大健康产业；科技成果转化平台，战略性新兴产业与国际高端功能机构集聚地。",
    "International finance, culture and creativity, biotechnology and big health; a platform for commercialising research and a hub for strategic emerging industries and international institutions.",
)
FOCUS_DPZ = (
    "以台湖为中心先行先试：数据基础制度综合改革试验田、数据要素集聚区、数据产业发展高地。",
    "Trials centred on Taihu: a reform test field for the basic rules of data, a gathering place for data as a factor of production, and a highland for the data industry.",
)
FOCUS_BONDED = (
    "服务高端制造业、供应链管理与保税服务，建设对外开放新枢纽。",
    "Services for high-end manufacturing, supply-chain management and bonded services: a new hub for opening up.",
)


# --- the layout -------------------------------------------------------------------------------

# Zone centres, in the approximate geography DATA.md gives.
FTZ_CENTER = (116.532, 39.781)     # inside the BDA core
DPZ_CENTER = (116.612, 39.820)     # Taihu, north-east of the core
BONDED_CENTER = (116.628, 39.712)  # Changziying, south-east of the core
NEWTOWN_CENTER = (116.565, 39.775)

# Parks: id, zh, en, centre, industry focus, whether the name is from the public record.
PARKS = [
    ("biomedicine-park", "生物医药特色园区（示意）", "Biomedicine Characteristic Park (schematic)", (116.515, 39.790), "public record names the field only"),
    ("xinchuang-park", "信创特色园区（示意）", "Xinchuang Characteristic Park (schematic)", (116.549, 39.773), "public record names the field only"),
    ("data-ai-park", "数据与人工智能特色园区（示意）", "Data and AI Characteristic Park (schematic)", (116.600, 39.827), "public record names the field only"),
    ("autonomous-driving-park", "自动驾驶示范特色园区（示意）", "Autonomous Driving Demonstration Park (schematic)", (116.626, 39.810), "public record names the field only"),
    ("ic-park", "集成电路特色园区（示意）", "Integrated Circuit Characteristic Park (schematic)", (116.575, 39.752), "public record names the field only"),
    ("robot-industrial-park", "北京机器人产业园", "Beijing Robot Industrial Park", (116.505, 39.758), "named in the public record; about 250,000 m2 site"),
    ("rocket-street", "火箭大街", "Beijing Rocket Street", (116.612, 39.770), "named in the public record; about 145,000 m2 of floor space"),
    ("new-energy-park", "未来能源特色园区（示意）", "Future Energy Characteristic Park (schematic)", (116.640, 39.738), "public record names the field only"),
    ("new-materials-park", "新材料特色园区（示意）", "New Materials Characteristic Park (schematic)", (116.595, 39.735), "public record names the field only"),
]

# Carrier plan: (park or None, zone hint, industry, cluster, building type) per carrier; the
# counts per group are what the layer shows.
PLAN = (
    [("biomedicine-park", "future_health", "biomedicine", bt) for bt in ["laboratory", "laboratory", "standard_factory", "standard_factory", "rnd_office", "laboratory", "standard_factory"]]
    + [("xinchuang-park", "future_information", "xinchuang", bt) for bt in ["rnd_office", "rnd_office", "rnd_office", "mixed", "rnd_office"]]
    + [("data-ai-park", "future_information", "data_ai", bt) for bt in ["rnd_office", "mixed", "rnd_office", "standard_factory", "rnd_office", "mixed", "rnd_office"]]
    + [("autonomous-driving-park", "future_manufacturing", "autonomous_driving", bt) for bt in ["standard_factory", "rnd_office", "mixed", "standard_factory"]]
    + [("ic-park", "future_information", "integrated_circuits", bt) for bt in ["standard_factory", "standard_factory", "standard_factory", "laboratory", "standard_factory", "rnd_office"]]
    + [("robot-industrial-park", "future_manufacturing", "robotics", bt) for bt in ["standard_factory", "rnd_office", "standard_factory"]]
    + [("rocket-street", "future_space", "commercial_aerospace", bt) for bt in ["standard_factory", "rnd_office"]]
    + [("new-energy-park", "future_energy", "new_energy_vehicles", "standard_factory"), ("new-energy-park", "future_energy", None, "standard_factory"),
       ("new-energy-park", "future_energy", None, "laboratory"), ("new-energy-park", "future_energy", "new_energy_vehicles", "mixed")]
    + [("new-materials-park", "future_materials", None, bt) for bt in ["standard_factory", "laboratory", "standard_factory", "mixed"]]
    # Carriers outside any park: in the FTZ, in the data pilot zone, in the bonded zone, elsewhere.
    + [("@ftz", "future_health", "biomedicine", "laboratory"), ("@ftz", "future_information", None, "rnd_office"),
       ("@ftz", "future_manufacturing", "robotics", "standard_factory"), ("@ftz", "future_health", None, "standard_factory")]
    + [("@dpz", "future_information", "data_ai", "rnd_office"), ("@dpz", "future_space", None, "rnd_office"), ("@dpz", "future_energy", None, "mixed")]
    + [("@bonded", "future_manufacturing", None, "warehouse_logistics"), ("@bonded", "future_health", None, "warehouse_logistics"),
       ("@bonded", "future_information", "integrated_circuits", "standard_factory")]
    + [("@core", "future_materials", None, "standard_factory"), ("@core", "future_space", "commercial_aerospace", "standard_factory"),
       ("@core", "future_manufacturing", "new_energy_vehicles", "standard_factory"), ("@core", "future_energy", None, "standard_factory"),
       ("@core", "future_health", "biomedicine", "mixed"), ("@core", "future_materials", None, "laboratory")]
)
assert len(PLAN) == 58, len(PLAN)

# Building-type envelopes: floor area (m2), plot ratio, floor load (kN/m2), clear height (m), power (kVA).
TYPES = {
    "standard_factory":    dict(floor=(70_000, 210_000), ratio=(1.2, 2.2), load=(10, 30), height=(8.0, 12.0), power=(2_500, 12_000)),
    "laboratory":          dict(floor=(40_000, 110_000), ratio=(1.4, 2.6), load=(5, 10), height=(4.5, 6.0), power=(1_200, 4_500)),
    "rnd_office":          dict(floor=(60_000, 190_000), ratio=(2.0, 3.8), load=(3, 5), height=(3.8, 4.5), power=(600, 3_000)),
    "warehouse_logistics": dict(floor=(30_000, 80_000), ratio=(0.8, 1.2), load=(25, 50), height=(9.0, 14.0), power=(400, 1_500)),
    "mixed":               dict(floor=(80_000, 200_000), ratio=(1.6, 3.0), load=(5, 15), height=(5.0, 8.0), power=(1_200, 5_000)),
}
# Illustrative asking rents, CNY per m2 per day, by building type: the bands Beijing E-Town
# listings quote for each kind of space (schematic, like every carrier attribute).
RENT_CNY_M2_DAY = {
    "standard_factory": (1.5, 3.0),
    "laboratory": (4.0, 7.0),
    "rnd_office": (3.0, 5.5),
    "warehouse_logistics": (1.0, 2.0),
    "mixed": (2.5, 4.5),
}
ROCKET_STREET_FLOOR = 145_000  # m2, public record
ROBOT_PARK_SITE = 250_000      # m2, public record
TOTAL_FLOOR_TARGET = 6_150_000  # "more than 6 million m2"


def carrier_attributes(rng, plan):
    carriers = []
    for park, industry, cluster, btype in plan:
        t = TYPES[btype]
        c = dict(park=park, industry=industry, cluster=cluster, building_type=btype)
        c["floor"] = rng.uniform(*t["floor"])
        c["ratio"] = rng.uniform(*t["ratio"])
        c["load"] = round(rng.uniform(*t["load"]) * 2) / 2
        c["height"] = round(rng.uniform(*t["height"]), 1)
        c["power"] = int(round(rng.uniform(*t["power"]) / 100) * 100)
        if cluster == "integrated_circuits" and btype == "standard_factory":
            # Wafer fabs: heavy power, tall clean rooms.
            c["power"] = int(round(rng.uniform(20_000, 40_000) / 100) * 100)
            c["height"] = round(rng.uniform(10.0, 14.0), 1)
            c["load"] = round(rng.uniform(15, 25) * 2) / 2
        carriers.append(c)
    # Rocket Street's carriers share its published floor space.
    rocket = [c for c in carriers if c["park"] == "rocket-street"]
    rocket[0]["floor"], rocket[1]["floor"] = 85_000, ROCKET_STREET_FLOOR - 85_000
    # The Robot Industrial Park's site is about 250,000 m2: its parcels must fit in it, so they
    # are denser (higher plot ratio) and smaller.
    robot = [c for c in carriers if c["park"] == "robot-industrial-park"]
    for c in robot:
        c["ratio"] = rng.uniform(2.8, 3.6)
        c["floor"] = round(rng.uniform(20_000, 26_000) * c["ratio"] / 100) * 100
    # Scale the others so the total honours "more than 6 million m2".
    fixed = sum(c["floor"] for c in rocket + robot)
    others = [c for c in carriers if c["park"] not in ("rocket-street", "robot-industrial-park")]
    k = (TOTAL_FLOOR_TARGET - fixed) / sum(c["floor"] for c in others)
    for c in others:
        c["floor"] = round(c["floor"] * k / 100) * 100
    return carriers


def rent(idx, building_type):
    """A carrier's illustrative rent, from a stream of its own so the other attributes (drawn
    from the main stream) stay as they were before rents existed."""
    lo, hi = RENT_CNY_M2_DAY[building_type]
    return round(random.Random(f"rent-{idx}").uniform(lo, hi), 1)


def status_and_dates(rng, c):
    r = rng.random()
    if r < 0.45:
        status, year, month = "operating", rng.randint(2012, 2025), rng.randint(1, 12)
        avail = rng.uniform(0.05, 0.35)
    elif r < 0.8:
        status, year, month = "under_construction", rng.randint(2027, 2028), rng.randint(1, 12)
        avail = rng.uniform(0.45, 1.0)
    else:
        status, year, month = "planned", rng.randint(2028, 2030), rng.randint(1, 12)
        avail = 1.0
    last_day = [31, 29 if year % 4 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    c["status"] = status
    c["delivery_date"] = f"{year:04d}-{month:02d}-{last_day:02d}"
    c["available"] = round(c["floor"] * avail / 100) * 100


def parcel_rect(rng, land_m2):
    aspect = rng.uniform(1.0, 1.6)
    w = math.sqrt(land_m2 * aspect)
    return w, land_m2 / w


def overlaps(a, b, gap):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return abs(ax - bx) * 2 < aw + bw + 2 * gap and abs(ay - by) * 2 < ah + bh + 2 * gap


def layout(rng, carriers, zone_rings):
    """Places every parcel (metres about NEWTOWN_CENTER) so that none overlaps another.

    Park carriers sit on a grid inside their park; the park outline is the grid plus a margin.
    Carriers outside parks are dropped at random spots in their zone, away from everything else.
    """
    def local(lonlat):
        return ((lonlat[0] - NEWTOWN_CENTER[0]) * M_PER_DEG_LON, (lonlat[1] - NEWTOWN_CENTER[1]) * M_PER_DEG_LAT)

    placed = []  # (x, y, w, h) in metres
    parks = {}
    for park_id, zh, en, center, note in PARKS:
        members = [c for c in carriers if c["park"] == park_id]
        sizes = [parcel_rect(rng, c["floor"] / c["ratio"]) for c in members]
        cols = 1 if park_id == "rocket-street" else math.ceil(math.sqrt(len(members)))
        if park_id == "rocket-street":
            cols = len(members)  # a street: parcels in a row
        rows = math.ceil(len(members) / cols)
        road = 40.0  # internal roads between parcels
        cell_w = max(w for w, _ in sizes) + road
        cell_h = max(h for _, h in sizes) + road
        cx, cy = local(center)
        for i, (c, (w, h)) in enumerate(zip(members, sizes)):
            col, row = i % cols, i // cols
            x = cx + (col - (cols - 1) / 2) * cell_w + rng.uniform(-0.2, 0.2) * (cell_w - w - road)
            y = cy + ((rows - 1) / 2 - row) * cell_h + rng.uniform(-0.2, 0.2) * (cell_h - h - road)
            c["rect"] = (x, y, w, h)
            placed.append(c["rect"])
        half_w, half_h = cols * cell_w / 2 + 30, rows * cell_h / 2 + 30
        parks[park_id] = dict(center=(cx, cy), half=(half_w, half_h))
    zone_targets = {"@ftz": FTZ_CENTER, "@dpz": DPZ_CENTER, "@bonded": BONDED_CENTER, "@core": (116.56, 39.775)}
    zone_spread = {"@ftz": 2200, "@dpz": 2400, "@bonded": 380, "@core": 4500}
    for c in carriers:
        if not c["park"].startswith("@"):
            continue
        if c["park"] == "@bonded":
            # 0.61 km2 holds a few parcels only: keep each under 60,000 m2 of land.
            c["ratio"] = max(c["ratio"], c["floor"] / 60_000)
        w, h = parcel_rect(rng, c["floor"] / c["ratio"])
        ring_required = zone_rings.get(c["park"])
        cx, cy = local(zone_targets[c["park"]])
        spread = zone_spread[c["park"]]
        for _ in range(10_000):
            x, y = cx + rng.uniform(-spread, spread), cy + rng.uniform(-spread, spread) * 0.8
            cand = (x, y, w, h)
            clear_of_parks = all(
                not overlaps(cand, (p["center"][0], p["center"][1], 2 * p["half"][0], 2 * p["half"][1]), 60)
                for p in parks.values()
            )
            in_zone = ring_required is None or all(point_in_ring(pt, ring_required) for pt in rect_ring(x, y, w, h))
            if in_zone and clear_of_parks and all(not overlaps(cand, o, 60) for o in placed):
                c["rect"] = cand
                placed.append(cand)
                break
        else:
            raise SystemExit(f"could not place a carrier in {c['park']}")
        c["park"] = None
    return parks


def rect_ring(x, y, w, h, rotation=0.0):
    pts = []
    for dx, dy in [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]:
        rx = dx * math.cos(rotation) - dy * math.sin(rotation)
        ry = dx * math.sin(rotation) + dy * math.cos(rotation)
        pts.append(offset(NEWTOWN_CENTER[0], NEWTOWN_CENTER[1], x + rx, y + ry))
    return ccw(close(pts))


def feature(fid, props, ring):
    return {"type": "Feature", "id": fid, "properties": props, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def collection(features):
    return {"type": "FeatureCollection", "features": features}


def new_town_ring(required_points):
    """A star-shaped outline about NEWTOWN_CENTER that contains every required point, sized to
    225 km2. Radii grow where a required point pokes out, then the whole shape is scaled."""
    n = 40
    cx, cy = NEWTOWN_CENTER
    local = [((lon - cx) * M_PER_DEG_LON, (lat - cy) * M_PER_DEG_LAT) for lon, lat in required_points]
    radii = [3000.0] * n
    for _ in range(400):
        pts = [(radii[i] * math.cos(2 * math.pi * i / n), radii[i] * math.sin(2 * math.pi * i / n)) for i in range(n)]
        ring = pts + [pts[0]]
        outside = [p for p in local if not point_in_ring(p, ring)]
        if not outside:
            break
        for px, py in outside:
            ang = math.atan2(py, px) % (2 * math.pi)
            i = int(ang / (2 * math.pi / n))
            for j in (i - 1, i, i + 1, i + 2):
                radii[j % n] = max(radii[j % n], math.hypot(px, py) * 1.08 + 400)
    else:
        raise SystemExit("new town outline did not converge")
    pts = [(radii[i] * math.cos(2 * math.pi * i / n), radii[i] * math.sin(2 * math.pi * i / n)) for i in range(n)]
    ring = sized(NEWTOWN_CENTER, pts, 225e6)
    return ring


def main():
    rng = random.Random(SEED)
    files = {}

    ftz = sized(FTZ_CENTER, star_polygon(rng, FTZ_CENTER, 2900, 1.35, 14, 0.10, 0.2), 27.83e6)
    dpz = sized(DPZ_CENTER, star_polygon(rng, DPZ_CENTER, 3100, 1.15, 12, 0.12, 0.5), 32e6)
    bonded = sized(BONDED_CENTER, [(-520, -380), (430, -420), (520, 300), (90, 460), (-470, 350)], 0.61e6)

    carriers = carrier_attributes(rng, PLAN)
    for c in carriers:
        status_and_dates(rng, c)
    parks = layout(rng, carriers, {"@ftz": ftz, "@dpz": dpz, "@bonded": bonded})

    park_features = []
    park_rings = {}
    for park_id, zh, en, center, note in PARKS:
        p = parks[park_id]
        cx, cy = p["center"]
        hw, hh = p["half"]
        ring = rect_ring(cx, cy, 2 * hw, 2 * hh)
        if park_id == "robot-industrial-park":
            # The park's published site area is about 250,000 m2: grow the outline to it.
            ring = sized((NEWTOWN_CENTER[0] + cx / M_PER_DEG_LON, NEWTOWN_CENTER[1] + cy / M_PER_DEG_LAT),
                         [(-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh)], ROBOT_PARK_SITE)
        members = [c for c in carriers if c["park"] == park_id]
        for c in members:
            x, y, w, h = c["rect"]
            if not all(point_in_ring(pt, ring) for pt in rect_ring(x, y, w, h)):
                raise SystemExit(f"a carrier of {park_id} does not fit in the park")
        park_rings[park_id] = ring
        focus = sorted({c["industry"] for c in carriers if c.get("park_id", c["park"]) == park_id})
        park_features.append(feature(park_id, {
            "name_zh": zh, "name_en": en,
            "industries": focus,
            "carrier_count": sum(1 for c in carriers if c["park"] == park_id),
            "named_in_public_record": "named in the public record" in note,
            "schematic": True,
            "source": SRC_PARK + ("; " + note.split("; ")[1] if "; " in note else ""),
        }, ring))

    counters = {}
    carrier_features = []
    for idx, c in enumerate(carriers, start=1):
        x, y, w, h = c["rect"]
        ring = rect_ring(x, y, w, h)
        ind = c["industry"]
        counters[ind] = counters.get(ind, 0) + 1
        zh_ind, en_ind = INDUSTRY_LABEL[ind]
        if c["park"] == "rocket-street":
            n = sum(1 for f in carrier_features if f["properties"]["park"] == "rocket-street") + 1
            name_zh, name_en = f"火箭大街 载体 {n}", f"Beijing Rocket Street Carrier {n}"
        elif c["park"] == "robot-industrial-park":
            n = sum(1 for f in carrier_features if f["properties"]["park"] == "robot-industrial-park") + 1
            name_zh, name_en = f"北京机器人产业园 载体 {n}", f"Beijing Robot Industrial Park Carrier {n}"
        else:
            name_zh = f"{zh_ind}产业载体 {counters[ind]:02d}"
            name_en = f"{en_ind.title()} Carrier {counters[ind]:02d}"
        carrier_features.append(feature(f"carrier-{idx:02d}", {
            "name_zh": name_zh,
            "name_en": name_en,
            "industry": ind,
            "cluster": c["cluster"],
            "park": c["park"],
            "floor_area_m2": c["floor"],
            "available_floor_area_m2": c["available"],
            "building_type": c["building_type"],
            "status": c["status"],
            "delivery_date": c["delivery_date"],
            "floor_load_kn_m2": c["load"],
            "clear_height_m": c["height"],
            "power_kva": c["power"],
            "rent_cny_m2_day": rent(idx, c["building_type"]),
            "schematic": True,
            "source": SRC_CARRIERS + "; parcel, name and attributes illustrative",
        }, ring))

    required = [pt for f in carrier_features for pt in f["geometry"]["coordinates"][0]]
    required += [pt for r in park_rings.values() for pt in r] + ftz + dpz + bonded
    newtown = new_town_ring(required)

    def zone(fid, zh, en, ring, source, extra=None, focus=None):
        props = {"name_zh": zh, "name_en": en, "official_area_km2": extra}
        if focus:
            # The zone's policy focus, paraphrased from the document its source names.
            props["focus_zh"], props["focus_en"] = focus
        props.update({"schematic": True, "source": source})
        return collection([feature(fid, props, ring)])

    files["ftz-etown-cluster.geojson"] = zone("ftz-etown-cluster", "中国（北京）自由贸易试验区高端产业片区亦庄组团", "E-Town Cluster, High-end Industrial Area, China (Beijing) Pilot FTZ", ftz, SRC_FTZ, 27.83, FOCUS_FTZ)
    files["data-pilot-zone.geojson"] = zone("data-pilot-zone", "北京数据基础制度先行区", "Beijing Data Infrastructure Pilot Zone", dpz, SRC_DPZ, 32.0, FOCUS_DPZ)
    files["bonded-zone.geojson"] = zone("bonded-zone", "北京亦庄综合保税区", "Beijing Yizhuang Comprehensive Bonded Zone", bonded, SRC_BONDED, 0.61, FOCUS_BONDED)
    files["new-town.geojson"] = zone("new-town", "亦庄新城", "Yizhuang New Town", newtown, SRC_NEWTOWN, 225.0)
    files["parks.geojson"] = collection(park_features)
    files["spatial-carriers.geojson"] = collection(carrier_features)

    def vocab(vid, title_zh, title_en, terms):
        return {"id": vid, "title": {"zh": title_zh, "en": title_en}, "terms": terms}

    files["industries.vocab.json"] = vocab("industries", "六大未来产业", "The six future industries",
                                           [{"id": i, "zh": zh, "en": en, "color": col} for i, zh, en, col in INDUSTRIES])
    files["clusters.vocab.json"] = vocab("clusters", "战略产业集群", "Strategic clusters",
                                         [{"id": i, "zh": zh, "en": en} for i, zh, en in CLUSTERS])
    files["building-types.vocab.json"] = vocab("building-types", "建筑类型", "Building types",
                                               [{"id": i, "zh": zh, "en": en} for i, zh, en in BUILDING_TYPES])
    files["statuses.vocab.json"] = vocab("statuses", "建设状态", "Status",
                                         [{"id": i, "zh": zh, "en": en} for i, zh, en in STATUSES])

    check = "--check" in sys.argv
    stale = []
    for name, doc in files.items():
        text = json.dumps(doc, ensure_ascii=False, indent=None, separators=(",", ":")) + "\n"
        if name.endswith(".geojson"):
            # One feature per line keeps diffs readable.
            feats = doc["features"]
            head = {k: v for k, v in doc.items() if k != "features"}
            text = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1] + ',"features":[\n'
            text += ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in feats) + "\n]}\n"
        else:
            text = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
        path = OUT / name
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if check and stale:
        raise SystemExit(f"geodata is stale (re-run tools/generate_geodata.py): {', '.join(stale)}")
    total = sum(c["floor"] for c in carriers)
    print(f"{'checked' if check else 'wrote'} {len(files)} files; 58 carriers, {total:,.0f} m2 of floor space", file=sys.stderr)


if __name__ == "__main__":
    main()
