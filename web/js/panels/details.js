// The details of the feature a click or a search opened: its name and layer, every field the
// data shows (titles and units from the data, "—" for nothing), the zones it lies in, text in
// the reader's language (a zone's policy focus), its source and the schematic flag. A zone reads
// as a zone: its area in km² first. On a phone it is a bottom sheet below the header.
import { h, fill } from '../dom.js';
import { t, local, language, onLanguageChange } from '../i18n/index.js';
import { visibleFields } from '../core/catalog.js';
import * as format from '../core/format.js';
import { EditForm } from './editor.js';
import * as api from '../api.js';

/** Fields shown apart from the table. */
// Shown apart from the table: the zones it lies in and when it changed (by role), and the
// provenance members the shipped data carries on every feature.
const APART_ROLES = new Set(['zones', 'updated']);
const APART_NAMES = new Set(['source', 'schematic']);


export class DetailsPanel {
  /**
   * `editing`: null on a read-only server, else `{ session, vocabularies, staleAfterDays,
   * onEdited(layer, feature), onCreated(layer, feature), drawing, display, toWgs84 }` (the
   * map's shared terra-draw and the datum conversions, for outlines).
   */
  constructor({ catalog, values, onClose, editing = null, contact = null, staleAfterDays = 90 }) {
    this.catalog = catalog;
    this.contact = contact; // the inquiry contact of the settings, shown for features that are not zones
    this.values = values;
    this.onClose = onClose;
    this.editing = editing;
    this.staleAfterDays = staleAfterDays;
    this.form = null;
    this.outline = null; // { etag, current(), message } while an outline is reshaped on the map
    this.changedBy = null; // { id, principal } of the open feature, when a token could read it
    this.current = null; // { layer, feature, hidden }
    this.element = h('aside', { id: 'details', class: 'details', role: 'dialog', 'aria-modal': 'false', 'aria-labelledby': 'details-title', hidden: true });
    this.element.addEventListener('keydown', (e) => { if (e.key === 'Escape') this.onClose(); });
    onLanguageChange(() => this.render());
  }

  /** Shows `feature` of `layer`; `hidden` says the find filters hide it. */
  open(layer, feature, { hidden = false } = {}) {
    const same = this.current && this.current.layer.id === layer.id && String(this.current.feature.id) === String(feature.id);
    if (!same) {
      this.form = null;
      this.changedBy = null;
      this.saved = false;
      this.endOutline();
    }
    // Where focus goes back to when the details close: what opened them (a list row, a search
    // result), or the map when a click on the map did.
    const from = document.activeElement;
    if (from && from !== document.body && !this.element.contains(from)) this.returnTo = from;
    this.current = { layer, feature, hidden };
    this.render();
    this.loadChangedBy();
    this.element.hidden = false;
    document.body.classList.add('details-open');
    this.element.querySelector('h2')?.focus({ preventScroll: true });
  }

  close() {
    const hadFocus = this.element.contains(document.activeElement);
    this.current = null;
    this.form = null;
    this.endOutline();
    this.element.hidden = true;
    document.body.classList.remove('details-open');
    if (hadFocus) {
      const back = this.returnTo && this.returnTo.isConnected ? this.returnTo : document.querySelector('#map .maplibregl-canvas');
      back?.focus({ preventScroll: true });
    }
    this.returnTo = null;
  }

