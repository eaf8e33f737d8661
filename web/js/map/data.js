// The data on the map: one source per layer, GeoJSON for layers small enough to send whole and
// vector tiles for the rest (the collection's `mapRendering` says which), with the find filter
// applied to the subject layer either way: GeoJSON by fetching the matches, tiles by a tileset
// made for the filter (POST /collections/{id}/tiles). Also the overlays: the drawn area and the
// selected feature, drawn above everything so a feature the filters hide still shows when picked.
import * as api from '../api.js';
import { layersFor, layerIds, labelSource, labelPoints, labelText, SCORE_COLOURS, NEAR_COLOUR, OTHER_COLOUR } from './style.js';

const EMPTY = { type: 'FeatureCollection', features: [] };
/** Longest filter sent inside tile URLs (the server takes URLs of 16 KiB). */
const INLINE_FILTER_BYTES = 8000;

/** GeoJSON features with their id as the `fid` property (feature state needs a property id). */
const withFid = (fc) => ({ ...fc, features: fc.features.map((f) => ({ ...f, properties: { ...f.properties, fid: f.id } })) });

export class DataLayers {
  /**
   * `display(geojson)` shifts WGS84 into the basemap's datum (GCJ-02 for AMap tiles) and back
   * is `toWgs84`; both are the identity for WGS84 basemaps.
   */
  constructor(map, catalog, vocabularies, { display }) {
    this.map = map;
    this.catalog = catalog;
    this.vocabularies = vocabularies;
    this.display = display;
    this.features = {}; // layer id -> FeatureCollection (WGS84), GeoJSON layers only
    this.byId = {}; // layer id -> Map(id -> feature)
    this.tileFilter = {}; // layer id -> CQL2 JSON its tiles are made for
    this.generation = 0;
  }

  isTiled(layer) {
    return layer.mode === 'tiles';
  }

  /** Adds every layer's source and style layers in draw order, then the overlays. */
  async add(lang) {
    const map = this.map;
    const labels = [];
    for (const layer of this.catalog.layers) {
      if (this.isTiled(layer)) {
        const tj = await api.getTileJson(layer.tileJson);
        map.addSource(layer.id, { type: 'vector', tiles: tj.tiles, minzoom: tj.minzoom ?? 0, maxzoom: tj.maxzoom ?? 16, bounds: tj.bounds, promoteId: { [layer.id]: 'fid' } });
      } else {
        map.addSource(layer.id, { type: 'geojson', data: EMPTY, promoteId: 'fid' });
        if (labelText(layer, lang)) map.addSource(labelSource(layer.id), { type: 'geojson', data: EMPTY });
      }
      for (const l of layersFor(layer, this.vocabularies, lang, { tiled: this.isTiled(layer) })) {
        if (l.type === 'symbol') labels.push(l);
        else map.addLayer(l);
      }
    }
    // Labels above every shape; zones' last, so they are placed first and win collisions
    // (their names are what a first view needs), then other layers' top-most first.
    // Placed first (added last): zones, the bottom-most (the widest context) first of them.
    const order = (l) => {
      const i = this.catalog.layers.findIndex((x) => `${x.id}-label` === l.id);
      return this.catalog.layers[i]?.zone ? 1000 - i : i;
    };
    labels.sort((a, b) => order(a) - order(b));
    labels.forEach((l) => map.addLayer(l));
    map.addSource('area', { type: 'geojson', data: EMPTY });
    map.addLayer({ id: 'area-line', type: 'line', source: 'area', paint: { 'line-color': '#e67e22', 'line-width': 2.5, 'line-dasharray': [2, 1] } });
    map.addSource('selection', { type: 'geojson', data: EMPTY });
    map.addLayer({ id: 'selection-line', type: 'line', source: 'selection', paint: { 'line-color': '#111111', 'line-width': 3.5 } });
    map.addLayer({ id: 'selection-halo', type: 'line', source: 'selection', paint: { 'line-color': '#ffffff', 'line-width': 1.2, 'line-dasharray': [2, 2] } });
  }

  /** Loads every GeoJSON layer that is not the subject (the subject follows its filter). */
  async loadContext(subject) {
    await Promise.all(this.catalog.layers.filter((l) => !this.isTiled(l) && l.id !== subject).map((l) => this.setFeatures(l.id, null)));
  }

  /** The features a GeoJSON layer shows: all, or the matches of `filter`. */
  async setFeatures(id, filter, signal) {
    const fc = await api.allFeatures(id, filter, signal);
    this.features[id] = fc;
    this.byId[id] = new Map(fc.features.map((f) => [String(f.id), f]));
    this.draw(id);
    return fc;
  }

  /** Redraws a GeoJSON layer (after its features or the datum changed). */
  draw(id) {
    const fc = this.features[id];
    if (!fc) return;
    const shown = this.display(withFid(fc));
    this.map.getSource(id)?.setData(shown);
    this.map.getSource(labelSource(id))?.setData(labelPoints(shown));
  }

  redrawAll() {
    Object.keys(this.features).forEach((id) => this.draw(id));
  }

