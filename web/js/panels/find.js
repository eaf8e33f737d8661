// "Find space": a form built from the subject layer's fields, the active filters as removable
// chips, and the matches (how many in all, totals from the statistics query, a sortable list
// that loads more on demand, a CSV download of all of them).
//
// The form is built once per layer and language and never rebuilt by a filter change: typing
// updates the store (debounced), the store updates the chips, the list and the map. So focus
// and half-typed values survive every change, and Tab moves on as it should.
import { h, domId, fill } from '../dom.js';
import { t, local, language, onLanguageChange } from '../i18n/index.js';
import { chips as chipsOf, isActive, without } from '../core/filters.js';
import * as format from '../core/format.js';

/** Most checkboxes a choice shows before it becomes a list box. */
const MAX_CHECKS = 14;
/** Rows fetched at a time. */
export const PAGE = 100;

/** Rows a file for people holds at most: it is built in the browser from the matches. */
export const MAX_PEOPLE_ROWS = 5000;
/** Rows past which the data CSV asks first, and about how many bytes a row takes. */
export const LARGE_DOWNLOAD_ROWS = 50000;
const CSV_BYTES_PER_ROW = 300;

export class FindPanel {
  constructor({ store, catalog, values, choicesOf, onPickRow, onZoom, csvHref, sortFields, staleAfterDays = null }) {
    this.store = store;
    this.staleAfterDays = staleAfterDays; // rows older than this say so (editing servers only)
    this.catalog = catalog;
    this.values = values;
    this.choicesOf = choicesOf; // field -> [{ value, label, color? }] or null
    this.onPickRow = onPickRow;
    this.onZoom = onZoom;
    this.csvHref = csvHref;
    this.sortFields = sortFields;
    this.controls = new Map(); // field name -> { get(), set(value), focus() }
    this.pending = new Map(); // field name -> timer
    this.element = h('section', { class: 'panel-section find', id: 'find-panel', 'aria-labelledby': 'find-heading' });
    this.formEl = h('form', { class: 'filters', id: 'filters', onsubmit: (e) => e.preventDefault() });
    this.chipsEl = h('div', { class: 'chips', id: 'chips', role: 'group' });
    this.summaryEl = h('p', { class: 'summary', id: 'summary', 'aria-live': 'polite' });
    this.toolsEl = h('div', { class: 'results-tools' });
    this.listEl = h('ol', { class: 'results', id: 'results' });
    this.moreEl = h('div', { class: 'more' });
    this.result = null; // { features, numberMatched, loaded }
    this.stats = null;
    onLanguageChange(() => this.build());
  }

  get layer() {
    return this.catalog.layers.find((l) => l.id === this.store.state.subject);
  }

  /** Builds the whole panel (on start, and when the layer or the language changes). */
  build() {
    this.flush();
    const layer = this.layer;
    const lang = language();
    const heading = h('h2', { id: 'find-heading', class: 'visually-hidden' }, t('tabFind'));
    const candidates = this.catalog.layers.filter((l) => l.fields.some((f) => f.filter));
    const chooser = candidates.length > 1
      ? h('div', { class: 'field inline' }, h('label', { for: 'find-layer' }, t('findIn')),
        h('select', { id: 'find-layer', onchange: (e) => this.store.update({ subject: e.target.value, filters: {}, sort: null }) },
          candidates.map((l) => h('option', { value: l.id, selected: l.id === layer.id }, local(l.title, l.id)))))
      : h('p', { class: 'find-layer' }, local(layer.title, layer.id));
    this.controls.clear();
    // Choices first (they take the width), then single inputs two by two, then ranges.
    const rank = (f) => ({ in: 0, contains: f.role === 'zones' ? 1 : 0, min: 1, max: 1, text: 1, flag: 1, range: 2 }[f.filter] ?? 3);
    const fields = layer.fields.filter((f) => f.filter).map((f, i) => [f, i]).sort((a, b) => rank(a[0]) - rank(b[0]) || a[1] - b[1]).map(([f]) => f);
    fill(this.formEl, ...fields.map((f) => this.control(f, lang)).filter(Boolean));
    const box = h('details', { class: 'filters-box', open: true }, h('summary', {}, t('filters')), this.formEl);
    fill(this.element, heading, h('div', { class: 'find-head' }, chooser, box),
      h('div', { class: 'find-results' }, this.chipsEl, this.summaryEl, this.toolsEl, this.listEl, this.moreEl));
    this.renderChips();
    this.renderTools();
    this.renderSummary();
    this.renderList();
  }

