// The subject layer's matches: statistics (count and totals), the first page of the list and the
// map, fetched together; a newer query cancels an older one. Also the list's further pages, the
// zoom to the results and the notice when tiles sum or thin them.
import * as api from '../api.js';
import { language } from '../i18n/index.js';
import * as format from '../core/format.js';
import { PAGE } from '../panels/find.js';
import { setBusy, showError, busyWhile } from './chrome.js';

export class Results {
  constructor({ store, query, data, map, maplibregl, display, find, stats, area, thinned }) {
    Object.assign(this, { store, query, data, map, maplibregl, display, find, stats, area, thinned });
    this.inflight = null;
    this.lastStats = null;
    this.refreshed = []; // called after each refresh that completed
    find.onMore = () => this.more();
    map.on('idle', () => this.checkThinned());
  }

  async refresh({ zoom = false } = {}) {
    this.inflight?.abort();
    const ctrl = new AbortController();
    this.inflight = ctrl;
    const layer = this.query.subject();
    const filter = this.query.cql();
    this.find.setLoading(true);
    setBusy(1);
    try {
      const [s, page] = await Promise.all([
        api.getStats(layer.id, { filter, groupBy: this.stats.groupBy() }, ctrl.signal),
        api.searchItems(layer.id, { filter, sortby: this.query.sortby(), limit: PAGE }, ctrl.signal),
        this.data.applyFilter(layer.id, filter, ctrl.signal),
      ]);
      if (ctrl.signal.aborted) return;
      this.find.setStats(s);
      this.stats.setStats(s);
      this.area.setCount(s.numberMatched);
      this.find.setPage(page, false);
      this.find.renderTools();
      this.lastStats = s;
      if (zoom) this.zoomToResults();
      this.checkThinned();
      this.refreshed.forEach((fn) => fn());
    } catch (e) {
      if (e.name !== 'AbortError' && !ctrl.signal.aborted) showError(e);
    } finally {
      setBusy(-1);
      if (this.inflight === ctrl) this.find.setLoading(false);
    }
  }

  /** The list's next page. */
  more() {
    return busyWhile(async () => {
      const page = await api.searchItems(this.store.state.subject, { filter: this.query.cql(), sortby: this.query.sortby(), limit: PAGE, offset: this.find.result.features.length });
      this.find.setPage(page, true);
    });
  }

  /** Calls `fn` after every refresh (and new grouping) that completes. */
  onRefreshed(fn) {
    this.refreshed.push(fn);
  }

  /** The statistics alone (a new grouping). */
  async refreshStats() {
    try {
      this.stats.setStats(await api.getStats(this.store.state.subject, { filter: this.query.cql(), groupBy: this.stats.groupBy() }));
      this.refreshed.forEach((fn) => fn());
    } catch (e) {
      showError(e);
    }
  }

  /** Fits the map to features (a shared shortlist's carriers). */
  fitTo(features) {
    const b = new this.maplibregl.LngLatBounds();
    const walk = (c) => (typeof c[0] === 'number' ? b.extend(c) : c.forEach(walk));
    features.filter((f) => f && f.geometry).forEach((f) => walk(this.display(f).geometry.coordinates));
    if (!b.isEmpty()) this.map.fitBounds(b, { padding: 60, maxZoom: 15, duration: 0 });
  }

  zoomToResults() {
    const s = this.lastStats;
    const b = s && s.numberMatched > 0 && s.total.bbox;
    if (!b) return;
    const [w, south] = this.display({ type: 'Point', coordinates: [b[0], b[1]] }).coordinates;
    const [e, n] = this.display({ type: 'Point', coordinates: [b[2], b[3]] }).coordinates;
    this.map.fitBounds([[w, south], [e, n]], { padding: 60, maxZoom: 15.5, duration: 500 });
  }

  /** Says so when tiles on screen sum or thin the subject's matches (their tile_info layer). */
  checkThinned() {
    const layer = this.query.subject();
    if (layer.mode !== 'tiles' || !this.map.getSource(layer.id)) { this.thinned.set(null); return; }
    const infos = this.map.querySourceFeatures(layer.id, { sourceLayer: 'tile_info' });
    const incomplete = infos.some((f) => f.properties.collection === layer.id && f.properties.complete === false);
    this.thinned.set(incomplete && this.lastStats ? format.number(this.lastStats.numberMatched, language()) : null);
  }
}
