// "Team", for administrators: the tokens of the people who keep the data current (made here with
// their rights — which collections, which features (a CQL2 filter), which properties — the
// secret shown once), revoked here; and the audit of who changed what and when, filtered, with
// a CSV download. The server checks every rule; this panel only asks and shows.
import { h, fill } from '../dom.js';
import { t, local, language, onLanguageChange } from '../i18n/index.js';
import * as api from '../api.js';
import { editableFields } from './editor.js';
import { list } from '../core/format.js';

/** How long a new token lasts, as offered. */
const LIFETIMES = ['30d', '90d', '365d', ''];

export class Team {
  /** `layers`: the catalog's layers (the editable ones are offered). */
  constructor({ session, layers, onError }) {
    Object.assign(this, { session, layers, onError });
    this.element = h('div', { class: 'team' });
    this.dialog = null;
    this.tokens = [];
    this.made = null; // the token just made: { name, token }
    this.changes = [];
    this.filters = { principal: '', collection: '', since: '', until: '' };
    this.message = '';
    session.onChange(() => this.render());
    onLanguageChange(() => { this.render(); if (this.dialog) this.renderDialog(); });
    this.render();
  }

  render() {
    fill(this.element, this.session.signedIn && this.session.isAdmin
      ? h('button', { type: 'button', id: 'team', title: t('teamTitle'), onclick: () => this.open() }, t('teamButton'))
      : null);
  }

  editable() {
    return this.layers.filter((l) => l.editable);
  }

  async open() {
    this.made = null;
    this.message = '';
    this.dialog = h('dialog', { class: 'team-dialog', 'aria-labelledby': 'team-title' });
    this.dialog.addEventListener('cancel', (e) => { e.preventDefault(); this.close(); });
    document.body.append(this.dialog);
    this.renderDialog();
    this.dialog.showModal();
    await Promise.all([this.loadTokens(), this.loadAudit()]);
  }

  close() {
    this.dialog?.close();
    this.dialog?.remove();
    this.dialog = null;
    this.made = null;
    this.element.querySelector('button')?.focus();
  }

  async loadTokens() {
    try {
      this.tokens = await api.listTokens(this.session.token);
    } catch (e) {
      this.message = e.full || e.message;
    }
    if (this.dialog) this.renderDialog();
  }

  async loadAudit() {
    try {
      this.changes = (await api.audit({ ...this.filters, limit: 200 }, this.session.token)).changes;
    } catch (e) {
      this.message = e.full || e.message;
    }
    if (this.dialog) this.renderDialog();
  }

  layerTitle(id) {
    const l = this.layers.find((x) => x.id === id);
    return l ? local(l.title, id) : id;
  }

  fieldTitle(collection, name) {
    if (name === 'geometry') return t('teamGeometry');
    const f = this.layers.find((x) => x.id === collection)?.fields.find((x) => x.name === name);
    return f ? local(f.title, name) : name;
  }

  /** A token's rights in words: its collections and, in each, its limits. */
  rights(tok) {
    const collections = tok.collections ? list(tok.collections.map((c) => this.layerTitle(c)), language()) : t('teamAll');
    const limits = Object.entries(tok.scopes || {}).map(([c, s]) => [
      s.where ? t('teamWhereIs', { where: s.where }) : null,
      s.fields ? t('teamFieldsAre', { fields: list(s.fields.map((f) => this.fieldTitle(c, f)), language()) }) : null,
      s.area ? t('teamArea') : null,
    ].filter(Boolean).join('; ') + (tok.collections && tok.collections.length > 1 ? ` (${this.layerTitle(c)})` : ''));
    return [collections, ...limits].join(' · ');
  }

