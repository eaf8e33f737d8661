// The map's style: one ordered build() that holds the draw order of every layer.
import { zoneLayers } from './layers/zones.js';
import { parkLayers } from './layers/parks.js';
import { carrierLayers } from './layers/carriers.js';

/** Bottom to top. Collections the server does not have are skipped. */
export const DRAW_ORDER = ['new-town', 'data-pilot-zone', 'ftz-etown-cluster', 'bonded-zone', 'parks', 'spatial-carriers'];

/** The base style: a plain background, and the configured basemaps as hidden raster layers. */
export function baseStyle(basemaps = []) {
  const sources = {};
  const layers = [{ id: 'background', type: 'background', paint: { 'background-color': '#eef2f4' } }];
  for (const b of basemaps) {
    sources[`basemap-${b.id}`] = { type: 'raster', tiles: b.tiles, tileSize: b.tileSize || 256, attribution: b.attribution };
    layers.push({ id: `basemap-${b.id}`, type: 'raster', source: `basemap-${b.id}`, layout: { visibility: 'none' } });
  }
  return { version: 8, sources, layers };
}

/** Style layers for one collection. */
export function layersFor(id, industries) {
  if (id === 'spatial-carriers') return carrierLayers(id, industries);
  if (id === 'parks') return parkLayers(id);
  return zoneLayers(id);
}

/**
 * Adds a GeoJSON source and its style layers for every collection, in draw order. `promoteId`
 * makes the features' string ids usable with feature-state.
 */
export function build(map, collectionIds, industries) {
  const ordered = DRAW_ORDER.filter((id) => collectionIds.includes(id)).concat(collectionIds.filter((id) => !DRAW_ORDER.includes(id)));
  for (const id of ordered) {
    map.addSource(id, { type: 'geojson', data: { type: 'FeatureCollection', features: [] }, promoteId: 'fid' });
    for (const layer of layersFor(id, industries)) map.addLayer(layer);
  }
  return ordered;
}

/** The ids of the style layers of a collection. */
export function styleLayerIds(map, collection) {
  return map.getStyle().layers.filter((l) => l.source === collection).map((l) => l.id);
}
