//! A feature's geometry as one tile draws it: projected into the tile's units, clipped to the
//! buffered tile, simplified to the tile's resolution, snapped to whole units, and dropped when
//! nothing drawable is left.
//!
//! 1. project every position into tile units (`TileId::project`);
//! 2. clip: rings with Sutherland–Hodgman against the buffered square (concave rings stay
//!    whole, edges along the border are harmless when drawn), lines segment by segment;
//! 3. simplify with Douglas–Peucker at one tile unit: what is finer than a unit cannot be drawn;
//! 4. snap to whole units and drop repeated points;
//! 5. drop rings under two square units, lines shorter than a unit, and orient rings as MVT
//!    asks (exterior clockwise on screen, holes counter-clockwise).

use geo::{Coord, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon, Simplify};

use super::matrix::{TileId, BUFFER, EXTENT};

/// Douglas–Peucker tolerance, in tile units.
const TOLERANCE: f64 = 1.0;
/// Smallest ring kept, in square tile units (with snapping, anything smaller is a speck).
const MIN_RING_AREA: f64 = 2.0;

/// The clip square: the tile and its buffer, in tile units.
fn clip_box() -> (f64, f64) {
    let b = f64::from(BUFFER);
    (-b, f64::from(EXTENT) + b)
}

/// `g` in `tile`'s units, ready to encode; `None` when nothing of it is drawable in the tile.
pub fn for_tile(g: &geo::Geometry<f64>, tile: &TileId) -> Option<geo::Geometry<f64>> {
    use geo::Geometry as G;
    let project = |c: &Coord<f64>| {
        let (x, y) = tile.project(c.x, c.y);
        Coord { x, y }
    };
    match g {
        G::Point(p) => point(project(&p.0)).map(G::Point),
        G::MultiPoint(mp) => {
            let points: Vec<Point<f64>> = mp.iter().filter_map(|p| point(project(&p.0))).collect();
            (!points.is_empty()).then_some(G::MultiPoint(MultiPoint(points)))
        }
        G::Line(l) => lines(&[vec![project(&l.start), project(&l.end)]]),
        G::LineString(l) => lines(&[l.0.iter().map(project).collect()]),
        G::MultiLineString(ml) => {
            let parts: Vec<Vec<Coord<f64>>> = ml
                .iter()
                .map(|l| l.0.iter().map(project).collect())
                .collect();
            lines(&parts)
        }
        G::Polygon(p) => polygons(std::slice::from_ref(p), &project),
        G::MultiPolygon(mp) => polygons(&mp.0, &project),
        G::Rect(r) => polygons(&[r.to_polygon()], &project),
        G::Triangle(t) => polygons(&[t.to_polygon()], &project),
        G::GeometryCollection(gc) => {
            // MVT has no collections: the first drawable part of the richest kind stands for it.
            gc.iter().find_map(|part| for_tile(part, tile))
        }
    }
}

fn point(c: Coord<f64>) -> Option<Point<f64>> {
    let (lo, hi) = clip_box();
    ((lo..=hi).contains(&c.x) && (lo..=hi).contains(&c.y))
        .then(|| Point::new(c.x.round(), c.y.round()))
}

fn snap(points: &[Coord<f64>]) -> Vec<Coord<f64>> {
    let mut out: Vec<Coord<f64>> = Vec::with_capacity(points.len());
    for c in points {
        let s = Coord {
            x: c.x.round(),
            y: c.y.round(),
        };
        if out.last() != Some(&s) {
            out.push(s);
        }
    }
    out
}

/// Liang–Barsky: the part of segment `a`–`b` inside the clip square.
fn clip_segment(a: Coord<f64>, b: Coord<f64>) -> Option<(Coord<f64>, Coord<f64>)> {
    let (lo, hi) = clip_box();
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, a.x - lo),
        (dx, hi - a.x),
        (-dy, a.y - lo),
        (dy, hi - a.y),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
            if t0 > t1 {
                return None;
            }
        }
    }
    let at = |t: f64| Coord {
        x: a.x + t * dx,
        y: a.y + t * dy,
    };
    Some((at(t0), at(t1)))
}