  tokensSection() {
    const lang = language();
    const date = (s) => (s ? new Date(s).toLocaleDateString(lang === 'zh' ? 'zh-CN' : 'en-GB') : '—');
    return h('section', { 'aria-labelledby': 'team-tokens' },
      h('h3', { id: 'team-tokens' }, t('teamTokens')),
      h('table', { class: 'team-table' },
        h('thead', {}, h('tr', {}, ['teamName', 'teamRole', 'teamRights', 'teamCreated', 'teamExpires', 'teamState', ''].map((k) => h('th', { scope: 'col' }, k ? t(k) : '')))),
        h('tbody', {}, this.tokens.map((tok) => h('tr', { dataset: { token: tok.name } },
          h('td', {}, tok.name),
          h('td', {}, t(`role_${tok.role}`)),
          h('td', { class: 'rights' }, this.rights(tok)),
          h('td', {}, date(tok.created_at)),
          h('td', {}, tok.expires_at ? date(tok.expires_at) : t('teamNever')),
          h('td', {}, tok.active ? t('teamActive') : tok.revoked_at ? t('teamRevoked') : t('teamExpired')),
          h('td', {}, tok.active ? h('button', { type: 'button', class: 'danger revoke', onclick: (e) => this.revoke(tok.name, e.currentTarget) }, t('teamRevoke')) : null))))),
      this.made ? h('div', { class: 'made', role: 'status' },
        h('p', {}, t('teamMade', { name: this.made.name })),
        h('input', { id: 'team-secret', type: 'text', readonly: true, value: this.made.token, 'aria-label': t('teamSecret'), onfocus: (e) => e.target.select() }),
        h('p', { class: 'muted' }, t('teamShownOnce'))) : null,
      this.createForm());
  }

  createForm() {
    const layers = this.editable();
    const chosen = this.draft?.collection || '';
    const layer = layers.find((l) => l.id === chosen);
    const fields = layer ? editableFields(layer) : [];
    const form = h('form', { class: 'team-create', novalidate: true },
      h('h3', {}, t('teamNew')),
      h('div', { class: 'field' }, h('label', { for: 'team-name' }, t('teamName')), h('input', { id: 'team-name', name: 'name', autocomplete: 'off', required: true, value: this.draft?.name || '' })),
      h('div', { class: 'field' }, h('label', { for: 'team-role' }, t('teamRole')),
        h('select', { id: 'team-role', name: 'role' }, ['editor', 'reader', 'admin'].map((r) => h('option', { value: r, selected: (this.draft?.role || 'editor') === r }, t(`role_${r}`))))),
      h('div', { class: 'field' }, h('label', { for: 'team-collection' }, t('teamCollection')),
        h('select', { id: 'team-collection', name: 'collection', onchange: (e) => { this.keepDraft(form, { collection: e.target.value }); this.renderDialog(); } },
          h('option', { value: '' }, t('teamAll')),
          layers.map((l) => h('option', { value: l.id, selected: l.id === chosen }, local(l.title, l.id))))),
      chosen ? h('div', { class: 'field' }, h('label', { for: 'team-where' }, t('teamWhere')),
        h('input', { id: 'team-where', name: 'where', autocomplete: 'off', spellcheck: 'false', placeholder: "park = 'biomedicine-park'", value: this.draft?.where || '' }),
        h('p', { class: 'muted' }, t('teamWhereHint'))) : null,
      chosen ? h('fieldset', { class: 'checks team-fields' }, h('legend', {}, t('teamFields')),
        [...fields.map((f) => [f.name, local(f.title, f.name)]), ['geometry', t('teamGeometry')]].map(([name, label]) => h('span', { class: 'check' },
          h('input', { type: 'checkbox', id: `team-field-${name}`, name: 'fields', value: name, checked: this.draft?.fields?.includes(name) || false }),
          h('label', { for: `team-field-${name}` }, label))),
        h('p', { class: 'muted' }, t('teamFieldsHint'))) : null,
      h('div', { class: 'field' }, h('label', { for: 'team-expires' }, t('teamExpires')),
        h('select', { id: 'team-expires', name: 'expires' }, LIFETIMES.map((v) => h('option', { value: v, selected: (this.draft?.expires ?? '90d') === v }, v ? t('teamDays', { n: v.slice(0, -1) }) : t('teamNever'))))),
      h('p', { class: 'edit-message', role: 'alert', hidden: !this.message }, this.message),
      h('div', { class: 'edit-actions' }, h('button', { type: 'submit', class: 'primary', id: 'team-create' }, t('teamCreate'))));
    form.addEventListener('submit', (e) => { e.preventDefault(); this.create(form); });
    return form;
  }

  /** What the form holds, kept across a redraw (a collection chosen redraws the fields). */
  keepDraft(form, extra = {}) {
    const data = new FormData(form);
    this.draft = {
      name: data.get('name') || '', role: data.get('role'), collection: data.get('collection'),
      where: data.get('where') || '', fields: data.getAll('fields'), expires: data.get('expires'), ...extra,
    };
  }