  /** Commits a field's value to the store after a pause in typing (at once with `now`). */
  commit(name, value, now = false) {
    clearTimeout(this.pending.get(name));
    const apply = () => {
      this.pending.delete(name);
      const filters = this.store.state.filters;
      const field = this.layer.fields.find((f) => f.name === name);
      const next = field && isActive(field, value) ? { ...filters, [name]: value } : without(filters, name);
      this.store.update({ filters: next });
    };
    if (now) apply();
    else this.pending.set(name, setTimeout(apply, 350));
  }

  /** Commits whatever is still waiting (before a rebuild). */
  flush() {
    for (const [name, timer] of this.pending) {
      clearTimeout(timer);
      const c = this.controls.get(name);
      if (c) this.commit(name, c.get(), true);
    }
    this.pending.clear();
  }

  label(field) {
    const title = local(field.filterTitle || field.title, field.name);
    return field.unit && !field.filterTitle ? `${title} (${format.unitText(field.unit, language())})` : title;
  }

  control(field, lang) {
    const value = this.store.state.filters[field.name];
    const id = domId('f', field.name);
    const numberish = field.type === 'integer' || field.type === 'number';
    const inputType = field.type === 'date' ? 'date' : numberish ? 'number' : 'text';
    const input = (extra, initial, onValue) => h('input', {
      type: inputType, inputmode: numberish ? 'decimal' : undefined, step: numberish ? 'any' : undefined, min: numberish ? 0 : undefined,
      value: initial ?? '', oninput: (e) => onValue(e.target.value), onchange: (e) => onValue(e.target.value, true), ...extra,
    });
    switch (field.filter) {
      case 'min':
      case 'max': {
        const el = input({ id, dataset: { field: field.name }, 'aria-describedby': `${id}-hint` }, value, (v, now) => this.commit(field.name, v, now));
        this.controls.set(field.name, { get: () => el.value, set: (v) => { el.value = v ?? ''; } });
        return h('div', { class: 'field' }, h('label', { for: id }, this.label(field)),
          h('div', { class: 'with-hint' }, h('span', { class: 'hint', id: `${id}-hint` }, t(field.filter === 'min' ? 'atLeast' : 'atMost')), el));
      }
      case 'range': {
        const v = value || {};
        const from = input({ id: `${id}-from`, 'aria-label': `${this.label(field)} ${t('from')}` }, v.from, (x, now) => this.commit(field.name, { from: x, to: to.value }, now));
        const to = input({ id: `${id}-to`, 'aria-label': `${this.label(field)} ${t('to')}` }, v.to, (x, now) => this.commit(field.name, { from: from.value, to: x }, now));
        this.controls.set(field.name, { get: () => ({ from: from.value, to: to.value }), set: (x) => { from.value = x?.from ?? ''; to.value = x?.to ?? ''; } });
        return h('fieldset', { class: 'field range' }, h('legend', {}, this.label(field)), from, h('span', { 'aria-hidden': 'true' }, '–'), to);
      }
      case 'text': {
        const el = h('input', { type: 'search', id, value: value ?? '', oninput: (e) => this.commit(field.name, e.target.value) });
        this.controls.set(field.name, { get: () => el.value, set: (v) => { el.value = v ?? ''; } });
        return h('div', { class: 'field' }, h('label', { for: id }, `${this.label(field)} (${t('containsText')})`), el);
      }
      case 'flag': {
        const el = h('input', { type: 'checkbox', id, checked: value === true, onchange: (e) => this.commit(field.name, e.target.checked ? true : null, true) });
        this.controls.set(field.name, { get: () => (el.checked ? true : null), set: (v) => { el.checked = v === true; } });
        return h('div', { class: 'check' }, el, h('label', { for: id }, t('flagOnly', { label: local(field.title, field.name) })));
      }
      case 'in':
      case 'contains':
        return this.choices(field, value, id, lang);
      default:
        return null;
    }
  }

