// The panel a click opens: every attribute in readable units, the zones the feature lies in, and
// its source and schematic flag.
import { h, termLabel, featureName } from './dom.js';
import { t, language, formatNumber } from '../i18n/index.js';

const UNITS = {
  floor_area_m2: 'm²', available_floor_area_m2: 'm²', geodesic_area_m2: 'm²',
  floor_load_kn_m2: 'kN/m²', clear_height_m: 'm', power_kva: 'kVA', official_area_km2: 'km²',
};
const CODED = { industry: 'industries', cluster: 'clusters', building_type: 'buildingTypes', status: 'statuses' };
const HIDDEN = new Set(['fid', 'zones', 'source', 'schematic', 'name_zh', 'name_en']);

export class DetailsPanel {
  constructor({ vocabularies, titleOf, onClose }) {
    this.vocab = vocabularies;
    this.titleOf = titleOf; // zone or park id -> localised name
    this.onClose = onClose;
    this.feature = null;
    this.element = h('aside', { id: 'details', class: 'details', role: 'dialog', 'aria-modal': 'false', 'aria-labelledby': 'details-title', hidden: true });
    this.element.addEventListener('keydown', (e) => { if (e.key === 'Escape') this.close(); });
  }

  open(feature) {
    this.feature = feature;
    this.render();
    this.element.hidden = false;
    this.element.querySelector('h2')?.focus();
  }

  close() {
    this.feature = null;
    this.element.hidden = true;
    this.onClose();
  }

  value(key, v, lang) {
    if (v === null || v === undefined || v === '') return '—';
    if (CODED[key]) return termLabel(this.vocab[CODED[key]], v, lang);
    if (key === 'park') return this.titleOf(v);
    if (typeof v === 'boolean') return t(v ? 'yes' : 'no');
    if (Array.isArray(v)) return v.map((x) => (key === 'industries' ? termLabel(this.vocab.industries, x, lang) : x)).join('、');
    if (typeof v === 'number') return `${formatNumber(v, key === 'geodesic_area_m2' ? 0 : 2)}${UNITS[key] ? ` ${UNITS[key]}` : ''}`;
    return String(v);
  }

  render() {
    const f = this.feature;
    if (!f) return;
    const lang = language();
    const p = f.properties;
    const rows = Object.entries(p).filter(([k]) => !HIDDEN.has(k)).map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, t(k)), h('td', {}, this.value(k, v, lang))));
    const zones = (p.zones || []).map((z) => h('li', {}, this.titleOf(z)));
    this.element.replaceChildren(
      h('header', {},
        h('h2', { id: 'details-title', tabindex: '-1' }, featureName(f, lang)),
        h('button', { type: 'button', class: 'close', 'aria-label': t('close'), onclick: () => this.close() }, '×')),
      p.schematic ? h('p', { class: 'badge' }, t('schematic')) : null,
      h('table', { class: 'attributes' }, h('tbody', {}, rows)),
      zones.length ? h('div', {}, h('h3', {}, t('zones')), h('ul', { class: 'zones' }, zones)) : null,
      p.source ? h('p', { class: 'source' }, h('strong', {}, `${t('source')}: `), p.source) : null);
  }
}
