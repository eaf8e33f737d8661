// "Match needs": the requirement form (hard criteria from the subject layer's filterable fields,
// soft preferences, the near-miss margin), the ranked matches and near misses with their
// reasons, and the shortlist built from them (compare, CSV, printable dossier). The requirement
// and the shortlist live in the URL, so a shortlist is shared as a link (a short one: see
// core/share.js); nothing is stored. After "Find matches" the form folds away and the answer
// takes its place, with focus on its summary.
import { h, domId, fill, sayInForm } from '../dom.js';
import { t, local, language, onLanguageChange } from '../i18n/index.js';
import * as format from '../core/format.js';
import { toRequirement, toForm, shortfall } from '../core/requirement.js';

/** Carriers compared side by side at most. */
export const MAX_COMPARE = 4;

export class MatchPanel {
  /**
   * `run(requirement)` → the match answer; `onPick(collection, id)` opens a feature;
   * `onAnswer(answer|null)` colours the map; `onCompare(ids)`, `onFile(ids, kind)` (kind:
   * 'xlsx', 'csv' for people, 'data' as stored), `onDossier(ids)`, `onLink(ids)` → the link;
   * `findFilters()` → how many find filters the map applies too, `onClearFind()` drops them.
   */
  constructor({ store, catalog, values, choicesOf, run, onPick, onAnswer, onCompare, onFile, onDossier, onLink, findFilters, onClearFind, onError }) {
    Object.assign(this, { store, catalog, values, choicesOf, run, onPick, onAnswer, onCompare, onFile, onDossier, onLink, findFilters, onClearFind, onError });
    this.element = h('section', { class: 'panel-section match', id: 'match-panel', 'aria-labelledby': 'match-heading' });
    this.formEl = h('form', { class: 'filters match-form', id: 'match-form', novalidate: true });
    this.formEl.addEventListener('submit', (e) => { e.preventDefault(); this.submit(); });
    this.messageEl = h('p', { class: 'edit-message', role: 'alert', hidden: true });
    this.resultsEl = h('div', { class: 'match-results', id: 'match-results', 'aria-live': 'polite' });
    this.answer = null;
    this.controls = [];
    onLanguageChange(() => this.build());
  }

  get layer() {
    return this.catalog.layers.find((l) => l.id === this.store.state.subject);
  }