  async create(form) {
    this.keepDraft(form);
    const d = this.draft;
    const body = { name: d.name.trim(), role: d.role };
    if (d.expires) body.expires = d.expires;
    if (d.collection) {
      body.collections = [d.collection];
      const scope = {};
      if (d.where.trim()) scope.where = d.where.trim();
      if (d.fields.length) scope.fields = d.fields;
      if (Object.keys(scope).length) body.scopes = { [d.collection]: scope };
    }
    try {
      const made = await api.createToken(body, this.session.token);
      this.made = { name: made.name, token: made.token };
      this.draft = null;
      this.message = '';
      await this.loadTokens();
      this.dialog?.querySelector('#team-secret')?.focus();
    } catch (e) {
      this.message = e.full || e.message;
      this.renderDialog();
      this.dialog?.querySelector('.team-create .edit-message')?.focus?.();
    }
  }

  async revoke(name, button) {
    if (!button.dataset.armed) {
      button.dataset.armed = 'true';
      button.textContent = t('teamRevokeConfirm');
      return;
    }
    try {
      await api.revokeToken(name, this.session.token);
      if (this.made?.name === name) this.made = null;
      await this.loadTokens();
    } catch (e) {
      this.message = e.full || e.message;
      this.renderDialog();
    }
  }

  auditSection() {
    const lang = language();
    const when = (s) => new Date(s).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false });
    const form = h('form', { class: 'audit-filters', onsubmit: (e) => { e.preventDefault(); this.readFilters(form); this.loadAudit(); } },
      h('div', { class: 'field' }, h('label', { for: 'audit-principal' }, t('auditWho')), h('input', { id: 'audit-principal', name: 'principal', value: this.filters.principal, autocomplete: 'off' })),
      h('div', { class: 'field' }, h('label', { for: 'audit-collection' }, t('teamCollection')),
        h('select', { id: 'audit-collection', name: 'collection' }, h('option', { value: '' }, t('teamAll')),
          this.layers.map((l) => h('option', { value: l.id, selected: this.filters.collection === l.id }, local(l.title, l.id))))),
      h('div', { class: 'field' }, h('label', { for: 'audit-since' }, t('auditSince')), h('input', { id: 'audit-since', name: 'since', type: 'date', value: this.filters.since })),
      h('div', { class: 'field' }, h('label', { for: 'audit-until' }, t('auditUntil')), h('input', { id: 'audit-until', name: 'until', type: 'date', value: this.filters.until })),
      h('div', { class: 'edit-actions' },
        h('button', { type: 'submit', id: 'audit-apply' }, t('auditShow')),
        h('button', { type: 'button', id: 'audit-csv', onclick: () => { this.readFilters(form); this.downloadCsv(); } }, t('auditCsv'))));
    return h('section', { 'aria-labelledby': 'team-audit' },
      h('h3', { id: 'team-audit' }, t('auditTitle')),
      form,
      this.changes.length === 0 ? h('p', { class: 'muted', id: 'audit-none' }, t('auditNone')) : h('table', { class: 'team-table audit' },
        h('thead', {}, h('tr', {}, ['auditWhen', 'auditWho', 'teamCollection', 'auditFeature', 'auditOperation'].map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', {}, this.changes.map((c) => h('tr', { dataset: { seq: c.seq } },
          h('td', {}, when(c.at)), h('td', {}, c.principal), h('td', {}, this.layerTitle(c.collection)),
          h('td', {}, c.feature_id), h('td', {}, t(`op_${c.operation}`) + (c.changeset ? ` (${t('auditSet')})` : '')))))));
  }

  readFilters(form) {
    const data = new FormData(form);
    this.filters = { principal: (data.get('principal') || '').trim(), collection: data.get('collection') || '', since: data.get('since') || '', until: data.get('until') || '' };
  }

  async downloadCsv() {
    try {
      const blob = await api.auditCsv(this.filters, this.session.token);
      const a = h('a', { href: URL.createObjectURL(blob), download: 'etown-atlas-audit.csv' });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    } catch (e) {
      this.onError(e);
    }
  }

  renderDialog() {
    if (!this.dialog) return;
    fill(this.dialog,
      h('div', { class: 'dialog-head' },
        h('h2', { id: 'team-title' }, t('teamTitle')),
        h('button', { type: 'button', class: 'close', 'aria-label': t('close'), onclick: () => this.close() }, '×')),
      this.tokensSection(),
      this.auditSection());
  }
}
