// The edit form of one feature, inside its details: every property the data lets a person set
// (not the ones the server derives), typed as the field is, prefilled with the stored values.
// Saving sends only what changed, as a merge patch with the ETag read when the form opened; a
// refusal keeps what was typed and says why, next to the field the server names; a conflict (412)
// shows the other person's version and keeps the form, so Save applies these values over it.
import { h, fill, domId, sayInForm } from '../dom.js';
import { t, local, language } from '../i18n/index.js';
import * as api from '../api.js';
import { unitText, withUnit, list } from '../core/format.js';
import { readNumber } from '../core/numbers.js';

/** A new figure this many times larger or smaller than the stored one is asked about first. */
export const SURPRISE_RATIO = 10;

/** Fields a form can set: stored, scalar (or a vocabulary list), not derived. */
export function editableFields(layer) {
  return layer.fields.filter((f) => !f.derived && ['integer', 'number', 'string', 'date', 'boolean'].includes(f.type)
    || (!f.derived && f.type === 'string array' && f.vocabulary));
}

export class EditForm {
  /**
   * `layer`, `id`: what is edited; `session`: the signed-in token; `values`: labels of terms;
   * `onSaved(feature)`: the stored feature after a save; `onCancel()`.
   */
  /**
   * `geometry`: given for a new feature (drawn on the map, in WGS 84): the form is empty and
   * Save creates it.
   */
  constructor({ layer, id, session, vocabularies, choicesOf, onSaved, onConflict, onCancel, onDeleted, geometry = null }) {
    Object.assign(this, { layer, id, session, vocabularies, choicesOf, onSaved, onConflict, onCancel, onDeleted, geometry });
    this.element = h('form', { class: 'edit-form', novalidate: true });
    this.element.addEventListener('submit', (e) => { e.preventDefault(); this.save(); });
    this.etag = null;
    this.stored = {};
  }

  /** Reads the feature as stored now (its values and ETag) and shows the form. */
  async open() {
    if (this.geometry) {
      this.render();
      this.element.querySelector('input, select')?.focus();
      return null;
    }
    fill(this.element, h('p', { class: 'status' }, t('loading')));
    const { feature, etag } = await api.featureForEdit(this.layer.id, this.id, this.session.token);
    this.etag = etag;
    this.stored = feature.properties || {};
    this.render();
    this.element.querySelector('input, select')?.focus();
    return feature;
  }

