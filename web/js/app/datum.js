// Basemaps and the datum the overlays are drawn in: WGS 84 (CGCS2000) by default, GCJ-02 under
// a basemap drawn in it, so that the two line up. Positions from the map go back to WGS 84.
import { wgs84ToGcj02, gcj02ToWgs84, mapPositions } from '../gcj02.js';

export class Datum {
  constructor(store, basemaps) {
    this.store = store;
    this.basemaps = basemaps;
  }

  /** The basemap shown: the reader's choice, else the configured default, else none (''). */
  chosen() {
    const b = this.store.state.basemap;
    if (b === null || b === undefined) return (this.basemaps.find((x) => x.default) || {}).id || '';
    return b;
  }

  datum() {
    return (this.basemaps.find((b) => b.id === this.chosen()) || {}).datum || 'wgs84';
  }

  /** A geometry in WGS 84 as the map draws it. */
  display = (g) => (this.datum() === 'gcj02' ? mapPositions(g, wgs84ToGcj02) : g);

  /** A geometry drawn on the map, back in WGS 84. */
  toWgs84 = (g) => (this.datum() === 'gcj02' ? mapPositions(g, gcj02ToWgs84) : g);

  /** Shows the chosen basemap's layers of the style and hides the others'. */
  apply(map, data) {
    const chosen = this.chosen();
    for (const l of map.getStyle().layers) {
      const owner = l.id.startsWith('basemap-') ? this.basemaps.find((b) => l.id === `basemap-${b.id}` || l.id.startsWith(`basemap-${b.id}-`)) : null;
      if (owner) map.setLayoutProperty(l.id, 'visibility', owner.id === chosen ? 'visible' : 'none');
    }
    data.redrawAll();
    data.setArea(this.store.state.area);
  }
}