  /** A choice of values: checkboxes, or one select for zones (places nest, one is enough). */
  choices(field, value, id, lang) {
    const options = this.choicesOf(field, lang);
    if (!options || options.length === 0) return null;
    const chosen = new Set(Array.isArray(value) ? value : []);
    const single = field.filter === 'contains' && field.role === 'zones';
    if (single || options.length > MAX_CHECKS) {
      const select = h('select', { id, onchange: (e) => this.commit(field.name, e.target.value ? [e.target.value] : [], true) },
        h('option', { value: '' }, t('any')),
        options.map((o) => h('option', { value: o.value, selected: chosen.has(o.value) }, o.label)));
      this.controls.set(field.name, { get: () => (select.value ? [select.value] : []), set: (v) => { select.value = Array.isArray(v) && v.length ? v[0] : ''; } });
      return h('div', { class: 'field' }, h('label', { for: id }, this.label(field)), select);
    }
    const boxes = options.map((o) => {
      const cid = domId('f', field.name, o.value);
      const box = h('input', { type: 'checkbox', id: cid, value: o.value, checked: chosen.has(o.value), dataset: { field: field.name },
        onchange: () => this.commit(field.name, boxes.filter((b) => b.checked).map((b) => b.value), true) });
      box.labelEl = h('label', { for: cid }, o.color ? h('span', { class: 'swatch', style: `background:${o.color};border-color:${o.color}`, 'aria-hidden': 'true' }) : null, o.label);
      return box;
    });
    this.controls.set(field.name, { get: () => boxes.filter((b) => b.checked).map((b) => b.value), set: (v) => { const s = new Set(Array.isArray(v) ? v : []); boxes.forEach((b) => { b.checked = s.has(b.value); }); } });
    return h('fieldset', { class: 'checks' }, h('legend', {}, this.label(field)), boxes.map((b) => h('span', { class: 'check' }, b, b.labelEl)));
  }

  /** Sets the controls from the store (a chip removed, a reset, a link followed), in place. */
  sync() {
    const filters = this.store.state.filters;
    for (const [name, c] of this.controls) {
      if (this.pending.has(name)) continue;
      const want = filters[name];
      if (JSON.stringify(c.get()) !== JSON.stringify(want ?? null)) c.set(want);
    }
    this.renderChips();
  }

  renderChips() {
    const layer = this.layer;
    const lang = language();
    const list = chipsOf(layer.fields, this.store.state.filters, this.store.state.area, {
      label: (f) => local(f.filterTitle || f.title, f.name),
      valueLabel: (f, v) => (f.filter === 'min' || f.filter === 'max' || f.filter === 'range' ? this.values.typed(f, v, lang) : this.values.item(f, v, lang)),
      t,
      join: (items) => format.list(items, lang),
    });
    const remove = (key) => {
      const at = list.findIndex((c) => c.key === key);
      if (key === 'area') this.store.update({ area: null });
      else {
        clearTimeout(this.pending.get(key));
        this.pending.delete(key);
        this.store.update({ filters: without(this.store.state.filters, key) });
      }
      // Focus stays in the chips (the next one, else the one before), or returns to the form.
      const left = [...this.chipsEl.querySelectorAll('.chip')];
      (left[Math.min(at, left.length - 1)] || this.formEl.querySelector('input, select'))?.focus();
    };
    this.chipsEl.setAttribute('aria-label', t('activeFilters'));
    fill(this.chipsEl, ...list.map((c) => h('button', { type: 'button', class: 'chip', dataset: { key: c.key }, 'aria-label': t('removeFilter', { label: c.text }), onclick: () => remove(c.key) },
      h('span', {}, c.text), h('span', { class: 'chip-x', 'aria-hidden': 'true' }, '×'))),
    list.length ? h('button', { type: 'button', class: 'link', id: 'reset-filters', onclick: () => this.store.update({ filters: {}, area: null }) }, t('reset')) : null);
    this.chipsEl.hidden = list.length === 0;
  }

