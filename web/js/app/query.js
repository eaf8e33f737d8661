// The subject layer's query as the panels set it: its CQL2 filter, its sort, and the choices a
// field offers (vocabulary terms, the features it references, the zones).
import { t, local, language } from '../i18n/index.js';
import { featureName, nameProperty } from '../core/catalog.js';
import { toCql } from '../core/filters.js';

export class SubjectQuery {
  constructor({ store, catalog, vocabularies, data }) {
    this.store = store;
    this.catalog = catalog;
    this.vocabularies = vocabularies;
    this.data = data;
  }

  layerOf = (id) => this.catalog.layers.find((l) => l.id === id);

  subject = () => this.layerOf(this.store.state.subject);

  /** The values a field may be given, with labels in `lang`; null for free input. */
  choicesOf = (field, lang) => {
    const vocabulary = field.vocabulary && this.vocabularies[field.vocabulary];
    if (vocabulary) return vocabulary.terms.map((x) => ({ value: x.id, label: x[lang] || x.en, color: x.color }));
    const fromLayers = (layers) => layers.flatMap((l) => (this.data.features[l.id]?.features || []).map((f) => ({ value: String(f.id), label: featureName(l, f.properties, f.id, lang) })));
    if (field.references) return fromLayers([this.layerOf(field.references)].filter(Boolean));
    if (field.role === 'zones') return fromLayers(this.catalog.layers.filter((l) => l.zone));
    if (field.enum) return field.enum.map((v) => ({ value: v, label: String(v) }));
    return null;
  };

  /** What the list can be sorted by: the name, then the listed numbers, dates and texts. */
  sortFields = (layer) => {
    const name = nameProperty(layer, language());
    const out = name ? [{ value: name, label: t('sortName'), desc: false }] : [];
    for (const f of layer.fields.filter((x) => x.list && ['integer', 'number', 'date', 'string'].includes(x.type))) {
      out.push({ value: f.name, label: local(f.title, f.name), desc: f.type !== 'string' && f.type !== 'date' });
    }
    return out.length ? out : [{ value: 'id', label: 'id', desc: false }];
  };

  /** The `sortby` of the list: the chosen key (else the first descending one), then the name. */
  sortby = () => {
    const options = this.sortFields(this.subject());
    const first = options.find((o) => o.desc) || options[0];
    const state = this.store.state.sort;
    const s = state && options.some((o) => o.value === state.field) ? state : { field: first.value, desc: first.desc };
    const name = nameProperty(this.subject(), language());
    return `${s.desc ? '-' : ''}${s.field}${name && name !== s.field ? `,${name}` : ''}`;
  };

  /** The find panel's filters and the drawn area as one CQL2 JSON filter (null: everything). */
  cql = () => toCql(this.subject().fields, this.store.state.filters, this.store.state.area);
}
