//! The coordinate system a WKT text describes (a Shapefile's `.prj`, a GeoPackage's
//! `definition`), as one of those [`SourceCrs`] knows. An EPSG code on the root is taken as
//! it is; otherwise (ESRI's WKT names no code) the system is recognised from its datum,
//! projection and parameters: a geographic WGS 84 or CGCS2000, Web Mercator, a WGS 84 UTM
//! zone, or a CGCS2000 Gauss-Krüger zone (3° or 6°, with or without the zone prefix in the
//! false easting). Anything else is refused by name rather than served in the wrong place.

use crate::ingest::source_crs::SourceCrs;

use super::bilingual;

/// One `KEYWORD[...]` node of a WKT text.
#[derive(Debug)]
struct Node {
    keyword: String,
    items: Vec<Item>,
}

#[derive(Debug)]
enum Item {
    Node(Node),
    Text(String),
    Number(f64),
    Word(String),
}

impl Node {
    fn text(&self, i: usize) -> Option<&str> {
        match self.items.get(i)? {
            Item::Text(t) | Item::Word(t) => Some(t),
            _ => None,
        }
    }

    fn children(&self) -> impl Iterator<Item = &Node> {
        self.items.iter().filter_map(|i| match i {
            Item::Node(n) => Some(n),
            _ => None,
        })
    }

    fn child(&self, keywords: &[&str]) -> Option<&Node> {
        self.children()
            .find(|n| keywords.iter().any(|k| n.keyword.eq_ignore_ascii_case(k)))
    }

    /// Every node below this one, depth first.
    fn all(&self) -> Vec<&Node> {
        let mut out = Vec::new();
        for c in self.children() {
            out.push(c);
            out.extend(c.all());
        }
        out
    }

