// Statistics of the subject layer for the current filters: grouped by any coded field (a
// vocabulary, a reference, the zones), one bar per group for a chosen total, each bar labelled
// with its value, and a table with the count and every total.
import { h, fill } from '../dom.js';
import { t, local, language, onLanguageChange } from '../i18n/index.js';
import * as format from '../core/format.js';

/** The fields a layer's statistics may be grouped by. */
export function groupFields(layer) {
  return layer.fields.filter((f) => (f.filter === 'in' || f.filter === 'contains') || f.vocabulary || f.references || f.role === 'zones')
    .filter((f, i, all) => all.findIndex((x) => x.name === f.name) === i);
}

export class StatsPanel {
  constructor({ store, catalog, values, onGroupBy }) {
    this.store = store;
    this.catalog = catalog;
    this.values = values;
    this.onGroupBy = onGroupBy;
    this.stats = null;
    this.measure = null;
    this.element = h('section', { class: 'panel-section stats', 'aria-labelledby': 'stats-heading' });
    // It says itself what changed language.
    onLanguageChange(() => this.render());
  }

  get layer() {
    return this.catalog.layers.find((l) => l.id === this.store.state.subject);
  }

  /** The grouping in force: the state's, else the layer's colour field, else the first. */
  groupBy() {
    const fields = groupFields(this.layer);
    const asked = this.store.state.groupBy;
    if (asked === '' || (asked && fields.some((f) => f.name === asked))) return asked || null;
    const by = this.layer.style.color_by;
    return (fields.find((f) => f.name === by) || fields[0] || {}).name || null;
  }

  setStats(stats) {
    this.stats = stats;
    this.render();
  }

  groupLabel(g) {
    const lang = language();
    if (g.key === null || g.key === undefined) return t('statsOther');
    if (g.label) return local(g.label, String(g.key));
    const field = this.layer.fields.find((f) => f.name === this.stats.groupBy);
    return field ? this.values.item(field, g.key, lang) : String(g.key);
  }

  render() {
    const lang = language();
    const layer = this.layer;
    const fields = groupFields(layer);
    const current = this.groupBy();
    const heading = h('h2', { id: 'stats-heading' }, t('statsFor', { layer: local(layer.title, layer.id) }));
    const group = h('select', { id: 'stats-group', onchange: (e) => this.onGroupBy(e.target.value) },
      h('option', { value: '', selected: !current }, t('statsNone')),
      fields.map((f) => h('option', { value: f.name, selected: f.name === current }, local(f.title, f.name))));
    const s = this.stats;
    const parts = [heading, h('div', { class: 'field inline' }, h('label', { for: 'stats-group' }, t('statsGroupBy')), group)];
    if (!s) {
      parts.push(h('p', {}, t('loading')));
      fill(this.element, ...parts);
      return;
    }
    const sumNames = Object.keys(s.total.sums || {});
    const sumField = (name) => layer.fields.find((f) => f.name === name) || { name, title: name };
    if (!this.measure || !sumNames.includes(this.measure)) {
      const listed = layer.fields.find((f) => f.list && sumNames.includes(f.name));
      this.measure = listed ? listed.name : sumNames[0] || null;
    }
    const measures = [{ value: '__count', label: t('statsCount') }, ...sumNames.map((n) => ({ value: n, label: local(sumField(n).title, n) }))];
    const measure = h('select', { id: 'stats-measure', onchange: (e) => { this.measure = e.target.value; this.render(); } },
      measures.map((m) => h('option', { value: m.value, selected: m.value === (this.measure || '__count') }, m.label)));
    parts.push(h('div', { class: 'field inline' }, h('label', { for: 'stats-measure' }, t('statsTitle')), measure));
    const valueOf = (g) => (this.measure && this.measure !== '__count' ? g.sums[this.measure] || 0 : g.count);
    const show = (v) => (this.measure && this.measure !== '__count' ? format.withUnit(v, sumField(this.measure).unit, lang) : format.number(v, lang));
    const groups = s.groups && s.groups.length ? s.groups : [{ key: t('statsAll'), label: { zh: t('statsAll'), en: t('statsAll') }, count: s.total.count, sums: s.total.sums }];
    // The chart: one bar per group, its value written at its end, in the group's own colour. An
    // HTML list, not an SVG: a long zone or park name wraps on its own line instead of being cut.
    const max = Math.max(1, ...groups.map(valueOf));
    const chart = h('ul', { class: 'chart bars', id: 'stats-chart', 'aria-hidden': 'true' }, // the table below says the same in text
      groups.map((g) => h('li', {},
        h('span', { class: 'chart-label' }, this.groupLabel(g)),
        h('span', { class: 'chart-track' },
          h('span', { class: 'chart-bar', style: `width:calc((100% - 6.5rem) * ${Math.max(0.005, valueOf(g) / max).toFixed(4)});background:${g.color || layer.style.color || '#1f5f99'}` }),
          h('span', { class: 'chart-value' }, show(valueOf(g)))))));
    // The chosen total first after the count: on a phone those two are on screen, the rest scroll.
    const columns = [...sumNames].sort((a, b) => (b === this.measure) - (a === this.measure));
    const head = [this.stats.groupBy ? local(sumField(this.stats.groupBy).title, this.stats.groupBy) : '', t('statsCount'), ...columns.map((n) => {
      const f = sumField(n);
      return local(f.title, n);
    })];
    const row = (cells, tag = 'td') => h('tr', {}, cells.map((c, i) => h(i === 0 ? 'th' : tag, i === 0 ? { scope: 'row' } : { class: 'num' }, c)));
    const money = (n, v) => format.withUnit(v || 0, sumField(n).unit, lang);
    const table = h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-labelledby': 'stats-heading' }, h('table', { class: 'stats-table', id: 'stats-table' },
      h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, (s.groups || []).map((g) => row([this.groupLabel(g), format.number(g.count, lang), ...columns.map((n) => money(n, g.sums[n]))]))),
      h('tfoot', {}, row([t('statsAll'), format.number(s.total.count, lang), ...columns.map((n) => money(n, s.total.sums[n]))]))));
    parts.push(chart, table);
    const field = layer.fields.find((f) => f.name === this.stats.groupBy);
    if (field && field.type === 'string array') parts.push(h('p', { class: 'muted' }, t('statsMultiple')));
    fill(this.element, ...parts);
  }
}
