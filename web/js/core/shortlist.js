// The shortlist as a table a person reads (what the officer sends a company): a number that the
// dossier's maps repeat, the name in the reader's language, the verdict (meets every need, or a
// near miss and by how much), the score, one column per need with "met" or the shortfall, one
// per preference with how the carrier scored on it, then the carrier's figures: vocabulary
// labels instead of codes, zones and parks by name, units in the header, numbers rounded as the
// screen shows them. The CSV and XLSX writers (core/csv.js, the match panel) both take this
// table. Pure: the language's texts and the value formatter are passed in; the node unit tests
// check it.
import * as format from './format.js';
import { visibleFields, featureName } from './catalog.js';
import { shortfall } from './requirement.js';

/** How many decimals a figure keeps in the file: as the screen shows it. */
export function digitsFor(field, v) {
  const unit = format.unitText(field.unit, 'en');
  if (unit === 'm²') return 0;
  if (unit === 'km²') return 2;
  return Number.isInteger(v) ? 0 : 2;
}

const round = (v, d) => Math.round(v * 10 ** d) / 10 ** d;

/** A field's title with its unit: "Available floor area (m²)". */
export function titleWithUnit(field, lang) {
  const title = localText(field.title, field.name, lang);
  const unit = format.unitText(field.unit, lang);
  return unit ? `${title} (${unit === 'm²' && lang === 'zh' ? '㎡' : unit})` : title;
}

function localText(text, fallback, lang) {
  if (!text) return fallback;
  if (typeof text === 'string') return text;
  return text[lang] || text.en || text.zh || fallback;
}

/** A criterion of the requirement as written for a header: "Clear height ≥ 6 m". */
export function criterionText(c, field, values, lang) {
  const title = localText(field.title, field.name, lang);
  if (c.in) return `${title}: ${format.list(c.in.map((v) => values.item(field, v, lang)), lang)}`;
  const show = (v) => (field.type === 'date' ? format.date(v, lang) : format.withUnit(v, field.unit, lang));
  const parts = [];
  if (c.min !== undefined) parts.push(`≥ ${show(c.min)}`);
  if (c.max !== undefined) parts.push(`≤ ${show(c.max)}`);
  return `${title} ${parts.join(', ')}`;
}

/** A preference as written for a header: "Inside Beijing FTZ (matters more)". */
export function preferenceText(p, layer, values, tr, lang) {
  const weight = tr(`matchWeight${Math.min(3, Math.max(1, Math.round(p.weight || 1)))}`);
  let what;
  if (p.in && p.in.zones) what = tr('prefInside', { name: format.list(p.in.zones.map((z) => values.nameOf(null, z, lang) ?? z), lang) });
  else if (p.near_feature) {
    const [collection, id] = typeof p.near_feature === 'string' ? p.near_feature.split('/') : [p.near_feature.collection, p.near_feature.id];
    what = tr('prefNear', { name: values.nameOf(collection, id, lang) ?? id, km: format.number((p.within_m ?? 5000) / 1000, lang, 1) });
  } else if (p.close_to) {
    const [[name, v]] = Object.entries(p.close_to);
    const f = layer.fields.find((x) => x.name === name) || { name };
    what = tr('prefCloseTo', { field: localText(f.title, name, lang), value: format.withUnit(v, f.unit, lang) });
  } else if (p.sooner) {
    const f = layer.fields.find((x) => x.name === p.sooner) || { name: p.sooner };
    what = tr('prefSooner', { field: localText(f.title, p.sooner, lang) });
  } else what = JSON.stringify(p);
  return `${what} (${weight})`;
}

/** A failed criterion's shortfall in words, for a cell: "0.7 m short". */
export function shortfallText(c, field, tr, lang) {
  const s = shortfall(c);
  if (!s) return tr('compareUnmet');
  const days = s.key === 'missLate' || s.key === 'missEarly';
  const amount = days ? format.number(s.amount, lang) : format.withUnit(s.amount, field.unit, lang);
  return tr(`cell${s.key.slice(4)}`, { amount });
}

/**
 * The table: `{ columns: [{title, type: 'number'|'text', digits?}], rows: [[value]] }` with
 * numbers as numbers (already rounded) and everything else as text. `features` in shortlist
 * order; `answer` the match answer they came from (or null); `tr(key, vars)` the reader's texts.
 */
export function shortlistTable({ layer, features, answer, values, tr, lang }) {
  const verdicts = new Map([
    ...(answer ? answer.matches.map((m) => [String(m.id), { ...m, near: false }]) : []),
    ...(answer ? answer.nearMisses.map((m) => [String(m.id), { ...m, near: true }]) : []),
  ]);
  const criteria = answer ? answer.requirement.criteria : [];
  const preferences = answer ? answer.requirement.preferences || [] : [];
  const fieldOf = (name) => layer.fields.find((f) => f.name === name) || { name, title: name };
  const figures = visibleFields(layer, lang).filter((f) => f.name !== 'updated_at');
  const columns = [
    { title: tr('tableNumber'), type: 'number', digits: 0 },
    { title: tr('tableName'), type: 'text' },
  ];
  if (answer) {
    columns.push({ title: tr('tableVerdict'), type: 'text' }, { title: tr('matchScore'), type: 'number', digits: 1 });
    for (const c of criteria) columns.push({ title: tr('tableNeed', { need: criterionText(c, fieldOf(c.property), values, lang) }), type: 'text' });
    for (const p of preferences) columns.push({ title: tr('tablePreference', { preference: preferenceText(p, layer, values, tr, lang) }), type: 'number', digits: 0 });
  }
  for (const f of figures) {
    const numeric = f.type === 'integer' || f.type === 'number';
    columns.push({ title: titleWithUnit(f, lang), type: numeric ? 'number' : 'text', digits: numeric ? (format.unitText(f.unit, 'en') === 'm²' ? 0 : 2) : undefined });
  }
  const rows = features.map((feature, i) => {
    const p = feature.properties || {};
    const v = verdicts.get(String(feature.id));
    const row = [i + 1, featureName(layer, p, feature.id, lang)];
    if (answer) {
      if (v) {
        const missed = v.criteria.filter((c) => !c.met).length;
        row.push(v.near ? tr('verdictNear', { n: missed }) : tr('verdictMatch'), round(v.score, 1));
        v.criteria.forEach((c) => row.push(c.met ? `✓ ${tr('compareMet')}` : `✗ ${shortfallText(c, fieldOf(c.property), tr, lang)}`));
        v.preferences.forEach((pr) => row.push(typeof pr.score === 'number' ? Math.round(pr.score * 100) : null));
      } else {
        row.push(tr('verdictNone'), null, ...criteria.map(() => '—'), ...preferences.map(() => null));
      }
    }
    for (const f of figures) {
      const value = p[f.name];
      if (typeof value === 'number') row.push(round(value, digitsFor(f, value)));
      else if (value === null || value === undefined || value === '' || (Array.isArray(value) && !value.length)) row.push(null);
      else row.push(values.format(f, value, lang));
    }
    return row;
  });
  return { columns, rows };
}