  render() {
    if (!this.current) return;
    const { layer, feature, hidden } = this.current;
    const lang = language();
    if (this.current.isNew) {
      fill(this.element,
        h('header', {},
          h('div', {}, h('p', { class: 'details-layer' }, local(layer.title, layer.id)),
            h('h2', { id: 'details-title', tabindex: '-1' }, t('newTitle', { layer: local(layer.title, layer.id) }))),
          h('button', { type: 'button', class: 'close', 'aria-label': t('close'), onclick: () => this.onClose() }, '×')),
        h('p', { class: 'hint' }, t('newHint')),
        this.form ? this.form.element : null);
      return;
    }
    const p = feature.properties || {};
    const fields = visibleFields(layer, lang).filter((f) => !APART_ROLES.has(f.role) && !APART_NAMES.has(f.name));
    const long = (f) => f.type === 'string' && typeof p[f.name] === 'string' && p[f.name].length > 60;
    const rows = fields.filter((f) => !long(f)).map((f) => h('tr', { dataset: { field: f.name } },
      h('th', { scope: 'row' }, local(f.title, f.name)), h('td', {}, this.values.format(f, p[f.name], lang))));
    const paragraphs = fields.filter(long).map((f) => h('div', { class: 'paragraph', dataset: { field: f.name } }, h('h3', {}, local(f.title, f.name)), h('p', {}, p[f.name])));
    const zonesField = layer.fields.find((f) => f.role === 'zones');
    const zones = zonesField && Array.isArray(p[zonesField.name]) ? p[zonesField.name] : [];
    const sourceField = layer.fields.find((f) => f.name === 'source');
    // A zone's size, in the unit zones are spoken of.
    let area = null;
    if (layer.zone) {
      // The published figure when the data has one, else the measured (derived) area.
      const measuredField = layer.fields.find((f) => f.role === 'area');
      const measured = measuredField ? p[measuredField.name] : null;
      const km2 = typeof p.official_area_km2 === 'number' ? p.official_area_km2 : typeof measured === 'number' ? measured / 1e6 : null;
      if (km2 !== null) area = h('p', { class: 'zone-area' }, h('strong', {}, `${t('area')}${t('colon')}`), format.squareKilometres(km2, lang));
    }
    this.element.classList.toggle('zone', layer.zone);
    fill(this.element, 
      h('header', {},
        h('div', {}, h('p', { class: 'details-layer' }, local(layer.title, layer.id)),
          h('h2', { id: 'details-title', tabindex: '-1' }, this.values.nameOf(layer.id, feature.id, lang, p))),
        h('button', { type: 'button', class: 'close', 'aria-label': t('close'), onclick: () => this.onClose() }, '×')),
      p.schematic === true ? h('p', { class: 'badge' }, t('schematic')) : null,
      hidden ? h('p', { class: 'note', id: 'hidden-note' }, t('hiddenByFilters')) : null,
      area,
      paragraphs,
      rows.length ? h('table', { class: 'attributes' }, h('tbody', {}, rows)) : null,
      this.freshness(layer, p, lang),
      this.contact && !layer.zone ? h('div', { class: 'contact' }, h('h3', {}, t('contactTitle')),
        h('p', {}, local(this.contact.office, '')),
        this.contact.phone ? h('p', {}, `${t('contactPhone')}${t('colon')}`, h('a', { href: `tel:${this.contact.phone.replace(/[^\d+]/g, '')}` }, this.contact.phone)) : null,
        this.contact.email ? h('p', {}, `${t('contactEmail')}${t('colon')}`, h('a', { href: `mailto:${this.contact.email}` }, this.contact.email)) : null) : null,
      this.editArea(layer, feature),
      zones.length ? h('div', { class: 'lies-in' }, h('h3', {}, local(zonesField.title, t('lies_in'))), h('ul', { class: 'zones' }, zones.map((z) => h('li', {}, this.values.nameOf(null, z, lang) ?? z)))) : null,
      p.source ? h('p', { class: 'source' }, h('strong', {}, `${local(sourceField && sourceField.title, t('source'))}${t('colon')}`), p.source) : null);
  }

  /** When the figures were last true, by whom if known, and a warning when that is long ago. */
  freshness(layer, p, lang) {
    if (typeof p.updated_at !== 'string') return null;
    const days = format.daysSince(p.updated_at);
    const who = this.changedBy && this.changedBy.principal;
    const line = h('p', { class: 'updated' }, who
      ? t('updatedOnBy', { date: format.date(p.updated_at, lang), who })
      : t('updatedOn', { date: format.date(p.updated_at, lang) }));
    const stale = days !== null && days > this.staleAfterDays
      ? h('p', { class: 'badge stale' }, t('stale', { days: format.number(days, lang) }))
      : null;
    return [line, stale];
  }

  /** Who changed the open feature last (the history needs a token, so only when signed in). */
  async loadChangedBy() {
    const cur = this.current;
    if (!cur || !this.editing || !this.editing.session.signedIn || !cur.layer.editable) return;
    const key = `${cur.layer.id}/${cur.feature.id}`;
    if (this.changedBy && this.changedBy.key === key) return;
    try {
      const last = await api.lastChange(cur.layer.id, cur.feature.id, this.editing.session.token);
      if (this.current !== cur) return;
      this.changedBy = { key, principal: last ? last.principal : null };
      this.render();
    } catch { /* the history is a nicety; the details stand without it */ }
  }

  /** The Edit buttons for a signed-in editor, or the open form, or the outline being reshaped. */
  editArea(layer, feature) {
    if (!this.editing || !layer.editable || !this.editing.session.signedIn) return null;
    if (this.form) return this.form.element;
    if (this.outline) return this.outlineArea();
    const polygon = !feature.geometry || feature.geometry.type === 'Polygon';
    return [
      this.saved ? h('p', { class: 'note saved', role: 'status' }, this.saved === 'outline' ? t('outlineSaved') : t('editSaved')) : null,
      h('div', { class: 'edit-buttons' },
        h('button', { type: 'button', class: 'edit-open', onclick: () => this.startEditing() }, t('edit')),
        polygon && this.editing.drawing ? h('button', { type: 'button', class: 'outline-open', onclick: () => this.startOutline() }, t('outlineEdit')) : null),
    ];
  }

