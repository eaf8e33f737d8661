// "Update from a spreadsheet", for editors: download the workbook for the current filter, upload
// the filled-in file, review every change in a table (changed cells marked, errors at their
// cells, in the reader's language), apply it all at once, and undo an applied set from the list.
// The server does the reading and comparing (POST …/changesets); this panel only shows it.
import { h, fill } from '../dom.js';
import { t, local, language, onLanguageChange } from '../i18n/index.js';
import * as api from '../api.js';
import * as format from '../core/format.js';

/** A value as the table shows it: text as it is, arrays joined, empty as a dash. */
function shown(v) {
  if (v === null || v === undefined || v === '') return '—';
  if (Array.isArray(v)) return v.join('; ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export class SheetUpdate {
  /**
   * `session`: the signed-in token; `layer()`: the subject layer; `filter()`: the find filter
   * (CQL2 JSON or null); `onApplied(layer)`: refreshes the map and list; `onError`.
   */
  constructor({ session, layer, filter, onApplied, onError }) {
    Object.assign(this, { session, layer, filter, onApplied, onError });
    this.element = h('div', { class: 'sheet-update' });
    this.dialog = null;
    this.preview = null;
    this.sets = [];
    this.message = '';
    session.onChange(() => this.render());
    onLanguageChange(() => { this.render(); if (this.dialog) this.renderDialog(); });
    this.render();
  }

  render() {
    const layer = this.layer();
    const show = this.session.signedIn && layer && layer.editable;
    fill(this.element, show
      ? h('button', { type: 'button', id: 'sheet-update', title: t('sheetTitle'), onclick: () => this.open() }, t('sheetButton'))
      : null);
  }

  async open() {
    this.preview = null;
    this.message = '';
    this.dialog = h('dialog', { class: 'changeset-dialog', 'aria-labelledby': 'changeset-title' });
    this.dialog.addEventListener('cancel', (e) => { e.preventDefault(); this.close(); });
    document.body.append(this.dialog);
    this.renderDialog();
    this.dialog.showModal();
    await this.loadSets();
  }

  close() {
    this.dialog?.close();
    this.dialog?.remove();
    this.dialog = null;
    this.element.querySelector('button')?.focus();
  }

  async loadSets() {
    try {
      this.sets = await api.listChangesets(this.layer().id, this.session.token);
    } catch (e) {
      this.sets = [];
      this.message = e.message;
    }
    if (this.dialog) this.renderDialog();
  }

  fieldTitle(name) {
    if (name === 'geometry') return t('sheetGeometry');
    const f = this.layer().fields.find((x) => x.name === name);
    return f ? local(f.title, name) : name;
  }

  async upload(file) {
    this.message = '';
    try {
      this.preview = await api.previewChangeset(this.layer().id, file, this.session.token);
    } catch (e) {
      this.preview = null;
      this.message = e.message;
    }
    this.renderDialog();
    await this.loadSets();
  }

  async apply() {
    const set = this.preview;
    try {
      const done = await api.applyChangeset(this.layer().id, set.id, this.session.token);
      this.message = t('sheetApplied', { n: format.number(done.applied?.changes ?? 0, language()) });
      this.preview = null;
      await this.onApplied(this.layer());
    } catch (e) {
      this.message = e.message;
    }
    await this.loadSets();
  }

  async revert(id) {
    try {
      const done = await api.revertChangeset(this.layer().id, id, this.session.token);
      this.message = t('sheetReverted', { n: format.number(done.applied?.changes ?? 0, language()) });
      await this.onApplied(this.layer());
    } catch (e) {
      this.message = e.message;
    }
    await this.loadSets();
  }

  previewTable() {
    const p = this.preview;
    const lang = language();
    const s = p.summary;
    const counts = h('p', { class: 'changeset-summary', role: 'status' }, t('sheetSummary', {
      changed: format.number(s.changed, lang), added: format.number(s.new, lang), errors: format.number(s.error, lang),
      unchanged: format.number(s.unchanged, lang), missing: format.number(s.missing, lang),
    }));
    const problems = (p.problems || []).map((r) => h('p', { class: 'edit-message changeset-problem' }, lang === 'zh' ? r.zh : r.en));
    const rows = (p.rows || []).filter((r) => r.outcome !== 'unchanged');
    const outcome = (o) => t({ changed: 'sheetChanged', new: 'sheetNew', error: 'sheetError' }[o] || 'sheetChanged');
    const body = rows.slice(0, 500).map((r) => {
      const cells = [];
      for (const c of r.cells || []) {
        cells.push(h('li', { class: 'cell-changed', dataset: { property: c.property } },
          h('span', { class: 'prop' }, this.fieldTitle(c.property)), ': ',
          h('del', {}, shown(c.before)), ' → ', h('ins', {}, shown(c.after))));
      }
      for (const e of r.errors || []) {
        cells.push(h('li', { class: 'cell-error', dataset: { property: e.property || '' } },
          e.property || e.column ? [h('span', { class: 'prop' }, e.property ? this.fieldTitle(e.property) : e.column), ': '] : null,
          e.value !== null && e.value !== undefined ? h('code', {}, shown(e.value)) : null, ' ',
          lang === 'zh' ? e.reason.zh : e.reason.en));
      }
      if (r.outcome === 'new' && r.feature) {
        const props = r.feature.properties || {};
        cells.push(h('li', {}, Object.keys(props).slice(0, 4).map((k) => `${this.fieldTitle(k)}: ${shown(props[k])}`).join(' · ')));
      }
      return h('tr', { class: `changeset-row ${r.outcome}`, dataset: { id: r.id || '', row: String(r.row) } },
        h('td', {}, format.number(r.row, lang)), h('td', {}, r.id || '—'), h('td', {}, outcome(r.outcome)), h('td', {}, h('ul', {}, cells)));
    });
    const table = rows.length ? h('table', { class: 'changeset-table' },
      h('thead', {}, h('tr', {}, h('th', {}, t('sheetRow')), h('th', {}, t('sheetId')), h('th', {}, t('sheetOutcome')), h('th', {}, t('sheetCells')))),
      h('tbody', {}, body)) : h('p', {}, t('sheetNothing'));
    const applicable = s.error === 0 && (p.problems || []).length === 0 && (s.changed + s.new + s.delete) > 0;
    return [counts, problems, table,
      h('div', { class: 'edit-actions' },
        h('button', { type: 'button', class: 'primary', id: 'changeset-apply', disabled: !applicable, onclick: () => this.apply() }, t('sheetApply')),
        applicable ? null : h('span', { class: 'muted' }, t('sheetFixFirst')))];
  }

  setsList() {
    const lang = language();
    if (!this.sets.length) return h('p', { class: 'muted' }, t('sheetNoSets'));
    return h('table', { class: 'changeset-list' },
      h('thead', {}, h('tr', {}, h('th', {}, t('sheetWhen')), h('th', {}, t('sheetWho')), h('th', {}, t('sheetStatus')), h('th', {}, t('sheetCounts')), h('th', {}))),
      h('tbody', {}, this.sets.map((c) => h('tr', { dataset: { set: c.id } },
        h('td', {}, format.date(c.createdAt, lang)),
        h('td', {}, c.applied?.by || c.createdBy),
        h('td', { class: 'set-status' }, t(`sheetStatus_${c.status}`) + (c.reverts ? ` (${t('sheetIsRevert')})` : '')),
        h('td', {}, c.reverts ? '' : t('sheetCountsShort', { changed: format.number(c.summary?.changed ?? 0, lang), added: format.number(c.summary?.new ?? 0, lang) })),
        h('td', {}, c.status === 'applied' && !c.reverts
          ? h('button', { type: 'button', class: 'changeset-revert', onclick: () => this.revert(c.id) }, t('sheetRevert'))
          : null)))));
  }

  renderDialog() {
    const layer = this.layer();
    const lang = language();
    const file = h('input', { type: 'file', id: 'changeset-file', accept: '.xlsx,.csv,.geojson,.json' });
    file.addEventListener('change', () => { if (file.files[0]) this.upload(file.files[0]); });
    const parts = [
      h('h2', { id: 'changeset-title' }, t('sheetTitle')),
      h('p', { class: 'muted' }, t('sheetHint', { layer: local(layer.title, layer.id) })),
      h('ol', { class: 'changeset-steps' },
        h('li', {}, h('a', { id: 'changeset-workbook', href: api.workbookLink(layer.id, this.filter(), lang), download: '' }, t('sheetDownload'))),
        h('li', {}, h('label', { for: 'changeset-file' }, t('sheetUpload')), ' ', file)),
      this.message ? h('p', { class: 'edit-message', role: 'alert' }, this.message) : null,
      this.preview ? this.previewTable() : null,
      h('h3', {}, t('sheetSets')),
      this.setsList(),
      h('div', { class: 'edit-actions' }, h('button', { type: 'button', onclick: () => this.close() }, t('sheetClose'))),
    ];
    fill(this.dialog, ...parts);
  }
}
