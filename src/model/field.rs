use super::FieldType;

/// One attribute of a layer: its name, inferred type, and whether the server derived it.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub ty: FieldType,
    /// Computed at load (geodesic area, containing zones), not read from the file.
    pub derived: bool,
    /// Every feature's value is null: the type is a default, so filters treat values as unknown
    /// instead of refusing a comparison against the default type.
    pub nulls_only: bool,
}