  outlineArea() {
    const o = this.outline;
    return h('div', { class: 'outline-edit' },
      h('p', { class: 'hint' }, t('outlineHint')),
      h('p', { class: 'edit-message', role: 'alert', hidden: !o.message }, o.message),
      h('div', { class: 'edit-actions' },
        h('button', { type: 'button', class: 'primary', id: 'outline-save', onclick: () => this.saveOutline() }, t('outlineSave')),
        h('button', { type: 'button', id: 'outline-cancel', onclick: () => this.cancelOutline() }, t('editCancel'))));
  }

  /** Puts the open feature's outline on the map to reshape or move (read fresh, with its ETag). */
  async startOutline() {
    const { layer, feature } = this.current;
    const e = this.editing;
    try {
      const stored = await api.featureForEdit(layer.id, feature.id, e.session.token);
      if (stored.feature.geometry?.type !== 'Polygon') throw new Error(t('outlineNotPolygon'));
      const shown = e.display(stored.feature.geometry);
      e.reveal?.(shown);
      this.outline = { etag: stored.etag, message: '', current: e.drawing.edit(shown, 'outline') };
      this.saved = false;
      this.render();
      this.element.querySelector('#outline-save')?.focus();
    } catch (err) {
      this.endOutline();
      e.onError(err);
    }
  }

  /** Saves the reshaped outline with the ETag read when editing began; a conflict keeps the
   * drawn shape, takes the other version's ETag and says so, so a second Save goes over it. */
  async saveOutline() {
    const { layer, feature } = this.current;
    const e = this.editing;
    const o = this.outline;
    const drawn = o.current();
    if (!drawn) return;
    const say = (message) => {
      o.message = message;
      this.render();
      this.element.querySelector('.outline-edit .edit-message')?.focus?.();
    };
    try {
      const { feature: saved } = await api.moveFeature(layer.id, feature.id, e.toWgs84(drawn), o.etag, e.session.token);
      this.endOutline();
      this.current.feature = saved;
      this.changedBy = null;
      this.saved = 'outline';
      this.render();
      this.loadChangedBy();
      this.element.querySelector('.outline-open')?.focus();
      e.onEdited(layer, saved);
    } catch (err) {
      if (err.status === 412) {
        const latest = await api.featureForEdit(layer.id, feature.id, e.session.token).catch(() => null);
        if (latest) {
          o.etag = latest.etag;
          this.current.feature = latest.feature;
          e.onEdited(layer, latest.feature);
        }
        say(t('outlineConflict'));
      } else if (err.status === 401) {
        e.session.signOut();
        this.endOutline();
        this.render();
      } else {
        say(err.full || err.message);
      }
    }
  }

  cancelOutline() {
    this.endOutline();
    this.render();
    this.element.querySelector('.outline-open')?.focus();
  }

  endOutline() {
    if (this.outline && this.editing?.drawing?.by === 'outline') this.editing.drawing.reset();
    this.outline = null;
  }

  /** A new feature of `layer` with the outline `geometry` (WGS 84) just drawn: its form. */
  openNew(layer, geometry) {
    const e = this.editing;
    this.endOutline();
    this.changedBy = null;
    this.saved = false;
    this.current = { layer, feature: { type: 'Feature', id: null, geometry, properties: {} }, hidden: false, isNew: true };
    this.form = new EditForm({
      layer, id: null, geometry, session: e.session, vocabularies: e.vocabularies, choicesOf: e.choicesOf,
      onSaved: (created) => {
        this.form = null;
        this.current = null;
        e.onCreated(layer, created);
      },
      onConflict: () => {},
      onDeleted: () => {},
      onCancel: () => { this.close(); this.onClose(); },
    });
    this.element.hidden = false;
    document.body.classList.add('details-open');
    this.render();
    this.form.open();
  }

  async startEditing() {
    const { layer, feature } = this.current;
    const e = this.editing;
    this.form = new EditForm({
      layer, id: feature.id, session: e.session, vocabularies: e.vocabularies, choicesOf: e.choicesOf,
      onSaved: (saved) => {
        this.form = null;
        this.changedBy = null;
        this.current.feature = saved;
        this.saved = true;
        this.render();
        this.loadChangedBy();
        this.element.querySelector('.edit-open')?.focus();
        e.onEdited(layer, saved);
      },
      onConflict: (latest) => {
        // The form keeps what was typed; the details around it show the other version.
        this.current.feature = latest;
        this.changedBy = null;
        this.render();
        this.loadChangedBy();
        e.onEdited(layer, latest);
      },
      onDeleted: () => {
        e.onEdited(layer, null);
        this.onClose();
      },
      onCancel: () => {
        this.form = null;
        this.render();
        this.element.querySelector('.edit-open')?.focus();
      },
    });
    this.saved = false;
    this.render();
    try {
      await this.form.open();
    } catch (err) {
      this.form = null;
      this.render();
      e.onError(err);
    }
  }
}
