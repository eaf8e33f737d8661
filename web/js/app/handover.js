// What the officer hands a company: the shortlist as a file for people (Excel or CSV, from
// core/shortlist.js) or as data, the printed dossier with its maps, a short link, and the
// find panel's results as a file. Each action reports its own failure.
import * as api from '../api.js';
import { t, local, language, translator } from '../i18n/index.js';
import { featureName, visibleFields } from '../core/catalog.js';
import { toCsv, tableToCsv } from '../core/csv.js';
import { shortlistTable } from '../core/shortlist.js';
import { tableToXlsx } from '../core/xlsx.js';
import { pack, linkFor } from '../core/share.js';
import { SCORE_COLOURS, OTHER_COLOUR } from '../map/style.js';
import { dossierMaps } from '../map/snapshot.js';
import { openCompare } from '../panels/compare.js';
import { openDossier } from '../panels/dossier.js';
import { MAX_PEOPLE_ROWS } from '../panels/find.js';
import { saveFile, showError, busyWhile } from './chrome.js';

export class Handover {
  /** `answer()`: the match panel's current answer; `isVisible(id)`: whether a layer is shown. */
  constructor({ store, query, values, catalog, config, map, maplibregl, display, overviewBounds, answer, isVisible }) {
    Object.assign(this, { store, query, values, catalog, config, map, maplibregl, display, overviewBounds, answer, isVisible });
  }

  /** The name of a feature of the subject layer. */
  nameIn = (f, lang = language()) => featureName(this.query.subject(), f.properties, f.id, lang);

  /** The shortlisted features, fetched whole. */
  shortlisted = (ids) => Promise.all(ids.map((id) => api.getFeature(this.store.state.subject, id)));

  /**
   * Saves features of the subject layer as a table for people, as Excel or CSV, named after the
   * layer, `what` and the date, in the reader's language.
   */
  async saveTable(features, answer, kind, what) {
    const lang = language();
    const layer = this.query.subject();
    const table = shortlistTable({ layer, features, answer, values: this.values, tr: translator(lang), lang });
    const name = `${local(layer.title, layer.id)}-${what}-${new Date().toISOString().slice(0, 10)}`.replace(/[\\/:*?"<>|\s]+/g, '-');
    if (kind === 'xlsx') saveFile(await tableToXlsx(table, what), `${name}.xlsx`);
    else saveFile(new Blob([tableToCsv(table)], { type: 'text/csv;charset=utf-8' }), `${name}.csv`);
  }

  /** The find panel's matches as a file for people (at most MAX_PEOPLE_ROWS rows). */
  people = (kind) => busyWhile(async () => {
    const features = [];
    for (;;) {
      const page = await api.searchItems(this.store.state.subject, { filter: this.query.cql(), sortby: this.query.sortby(), limit: 1000, offset: features.length });
      features.push(...page.features);
      if (page.features.length === 0 || features.length >= page.numberMatched || features.length >= MAX_PEOPLE_ROWS) break;
    }
    await this.saveTable(features.slice(0, MAX_PEOPLE_ROWS), null, kind, t('findFile'));
  });

  compare = async (ids) => {
    try {
      openCompare({ layer: this.query.subject(), features: await this.shortlisted(ids), answer: this.answer(), values: this.values, nameOf: (f) => this.nameIn(f) });
    } catch (e) { showError(e); }
  };

  /** The shortlist as a file: for people (`xlsx`, `csv`) or as the data's own columns (`data`). */
  file = async (ids, kind) => {
    try {
      const features = await this.shortlisted(ids);
      if (kind === 'data') {
        const columns = visibleFields(this.query.subject(), language()).map((f) => ({ name: f.name, title: f.name }));
        saveFile(new Blob([toCsv(columns, features)], { type: 'text/csv;charset=utf-8' }), `${this.store.state.subject}-shortlist-data.csv`);
      } else await this.saveTable(features, this.answer(), kind, t('shortlistFile'));
    } catch (e) { showError(e); }
  };

  /** The printed dossier, its maps drawn off screen (map/snapshot.js). */
  dossier = (ids, onClose) => busyWhile(async () => {
    const features = await this.shortlisted(ids);
    const maps = await dossierMaps({ map: this.map, maplibregl: this.maplibregl, features, display: this.display, layerId: this.store.state.subject, overviewBounds: this.overviewBounds, colours: { shortlisted: SCORE_COLOURS[2], other: OTHER_COLOUR } });
    openDossier({ layer: this.query.subject(), features, answer: this.answer(), values: this.values, nameOf: this.nameIn, contact: this.config.contact, maps, zones: this.catalog.layers.filter((l) => l.zone && this.isVisible(l.id)), onClose });
  });

  /** A short link that opens this layer, requirement and shortlist (core/share.js). */
  link = async (ids) => linkFor(location.href, await pack({ subject: this.store.state.subject, requirement: this.store.state.requirement, shortlist: ids }));
}