  inputOf(f) {
    const id = domId('edit', f.name);
    const v = this.stored[f.name];
    const label = h('label', { for: id }, local(f.title, f.name), f.unit ? ` (${unitText(f.unit, language())})` : '');
    let input;
    if (f.type === 'boolean') {
      input = h('input', { id, type: 'checkbox', name: f.name, checked: v === true });
      return h('div', { class: 'edit-field check', dataset: { field: f.name } }, input, label);
    }
    const terms = f.vocabulary && this.vocabularies[f.vocabulary]?.terms;
    if (f.type === 'string array') {
      const chosen = new Set(Array.isArray(v) ? v : []);
      return h('fieldset', { class: 'edit-field', dataset: { field: f.name } }, h('legend', {}, local(f.title, f.name)),
        terms.map((x) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: f.name, value: x.id, checked: chosen.has(x.id) }), x[language()] || x.en)));
    }
    // A reference to another layer's feature (a carrier's park) is picked by name.
    const picks = terms
      ? terms.map((x) => ({ value: x.id, label: x[language()] || x.en }))
      : f.references && this.choicesOf ? this.choicesOf(f, language()) : null;
    if (picks && picks.length) {
      if (v !== null && v !== undefined && v !== '' && !picks.some((x) => x.value === v)) picks.push({ value: v, label: String(v) });
      input = h('select', { id, name: f.name },
        h('option', { value: '' }, '—'),
        picks.map((x) => h('option', { value: x.value, selected: x.value === v }, x.label)));
    } else if (f.type === 'date') {
      input = h('input', { id, name: f.name, type: 'date', value: typeof v === 'string' ? v.slice(0, 10) : '' });
    } else if (f.type === 'integer' || f.type === 'number') {
      // Text, not type=number: what was typed stays as typed until the server has judged it.
      input = h('input', { id, name: f.name, type: 'text', inputmode: 'decimal', autocomplete: 'off', value: v ?? '' });
    } else {
      input = h('input', { id, name: f.name, type: 'text', autocomplete: 'off', value: v ?? '' });
    }
    return h('div', { class: 'edit-field', dataset: { field: f.name } }, label, input);
  }

  render() {
    fill(this.element,
      this.geometry ? null : h('h3', {}, t('editTitle')),
      editableFields(this.layer).map((f) => this.inputOf(f)),
      h('p', { class: 'edit-message', role: 'alert', hidden: true }),
      h('div', { class: 'edit-actions' },
        h('button', { type: 'submit', class: 'primary' }, t('editSave')),
        h('button', { type: 'button', onclick: () => this.onCancel() }, t('editCancel')),
        this.geometry ? null : h('button', { type: 'button', class: 'danger', id: 'edit-delete', onclick: (e) => this.remove(e.currentTarget) }, t('editDelete'))));
  }

  /** The value a field's control holds, as the API takes it; throws a message for a bad number. */
  valueOf(f) {
    const controls = [...this.element.querySelectorAll(`[name="${CSS.escape(f.name)}"]`)];
    if (f.type === 'boolean') return controls[0].checked;
    if (f.type === 'string array') return controls.filter((c) => c.checked).map((c) => c.value);
    const raw = controls[0].value.trim();
    if (raw === '') return null;
    if (f.type === 'integer' || f.type === 'number') {
      const n = readNumber(raw);
      if (!Number.isFinite(n)) throw new FieldError(f.name, t('editNotNumber', { value: raw }));
      if (f.type === 'integer' && !Number.isInteger(n)) throw new FieldError(f.name, t('editNotInteger', { value: raw }));
      return n;
    }
    return raw;
  }

  /** Only what differs from the stored feature; `null` removes a property. */
  changes() {
    const out = {};
    for (const f of editableFields(this.layer)) {
      const v = this.valueOf(f);
      const was = this.stored[f.name] ?? null;
      const same = Array.isArray(v) ? JSON.stringify(v) === JSON.stringify(was ?? []) : v === was || (v === false && was === null);
      if (!same) out[f.name] = v;
    }
    return out;
  }

  /** The first changed number at least SURPRISE_RATIO times larger or smaller than stored. */
  surprising(changes) {
    return editableFields(this.layer).find((f) => {
      const [was, now] = [this.stored[f.name], changes[f.name]];
      if (!(f.name in changes) || typeof was !== 'number' || typeof now !== 'number' || was <= 0 || now < 0) return false;
      return now === 0 || now / was >= SURPRISE_RATIO || was / now >= SURPRISE_RATIO;
    }) || null;
  }

  say(text, field) {
    const control = field ? this.element.querySelector(`[name="${CSS.escape(field)}"]`) : null;
    sayInForm(this.element, this.element.querySelector('.edit-message'), text, control);
  }

  async save() {
    let changes;
    try {
      changes = this.changes();
    } catch (e) {
      if (e instanceof FieldError) { this.say(e.message, e.field); return; }
      throw e;
    }
    if (this.geometry) { await this.create(changes); return; }
    if (Object.keys(changes).length === 0) { this.say(t('editNothing')); return; }
    // A figure that jumps tenfold (164,300 m² typed as 999) is more often a slip than news: the
    // first Save says so at the field, a second Save of the same values goes through.
    const surprise = this.surprising(changes);
    const key = JSON.stringify(changes);
    if (surprise && this.confirmed !== key) {
      this.confirmed = key;
      const lang = language();
      this.say(t('editSurprise', { field: local(surprise.title, surprise.name), from: withUnit(this.stored[surprise.name], surprise.unit, lang), to: withUnit(changes[surprise.name], surprise.unit, lang) }), surprise.name);
      return;
    }
    this.confirmed = null;
    const button = this.element.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const { feature, etag } = await api.patchFeature(this.layer.id, this.id, changes, this.etag, this.session.token);
      this.etag = etag;
      this.stored = feature.properties || {};
      this.onSaved(feature);
    } catch (e) {
      await this.refused(e);
    } finally {
      button.disabled = false;
    }
  }

  /** Creates the new feature with the drawn outline and what was typed. */
  async create(properties) {
    const button = this.element.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const { feature } = await api.createFeature(this.layer.id, { type: 'Feature', geometry: this.geometry, properties }, this.session.token);
      this.onSaved(feature);
    } catch (e) {
      await this.refused(e);
    } finally {
      button.disabled = false;
    }
  }

  /** Deletes the feature: the first click asks, the second deletes (If-Match, as for saves). */
  async remove(button) {
    if (!button.dataset.armed) {
      button.dataset.armed = 'true';
      button.textContent = t('editDeleteConfirm');
      return;
    }
    button.disabled = true;
    try {
      await api.deleteFeature(this.layer.id, this.id, this.etag, this.session.token);
      this.onDeleted();
    } catch (e) {
      button.disabled = false;
      delete button.dataset.armed;
      button.textContent = t('editDelete');
      await this.refused(e);
    }
  }

  /** A refused save or delete, said: a conflict shows the other version (what was typed stays,
   * their ETag is taken), a stale sign-in signs out, anything else at the field it names. */
  async refused(e) {
    if (e.status === 412) {
      const latest = await api.featureForEdit(this.layer.id, this.id, this.session.token).catch(() => null);
      let differ = [];
      if (latest) {
        // Where their version and what is typed here disagree, field by field.
        const theirs = latest.feature.properties || {};
        const lang = language();
        const shown = (f, v) => (v === null || v === undefined || v === '' ? '—' : typeof v === 'number' ? withUnit(v, f.unit, lang) : Array.isArray(v) ? list(v, lang) : String(v));
        differ = editableFields(this.layer).filter((f) => {
          let mine;
          try { mine = this.valueOf(f); } catch { return true; }
          return JSON.stringify(mine ?? null) !== JSON.stringify(theirs[f.name] ?? null);
        }).map((f) => t('editConflictField', { field: local(f.title, f.name), theirs: shown(f, theirs[f.name]), mine: (() => { try { return shown(f, this.valueOf(f)); } catch { return '?'; } })() }));
        this.etag = latest.etag;
        this.stored = theirs;
        this.onConflict(latest.feature);
      }
      this.say(differ.length ? `${t('editConflict')} ${t('editConflictFields', { fields: list(differ, language()) })}` : t('editConflict'));
    } else if (e.status === 401) {
      this.session.signOut();
      this.say(t('editSignedOut'));
    } else {
      this.say(e.message, e.parameter);
    }
  }
}

class FieldError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}
