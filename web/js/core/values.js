// A property value as a person reads it: vocabulary terms by their label, references and zones
// by the name of the feature they point to, numbers with their unit, dates and lists as the
// language writes them, and "—" for nothing (never "null"). Pure: lookups are passed in.
import * as format from './format.js';
import { readNumber } from './numbers.js';

export class Values {
  /**
   * `vocabularies`: id → vocabulary; `nameOf(collectionOrNull, id, lang)`: the name of a
   * feature of a collection (or of any zone when the collection is null), or null.
   */
  constructor(vocabularies, nameOf, t) {
    this.vocabularies = vocabularies;
    this.nameOf = nameOf;
    this.t = t;
  }

  /** A vocabulary term's label in `lang`; the id itself for a term the vocabulary lacks. */
  term(field, id, lang) {
    const vocab = field.vocabulary && this.vocabularies[field.vocabulary];
    const term = vocab && vocab.terms.find((x) => x.id === id);
    return term ? term[lang] || term.en : String(id);
  }

  /** One item of a value (an element of an array, or the value itself). */
  item(field, v, lang) {
    if (field.vocabulary) return this.term(field, v, lang);
    if (field.references) return this.nameOf(field.references, v, lang) ?? String(v);
    if (field.role === 'zones') return this.nameOf(null, v, lang) ?? String(v);
    if (typeof v === 'boolean') return this.t(v ? 'yes' : 'no');
    if (typeof v === 'number') return format.withUnit(v, field.unit, lang);
    if (field.type === 'date') return format.date(v, lang);
    if (v !== null && typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }

  /** A whole value as read. */
  format(field, v, lang) {
    if (v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) return '—';
    if (Array.isArray(v)) return format.list(v.map((x) => this.item(field, x, lang)), lang);
    return this.item(field, v, lang);
  }

  /** A value typed into a filter (a number or a date as text), as read. */
  typed(field, raw, lang) {
    if (field.type === 'date') return format.date(raw, lang);
    const n = readNumber(raw);
    return Number.isFinite(n) ? format.withUnit(n, field.unit, lang) : String(raw);
  }
}
