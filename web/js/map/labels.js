// Labels as HTML, so that no glyph server is needed: the page stays offline. One label per park
// and (from zoom 13) per carrier, at the centre of its envelope.
import * as maplibregl from '/vendor/maplibre-gl/maplibre-gl.mjs';

function centre(geometry) {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      minX = Math.min(minX, c[0]); maxX = Math.max(maxX, c[0]); minY = Math.min(minY, c[1]); maxY = Math.max(maxY, c[1]);
    } else c.forEach(walk);
  };
  walk(geometry.coordinates);
  return [(minX + maxX) / 2, (minY + maxY) / 2];
}

export class Labels {
  constructor(map) {
    this.map = map;
    this.groups = new Map(); // name -> { markers, minZoom }
    map.on('zoomend', () => this.refreshVisibility());
  }

  /** Replaces one group of labels: `features` with their text from `text(feature)`. */
  set(group, features, text, { minZoom = 0, className = '' } = {}) {
    this.clear(group);
    const markers = features.map((f) => {
      const el = document.createElement('div');
      el.className = `map-label ${className}`;
      el.textContent = text(f);
      el.setAttribute('aria-hidden', 'true');
      return new maplibregl.Marker({ element: el, anchor: 'center' }).setLngLat(centre(f.geometry)).addTo(this.map);
    });
    this.groups.set(group, { markers, minZoom, visible: true });
    this.refreshVisibility();
  }

  show(group, visible) {
    const g = this.groups.get(group);
    if (g) { g.visible = visible; this.refreshVisibility(); }
  }

  clear(group) {
    const g = this.groups.get(group);
    if (g) g.markers.forEach((m) => m.remove());
    this.groups.delete(group);
  }

  refreshVisibility() {
    const z = this.map.getZoom();
    for (const g of this.groups.values()) {
      const show = g.visible && z >= g.minZoom;
      g.markers.forEach((m) => { m.getElement().style.display = show ? '' : 'none'; });
    }
  }
}
