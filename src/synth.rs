//! Deterministic synthetic carriers at any scale, for benchmarks and load tests.
//!
//! The carriers have the schema of `spatial-carriers` and are spread over Beijing the way
//! industrial land is: clustered in a few hundred parks, most of them on the plain south-east of
//! the centre, with log-normal parcel sizes and the attribute mix of the shipped data. The same
//! `(count, seed)` always gives the same bytes: the generator uses SplitMix64, whose output is
//! fixed by its definition, not by a crate version.

use std::io::{self, Write};

/// SplitMix64 (Steele, Lea and Flood, 2014): tiny, fast, and stable forever.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-12);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    pub fn pick<'a, T>(&mut self, items: &'a [(T, f64)]) -> &'a T {
        let total: f64 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.unit() * total;
        for (item, w) in items {
            if x < *w {
                return item;
            }
            x -= w;
        }
        &items[items.len() - 1].0
    }
}

const INDUSTRIES: &[(&str, f64)] = &[
    ("future_information", 0.28),
    ("future_health", 0.2),
    ("future_manufacturing", 0.22),
    ("future_energy", 0.1),
    ("future_materials", 0.1),
    ("future_space", 0.1),
];
const TYPES: &[(&str, f64)] = &[
    ("standard_factory", 0.4),
    ("rnd_office", 0.3),
    ("laboratory", 0.12),
    ("warehouse_logistics", 0.08),
    ("mixed", 0.1),
];
const STATUSES: &[(&str, f64)] = &[
    ("operating", 0.5),
    ("under_construction", 0.3),
    ("planned", 0.2),
];

struct Park {
    lon: f64,
    lat: f64,
    /// Spread in metres.
    sigma: f64,
    weight: f64,
}

fn parks(rng: &mut SplitMix64) -> Vec<Park> {
    (0..300)
        .map(|_| {
            // Two thirds on the south-eastern plain (Daxing, Yizhuang, Tongzhou), the rest anywhere
            // in the built-up area.
            let (lon, lat) = if rng.unit() < 0.66 {
                (rng.range(116.30, 116.90), rng.range(39.55, 39.95))
            } else {
                (rng.range(116.05, 116.75), rng.range(39.75, 40.25))
            };
            Park {
                lon,
                lat,
                sigma: rng.range(400.0, 2_500.0),
                weight: rng.unit().powi(3) + 0.02,
            }
        })
        .collect()
}

