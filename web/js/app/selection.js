// Selection: a click, a search result, a list row or what's here opens a feature's details; the
// ones picked from a list fly the map to it.
import * as api from '../api.js';
import { showError } from './chrome.js';

export class Selection {
  constructor({ store, query, data, details, map, maplibregl, display }) {
    Object.assign(this, { store, query, data, details, map, maplibregl, display });
    this.flyNext = false;
    this.opening = 0;
    store.on(['selected'], () => this.open());
  }

  /** Opens a feature's details and flies to it. */
  openAndFly = (collection, id) => {
    this.flyNext = true;
    const sel = this.store.state.selected;
    if (sel && sel.collection === collection && sel.id === id) this.open();
    else this.store.update({ selected: { collection, id } });
  };

  /** Shows the selected feature (or closes the details when none is). */
  async open() {
    const sel = this.store.state.selected;
    const mine = ++this.opening;
    if (!sel) {
      this.details.close();
      this.data.setSelection(null);
      return;
    }
    const layer = this.query.layerOf(sel.collection);
    if (!layer) return;
    try {
      let feature = this.data.feature(sel.collection, sel.id);
      if (!feature) feature = await api.getFeature(sel.collection, sel.id);
      if (mine !== this.opening) return;
      const filtered = sel.collection === this.store.state.subject && this.query.cql() !== null && layer.mode !== 'tiles';
      const hidden = filtered && !this.data.feature(sel.collection, sel.id);
      this.details.open(layer, feature, { hidden });
      this.data.setSelection(feature);
      if (this.flyNext) {
        this.flyNext = false;
        const b = new this.maplibregl.LngLatBounds();
        const walk = (c) => (typeof c[0] === 'number' ? b.extend(c) : c.forEach(walk));
        walk(this.display(feature).geometry.coordinates);
        this.map.fitBounds(b, { padding: 80, maxZoom: 16, duration: 600 });
      }
    } catch (e) {
      this.details.close();
      showError(e);
    }
  }
}