  renderTools() {
    const s = this.store.state.sort;
    const options = this.sortFields(this.layer);
    const first = options.find((o) => o.desc) || options[0];
    const current = s && options.some((o) => o.value === s.field) ? s : { field: first.value, desc: first.desc };
    const select = h('select', { id: 'sort', onchange: (e) => {
      const o = options.find((x) => x.value === e.target.value);
      this.store.update({ sort: { field: o.value, desc: o.desc } });
    } }, options.map((o) => h('option', { value: o.value, selected: o.value === current.field }, o.label)));
    const direction = h('button', { type: 'button', id: 'sort-direction', class: 'icon', 'aria-label': t('toggleDirection'), title: t(current.desc ? 'descending' : 'ascending'),
      onclick: () => this.store.update({ sort: { field: current.field, desc: !current.desc } }) }, current.desc ? '↓' : '↑');
    const lang = language();
    const count = this.stats ? this.stats.numberMatched : 0;
    const warning = h('p', { class: 'notice', id: 'download-warning', role: 'status', hidden: true });
    // The data as stored (codes, WKT): any size, but a big file is said before it starts.
    const csv = h('a', { class: 'button', id: 'download-csv', href: this.csvHref(), download: '', title: t('downloadCsvTitle'),
      onclick: (e) => {
        if (count <= LARGE_DOWNLOAD_ROWS || warning.dataset.confirmed === 'true') return;
        e.preventDefault();
        warning.dataset.confirmed = 'true';
        warning.textContent = t('downloadLarge', { n: format.number(count, lang), mb: format.number(Math.ceil((count * CSV_BYTES_PER_ROW) / 1e6), lang) });
        warning.hidden = false;
      } }, t('downloadCsv'));
    // For people (names, labels, units): built here from the matches, so only so many.
    const tooMany = count > MAX_PEOPLE_ROWS;
    const people = (id, label, kind) => h('button', { type: 'button', id, disabled: count === 0 || tooMany,
      title: tooMany ? t('downloadPeopleTooMany', { max: format.number(MAX_PEOPLE_ROWS, lang) }) : t('downloadPeopleTitle'),
      onclick: () => this.onPeople(kind) }, label);
    const zoom = h('button', { type: 'button', id: 'zoom-results', onclick: () => this.onZoom() }, t('zoomToResults'));
    fill(this.toolsEl, h('div', { class: 'field inline' }, h('label', { for: 'sort' }, t('sortBy')), select, direction),
      h('div', { class: 'buttons' }, zoom, people('download-xlsx', t('downloadXlsx'), 'xlsx'), people('download-people-csv', t('downloadPeopleCsv'), 'csv'), csv),
      tooMany && count > 0 ? h('p', { class: 'muted' }, t('downloadPeopleTooMany', { max: format.number(MAX_PEOPLE_ROWS, lang) })) : null,
      warning);
  }

  /** Set by main: downloads the matches as a table for people (`kind`: 'xlsx' or 'csv'). */
  onPeople() {}

  setLoading(loading) {
    this.element.setAttribute('aria-busy', String(loading));
  }

  /** The statistics of the matches: the count and the totals (not sums over a page). */
  setStats(stats) {
    this.stats = stats;
    this.renderSummary();
  }

