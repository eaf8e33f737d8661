// The map's style, made from the data: a source per layer (GeoJSON for small layers, vector
// tiles for big ones), fills and outlines in the colours the sidecar gives (or by the terms of a
// vocabulary), labels as map symbols (collision-aware, so never thousands of DOM nodes), and
// per-cell totals where a tile sums its features. The style names no glyph server: MapLibre draws
// label text with the browser's own fonts, so the page asks no outside host for them.
import { nameProperty } from '../core/catalog.js';

/** Style layer ids of one data layer, bottom to top. */
export const layerIds = (id) => ({
  fill: `${id}-fill`,
  line: `${id}-line`,
  label: `${id}-label`,
  cells: `${id}-cells`,
  cellLabel: `${id}-cells-label`,
});

/** Where a layer's labels come from: a point source beside a GeoJSON layer, the tiles otherwise. */
export const labelSource = (id) => `${id}-labels`;

const hover = ['boolean', ['feature-state', 'hover'], false];

/** A match answer's colours (map/data.js paints them, the legend shows them): score 0, 50, 100. */
export const SCORE_COLOURS = ['#c7e9c0', '#41ab5d', '#00441b'];
export const NEAR_COLOUR = '#f39c12';
export const OTHER_COLOUR = '#d5d8dc';

/** The fill colour: by the terms of the `color_by` vocabulary, else the layer's colour. */
export function fillColor(layer, vocabularies) {
  const by = layer.style.color_by;
  const field = by && layer.fields.find((f) => f.name === by);
  const vocab = field && vocabularies[field.vocabulary];
  if (!vocab) return layer.style.color;
  const match = ['match', ['get', by]];
  for (const term of vocab.terms) if (term.color) match.push(term.id, term.color);
  match.push(layer.style.color);
  return match.length > 3 ? match : layer.style.color;
}

/** The label text in `lang`: the name, else the other language's. */
export function labelText(layer, lang) {
  const first = nameProperty(layer, lang);
  const other = nameProperty(layer, lang === 'zh' ? 'en' : 'zh');
  const parts = [first, other].filter(Boolean).map((p) => ['get', p]);
  return parts.length ? ['coalesce', ...parts, ''] : '';
}

/** The basemaps: raster or vector tile sources, each hidden until chosen. */
export function baseStyle(basemaps) {
  const sources = {};
  const layers = [{ id: 'background', type: 'background', paint: { 'background-color': '#eef2f4' } }];
  for (const b of basemaps) {
    const source = `basemap-${b.id}`;
    const common = { tiles: b.tiles, attribution: b.attribution || undefined, minzoom: b.minzoom ?? 0, maxzoom: b.maxzoom ?? 22 };
    if (b.bounds) common.bounds = b.bounds;
    if (b.type === 'vector') {
      sources[source] = { type: 'vector', ...common };
      layers.push(...vectorBasemapLayers(b, source));
    } else {
      sources[source] = { type: 'raster', tileSize: b.tileSize || 256, ...common };
      layers.push({ id: source, type: 'raster', source, layout: { visibility: 'none' } });
    }
  }
  return { version: 8, sources, layers };
}

/**
 * A plain drawing of a vector basemap the operator supplied without a style: for each of its
 * layers, polygons as pale fills, lines as grey strokes, points as dots, names as labels.
 */
