// "Find space": the filter form, a summary line and a sortable list of the matching carriers.
// Every change goes into the state; main.js sends one CQL2 request and feeds map and list alike.
import { h, termLabel, featureName } from './dom.js';
import { t, language, formatNumber } from '../i18n/index.js';
import { state, update } from '../state.js';
import { emptyFilters } from '../cql.js';

export class FindPanel {
  constructor({ vocabularies, zoneChoices, onPick }) {
    this.vocab = vocabularies;
    this.zoneChoices = zoneChoices; // [{id, titles}]
    this.onPick = onPick;
    this.result = null;
    this.loading = false;
    this.element = h('section', { class: 'panel-section', 'aria-labelledby': 'find-heading' });
    this.listEl = h('ol', { class: 'results', id: 'results' });
    this.summaryEl = h('p', { class: 'summary', id: 'summary', 'aria-live': 'polite' });
  }

  setFilter(key, value) {
    update({ filters: { ...state.filters, [key]: value } });
  }

  checkboxes(key, vocab) {
    const lang = language();
    return h('fieldset', { class: 'checks' }, h('legend', {}, t({ industries: 'filterIndustry', buildingTypes: 'filterBuildingType', statuses: 'filterStatus' }[key])),
      vocab.terms.map((term) => {
        const id = `f-${key}-${term.id}`;
        return h('span', { class: 'check' },
          h('input', { type: 'checkbox', id, value: term.id, checked: state.filters[key].includes(term.id), dataset: { filter: key },
            onchange: (e) => this.setFilter(key, e.target.checked ? [...state.filters[key], term.id] : state.filters[key].filter((x) => x !== term.id)) }),
          h('label', { for: id }, termLabel(vocab, term.id, lang)));
      }));
  }

  numberInput(key, label, step = 1) {
    const id = `f-${key}`;
    return h('div', { class: 'field' }, h('label', { for: id }, t(label)),
      h('input', { type: 'number', id, min: 0, step, value: state.filters[key] ?? '', inputmode: 'decimal',
        onchange: (e) => this.setFilter(key, e.target.value === '' ? null : Number(e.target.value)) }));
  }

  render() {
    const lang = language();
    const f = state.filters;
    const inside = h('select', { id: 'f-inside', onchange: (e) => this.setFilter('inside', e.target.value) },
      h('option', { value: '' }, t('insideAnywhere')),
      this.zoneChoices.map((z) => h('option', { value: z.id, selected: f.inside === z.id }, z.title[lang] || z.title.en)));
    const sort = h('select', { id: 'sort', onchange: (e) => update({ sort: e.target.value }) },
      [['available_desc', 'sortAvailable'], ['name', 'sortName'], ['delivery', 'sortDelivery']].map(([v, k]) => h('option', { value: v, selected: state.sort === v }, t(k))));
    this.element.replaceChildren(
      h('h2', { id: 'find-heading' }, t('tabFind')),
      h('form', { class: 'filters', onsubmit: (e) => e.preventDefault() },
        this.checkboxes('industries', this.vocab.industries),
        this.numberInput('minAvailable', 'filterMinAvailable', 500),
        this.checkboxes('buildingTypes', this.vocab.buildingTypes),
        this.checkboxes('statuses', this.vocab.statuses),
        h('div', { class: 'field' }, h('label', { for: 'f-readyBy' }, t('filterReadyBy')),
          h('input', { type: 'date', id: 'f-readyBy', value: f.readyBy || '', onchange: (e) => this.setFilter('readyBy', e.target.value) })),
        this.numberInput('minClearHeight', 'filterClearHeight', 0.5),
        this.numberInput('minFloorLoad', 'filterFloorLoad', 1),
        this.numberInput('minPower', 'filterPower', 100),
        h('div', { class: 'field' }, h('label', { for: 'f-inside' }, t('filterInside')), inside),
        h('button', { type: 'button', id: 'reset-filters', onclick: () => update({ filters: emptyFilters() }) }, t('reset'))),
      this.summaryEl,
      h('div', { class: 'field inline' }, h('label', { for: 'sort' }, t('sortBy')), sort),
      this.listEl);
    this.renderResult();
  }

  setLoading(loading) {
    this.loading = loading;
    this.element.setAttribute('aria-busy', String(loading));
    if (loading && !this.result) this.summaryEl.textContent = t('loading');
  }

  /** Shows a search answer: the summary line and one row per carrier. */
  setResult(result) {
    this.result = result;
    this.renderResult();
  }

  renderResult() {
    const r = this.result;
    if (!r) return;
    const lang = language();
    const available = r.features.reduce((s, f) => s + (f.properties.available_floor_area_m2 || 0), 0);
    this.summaryEl.textContent = t('summary', { count: formatNumber(r.numberMatched), available: formatNumber(available) });
    if (r.features.length === 0) {
      this.listEl.replaceChildren(h('li', { class: 'empty' }, t('noResults')));
      return;
    }
    this.listEl.replaceChildren(...r.features.map((f) => h('li', {},
      h('button', { type: 'button', class: 'result', dataset: { id: f.id }, onclick: () => this.onPick(f) },
        h('span', { class: 'swatch', style: `background:${(this.vocab.industries.terms.find((x) => x.id === f.properties.industry) || {}).color || '#888'}`, 'aria-hidden': 'true' }),
        h('span', { class: 'result-name' }, featureName(f, lang)),
        h('span', { class: 'result-available' }, t('available', { value: formatNumber(f.properties.available_floor_area_m2 || 0) }))))));
  }
}
