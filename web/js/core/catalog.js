// The app's model of the data, read from the API: each collection's title, size, how to draw
// it (GeoJSON or tiles), its fields with titles, units and filters (from its `presentation`,
// the queryables and the vocabularies), and which layer the find panel opens on. Pure: built
// from the API's answers, so any data set works and the unit tests check it without a server.

/** Colours for layers whose data says none, distinct on a light map. */
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#ff7f0e', '#7f7f7f'];

/** A property name as a title when the data gives none: `floor_area_m2` → `floor area m2`. */
export function titleOfName(name) {
  return name.replace(/_/g, ' ');
}

/** The unit a property's name implies (`…_m2` → m², `…_km2` → km²), for data with no sidecar. */
function unitOfName(name) {
  if (/_km2$/.test(name)) return 'km²';
  if (/_m2$/.test(name)) return 'm²';
  return undefined;
}

/** The filter a field gets when the data describes none (see `defaultFilters`). */
function defaultFilter(f) {
  if (f.derived || /^name/i.test(f.name) || f.lang) return undefined;
  if (f.type === 'string' && (f.enum || f.vocabulary)) return 'in';
  if (f.type === 'integer' || f.type === 'number' || f.type === 'date') return 'range';
  if (f.type === 'boolean') return 'flag';
  if (f.type === 'string array' && f.vocabulary) return 'contains';
  return undefined;
}

/** Most filters a layer without a described field gets, so the form stays short. */
const MAX_DEFAULT_FILTERS = 6;

/**
 * One layer's fields: the presentation's (in its order) joined with the queryables' enums.
 * A layer whose sidecar describes no field gets filters from its types and list columns from
 * its first numbers, so a planner's own file is searchable as it is.
 */
export function fieldsOf(collection, queryables) {
  const props = (queryables && queryables.properties) || {};
  const raw = (collection.presentation && collection.presentation.fields) || [];
  const described = raw.some((f) => f.title || f.filter || f.unit || f.list || f.hidden);
  const fields = raw.map((f) => {
    const q = props[f.name] || {};
    return {
      name: f.name,
      type: f.type,
      title: f.title || titleOfName(f.name),
      unit: f.unit ?? (described ? undefined : unitOfName(f.name)),
      filter: f.filter,
      filterTitle: f.filter_title,
      list: Boolean(f.list),
      hidden: Boolean(f.hidden),
      lang: f.lang,
      references: f.references,
      vocabulary: f.vocabulary,
      derived: Boolean(f.derived),
      // What a derived field is (area, zones, updated), from the server: never guessed from its name.
      role: f.derived ? f.role : undefined,
      enum: q.enum || (q.items && q.items.enum) || undefined,
      description: f.description,
    };
  });
  if (!described) {
    let given = 0;
    for (const f of fields) {
      const kind = defaultFilter(f);
      if (kind && given < MAX_DEFAULT_FILTERS) {
        f.filter = kind;
        given += 1;
      }
    }
    fields.filter((f) => (f.type === 'integer' || f.type === 'number') && !f.derived).slice(0, 3).forEach((f) => { f.list = true; });
  }
  return fields;
}

/** The property that names a feature in `lang`, if the layer has one. */
export function nameProperty(layer, lang) {
  const d = layer.displayProperty;
  if (d) return typeof d === 'string' ? d : d[lang] || d.en || d.zh;
  const f = layer.fields.find((x) => x.type === 'string' && /^name/i.test(x.name));
  return f ? f.name : null;
}

/** A feature's name in `lang`, falling back to the other language, then its id; never "null". */
export function featureName(layer, properties, id, lang) {
  const p = properties || {};
  const first = nameProperty(layer, lang);
  const other = nameProperty(layer, lang === 'zh' ? 'en' : 'zh');
  for (const k of [first, other]) {
    if (k && p[k] !== null && p[k] !== undefined && p[k] !== '') return String(p[k]);
  }
  return String(id ?? p.fid ?? '');
}

/**
 * The layers, in draw order (the server lists collections in their sidecars' order), each with
 * what the app needs; and the subject: the layer the find panel opens on.
 */
export function buildCatalog(collections, queryablesById) {
  const layers = collections.map((c, i) => {
    const p = c.presentation || {};
    const style = { ...(p.style || {}) };
    if (!style.color) style.color = PALETTE[i % PALETTE.length];
    return {
      id: c.id,
      title: c.titles || c.title || c.id,
      description: c.description,
      count: c.numberOfFeatures ?? 0,
      mode: (c.mapRendering && c.mapRendering.mode) || 'geojson',
      tileJson: c.mapRendering && c.mapRendering.tileJson,
      zone: Boolean(c.zone),
      primary: Boolean(p.primary),
      editable: Boolean(p.editable),
      asOf: p.asOf,
      notice: p.notice,
      style,
      displayProperty: c.displayProperty,
      geometryTypes: c.geometryTypes || [],
      bbox: c.extent && c.extent.spatial && c.extent.spatial.bbox && c.extent.spatial.bbox[0],
      temporalProperty: p.temporalProperty,
      fields: fieldsOf(c, queryablesById[c.id]),
    };
  });
  return { layers, subject: chooseSubject(layers) };
}

/** The primary layer; else the largest that is not a zone; else the largest. */
export function chooseSubject(layers) {
  const primary = layers.find((l) => l.primary);
  if (primary) return primary.id;
  const bySize = [...layers].sort((a, b) => b.count - a.count);
  return (bySize.find((l) => !l.zone) || bySize[0] || {}).id || null;
}

/** The fields of a layer a reader of `lang` sees in details (not hidden, not in the other language). */
export function visibleFields(layer, lang) {
  return layer.fields.filter((f) => !f.hidden && (!f.lang || f.lang === lang));
}
