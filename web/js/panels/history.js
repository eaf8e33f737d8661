// Availability over time, under the statistics: the data as of a day (map, list and statistics
// all follow), the features changed since a day (marked in the list and outlined on the map),
// and a monthly trend of vacancy, absorption and new supply for the current filters, in total
// or for one group of the statistics' grouping.
import { h, fill } from '../dom.js';
import { t, language, onLanguageChange } from '../i18n/index.js';
import * as format from '../core/format.js';

/** Today in Beijing time, as YYYY-MM-DD (the server's periods are Beijing days). */
export function beijingToday(now = Date.now()) {
  return new Date(now + 8 * 3600e3).toISOString().slice(0, 10);
}

/** The instant a day's data is shown as of: its last millisecond in Beijing, or null for today. */
export function endOfDay(day, now = Date.now()) {
  if (!day || day >= beijingToday(now)) return null;
  return `${day}T23:59:59.999+08:00`;
}

/** The first instant of a day in Beijing, in UTC ISO form (what `updated_at` compares with). */
export function startOfDay(day) {
  return day ? new Date(`${day}T00:00:00+08:00`).toISOString() : null;
}

/** The first day of the month eleven months before `day`: a year of months ending with its own. */
export function yearBefore(day) {
  const [y, m] = day.split('-').map(Number);
  const back = new Date(Date.UTC(y, m - 1 - 11, 1));
  return back.toISOString().slice(0, 10);
}

export class HistoryPanel {
  constructor({ onMoment, onSince, onGroup, onReport = null, canReport = () => false }) {
    this.onReport = onReport; // (f) => opens this week's report: 'html' in a tab, 'csv' saved
    this.canReport = canReport;
    this.onMoment = onMoment;
    this.onSince = onSince;
    this.onGroup = onGroup;
    this.day = '';
    this.since = '';
    this.trend = null;
    this.group = '';
    this.changedCount = null;
    this.element = h('section', { class: 'panel-section history', 'aria-labelledby': 'history-heading' });
    onLanguageChange(() => this.render());
    this.render();
  }

  /** Back to the data as it is now. */
  now() {
    this.day = '';
    this.onMoment(null);
    this.render();
  }

  setTrend(trend) {
    this.trend = trend;
    this.render();
  }

  setChangedCount(n) {
    this.changedCount = n;
    this.render();
  }

  render() {
    const lang = language();
    const today = beijingToday();
    const asOf = h('input', {
      type: 'date', id: 'history-as-of', max: today, value: this.day,
      onchange: (e) => { this.day = e.target.value; this.onMoment(endOfDay(this.day)); this.render(); },
    });
    const now = h('button', {
      type: 'button', id: 'history-now', disabled: !this.day,
      onclick: () => this.now(),
    }, t('historyNow'));
    const since = h('input', {
      type: 'date', id: 'history-since', max: today, value: this.since,
      onchange: (e) => { this.since = e.target.value; this.onSince(startOfDay(this.since)); this.render(); },
    });
    const parts = [
      h('h2', { id: 'history-heading' }, t('historyTitle')),
      h('div', { class: 'field inline' }, h('label', { for: 'history-as-of' }, t('historyAsOf')), asOf, now),
      this.day ? h('p', { class: 'muted', id: 'history-showing' }, t('historyShowing', { day: this.day })) : null,
      h('div', { class: 'field inline' }, h('label', { for: 'history-since' }, t('historySince')), since),
      this.since && this.changedCount !== null
        ? h('p', { class: 'muted', id: 'history-changed' }, t('historyChanged', { n: format.number(this.changedCount, lang), day: this.since }))
        : null,
    ];
    parts.push(...this.trendParts(lang));
    if (this.onReport && this.canReport()) {
      parts.push(h('div', { class: 'actions' },
        h('button', { type: 'button', id: 'weekly-report', onclick: () => this.onReport('html') }, t('weeklyReport')),
        h('button', { type: 'button', id: 'weekly-report-csv', onclick: () => this.onReport('csv') }, t('weeklyReportCsv'))));
    }
    fill(this.element, ...parts);
  }

  /** The monthly table: vacancy, absorption with a bar, new supply. */
  trendParts(lang) {
    const s = this.trend;
    const heading = h('h3', { id: 'trend-heading' }, t('trendTitle'));
    if (!s) return [heading, h('p', {}, t('loading'))];
    const groups = (s.series[0]?.groups || []).map((g) => g.key).filter((k) => k !== null && k !== undefined);
    const parts = [heading];
    if (s.groupBy && groups.length) {
      parts.push(h('div', { class: 'field inline' }, h('label', { for: 'trend-group' }, t('trendGroup')),
        h('select', { id: 'trend-group', onchange: (e) => { this.group = e.target.value; this.render(); } },
          h('option', { value: '', selected: !this.group }, t('statsAll')),
          groups.map((k) => h('option', { value: String(k), selected: String(k) === this.group }, this.onGroup(s.groupBy, k))))));
    }
    const rows = s.series.map((e) => {
      const g = this.group ? (e.groups || []).find((x) => String(x.key) === this.group) : e;
      return { month: e.start.slice(0, 7), ...(g || { vacancyRate: null, absorption: 0, newSupply: 0 }) };
    });
    const max = Math.max(1, ...rows.map((r) => Math.max(r.absorption || 0, r.newSupply || 0)));
    const bar = (v, cls) => h('span', { class: `trend-bar ${cls}`, style: `width:${Math.max(0, (v || 0) / max * 100).toFixed(1)}%` });
    const area = (v) => format.withUnit(v || 0, 'm²', lang);
    parts.push(h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-labelledby': 'trend-heading' },
      h('table', { class: 'stats-table trend-table', id: 'trend-table' },
        h('thead', {}, h('tr', {}, [t('trendMonth'), t('trendVacancy'), t('trendAbsorption'), t('trendSupply')].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, rows.map((r) => h('tr', { dataset: { month: r.month } },
          h('th', { scope: 'row' }, r.month),
          h('td', { class: 'num' }, r.vacancyRate === null || r.vacancyRate === undefined ? '—' : `${format.number(Math.round(r.vacancyRate * 1000) / 10, lang)} %`),
          h('td', { class: 'num' }, h('span', { class: 'trend-cell' }, bar(r.absorption, 'absorbed'), area(r.absorption))),
          h('td', { class: 'num' }, h('span', { class: 'trend-cell' }, bar(r.newSupply, 'supplied'), area(r.newSupply)))))))));
    parts.push(h('p', { class: 'muted' }, t('trendNote')));
    return parts;
  }
}