  /** Builds the form for the subject layer, filled from the requirement in the URL if any. */
  build() {
    const layer = this.layer;
    const lang = language();
    const form = toForm(this.store.state.requirement);
    const fields = layer.fields.filter((f) => f.filter && !f.derived || f.role === 'zones');
    const parts = [];
    const numeric = fields.filter((f) => ['integer', 'number'].includes(f.type) && ['min', 'max', 'range'].includes(f.filter));
    const dates = fields.filter((f) => f.type === 'date' && ['min', 'max', 'range'].includes(f.filter));
    const choices = fields.filter((f) => ['in', 'contains'].includes(f.filter));
    const title = (f) => local(f.title, f.name) + (f.unit ? ` (${format.unitText(f.unit, lang)})` : '');
    for (const f of numeric) {
      const c = form.criteria[f.name] || {};
      const id = domId('m', f.name);
      parts.push(h('fieldset', { class: 'field range', dataset: { field: f.name } }, h('legend', {}, title(f)),
        h('input', { id: `${id}-min`, type: 'text', inputmode: 'decimal', autocomplete: 'off', 'aria-label': `${local(f.title, f.name)} ${t('atLeast')}`, placeholder: t('atLeast'), value: c.min ?? '' }),
        h('span', { 'aria-hidden': 'true' }, '–'),
        h('input', { id: `${id}-max`, type: 'text', inputmode: 'decimal', autocomplete: 'off', 'aria-label': `${local(f.title, f.name)} ${t('atMost')}`, placeholder: t('atMost'), value: c.max ?? '' })));
    }
    for (const f of dates) {
      const c = form.criteria[f.name] || {};
      const id = domId('m', f.name);
      parts.push(h('div', { class: 'field' }, h('label', { for: `${id}-max` }, local(f.filterTitle || f.title, f.name)),
        h('input', { id: `${id}-max`, type: 'date', value: c.max ?? '' })));
    }
    for (const f of choices) {
      const options = this.choicesOf(f, lang) || [];
      if (!options.length) continue;
      const chosen = new Set((form.criteria[f.name] && form.criteria[f.name].in) || []);
      parts.push(h('fieldset', { class: 'checks', dataset: { field: f.name } }, h('legend', {}, local(f.filterTitle || f.title, f.name)),
        options.map((o) => {
          const cid = domId('m', f.name, o.value);
          return h('span', { class: 'check' }, h('input', { type: 'checkbox', id: cid, value: o.value, name: f.name, checked: chosen.has(o.value) }), h('label', { for: cid }, o.label));
        })));
    }
    // Preferences: each a choice and how much it matters.
    const weight = (id, value) => h('select', { id, 'aria-label': t('matchWeight') },
      [1, 2, 3].map((w) => h('option', { value: w, selected: Number(value || 1) === w }, t(`matchWeight${w}`))));
    const zonesField = layer.fields.find((f) => f.role === 'zones');
    const zoneOptions = zonesField ? this.choicesOf(zonesField, lang) || [] : [];
    const parkField = layer.fields.find((f) => f.references);
    const parkOptions = parkField ? this.choicesOf(parkField, lang) || [] : [];
    const sizeField = numeric.find((f) => format.unitText(f.unit, 'en') === 'm²' && f.list) || numeric.find((f) => format.unitText(f.unit, 'en') === 'm²');
    const dateField = dates[0];
    const prefs = [];
    if (zoneOptions.length) {
      prefs.push(h('div', { class: 'field pref' }, h('label', { for: 'm-pref-zone' }, t('matchPreferZone')),
        h('select', { id: 'm-pref-zone' }, h('option', { value: '' }, t('any')), zoneOptions.map((o) => h('option', { value: o.value, selected: form.prefs.zone && form.prefs.zone.id === o.value }, o.label))),
        weight('m-pref-zone-weight', form.prefs.zone && form.prefs.zone.weight)));
    }
    if (parkOptions.length) {
      prefs.push(h('div', { class: 'field pref' }, h('label', { for: 'm-pref-park' }, t('matchPreferNear')),
        h('select', { id: 'm-pref-park', dataset: { collection: parkField.references } }, h('option', { value: '' }, t('any')), parkOptions.map((o) => h('option', { value: o.value, selected: form.prefs.park && form.prefs.park.id === o.value }, o.label))),
        weight('m-pref-park-weight', form.prefs.park && form.prefs.park.weight)));
    }
    if (sizeField) {
      prefs.push(h('div', { class: 'field pref' }, h('label', { for: 'm-pref-size' }, t('matchPreferSize', { field: title(sizeField) })),
        h('input', { id: 'm-pref-size', type: 'text', inputmode: 'decimal', autocomplete: 'off', dataset: { field: sizeField.name }, value: (form.prefs.size && form.prefs.size.value) || '' }),
        weight('m-pref-size-weight', form.prefs.size && form.prefs.size.weight)));
    }
    if (dateField) {
      prefs.push(h('div', { class: 'field pref check' }, h('input', { id: 'm-pref-sooner', type: 'checkbox', dataset: { field: dateField.name }, checked: Boolean(form.prefs.sooner) }),
        h('label', { for: 'm-pref-sooner' }, t('matchPreferSooner')),
        weight('m-pref-sooner-weight', form.prefs.sooner && form.prefs.sooner.weight)));
    }
    const open = !this.store.state.requirement;
    fill(this.formEl,
      h('details', { class: 'filters-box', id: 'match-needs', open }, h('summary', {}, t('matchNeeds')), parts),
      prefs.length ? h('details', { class: 'filters-box', id: 'match-prefs', open }, h('summary', {}, t('matchPreferences')), prefs) : null,
      h('div', { class: 'field inline' }, h('label', { for: 'm-margin' }, t('matchMargin')),
        h('input', { id: 'm-margin', type: 'text', inputmode: 'decimal', size: 4, value: form.margin || '10' }), h('span', {}, '%')),
      this.messageEl,
      h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary', id: 'match-run' }, t('matchRun')),
        h('button', { type: 'button', class: 'link', id: 'match-reset', onclick: () => this.clear() }, t('matchReset'))));
    fill(this.element, h('h2', { id: 'match-heading', class: 'visually-hidden' }, t('tabMatch')),
      h('p', { class: 'muted' }, t('matchIntro')), this.formEl, this.resultsEl);
    this.renderResults();
  }

  /** The form's values as `core/requirement.js` takes them. */
  read() {
    const layer = this.layer;
    const get = (id) => this.formEl.querySelector(`#${CSS.escape(id)}`);
    const criteria = {};
    for (const fs of this.formEl.querySelectorAll('fieldset.range')) {
      const name = fs.dataset.field;
      criteria[name] = { min: get(`${domId('m', name)}-min`).value, max: get(`${domId('m', name)}-max`).value };
    }
    for (const f of layer.fields.filter((x) => x.type === 'date')) {
      const el = get(`${domId('m', f.name)}-max`);
      if (el && el.value) criteria[f.name] = { max: el.value, date: true };
    }
    for (const fs of this.formEl.querySelectorAll('fieldset.checks')) {
      criteria[fs.dataset.field] = { in: [...fs.querySelectorAll('input:checked')].map((b) => b.value) };
    }
    const prefs = {};
    const zone = get('m-pref-zone');
    const zonesField = this.layer.fields.find((f) => f.role === 'zones');
    if (zone && zone.value && zonesField) prefs.zone = { field: zonesField.name, id: zone.value, weight: Number(get('m-pref-zone-weight').value) };
    const park = get('m-pref-park');
    if (park && park.value) prefs.park = { collection: park.dataset.collection, id: park.value, weight: Number(get('m-pref-park-weight').value) };
    const size = get('m-pref-size');
    if (size && size.value.trim()) prefs.size = { field: size.dataset.field, value: size.value, weight: Number(get('m-pref-size-weight').value) };
    const sooner = get('m-pref-sooner');
    if (sooner && sooner.checked) prefs.sooner = { field: sooner.dataset.field, weight: Number(get('m-pref-sooner-weight').value) };
    return { criteria, prefs, margin: get('m-margin').value };
  }

  say(text, controlId) {
    const control = controlId ? this.formEl.querySelector(`#${CSS.escape(controlId)}`) : null;
    sayInForm(this.formEl, this.messageEl, text, control);
  }

  async submit() {
    let requirement;
    try {
      requirement = toRequirement(this.read(), { today: new Date().toISOString().slice(0, 10) });
    } catch (e) {
      if (e && e.reason) {
        const id = e.field === 'margin' ? 'm-margin' : e.field === 'pref-size' ? 'm-pref-size' : `${domId('m', e.field.replace(/-(min|max)$/, ''))}-${e.field.match(/(min|max)$/)[1]}`;
        const key = { notPercent: 'matchNotPercent', minAboveMax: 'matchMinAboveMax' }[e.reason] || 'editNotNumber';
        this.say(t(key, { value: e.value }), id);
        return;
      }
      throw e;
    }
    this.say('');
    this.store.update({ requirement, shortlist: [] });
    await this.refresh();
    if (this.answer) this.showAnswer();
  }

  /** Folds the form away and brings the answer's summary into view, with focus on it. */
  showAnswer() {
    this.formEl.querySelectorAll('details.filters-box').forEach((d) => { d.open = false; });
    const summary = this.resultsEl.querySelector('#match-summary');
    if (!summary) return;
    summary.focus({ preventScroll: true });
    summary.scrollIntoView({ block: 'start' });
  }

  /** Runs the requirement in the URL (after a submit, or when a shared link is opened). */
  async refresh() {
    const req = this.store.state.requirement;
    if (!req) {
      this.answer = null;
      this.onAnswer(null);
      this.renderResults();
      return;
    }
    try {
      this.answer = await this.run({ ...req, limit: 100, nearMissLimit: 50 });
      this.onAnswer(this.answer);
    } catch (e) {
      this.answer = null;
      this.onAnswer(null);
      if (e.status === 400) this.say(e.message);
      else this.onError(e);
    }
    this.renderResults();
  }

  clear() {
    this.store.update({ requirement: null, shortlist: [] });
    this.answer = null;
    this.onAnswer(null);
    this.build();
  }

  toggle(id, on) {
    const list = new Set(this.store.state.shortlist || []);
    if (on) list.add(id);
    else list.delete(id);
    this.store.update({ shortlist: [...list] });
    this.renderTools();
  }

  /** One match or near miss: its score, name, and why. */
  row(m, near) {
    const lang = language();
    const layer = this.layer;
    const id = String(m.id);
    const fieldOf = (name) => layer.fields.find((f) => f.name === name) || { name, title: name };
    const name = this.values.nameOf(layer.id, id, lang, m.names) || id;
    const cid = domId('short', id);
    const reasons = [];
    if (near) {
      for (const c of m.criteria.filter((x) => !x.met)) {
        const f = fieldOf(c.property);
        const s = shortfall(c);
        if (!s) continue;
        const amount = s.key === 'missLate' || s.key === 'missEarly' ? format.number(s.amount, lang) : format.withUnit(s.amount, f.unit, lang);
        reasons.push(h('li', { class: 'miss' }, t(s.key, { field: local(f.title, f.name), amount })));
      }
    } else {
      reasons.push(h('li', {}, m.criteria.length ? t('matchAllMet', { n: m.criteria.length }) : t('matchNoNeeds')));
    }
    for (const p of m.preferences) {
      if (p.near_feature !== undefined && typeof p.value === 'number') reasons.push(h('li', {}, t('matchDistance', { d: format.number(p.value / 1000, lang, 1) })));
      if (p.in && p.score === 1) reasons.push(h('li', {}, t('matchInPreferred')));
    }
    const checked = (this.store.state.shortlist || []).includes(id);
    return h('li', { class: `match-row${near ? ' near' : ''}`, dataset: { id } },
      h('input', { type: 'checkbox', id: cid, checked, 'aria-label': t('matchShortlistAdd', { name }), onchange: (e) => this.toggle(id, e.target.checked) }),
      h('span', { class: 'score', title: t('matchScore') }, format.number(m.score, lang, m.score % 1 ? 1 : 0)),
      h('div', {}, h('button', { type: 'button', class: 'link name', onclick: () => this.onPick(layer.id, id) }, name),
        h('ul', { class: 'reasons' }, reasons)));
  }

  renderTools() {
    const n = (this.store.state.shortlist || []).length;
    const tools = this.resultsEl.querySelector('.shortlist-tools');
    if (!tools) return;
    const ids = () => this.store.state.shortlist || [];
    const button = (id, label, title, onclick, disabled = n === 0) => h('button', { type: 'button', id, disabled, title, onclick }, label);
    fill(tools,
      h('span', { class: 'muted', id: 'shortlist-count' }, t('matchShortlisted', { n: format.number(n, language()) })),
      button('compare', t('matchCompare'), t('matchCompareHint', { max: MAX_COMPARE }), () => this.onCompare(ids()), n < 2 || n > MAX_COMPARE),
      button('dossier-open', t('matchDossier'), null, () => this.onDossier(ids())),
      button('shortlist-xlsx', t('shortlistXlsx'), t('shortlistXlsxTitle'), () => this.onFile(ids(), 'xlsx')),
      button('shortlist-csv', t('shortlistCsv'), t('shortlistCsvTitle'), () => this.onFile(ids(), 'csv')),
      button('shortlist-data', t('shortlistData'), t('shortlistDataTitle'), () => this.onFile(ids(), 'data')),
      button('shortlist-link', t('shortlistLink'), t('shortlistLinkTitle'), () => this.shareLink(ids())),
      h('p', { class: 'muted share-link', id: 'share-link', role: 'status', hidden: true }));
  }

  /** Copies the short link (or shows it to copy by hand where the clipboard is refused). */
  async shareLink(ids) {
    const out = this.resultsEl.querySelector('#share-link');
    try {
      const link = await this.onLink(ids);
      let copied = false;
      try {
        await navigator.clipboard.writeText(link);
        copied = true;
      } catch { /* no clipboard (plain http, or refused): the link is shown instead */ }
      out.textContent = t(copied ? 'shortlistLinkCopied' : 'shortlistLinkShown', { link });
      out.dataset.link = link;
      out.hidden = false;
    } catch (e) { this.onError(e); }
  }

  renderResults() {
    const a = this.answer;
    if (!a) {
      fill(this.resultsEl);
      return;
    }
    const lang = language();
    const hiding = this.findFilters ? this.findFilters() : 0;
    fill(this.resultsEl,
      h('p', { class: 'summary', id: 'match-summary', tabindex: '-1', dataset: { count: a.numberMatched, near: a.numberNearMisses } },
        t('matchSummary', {
          n: format.number(a.numberMatched, lang), matches: t(a.numberMatched === 1 ? 'matchOne' : 'matchMany'),
          near: format.number(a.numberNearMisses, lang), nearMisses: t(a.numberNearMisses === 1 ? 'nearMissOne' : 'nearMissMany'),
        })),
      a.numberMatched > a.matches.length ? h('p', { class: 'muted' }, t('matchSeeAll', { shown: format.number(a.matches.length, lang), n: format.number(a.numberMatched, lang) })) : null,
      hiding ? h('p', { class: 'notice', id: 'match-find-hides' }, t('matchFindHides', { n: hiding }), ' ',
        h('button', { type: 'button', class: 'link', onclick: () => this.onClearFind() }, t('matchFindClear'))) : null,
      h('div', { class: 'buttons shortlist-tools' }),
      a.matches.length ? h('ol', { class: 'results match-list', id: 'match-list' }, a.matches.map((m) => this.row(m, false))) : h('p', { class: 'muted' }, t('matchNone')),
      a.nearMisses.length ? [h('h3', {}, t('matchNearMisses')), h('p', { class: 'muted' }, t('matchNearHint')),
        h('ol', { class: 'results match-list', id: 'near-list' }, a.nearMisses.map((m) => this.row(m, true)))] : null);
    this.renderTools();
  }
}