function vectorBasemapLayers(b, source) {
  const out = [];
  for (const vl of b.vectorLayers || []) {
    const base = { source, 'source-layer': vl.id, layout: { visibility: 'none' }, metadata: { basemap: b.id } };
    out.push({ ...base, id: `${source}-${vl.id}-fill`, type: 'fill', filter: ['==', ['geometry-type'], 'Polygon'], paint: { 'fill-color': '#dfe5e8', 'fill-outline-color': '#c5ced3' } });
    out.push({ ...base, id: `${source}-${vl.id}-line`, type: 'line', filter: ['==', ['geometry-type'], 'LineString'], paint: { 'line-color': '#b0b8bf', 'line-width': 1.2 } });
    out.push({ ...base, id: `${source}-${vl.id}-point`, type: 'circle', filter: ['==', ['geometry-type'], 'Point'], paint: { 'circle-radius': 2, 'circle-color': '#8a959e' } });
    if (vl.fields && vl.fields.name) {
      out.push({ ...base, id: `${source}-${vl.id}-name`, type: 'symbol', layout: { ...base.layout, 'text-field': ['get', 'name'], 'text-size': 11 }, paint: { 'text-color': '#56616a', 'text-halo-color': '#fff', 'text-halo-width': 1 } });
    }
  }
  return out;
}

/** The style layers of one data layer (see the module doc). */
export function layersFor(layer, vocabularies, lang, { tiled }) {
  const id = layer.id;
  const ids = layerIds(id);
  const s = layer.style;
  const src = tiled ? { source: id, 'source-layer': id } : { source: id };
  const width = s.line_width ?? 1.2;
  const line = {
    'line-color': ['case', ['boolean', ['feature-state', 'selected'], false], '#111111', s.color],
    'line-width': ['case', ['boolean', ['feature-state', 'selected'], false], width + 2.5, hover, width + 1.5, width],
  };
  if (s.dash) line['line-dasharray'] = s.dash;
  const fillOpacity = s.fill_opacity ?? 0.3;
  const out = [
    { id: ids.fill, type: 'fill', ...src, paint: { 'fill-color': fillColor(layer, vocabularies), 'fill-opacity': ['case', hover, Math.min(1, fillOpacity + 0.25), fillOpacity] } },
    { id: ids.line, type: 'line', ...src, paint: line },
  ];
  const text = labelText(layer, lang);
  if (text) {
    out.push({
      id: ids.label, type: 'symbol', ...(tiled ? src : { source: labelSource(id) }),
      minzoom: s.label_minzoom ?? (layer.zone ? 9 : 13),
      layout: {
        'text-field': text,
        'text-size': layer.zone ? 13 : 12,
        'text-max-width': 9,
        'text-padding': 4,
        'symbol-placement': 'point',
        'text-optional': true,
      },
      paint: { 'text-color': layer.zone ? s.color : '#1b2530', 'text-halo-color': '#ffffff', 'text-halo-width': 1.4 },
    });
  }
  if (tiled) {
    // Where a tile sums its features per cell (too many to draw), a shade and a count.
    const cells = { source: id, 'source-layer': `${id}_cells` };
    out.push({ id: ids.cells, type: 'fill', ...cells, paint: { 'fill-color': s.color, 'fill-opacity': ['interpolate', ['linear'], ['get', 'count'], 1, 0.15, 100, 0.45, 1000, 0.7] } });
    out.push({ id: ids.cellLabel, type: 'symbol', ...cells, layout: { 'text-field': ['to-string', ['get', 'count']], 'text-size': 10 }, paint: { 'text-color': '#1b2530', 'text-halo-color': '#fff', 'text-halo-width': 1 } });
  }
  return out;
}

/** Points to label a GeoJSON layer by: each feature's envelope centre, with its properties. */
export function labelPoints(fc) {
  const features = [];
  for (const f of fc.features) {
    if (!f.geometry) continue;
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    const walk = (c) => {
      if (typeof c[0] === 'number') {
        if (c[0] < minX) minX = c[0];
        if (c[0] > maxX) maxX = c[0];
        if (c[1] < minY) minY = c[1];
        if (c[1] > maxY) maxY = c[1];
      } else c.forEach(walk);
    };
    walk(f.geometry.coordinates);
    features.push({ type: 'Feature', properties: f.properties, geometry: { type: 'Point', coordinates: [(minX + maxX) / 2, (minY + maxY) / 2] } });
  }
  return { type: 'FeatureCollection', features };
}