  /**
   * Applies the find filter to the subject layer: its matches (GeoJSON) or a tileset for the
   * filter (tiles). Layers that are not the subject show everything.
   */
  async applyFilter(subject, filter, signal) {
    const layer = this.catalog.layers.find((l) => l.id === subject);
    if (!layer) return;
    if (this.isTiled(layer)) {
      const key = JSON.stringify([filter, api.getMoment()]);
      if (this.tileFilter[subject] === key) return;
      const base = await api.getTileJson(layer.tileJson);
      let tiles = base.tiles;
      if (filter) {
        // The filter in the tile URLs while it is short (it then survives a server restart);
        // a tileset stored on the server for a long one (a detailed drawn area).
        const q = `filter=${encodeURIComponent(JSON.stringify(filter))}&filter-lang=cql2-json`;
        tiles = q.length < INLINE_FILTER_BYTES
          ? base.tiles.map((t) => `${t}${t.includes('?') ? '&' : '?'}${q}`)
          : (await api.filteredTileJson(subject, filter)).tiles;
      }
      // The data as of a moment: every tile URL says which.
      const at = api.momentQuery();
      if (at) tiles = tiles.map((t) => `${t}${t.includes('?') ? '&' : '?'}${at}`);
      this.tileFilter[subject] = key;
      this.map.getSource(subject)?.setTiles(tiles);
    } else {
      await this.setFeatures(subject, filter, signal);
    }
  }

  /**
   * After an edit of `id`: a tiled layer fetches its tiles again (they revalidate by ETag, so
   * only changed ones come back whole); a GeoJSON layer that is not the subject reloads (the
   * subject reloads with its filter through applyFilter).
   */
  async invalidate(id, subject) {
    const layer = this.catalog.layers.find((l) => l.id === id);
    if (!layer) return;
    if (this.isTiled(layer)) {
      delete this.tileFilter[id];
      if (id !== subject && this.map.getSource(id)) this.map.refreshTiles(id);
    } else if (id !== subject && this.features[id]) {
      await this.setFeatures(id, null);
    }
  }

  /**
   * Colours a layer's features by match score, the rest grey: `scores` maps ids of matches to
   * 0..100, `near` ids of near misses to theirs; `null` restores the layer's own colours. The
   * scores travel as feature state (by the `fid` both GeoJSON and tiles carry), so the paint
   * expression stays small however many matches there are (70,000 at a million carriers), and
   * tiles loaded later take their colours too.
   */
  highlight(id, scores, near = {}) {
    const fill = layerIds(id).fill;
    if (!this.map.getLayer(fill)) return;
    this.ownFill = this.ownFill || {};
    this.scored = this.scored || {};
    if (!(id in this.ownFill)) this.ownFill[id] = this.map.getPaintProperty(fill, 'fill-color');
    const layer = this.catalog.layers.find((l) => l.id === id);
    const target = (fid) => (this.isTiled(layer) ? { source: id, sourceLayer: id, id: fid } : { source: id, id: fid });
    for (const fid of this.scored[id] || []) {
      this.map.removeFeatureState(target(fid), 'score');
      this.map.removeFeatureState(target(fid), 'near');
    }
    this.scored[id] = [];
    if (!scores) {
      this.map.setPaintProperty(fill, 'fill-color', this.ownFill[id]);
      return;
    }
    for (const [fid, score] of Object.entries(scores)) {
      this.map.setFeatureState(target(fid), { score });
      this.scored[id].push(fid);
    }
    for (const fid of Array.isArray(near) ? near : Object.keys(near)) {
      this.map.setFeatureState(target(fid), { near: true });
      this.scored[id].push(fid);
    }
    const score = ['feature-state', 'score'];
    this.map.setPaintProperty(fill, 'fill-color', ['case',
      ['!=', score, null], ['interpolate', ['linear'], ['to-number', score, 0], 0, SCORE_COLOURS[0], 50, SCORE_COLOURS[1], 100, SCORE_COLOURS[2]],
      ['boolean', ['feature-state', 'near'], false], NEAR_COLOUR,
      OTHER_COLOUR]);
  }

  /** The score the map colours a feature with (null for none): what the tests read back. */
  scoreOf(collection, fid) {
    const layer = this.catalog.layers.find((l) => l.id === collection);
    const state = this.map.getFeatureState(this.isTiled(layer) ? { source: collection, sourceLayer: collection, id: fid } : { source: collection, id: fid });
    return state && typeof state.score === 'number' ? state.score : null;
  }

  /** A feature of a GeoJSON layer by id (null for a tiled layer or an unknown id). */
  feature(collection, id) {
    return this.byId[collection]?.get(String(id)) || null;
  }

  setVisible(id, visible) {
    const v = visible ? 'visible' : 'none';
    for (const l of Object.values(layerIds(id))) if (this.map.getLayer(l)) this.map.setLayoutProperty(l, 'visibility', v);
  }

  setLanguage(lang) {
    for (const layer of this.catalog.layers) {
      const id = layerIds(layer.id).label;
      if (this.map.getLayer(id)) this.map.setLayoutProperty(id, 'text-field', labelText(layer, lang));
    }
  }

  setArea(area) {
    this.map.getSource('area')?.setData(area ? this.display({ type: 'Feature', geometry: area, properties: {} }) : EMPTY);
  }

  setSelection(feature) {
    this.map.getSource('selection')?.setData(feature && feature.geometry ? this.display({ type: 'Feature', geometry: feature.geometry, properties: {} }) : EMPTY);
  }

  /** The fill layers that can be clicked or hovered, top-most first. */
  fillLayers() {
    return [...this.catalog.layers].reverse().map((l) => layerIds(l.id).fill).filter((l) => this.map.getLayer(l));
  }
}