  renderSummary() {
    const s = this.stats;
    const layer = this.layer;
    if (!s) {
      this.summaryEl.textContent = t('loading');
      return;
    }
    const lang = language();
    const parts = [lang === 'zh'
      ? `${format.number(layer.count, lang)} 个中有 ${format.number(s.numberMatched, lang)} 个符合条件`
      : `${format.number(s.numberMatched, lang)} of ${format.number(layer.count, lang)} match`];
    const sums = s.total.sums || {};
    const field = layer.fields.find((f) => f.list && f.name in sums) || layer.fields.find((f) => f.name in sums && f.unit);
    if (field) {
      parts.push(t('summaryTotals', { sum: format.withUnit(sums[field.name], field.unit, lang), field: local(field.title, field.name) }));
    }
    this.summaryEl.textContent = parts.join(lang === 'zh' ? '，' : ' · ');
    this.summaryEl.dataset.count = String(s.numberMatched);
  }

  /** The first page of matches (replacing the list), or the next (appended). */
  setPage(page, append) {
    if (!append || !this.result) this.result = { features: [], numberMatched: page.numberMatched };
    this.result.features.push(...page.features);
    this.result.numberMatched = page.numberMatched;
    this.renderList();
  }

  renderList() {
    const r = this.result;
    if (!r) return;
    const layer = this.layer;
    const lang = language();
    if (r.features.length === 0) {
      fill(this.listEl, h('li', { class: 'empty' }, t('noResults')));
      fill(this.moreEl, );
      return;
    }
    const colorField = layer.style.color_by && layer.fields.find((f) => f.name === layer.style.color_by);
    const facts = layer.fields.filter((f) => f.list);
    fill(this.listEl, ...r.features.map((f) => {
      const p = f.properties;
      const colour = colorField ? this.values.vocabularies[colorField.vocabulary]?.terms.find((x) => x.id === p[colorField.name])?.color : layer.style.color;
      return h('li', {}, h('button', { type: 'button', class: 'result', dataset: { id: f.id }, onclick: () => this.onPickRow(f) },
        h('span', { class: 'swatch', style: `background:${colour || layer.style.color};border-color:${colour || layer.style.color}`, 'aria-hidden': 'true' }),
        h('span', { class: 'result-name' }, this.values.nameOf(layer.id, f.id, lang, p), this.staleMark(p, lang), this.changedMark(p)),
        h('span', { class: 'result-facts' }, facts.map((x) => h('span', { class: 'fact', dataset: { field: x.name } },
          h('span', { class: 'fact-label' }, local(x.title, x.name)), ' ', this.values.format(x, p[x.name], lang))))));
    }));
    const shown = r.features.length;
    const rest = r.numberMatched - shown;
    fill(this.moreEl, 
      h('span', { class: 'muted', id: 'showing' }, t('showing', { shown: format.number(shown, lang), count: format.number(r.numberMatched, lang) })),
      rest > 0 ? h('button', { type: 'button', id: 'show-more', onclick: () => this.onMore() }, t('showMore', { n: format.number(Math.min(PAGE, rest), lang) })) : null);
  }

  /** "Not updated for N days" on a row whose figures are older than the stale age. */
  staleMark(p, lang) {
    if (this.staleAfterDays === null || typeof p.updated_at !== 'string') return null;
    const days = format.daysSince(p.updated_at);
    return days !== null && days > this.staleAfterDays
      ? h('span', { class: 'badge stale' }, t('staleShort', { days: format.number(days, lang) }))
      : null;
  }

  /** "Changed" on a row edited since the day the Over-time section names. */
  changedMark(p) {
    if (!this.changedSince || typeof p.updated_at !== 'string') return null;
    return Date.parse(p.updated_at) >= Date.parse(this.changedSince)
      ? h('span', { class: 'badge changed' }, t('historyChangedMark'))
      : null;
  }

  /** Set by main: fetches the next page. */
  onMore() {}

  render() {
    this.build();
  }
}