/// Writes `count` synthetic carriers as one GeoJSON FeatureCollection, one feature per line.
pub fn write_carriers(out: &mut impl Write, count: usize, seed: u64) -> io::Result<()> {
    let mut rng = SplitMix64::new(seed);
    let parks = parks(&mut rng);
    let weights: Vec<(usize, f64)> = parks
        .iter()
        .enumerate()
        .map(|(i, p)| (i, p.weight))
        .collect();
    writeln!(out, "{{\"type\":\"FeatureCollection\",\"features\":[")?;
    for i in 0..count {
        let park = &parks[*rng.pick(&weights)];
        let m_lat = 111_000.0;
        let m_lon = 111_000.0 * park.lat.to_radians().cos();
        let lon = park.lon + rng.normal() * park.sigma / m_lon;
        let lat = park.lat + rng.normal() * park.sigma / m_lat;
        let industry = rng.pick(INDUSTRIES);
        let btype = rng.pick(TYPES);
        let status = rng.pick(STATUSES);
        // Log-normal land area around 20,000 m² (5,000 to 200,000 typical).
        let land = (9.9 + 0.8 * rng.normal()).exp().clamp(2_000.0, 400_000.0);
        let ratio = match *btype {
            "warehouse_logistics" => rng.range(0.8, 1.2),
            "rnd_office" => rng.range(2.0, 3.8),
            _ => rng.range(1.2, 2.6),
        };
        let floor = (land * ratio / 100.0).round() * 100.0;
        let available = match *status {
            "planned" => floor,
            "under_construction" => (floor * rng.range(0.45, 1.0) / 100.0).round() * 100.0,
            _ => (floor * rng.range(0.0, 0.35) / 100.0).round() * 100.0,
        };
        let (load, height, power) = match *btype {
            "standard_factory" => (
                rng.range(10.0, 30.0),
                rng.range(8.0, 12.0),
                rng.range(2_500.0, 12_000.0),
            ),
            "laboratory" => (
                rng.range(5.0, 10.0),
                rng.range(4.5, 6.0),
                rng.range(1_200.0, 4_500.0),
            ),
            "rnd_office" => (
                rng.range(3.0, 5.0),
                rng.range(3.8, 4.5),
                rng.range(600.0, 3_000.0),
            ),
            "warehouse_logistics" => (
                rng.range(25.0, 50.0),
                rng.range(9.0, 14.0),
                rng.range(400.0, 1_500.0),
            ),
            _ => (
                rng.range(5.0, 15.0),
                rng.range(5.0, 8.0),
                rng.range(1_200.0, 5_000.0),
            ),
        };
        let year = match *status {
            "operating" => 2005 + (rng.unit() * 21.0) as i32,
            "under_construction" => 2027 + (rng.unit() * 2.0) as i32,
            _ => 2028 + (rng.unit() * 3.0) as i32,
        };
        let month = 1 + (rng.unit() * 12.0) as u32;
        // From a stream of the carrier's own, so adding rents moved nothing else.
        let mut own = SplitMix64::new(seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let rent = match *btype {
            "standard_factory" => own.range(1.5, 3.0),
            "laboratory" => own.range(4.0, 7.0),
            "rnd_office" => own.range(3.0, 5.5),
            "warehouse_logistics" => own.range(1.0, 2.0),
            _ => own.range(2.5, 4.5),
        };
        let aspect = rng.range(1.0, 1.6);
        let w = (land * aspect).sqrt() / m_lon / 2.0;
        let h = (land / aspect).sqrt() / m_lat / 2.0;
        let (x0, y0, x1, y1) = (lon - w, lat - h, lon + w, lat + h);
        let sep = if i + 1 < count { "," } else { "" };
        writeln!(
            out,
            "{{\"type\":\"Feature\",\"id\":{id},\"properties\":{{\"name_zh\":\"合成载体 {id}\",\"name_en\":\"Synthetic Carrier {id}\",\"industry\":\"{industry}\",\"floor_area_m2\":{floor},\"available_floor_area_m2\":{available},\"building_type\":\"{btype}\",\"status\":\"{status}\",\"delivery_date\":\"{year:04}-{month:02}-28\",\"floor_load_kn_m2\":{load:.1},\"clear_height_m\":{height:.1},\"power_kva\":{power:.0},\"rent_cny_m2_day\":{rent:.1},\"schematic\":true,\"source\":\"synthetic\"}},\"geometry\":{{\"type\":\"Polygon\",\"coordinates\":[[[{x0:.6},{y0:.6}],[{x1:.6},{y0:.6}],[{x1:.6},{y1:.6}],[{x0:.6},{y1:.6}],[{x0:.6},{y0:.6}]]]}}}}{sep}",
            id = i + 1
        )?;
    }
    writeln!(out, "]}}")
}

/// Writes a data directory that serves as it is: the shipped data (zones, parks, vocabularies,
/// every sidecar) with `spatial-carriers.geojson` replaced by `count` synthetic carriers, and
/// the carriers' sidecar retitled and keeping only the fields synthetic carriers have. So the
/// web app meets at scale exactly what it meets on the shipped data.
pub fn write_dir(out: &std::path::Path, count: usize, seed: u64) -> io::Result<()> {
    std::fs::create_dir_all(out)?;
    let file = std::fs::File::create(out.join(CARRIERS_FILE))?;
    let mut writer = io::BufWriter::new(file);
    write_carriers(&mut writer, count, seed)?;
    writer.flush()?;
    for f in crate::ingest::embedded_files() {
        if f.name == CARRIERS_FILE || f.name.ends_with(".md") {
            continue;
        }
        let bytes = if f.name == CARRIERS_META {
            synthetic_meta(&f.bytes)?
        } else {
            f.bytes.to_vec()
        };
        std::fs::write(out.join(&f.name), bytes)?;
    }
    Ok(())
}

const CARRIERS_FILE: &str = "spatial-carriers.geojson";
const CARRIERS_META: &str = "spatial-carriers.meta.json";
/// What a synthetic carrier has (see `write_carriers`), and what the server derives.
const SYNTHETIC_FIELDS: &[&str] = &[
    "name_zh",
    "name_en",
    "industry",
    "floor_area_m2",
    "available_floor_area_m2",
    "building_type",
    "status",
    "delivery_date",
    "floor_load_kn_m2",
    "clear_height_m",
    "power_kva",
    "rent_cny_m2_day",
    "schematic",
    "source",
    "geodesic_area_m2",
    "zones",
];

/// The shipped carriers' sidecar for synthetic carriers.
fn synthetic_meta(shipped: &[u8]) -> io::Result<Vec<u8>> {
    use serde_json::{json, Value};
    let mut meta: Value = serde_json::from_slice(shipped).map_err(io::Error::other)?;
    meta["title"] = json!({"zh": "合成载体", "en": "Synthetic carriers"});
    meta["description"] = json!({"zh": "合成的示意数据，用于基准测试与规模测试", "en": "Synthetic schematic data, for benchmarks and tests at scale"});
    if let Some(Value::Object(fields)) = meta.get_mut("fields") {
        fields.retain(|name, _| SYNTHETIC_FIELDS.contains(&name.as_str()));
    }
    if let Some(Value::Object(v)) = meta.get_mut("vocabularies") {
        v.retain(|name, _| SYNTHETIC_FIELDS.contains(&name.as_str()));
    }
    serde_json::to_vec_pretty(&meta).map_err(io::Error::other)
}

/// The synthetic layer in memory, for benchmarks.
pub fn carriers_geojson(count: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(count * 700);
    // Writing to a Vec cannot fail.
    let _ = write_carriers(&mut out, count, seed);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_deterministic_and_valid_json() {
        let a = carriers_geojson(200, 7);
        assert_eq!(a, carriers_geojson(200, 7));
        assert_ne!(a, carriers_geojson(200, 8));
        let v: serde_json::Value = serde_json::from_slice(&a).expect("valid JSON");
        assert_eq!(v["features"].as_array().map(Vec::len), Some(200));
    }
}