/// Lines clipped into runs inside the square, each simplified and snapped.
fn lines(parts: &[Vec<Coord<f64>>]) -> Option<geo::Geometry<f64>> {
    let mut runs: Vec<Vec<Coord<f64>>> = Vec::new();
    for part in parts {
        let mut run: Vec<Coord<f64>> = Vec::new();
        for w in part.windows(2) {
            match clip_segment(w[0], w[1]) {
                Some((a, b)) => {
                    if run.last() != Some(&a) {
                        if run.len() >= 2 {
                            runs.push(std::mem::take(&mut run));
                        }
                        run.clear();
                        run.push(a);
                    }
                    run.push(b);
                }
                None => {
                    if run.len() >= 2 {
                        runs.push(std::mem::take(&mut run));
                    }
                    run.clear();
                }
            }
        }
        if run.len() >= 2 {
            runs.push(run);
        }
    }
    let kept: Vec<LineString<f64>> = runs
        .into_iter()
        .filter_map(|r| {
            let simplified = LineString(r).simplify(TOLERANCE);
            let snapped = snap(&simplified.0);
            (snapped.len() >= 2).then_some(LineString(snapped))
        })
        .collect();
    match kept.len() {
        0 => None,
        1 => kept.into_iter().next().map(geo::Geometry::LineString),
        _ => Some(geo::Geometry::MultiLineString(MultiLineString(kept))),
    }
}

/// Sutherland–Hodgman: the ring clipped to the square (open: no repeated first point).
fn clip_ring(ring: &[Coord<f64>]) -> Vec<Coord<f64>> {
    let (lo, hi) = clip_box();
    let mut out: Vec<Coord<f64>> = ring.to_vec();
    if out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    // Each edge of the square: inside test, and the crossing of a segment with the edge.
    type Edge = (
        fn(Coord<f64>, f64) -> bool,
        fn(Coord<f64>, Coord<f64>, f64) -> Coord<f64>,
        f64,
    );
    let edges: [Edge; 4] = [
        (|c, v| c.x >= v, |a, b, v| cross_x(a, b, v), lo),
        (|c, v| c.x <= v, |a, b, v| cross_x(a, b, v), hi),
        (|c, v| c.y >= v, |a, b, v| cross_y(a, b, v), lo),
        (|c, v| c.y <= v, |a, b, v| cross_y(a, b, v), hi),
    ];
    for (inside, cross, v) in edges {
        if out.is_empty() {
            break;
        }
        let input = std::mem::take(&mut out);
        let mut prev = *input.last().expect("not empty");
        for &cur in &input {
            match (inside(cur, v), inside(prev, v)) {
                (true, true) => out.push(cur),
                (true, false) => {
                    out.push(cross(prev, cur, v));
                    out.push(cur);
                }
                (false, true) => out.push(cross(prev, cur, v)),
                (false, false) => {}
            }
            prev = cur;
        }
    }
    out
}

fn cross_x(a: Coord<f64>, b: Coord<f64>, x: f64) -> Coord<f64> {
    let t = (x - a.x) / (b.x - a.x);
    Coord {
        x,
        y: a.y + t * (b.y - a.y),
    }
}

fn cross_y(a: Coord<f64>, b: Coord<f64>, y: f64) -> Coord<f64> {
    let t = (y - a.y) / (b.y - a.y);
    Coord {
        x: a.x + t * (b.x - a.x),
        y,
    }
}

/// Twice the signed area by the surveyor's formula, in tile units (y down: positive is
/// clockwise on screen, MVT's exterior).
fn signed_area2(ring: &[Coord<f64>]) -> f64 {
    ring.windows(2)
        .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
        .sum()
}

/// A ring clipped, simplified, snapped, closed and oriented (`exterior`: positive area).
fn ring(points: &[Coord<f64>], exterior: bool) -> Option<LineString<f64>> {
    let mut clipped = clip_ring(points);
    if clipped.len() < 3 {
        return None;
    }
    clipped.push(clipped[0]);
    let simplified = LineString(clipped).simplify(TOLERANCE);
    let mut snapped = snap(&simplified.0);
    if snapped.first() != snapped.last() {
        let first = snapped[0];
        snapped.push(first);
    }
    if snapped.len() < 4 {
        return None;
    }
    let area2 = signed_area2(&snapped);
    if area2.abs() < 2.0 * MIN_RING_AREA {
        return None;
    }
    if (area2 > 0.0) != exterior {
        snapped.reverse();
    }
    Some(LineString(snapped))
}

