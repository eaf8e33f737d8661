// Statistics: total and available floor space by industry, for the current filters and area, as
// a bar chart (SVG) and a table.
import { h, termLabel } from './dom.js';
import { t, language, formatNumber } from '../i18n/index.js';

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  children.forEach((c) => el.append(c));
  return el;
}

export class StatsPanel {
  constructor({ industries }) {
    this.industries = industries;
    this.stats = null;
    this.element = h('section', { class: 'panel-section', 'aria-labelledby': 'stats-heading' });
  }

  setStats(stats) {
    this.stats = stats;
    this.render();
  }

  render() {
    const lang = language();
    const parts = [h('h2', { id: 'stats-heading' }, t('statsTitle'))];
    const s = this.stats;
    if (!s) {
      parts.push(h('p', {}, t('loading')));
      this.element.replaceChildren(...parts);
      return;
    }
    const groups = s.groups;
    const max = Math.max(1, ...groups.map((g) => g.sums.floor_area_m2 || 0));
    const barH = 16, gap = 10, labelW = 140, chartW = 270, height = groups.length * (2 * barH + gap) + 10;
    const chart = svg('svg', { viewBox: `0 0 ${labelW + chartW + 10} ${height}`, class: 'chart', role: 'img', 'aria-label': t('statsTitle') });
    groups.forEach((g, i) => {
      const y = 5 + i * (2 * barH + gap);
      const label = svg('text', { x: 0, y: y + barH + 2, class: 'chart-label' });
      label.textContent = termLabel(this.industries, g.key, lang);
      const total = svg('rect', { x: labelW, y, width: Math.max(1, (chartW * (g.sums.floor_area_m2 || 0)) / max), height: barH, fill: g.color || '#888', opacity: 0.45 });
      const avail = svg('rect', { x: labelW, y: y + barH, width: Math.max(1, (chartW * (g.sums.available_floor_area_m2 || 0)) / max), height: barH, fill: g.color || '#888' });
      const tt = svg('title', {});
      tt.textContent = `${label.textContent}: ${t('statsTotal')} ${formatNumber(g.sums.floor_area_m2)} m², ${t('statsAvailable')} ${formatNumber(g.sums.available_floor_area_m2)} m²`;
      chart.append(svg('g', {}, tt, label, total, avail));
    });
    const legend = h('p', { class: 'chart-legend' }, h('span', { class: 'swatch pale', 'aria-hidden': 'true' }), t('statsTotal'), ' ', h('span', { class: 'swatch', 'aria-hidden': 'true' }), t('statsAvailable'));
    const row = (cells, tag = 'td') => h('tr', {}, cells.map((c, i) => h(i === 0 ? 'th' : tag, i === 0 ? { scope: 'row' } : { class: 'num' }, c)));
    const table = h('table', { class: 'stats-table', id: 'stats-table' },
      h('thead', {}, h('tr', {}, [t('statsIndustry'), t('statsCount'), `${t('statsTotal')} (m²)`, `${t('statsAvailable')} (m²)`].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, groups.map((g) => row([termLabel(this.industries, g.key, lang), formatNumber(g.count), formatNumber(g.sums.floor_area_m2), formatNumber(g.sums.available_floor_area_m2)]))),
      h('tfoot', {}, row([t('statsAll'), formatNumber(s.total.count), formatNumber(s.total.sums.floor_area_m2), formatNumber(s.total.sums.available_floor_area_m2)])));
    parts.push(chart, legend, table);
    this.element.replaceChildren(...parts);
  }
}