    /// The value of the `PARAMETER` whose name contains `name` (ignoring case and `_`/space).
    fn parameter(&self, names: &[&str]) -> Option<f64> {
        let norm = |s: &str| s.to_ascii_lowercase().replace([' ', '_'], "");
        self.children()
            .filter(|n| n.keyword.eq_ignore_ascii_case("PARAMETER"))
            .find(|n| {
                let key = norm(n.text(0).unwrap_or_default());
                names.iter().any(|w| key == norm(w))
            })
            .and_then(|n| match n.items.get(1)? {
                Item::Number(x) => Some(*x),
                _ => None,
            })
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn skip(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn node(&mut self, depth: usize) -> Option<Node> {
        if depth > 32 {
            return None;
        }
        self.skip();
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_')
        {
            self.i += 1;
        }
        let keyword = std::str::from_utf8(&self.s[start..self.i]).ok()?.to_owned();
        self.skip();
        if keyword.is_empty() || !matches!(self.s.get(self.i), Some(b'[' | b'(')) {
            return None;
        }
        self.i += 1;
        let mut items = Vec::new();
        loop {
            self.skip();
            match *self.s.get(self.i)? {
                b']' | b')' => {
                    self.i += 1;
                    return Some(Node { keyword, items });
                }
                b',' => self.i += 1,
                b'"' => {
                    let from = self.i + 1;
                    let to = from + self.s[from..].iter().position(|b| *b == b'"')?;
                    items.push(Item::Text(
                        std::str::from_utf8(&self.s[from..to]).ok()?.to_owned(),
                    ));
                    self.i = to + 1;
                }
                b if b == b'-' || b == b'+' || b == b'.' || b.is_ascii_digit() => {
                    let from = self.i;
                    while self.i < self.s.len()
                        && matches!(
                            self.s[self.i],
                            b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'
                        )
                    {
                        self.i += 1;
                    }
                    let t = std::str::from_utf8(&self.s[from..self.i]).ok()?;
                    items.push(Item::Number(t.parse().ok()?));
                }
                _ => {
                    let from = self.i;
                    let mut probe = Parser {
                        s: self.s,
                        i: self.i,
                    };
                    match probe.node(depth + 1) {
                        Some(n) => {
                            self.i = probe.i;
                            items.push(Item::Node(n));
                        }
                        None => {
                            while self.i < self.s.len()
                                && !matches!(self.s[self.i], b',' | b']' | b')')
                            {
                                self.i += 1;
                            }
                            let w = std::str::from_utf8(&self.s[from..self.i]).ok()?.trim();
                            items.push(Item::Word(w.to_owned()));
                        }
                    }
                }
            }
        }
    }
}

fn parse(wkt: &str) -> Option<Node> {
    Parser {
        s: wkt.trim().as_bytes(),
        i: 0,
    }
    .node(0)
}

/// The system `wkt` describes.
pub(crate) fn source_crs(wkt: &str) -> Result<SourceCrs, String> {
    let code = epsg_code(wkt)?;
    SourceCrs::parse(&format!("EPSG:{code}"))
}

fn refused(wkt: &str, why: &str, zh: &str) -> String {
    let head: String = wkt.chars().take(80).collect();
    bilingual(
        &format!("the coordinate system {head:?} is not one the server can transform ({why})"),
        &format!("无法转换坐标系 {head:?}（{zh}）"),
    )
}

fn epsg_code(wkt: &str) -> Result<u32, String> {
    let root = parse(wkt).ok_or_else(|| refused(wkt, "not WKT", "不是 WKT"))?;
    // A code on the root (OGC WKT 1's AUTHORITY, WKT 2's ID) says it all.
    if let Some(id) = root.child(&["AUTHORITY", "ID"]) {
        if id.text(0).is_some_and(|a| a.eq_ignore_ascii_case("EPSG")) {
            let code = match id.items.get(1) {
                Some(Item::Number(x)) => Some(*x as u32),
                Some(Item::Text(t)) => t.parse().ok(),
                _ => None,
            };
            if let Some(code) = code {
                return Ok(code);
            }
        }
    }
    let datum = root
        .all()
        .into_iter()
        .find(|n| n.keyword.eq_ignore_ascii_case("DATUM"))
        .and_then(|n| n.text(0))
        .unwrap_or_default()
        .to_ascii_lowercase()
        .replace([' ', '_'], "");
    let wgs84 = datum.contains("wgs1984") || datum.contains("wgs84");
    let cgcs2000 = datum.contains("china2000")
        || datum.contains("cgcs2000")
        || datum.contains("chinageodeticcoordinatesystem2000");
    let root_kw = root.keyword.to_ascii_uppercase();
    if matches!(root_kw.as_str(), "GEOGCS" | "GEOGCRS" | "GEODCRS") {
        return match (wgs84, cgcs2000) {
            (true, _) => Ok(4326),
            (_, true) => Ok(4490),
            _ => Err(refused(
                wkt,
                "a datum other than WGS 84 or CGCS2000",
                "基准面不是 WGS 84 或 CGCS2000",
            )),
        };
    }
    if !matches!(root_kw.as_str(), "PROJCS" | "PROJCRS") {
        return Err(refused(
            wkt,
            "neither geographic nor projected",
            "既非地理坐标系也非投影坐标系",
        ));
    }
    let name = root.text(0).unwrap_or_default().to_ascii_lowercase();
    let method_node = root
        .all()
        .into_iter()
        .find(|n| {
            n.keyword.eq_ignore_ascii_case("PROJECTION") || n.keyword.eq_ignore_ascii_case("METHOD")
        })
        .and_then(|n| n.text(0))
        .unwrap_or_default()
        .to_ascii_lowercase()
        .replace([' ', '_', '-'], "");
    if name.contains("web_mercator")
        || name.contains("pseudo-mercator")
        || method_node.contains("mercatorauxiliarysphere")
        || method_node.contains("pseudomercator")
    {
        return Ok(3857);
    }
    if !(method_node.contains("transversemercator") || method_node.contains("gausskruger")) {
        return Err(refused(
            wkt,
            "a projection other than Transverse Mercator or Web Mercator",
            "投影不是高斯-克吕格（横轴墨卡托）或 Web 墨卡托",
        ));
    }
    // WKT 2 puts the parameters in the CONVERSION node.
    let params = root
        .all()
        .into_iter()
        .find(|n| n.keyword.eq_ignore_ascii_case("CONVERSION"))
        .unwrap_or(&root);
    let cm = params
        .parameter(&["central_meridian", "longitude of natural origin"])
        .ok_or_else(|| refused(wkt, "no central meridian", "缺少中央经线"))?;
    let fe = params.parameter(&["false_easting"]).unwrap_or(0.0);
    let fn_ = params.parameter(&["false_northing"]).unwrap_or(0.0);
    let k = params
        .parameter(&["scale_factor", "scale factor at natural origin"])
        .unwrap_or(1.0);
    let lat0 = params
        .parameter(&["latitude_of_origin", "latitude of natural origin"])
        .unwrap_or(0.0);
    let near = |a: f64, b: f64| (a - b).abs() < 1e-6;
    if !near(lat0, 0.0) || cm.fract() != 0.0 {
        return Err(refused(
            wkt,
            "an origin that is not a standard zone's",
            "原点不是标准分带的原点",
        ));
    }
    let cm = cm as i32;
    if wgs84 && near(k, 0.9996) && near(fe, 500_000.0) && (cm + 183) % 6 == 0 {
        let zone = ((cm + 183) / 6) as u32;
        if near(fn_, 0.0) {
            return Ok(32600 + zone);
        }
        if near(fn_, 10_000_000.0) {
            return Ok(32700 + zone);
        }
    }
    if cgcs2000 && near(k, 1.0) && near(fn_, 0.0) {
        if near(fe, 500_000.0) && cm % 3 == 0 && (75..=135).contains(&cm) {
            // Without the zone prefix a 6° zone and the 3° zone on the same meridian are
            // the same projection; the 3° code is used for both.
            return Ok(4534 + ((cm - 75) / 3) as u32);
        }
        let zone = ((fe - 500_000.0) / 1_000_000.0).round();
        if near(fe, zone * 1_000_000.0 + 500_000.0) {
            let zone = zone as i32;
            if (13..=23).contains(&zone) && cm == 6 * zone - 3 {
                return Ok(4491 + (zone - 13) as u32);
            }
            if (25..=45).contains(&zone) && cm == 3 * zone {
                return Ok(4513 + (zone - 25) as u32);
            }
        }
    }
    Err(refused(
        wkt,
        "not a WGS 84 UTM or CGCS2000 Gauss-Krüger zone",
        "不是 WGS 84 UTM 或 CGCS2000 高斯-克吕格分带",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esri_gk(name: &str, fe: f64, cm: f64) -> String {
        format!(
            r#"PROJCS["{name}",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",{fe}],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",{cm}],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#
        )
    }

    #[test]
    fn esri_gauss_kruger_zones_are_recognised_by_their_parameters() {
        // EPSG's definitions: 4548 is CGCS2000 / 3-degree GK CM 117E; 4527 is zone 39
        // (CM 117E, false easting 39,500,000); 4498 is 6-degree zone 20 (CM 117E).
        assert_eq!(
            epsg_code(&esri_gk("CGCS2000_3_Degree_GK_CM_117E", 500000.0, 117.0)),
            Ok(4548)
        );
        assert_eq!(
            epsg_code(&esri_gk("CGCS2000_3_Degree_GK_Zone_39", 39500000.0, 117.0)),
            Ok(4527)
        );
        assert_eq!(
            epsg_code(&esri_gk("CGCS2000_GK_Zone_20", 20500000.0, 117.0)),
            Ok(4498)
        );
        assert!(epsg_code(&esri_gk("Local", 500000.0, 116.35)).is_err());
    }

    #[test]
    fn a_root_authority_is_taken_and_other_datums_refused() {
        assert_eq!(
            epsg_code(
                r#"PROJCS["x",GEOGCS["y",AUTHORITY["EPSG","4490"]],AUTHORITY["EPSG","4547"]]"#
            ),
            Ok(4547)
        );
        assert_eq!(
            epsg_code(
                r#"GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#
            ),
            Ok(4326)
        );
        let beijing54 = r#"GEOGCS["GCS_Beijing_1954",DATUM["D_Beijing_1954",SPHEROID["Krasovsky_1940",6378245.0,298.3]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;
        assert!(epsg_code(beijing54).unwrap_err().contains("Beijing_1954"));
    }
}