fn polygons(
    parts: &[Polygon<f64>],
    project: &impl Fn(&Coord<f64>) -> Coord<f64>,
) -> Option<geo::Geometry<f64>> {
    let kept: Vec<Polygon<f64>> = parts
        .iter()
        .filter_map(|p| {
            let ext: Vec<Coord<f64>> = p.exterior().0.iter().map(project).collect();
            let exterior = ring(&ext, true)?;
            let holes = p
                .interiors()
                .iter()
                .filter_map(|h| ring(&h.0.iter().map(project).collect::<Vec<_>>(), false))
                .collect();
            Some(Polygon::new(exterior, holes))
        })
        .collect();
    match kept.len() {
        0 => None,
        1 => kept.into_iter().next().map(geo::Geometry::Polygon),
        _ => Some(geo::Geometry::MultiPolygon(MultiPolygon(kept))),
    }
}

/// The drawn size of a tile geometry, for choosing what to drop first: area for polygons,
/// length for lines, nothing for points.
pub fn drawn_size(g: &geo::Geometry<f64>) -> f64 {
    use geo::{Area, Euclidean, Length};
    match g {
        geo::Geometry::Polygon(_) | geo::Geometry::MultiPolygon(_) => g.unsigned_area(),
        geo::Geometry::LineString(l) => Euclidean.length(l),
        geo::Geometry::MultiLineString(ml) => ml.iter().map(|l| Euclidean.length(l)).sum(),
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Rect;

    fn tile() -> TileId {
        TileId::new(14, 13495, 6208).unwrap()
    }

    #[test]
    fn a_polygon_inside_stays_whole_and_oriented_for_mvt() {
        let t = tile();
        let b = t.lonlat_bounds(0);
        let c = b.center();
        let (dx, dy) = (b.width() / 8.0, b.height() / 8.0);
        let square = geo::Geometry::Polygon(
            Rect::new((c.x - dx, c.y - dy), (c.x + dx, c.y + dy)).to_polygon(),
        );
        let Some(geo::Geometry::Polygon(p)) = for_tile(&square, &t) else {
            panic!("kept")
        };
        assert_eq!(p.exterior().0.len(), 5);
        assert!(
            signed_area2(&p.exterior().0) > 0.0,
            "exterior clockwise on screen"
        );
        for c in &p.exterior().0 {
            assert!(
                (c.x - 2048.0).abs() <= 513.0 && (c.y - 2048.0).abs() <= 513.0,
                "{c:?}"
            );
            assert_eq!(c.x, c.x.round());
        }
    }

    #[test]
    fn a_polygon_larger_than_the_tile_is_cut_to_its_buffer() {
        let t = tile();
        let b = t.lonlat_bounds(0);
        let big = geo::Geometry::Polygon(
            Rect::new(
                (b.min().x - 1.0, b.min().y - 1.0),
                (b.max().x + 1.0, b.max().y + 1.0),
            )
            .to_polygon(),
        );
        let Some(geo::Geometry::Polygon(p)) = for_tile(&big, &t) else {
            panic!("kept")
        };
        let (lo, hi) = clip_box();
        for c in &p.exterior().0 {
            assert!(
                (lo..=hi).contains(&c.x) && (lo..=hi).contains(&c.y),
                "{c:?}"
            );
        }
        assert_eq!(geo::Area::unsigned_area(&p), (hi - lo) * (hi - lo));
    }

    #[test]
    fn specks_and_far_away_features_are_dropped() {
        let t = tile();
        let b = t.lonlat_bounds(0);
        let c = b.center();
        let tiny = b.width() / 4096.0 / 10.0;
        let speck =
            geo::Geometry::Polygon(Rect::new((c.x, c.y), (c.x + tiny, c.y + tiny)).to_polygon());
        assert!(for_tile(&speck, &t).is_none());
        let far = geo::Geometry::Polygon(Rect::new((0.0, 0.0), (0.1, 0.1)).to_polygon());
        assert!(for_tile(&far, &t).is_none());
        let p = geo::Geometry::Point(Point::new(c.x, c.y));
        assert!(for_tile(&p, &t).is_some());
    }

    #[test]
    fn lines_are_cut_into_the_runs_inside() {
        let t = tile();
        let b = t.lonlat_bounds(0);
        let y = b.center().y;
        // Across the tile and out again.
        let l = geo::Geometry::LineString(LineString::from(vec![
            (b.min().x - 1.0, y),
            (b.max().x + 1.0, y),
        ]));
        let Some(geo::Geometry::LineString(cut)) = for_tile(&l, &t) else {
            panic!("kept")
        };
        let (lo, hi) = clip_box();
        assert_eq!((cut.0[0].x, cut.0[1].x), (lo, hi));
    }
}
