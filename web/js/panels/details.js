// The details of the feature a click or a search opened: its name and layer, every field the
// data shows (titles and units from the data, "—" for nothing), the zones it lies in, text in
// the reader's language (a zone's policy focus), its source and the schematic flag. A zone reads
// as a zone: its area in km² first. On a phone it is a bottom sheet below the header.
import { h, fill } from '../dom.js';
import { t, local, language } from '../i18n/index.js';
import { visibleFields } from '../core/catalog.js';
import * as format from '../core/format.js';

/** Fields shown apart from the table. */
const APART = new Set(['zones', 'source', 'schematic']);

export class DetailsPanel {
  constructor({ catalog, values, onClose }) {
    this.catalog = catalog;
    this.values = values;
    this.onClose = onClose;
    this.current = null; // { layer, feature, hidden }
    this.element = h('aside', { id: 'details', class: 'details', role: 'dialog', 'aria-modal': 'false', 'aria-labelledby': 'details-title', hidden: true });
    this.element.addEventListener('keydown', (e) => { if (e.key === 'Escape') this.onClose(); });
  }

  /** Shows `feature` of `layer`; `hidden` says the find filters hide it. */
  open(layer, feature, { hidden = false } = {}) {
    this.current = { layer, feature, hidden };
    this.render();
    this.element.hidden = false;
    document.body.classList.add('details-open');
    this.element.querySelector('h2')?.focus({ preventScroll: true });
  }

  close() {
    this.current = null;
    this.element.hidden = true;
    document.body.classList.remove('details-open');
  }

  render() {
    if (!this.current) return;
    const { layer, feature, hidden } = this.current;
    const lang = language();
    const p = feature.properties || {};
    const fields = visibleFields(layer, lang).filter((f) => !APART.has(f.name));
    const long = (f) => f.type === 'string' && typeof p[f.name] === 'string' && p[f.name].length > 60;
    const rows = fields.filter((f) => !long(f)).map((f) => h('tr', { dataset: { field: f.name } },
      h('th', { scope: 'row' }, local(f.title, f.name)), h('td', {}, this.values.format(f, p[f.name], lang))));
    const paragraphs = fields.filter(long).map((f) => h('div', { class: 'paragraph', dataset: { field: f.name } }, h('h3', {}, local(f.title, f.name)), h('p', {}, p[f.name])));
    const zonesField = layer.fields.find((f) => f.name === 'zones' && f.derived);
    const zones = zonesField && Array.isArray(p.zones) ? p.zones : [];
    const sourceField = layer.fields.find((f) => f.name === 'source');
    // A zone's size, in the unit zones are spoken of.
    let area = null;
    if (layer.zone) {
      const km2 = typeof p.official_area_km2 === 'number' ? p.official_area_km2 : typeof p.geodesic_area_m2 === 'number' ? p.geodesic_area_m2 / 1e6 : null;
      if (km2 !== null) area = h('p', { class: 'zone-area' }, h('strong', {}, `${t('area')}${t('colon')}`), format.squareKilometres(km2, lang));
    }
    this.element.classList.toggle('zone', layer.zone);
    fill(this.element, 
      h('header', {},
        h('div', {}, h('p', { class: 'details-layer' }, local(layer.title, layer.id)),
          h('h2', { id: 'details-title', tabindex: '-1' }, this.values.nameOf(layer.id, feature.id, lang, p))),
        h('button', { type: 'button', class: 'close', 'aria-label': t('close'), onclick: () => this.onClose() }, '×')),
      p.schematic === true ? h('p', { class: 'badge' }, t('schematic')) : null,
      hidden ? h('p', { class: 'note', id: 'hidden-note' }, t('hiddenByFilters')) : null,
      area,
      paragraphs,
      rows.length ? h('table', { class: 'attributes' }, h('tbody', {}, rows)) : null,
      zones.length ? h('div', { class: 'lies-in' }, h('h3', {}, local(zonesField.title, t('lies_in'))), h('ul', { class: 'zones' }, zones.map((z) => h('li', {}, this.values.nameOf(null, z, lang) ?? z)))) : null,
      p.source ? h('p', { class: 'source' }, h('strong', {}, `${local(sourceField && sourceField.title, t('source'))}${t('colon')}`), p.source) : null);
  }
}
