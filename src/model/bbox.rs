/// A bounding box in CRS84 longitude/latitude, as the `bbox` query parameter carries it.
///
/// Following OGC API - Features Part 1 (7.15.3), a box whose west edge is greater than its east
/// edge crosses the antimeridian; it is not an error. A south edge above the north edge is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bbox {
    pub west: f64,
    pub south: f64,
    pub east: f64,
    pub north: f64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BboxError {
    #[error("bbox needs 4 numbers (or 6 with heights), got {0}")]
    Arity(usize),
    #[error("bbox value {0:?} is not a finite number")]
    NotANumber(String),
    #[error("bbox longitude {0} is outside -180..180")]
    LonOutOfRange(f64),
    #[error("bbox latitude {0} is outside -90..90")]
    LatOutOfRange(f64),
    #[error("bbox south edge {south} is greater than its north edge {north}")]
    SouthAboveNorth { south: f64, north: f64 },
    #[error("bbox minimum height {0} is greater than its maximum height {1}")]
    HeightsReversed(f64, f64),
}

impl Bbox {
    /// Parses `west,south,east,north` or `west,south,minz,east,north,maxz`.
    pub fn parse(raw: &str) -> Result<Self, BboxError> {
        let parts: Vec<&str> = raw.split(',').collect();
        let numbers = parts
            .iter()
            .map(|p| {
                let t = p.trim();
                t.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| BboxError::NotANumber(t.to_owned()))
            })
            .collect::<Result<Vec<f64>, _>>();
        let n = match parts.len() {
            4 | 6 => numbers?,
            other => return Err(BboxError::Arity(other)),
        };
        let (west, south, east, north) = if n.len() == 4 {
            (n[0], n[1], n[2], n[3])
        } else {
            if n[2] > n[5] {
                return Err(BboxError::HeightsReversed(n[2], n[5]));
            }
            (n[0], n[1], n[3], n[4])
        };
        Self::new(west, south, east, north)
    }

    pub fn new(west: f64, south: f64, east: f64, north: f64) -> Result<Self, BboxError> {
        for lon in [west, east] {
            if !(-180.0..=180.0).contains(&lon) {
                return Err(BboxError::LonOutOfRange(lon));
            }
        }
        for lat in [south, north] {
            if !(-90.0..=90.0).contains(&lat) {
                return Err(BboxError::LatOutOfRange(lat));
            }
        }
        if south > north {
            return Err(BboxError::SouthAboveNorth { south, north });
        }
        Ok(Self {
            west,
            south,
            east,
            north,
        })
    }

    pub fn crosses_antimeridian(&self) -> bool {
        self.west > self.east
    }

    /// The box as one or two ordinary rectangles `([min_x, min_y], [max_x, max_y])`, split at the
    /// antimeridian when it crosses it.
    pub fn rects(&self) -> Vec<([f64; 2], [f64; 2])> {
        if self.crosses_antimeridian() {
            vec![
                ([self.west, self.south], [180.0, self.north]),
                ([-180.0, self.south], [self.east, self.north]),
            ]
        } else {
            vec![([self.west, self.south], [self.east, self.north])]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_four_and_six_numbers() {
        let b = Bbox::parse("116.4, 39.7,116.7,39.9").unwrap();
        assert_eq!(
            (b.west, b.south, b.east, b.north),
            (116.4, 39.7, 116.7, 39.9)
        );
        let b = Bbox::parse("1,2,0,3,4,10").unwrap();
        assert_eq!((b.west, b.south, b.east, b.north), (1.0, 2.0, 3.0, 4.0));
    }

    #[test]
    fn rejects_each_malformed_class() {
        assert_eq!(Bbox::parse("1,2,3"), Err(BboxError::Arity(3)));
        assert_eq!(Bbox::parse("1,2,3,4,5"), Err(BboxError::Arity(5)));
        assert!(matches!(
            Bbox::parse("1,2,x,4"),
            Err(BboxError::NotANumber(_))
        ));
        assert!(matches!(
            Bbox::parse("1,NaN,3,4"),
            Err(BboxError::NotANumber(_))
        ));
        assert!(matches!(
            Bbox::parse("1,2,inf,4"),
            Err(BboxError::NotANumber(_))
        ));
        assert_eq!(
            Bbox::parse("181,2,3,4"),
            Err(BboxError::LonOutOfRange(181.0))
        );
        assert_eq!(
            Bbox::parse("1,-91,3,4"),
            Err(BboxError::LatOutOfRange(-91.0))
        );
        assert!(matches!(
            Bbox::parse("1,5,3,4"),
            Err(BboxError::SouthAboveNorth { .. })
        ));
    }

    #[test]
    fn west_above_east_crosses_the_antimeridian() {
        let b = Bbox::parse("170,-10,-170,10").unwrap();
        assert!(b.crosses_antimeridian());
        assert_eq!(b.rects().len(), 2);
    }
}
