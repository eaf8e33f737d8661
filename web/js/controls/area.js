// Draw an area (polygon or rectangle, with terra-draw) that becomes a spatial filter, and export
// that area's features from the chosen layers through the server's public API.
import { TerraDraw, TerraDrawPolygonMode, TerraDrawRectangleMode } from '/vendor/terra-draw/terra-draw.module.js';
import { TerraDrawMapLibreGLAdapter } from '/vendor/terra-draw/terra-draw-maplibre-gl-adapter.module.js';
import { h } from './dom.js';
import { t, language, formatNumber } from '../i18n/index.js';
import { state, update } from '../state.js';

/** Geodesic-enough area of a lon/lat ring in km² (spherical excess on the authalic sphere). */
export function ringAreaKm2(ring) {
  const R = 6371.0072;
  let s = 0;
  for (let i = 0; i < ring.length - 1; i++) {
    const [x1, y1] = ring[i], [x2, y2] = ring[i + 1];
    s += ((x2 - x1) * Math.PI / 180) * (2 + Math.sin(y1 * Math.PI / 180) + Math.sin(y2 * Math.PI / 180));
  }
  return Math.abs((s * R * R) / 2);
}

export class AreaPanel {
  /**
   * `toWgs84` turns a drawn (display) geometry into WGS84, `exportArea(layers)` fetches and saves.
   */
  constructor({ map, maplibregl, collections, toWgs84, exportArea }) {
    this.map = map;
    this.collections = collections;
    this.toWgs84 = toWgs84;
    this.exportArea = exportArea;
    this.exportMessage = '';
    this.format = 'geojson';
    this.clip = false;
    this.chosen = new Set(collections.map((c) => c.id));
    this.element = h('section', { class: 'panel-section', 'aria-labelledby': 'area-heading' });
    this.draw = new TerraDraw({
      adapter: new TerraDrawMapLibreGLAdapter({ map, lib: maplibregl }),
      modes: [new TerraDrawPolygonMode(), new TerraDrawRectangleMode()],
    });
    this.draw.start();
    this.draw.on('finish', (id) => {
      const f = this.draw.getSnapshot().find((x) => x.id === id);
      if (f && f.geometry.type === 'Polygon') {
        this.draw.setMode('static');
        // Keep only the newest area on the map.
        this.draw.getSnapshot().filter((x) => x.id !== id).forEach((x) => this.draw.removeFeatures([x.id]));
        update({ area: this.toWgs84(f.geometry) });
      }
    });
  }

  start(mode) {
    this.draw.clear();
    this.draw.setMode(mode);
    this.element.querySelector(`[data-mode="${mode}"]`)?.setAttribute('aria-pressed', 'true');
  }

  clear() {
    this.draw.clear();
    this.draw.setMode('static');
    update({ area: null });
  }

  render() {
    const lang = language();
    const a = state.area;
    const status = a ? t('areaSet', { area: formatNumber(ringAreaKm2(a.coordinates[0]), 2) }) : t('areaNone');
    this.element.replaceChildren(
      h('h2', { id: 'area-heading' }, t('tabArea')),
      h('div', { class: 'buttons' },
        h('button', { type: 'button', id: 'draw-polygon', dataset: { mode: 'polygon' }, 'aria-pressed': 'false', onclick: () => this.start('polygon') }, t('drawPolygon')),
        h('button', { type: 'button', id: 'draw-rectangle', dataset: { mode: 'rectangle' }, 'aria-pressed': 'false', onclick: () => this.start('rectangle') }, t('drawRectangle')),
        h('button', { type: 'button', id: 'clear-area', onclick: () => this.clear(), disabled: !a }, t('clearArea'))),
      h('p', { id: 'area-status', 'aria-live': 'polite' }, status),
      h('fieldset', { class: 'checks' }, h('legend', {}, t('exportLayers')),
        this.collections.map((c) => {
          const id = `export-${c.id}`;
          return h('span', { class: 'check' },
            h('input', { type: 'checkbox', id, checked: this.chosen.has(c.id), onchange: (e) => (e.target.checked ? this.chosen.add(c.id) : this.chosen.delete(c.id)) }),
            h('label', { for: id }, (c.titles && c.titles[lang]) || c.title));
        })),
      h('div', { class: 'field inline' }, h('label', { for: 'export-format' }, t('exportFormat')),
        h('select', { id: 'export-format', onchange: (e) => { this.format = e.target.value; } },
          [['geojson', 'GeoJSON'], ['gpkg', 'GeoPackage']].map(([v, label]) => h('option', { value: v, selected: this.format === v }, label)))),
      h('span', { class: 'check' }, h('input', { type: 'checkbox', id: 'export-clip', checked: this.clip, onchange: (e) => { this.clip = e.target.checked; } }),
        h('label', { for: 'export-clip' }, t('exportClip'))),
      h('button', { type: 'button', id: 'export-area', disabled: !a, onclick: async () => {
        const n = await this.exportArea({ layers: [...this.chosen], format: this.format, clip: this.clip });
        this.exportMessage = n === null ? '' : t('exported', { count: formatNumber(n) });
        this.render();
      } }, t('exportArea')),
      h('p', { id: 'export-status', 'aria-live': 'polite' }, this.exportMessage));
  }
}
