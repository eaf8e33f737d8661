// Draw an area (polygon or rectangle, with terra-draw) that filters the map, the list and the
// statistics, and export that area's features from chosen layers through the server. The drawn
// shape is kept as an outline only, so it never tints what lies beneath; the click that
// finishes a shape never also opens a feature.
import { h, fill } from '../dom.js';
import { t, local, language, onLanguageChange } from '../i18n/index.js';
import * as format from '../core/format.js';

export class AreaPanel {
  /**
   * `drawing`: the map's shared terra-draw; `toWgs84` turns a drawn (display) geometry into
   * WGS84; `exportArea(options)` downloads.
   */
  constructor({ drawing, store, catalog, toWgs84, exportArea }) {
    this.store = store;
    this.catalog = catalog;
    this.toWgs84 = toWgs84;
    this.exportArea = exportArea;
    this.message = '';
    this.format = 'geojson';
    this.clip = false;
    this.filtered = true;
    this.chosen = new Set(catalog.layers.map((l) => l.id));
    this.drawingOn = drawing;
    this.element = h('section', { class: 'panel-section area', 'aria-labelledby': 'area-heading' });
    drawing.onChange(() => this.render());
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && drawing.by === 'area') this.cancel();
    });
    // It redraws itself for a new area or language.
    store.on(['area'], () => this.render());
    onLanguageChange(() => this.render());
  }

  /** How many of the subject layer's features the area holds (with the find filters). */
  setCount(n) {
    this.count = n;
    if (this.store.state.area) this.render();
  }

  /** Whether the map's clicks belong to drawing (while drawing, and just after finishing). */
  drawing() {
    return this.drawingOn.active();
  }

  start(mode) {
    // Our own outline replaces terra-draw's filled shape once it is finished.
    this.drawingOn.start(mode, 'area', (polygon) => {
      this.store.update({ area: this.toWgs84(polygon) });
      this.render();
    });
    this.render();
  }

  cancel() {
    if (this.drawingOn.by === 'area') this.drawingOn.reset();
    this.render();
  }

  render() {
    const lang = language();
    const a = this.store.state.area;
    const mode = this.drawingOn.by === 'area' ? this.drawingOn.mode() : 'static';
    const subject = this.catalog.layers.find((l) => l.id === this.store.state.subject);
    const status = a ? t('areaSet', { area: format.squareKilometres(format.ringAreaKm2(a.coordinates[0]), lang) }) : t('areaNone');
    const holds = a && subject && this.count !== null && this.count !== undefined
      ? h('p', { id: 'area-count' }, t('areaHolds', { n: format.number(this.count, lang), layer: local(subject.title, subject.id) })) : null;
    const formats = [['geojson', 'GeoJSON'], ['gpkg', 'GeoPackage']];
    fill(this.element, 
      h('h2', { id: 'area-heading' }, t('tabArea')),
      h('div', { class: 'buttons' },
        h('button', { type: 'button', id: 'draw-polygon', 'aria-pressed': String(mode === 'polygon'), onclick: () => this.start('polygon') }, t('drawPolygon')),
        h('button', { type: 'button', id: 'draw-rectangle', 'aria-pressed': String(mode === 'rectangle'), onclick: () => this.start('rectangle') }, t('drawRectangle')),
        h('button', { type: 'button', id: 'clear-area', onclick: () => { this.cancel(); this.store.update({ area: null }); }, disabled: !a }, t('clearArea'))),
      mode !== 'static' ? h('p', { class: 'hint' }, t('drawHint')) : null,
      h('p', { id: 'area-status', 'aria-live': 'polite' }, status),
      holds,
      h('fieldset', { class: 'checks' }, h('legend', {}, t('exportLayers')),
        this.catalog.layers.map((l) => {
          const id = `export-${l.id}`;
          return h('span', { class: 'check' },
            h('input', { type: 'checkbox', id, checked: this.chosen.has(l.id), onchange: (e) => (e.target.checked ? this.chosen.add(l.id) : this.chosen.delete(l.id)) }),
            h('label', { for: id }, local(l.title, l.id)));
        })),
      subject ? h('span', { class: 'check' }, h('input', { type: 'checkbox', id: 'export-filtered', checked: this.filtered, onchange: (e) => { this.filtered = e.target.checked; } }),
        h('label', { for: 'export-filtered' }, t('exportFiltered', { layer: local(subject.title, subject.id) }))) : null,
      h('div', { class: 'field inline' }, h('label', { for: 'export-format' }, t('exportFormat')),
        h('select', { id: 'export-format', onchange: (e) => { this.format = e.target.value; } },
          formats.map(([v, label]) => h('option', { value: v, selected: this.format === v }, label)))),
      h('span', { class: 'check' }, h('input', { type: 'checkbox', id: 'export-clip', checked: this.clip, onchange: (e) => { this.clip = e.target.checked; } }),
        h('label', { for: 'export-clip' }, t('exportClip'))),
      h('button', { type: 'button', id: 'export-area', disabled: !a, onclick: async () => {
        const done = await this.exportArea({ layers: this.catalog.layers.map((l) => l.id).filter((id) => this.chosen.has(id)), format: this.format, clip: this.clip, filtered: this.filtered });
        const size = done ? (done.bytes >= 1e6 ? `${format.number(done.bytes / 1e6, language(), 1)} MB` : `${format.number(Math.max(1, Math.round(done.bytes / 1e3)), language())} KB`) : '';
        this.message = !done ? '' : done.count !== null ? t('exported', { count: format.number(done.count, language()), name: done.name, size }) : t('exportedFile', { name: done.name, size });
        this.render();
      } }, t('exportArea')),
      h('p', { id: 'export-status', 'aria-live': 'polite' }, this.message));
  }
}
