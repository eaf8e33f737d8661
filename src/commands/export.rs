//! `etown-atlas export`: a query or an area to a file, without a server, with the same writers
//! and the same area checks as the API.

use etown_atlas::ingest::{self};

use super::args::*;
use super::data::*;

/// `etown-atlas export`: the API's download, written to a file.
pub(crate) fn export(args: ExportArgs) -> Result<(), String> {
    use etown_atlas::export::{self, clip::clip_source, ExportOptions, ExportSource, Format};
    use etown_atlas::model::Crs;
    use etown_atlas::query::{compile, exec, Area, Budget, FeatureQuery, FilterLang, FilterSpec};
    let format =
        Format::parse(&args.format).ok_or_else(|| format!("unknown format {:?}", args.format))?;
    let crs = args
        .crs
        .as_deref()
        .map(Crs::parse)
        .transpose()
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    let options = ExportOptions {
        crs,
        csv_bom: args.bom,
    };
    let catalog = load(args.data.as_ref(), args.load.options()).map_err(|e| e.to_string())?;
    let mut q = FeatureQuery {
        limit: usize::MAX,
        ..FeatureQuery::default()
    };
    if let Some(b) = &args.bbox {
        q.bbox = Some(etown_atlas::model::Bbox::parse(b).map_err(|e| format!("--bbox: {e}"))?);
    }
    let area = match &args.area {
        None => None,
        Some(path) => {
            let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let v: serde_json::Value =
                serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            let geometry = v
                .pointer("/features/0/geometry")
                .or_else(|| v.get("geometry"))
                .unwrap_or(&v)
                .clone();
            let mp = ingest::area_polygon(&geometry)
                .map_err(|e| format!("{}: --area: {e}", path.display()))?;
            q.area = Some(
                Area::new(mp.clone().into())
                    .map_err(|e| format!("{}: --area: {e}", path.display()))?,
            );
            Some(mp)
        }
    };
    q.filter = args.filter.clone().map(|text| FilterSpec {
        text,
        lang: FilterLang::Cql2Text,
    });
    let mut sources = Vec::new();
    for c in &args.collections {
        let layer = catalog
            .layer(c)
            .cloned()
            .ok_or_else(|| format!("there is no collection {c:?}"))?;
        let plan = compile(&layer, &q).map_err(|e| e.to_string())?;
        let slots: Vec<usize> = exec::matching(&layer, &plan, &Budget::unlimited())
            .map_err(|e| e.to_string())?
            .into_iter()
            .skip(q.offset)
            .take(q.limit)
            .collect();
        let source = ExportSource::from_slots(layer, slots, plan.properties.clone());
        sources.push(match (&area, args.clip) {
            (Some(mp), true) => clip_source(source, mp.clone()),
            _ => source,
        });
    }
    let file =
        std::fs::File::create(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let result = if sources.len() == 1 && area.is_none() {
        export::write(format, sources.remove(0), options, &mut out)
    } else {
        export::write_layers(format, sources, options, &mut out)
    };
    result.map_err(|e| e.to_string())?;
    std::io::Write::flush(&mut out).map_err(|e| e.to_string())
}
