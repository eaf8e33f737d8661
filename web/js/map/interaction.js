// Pointing at the map: a tooltip on hover, and a click that opens the top-most meaningful
// feature. "Meaningful": the subject layer's features before other layers', other layers'
// before zones, a smaller zone before a larger one, and a zone whose outline encloses the whole
// view is background, not a target (a click there is a click on nothing, which closes details).
import { h, fill } from '../dom.js';

/** Rank of a rendered feature for a click: lower wins. */
function rank(f, catalog, subject) {
  const layer = catalog.layers.find((l) => l.id === f.source);
  if (!layer) return [9, 0];
  if (layer.id === subject) return [0, 0];
  if (!layer.zone) return [1, 0];
  const area = Number(f.properties.geodesic_area_m2) || Infinity;
  return [2, area];
}

export class Interaction {
  constructor(map, data, catalog, { subject, onPick, onNothing, isBlocked, describe }) {
    this.map = map;
    this.data = data;
    this.catalog = catalog;
    this.subject = subject;
    this.onPick = onPick;
    this.onNothing = onNothing;
    this.isBlocked = isBlocked;
    this.describe = describe; // (layer, properties, id) -> [line, line...] for the tooltip
    this.hovered = null;
    this.selected = null;
    this.tooltip = h('div', { class: 'map-tooltip', role: 'tooltip', hidden: true });
    map.getContainer().append(this.tooltip);
    map.on('mousemove', (e) => this.move(e));
    map.on('mouseout', () => this.leave());
    map.on('click', (e) => this.click(e));
  }

  /** Whether a zone's whole outline contains the view (it is then the background here). */
  enclosesView(f) {
    const feature = this.data.feature(f.source, f.properties.fid ?? f.id);
    if (!feature || !feature.geometry) return false;
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    const walk = (c) => {
      if (typeof c[0] === 'number') {
        minX = Math.min(minX, c[0]); maxX = Math.max(maxX, c[0]); minY = Math.min(minY, c[1]); maxY = Math.max(maxY, c[1]);
      } else c.forEach(walk);
    };
    walk(feature.geometry.coordinates);
    const b = this.map.getBounds();
    return minX <= b.getWest() && maxX >= b.getEast() && minY <= b.getSouth() && maxY >= b.getNorth();
  }

  /** The feature a click at `point` means, or null. */
  top(point) {
    const fills = this.data.fillLayers();
    const hits = this.map.queryRenderedFeatures(point, { layers: fills });
    const candidates = hits.filter((f) => {
      const layer = this.catalog.layers.find((l) => l.id === f.source);
      return layer && !(layer.zone && this.enclosesView(f));
    });
    candidates.sort((a, b) => {
      const [ra, sa] = rank(a, this.catalog, this.subject);
      const [rb, sb] = rank(b, this.catalog, this.subject);
      return ra - rb || sa - sb;
    });
    return candidates[0] || null;
  }

  key(f) {
    return f ? { source: f.source, sourceLayer: f.sourceLayer, id: f.id } : null;
  }

  setHover(f) {
    if (this.hovered) this.map.setFeatureState(this.hovered, { hover: false });
    this.hovered = f && f.id !== undefined ? this.key(f) : null;
    if (this.hovered) this.map.setFeatureState(this.hovered, { hover: true });
    this.map.getCanvas().style.cursor = f ? 'pointer' : '';
  }

  /** Marks a rendered feature as selected (its outline), or none. */
  select(target) {
    if (this.selected) {
      try { this.map.setFeatureState(this.selected, { selected: false }); } catch { /* its tile is gone */ }
    }
    this.selected = target;
    if (target) {
      try { this.map.setFeatureState(target, { selected: true }); } catch { /* not drawn now */ }
    }
  }

  move(e) {
    if (this.isBlocked()) return this.leave();
    const f = this.top(e.point);
    this.setHover(f);
    if (!f) {
      this.tooltip.hidden = true;
      return;
    }
    const layer = this.catalog.layers.find((l) => l.id === f.source);
    const lines = this.describe(layer, f.properties, f.properties.fid ?? f.id);
    fill(this.tooltip, ...lines.map((line, i) => h(i === 0 ? 'strong' : 'span', {}, line)));
    this.tooltip.hidden = false;
    const { x, y } = e.point;
    const w = this.map.getContainer().clientWidth;
    this.tooltip.style.left = `${Math.min(x + 14, w - 220)}px`;
    this.tooltip.style.top = `${y + 14}px`;
  }

  leave() {
    this.setHover(null);
    this.tooltip.hidden = true;
  }

  click(e) {
    if (this.isBlocked()) return;
    const f = this.top(e.point);
    if (!f) {
      this.onNothing();
      return;
    }
    this.onPick(f.source, String(f.properties.fid ?? f.id), this.key(f));
  }
}
