// A company's needs as the match form holds them, to and from the requirement document of
// POST /collections/{id}/match (README § Matching), and the words for a near miss's shortfall.
// Pure: no DOM, no fetch, so the node unit tests check it alone.

import { readNumber } from './numbers.js';

const num = (s) => {
  const n = readNumber(s);
  return n === null || Number.isFinite(n) ? n : NaN;
};

/**
 * The requirement for `form`:
 * `{ criteria: {name: {min, max} | {in: [...]}}, prefs: {zone, park, size, sooner}, margin }`
 * where each pref is null or `{..., weight}`. Throws `{field, reason}` for a value that is not a
 * number (the form names the field); empty inputs are left out.
 */
export function toRequirement(form, { today }) {
  const criteria = {};
  for (const [name, c] of Object.entries(form.criteria || {})) {
    if (Array.isArray(c.in)) {
      if (c.in.length) criteria[name] = { in: c.in };
      continue;
    }
    const out = {};
    for (const k of ['min', 'max']) {
      if (c[k] === undefined || c[k] === null || c[k] === '') continue;
      if (c.date) {
        out[k] = c[k];
        continue;
      }
      const n = num(c[k]);
      if (Number.isNaN(n)) throw { field: `${name}-${k}`, reason: 'notNumber', value: c[k] };
      if (n !== null) out[k] = n;
    }
    if (typeof out.min === 'number' && typeof out.max === 'number' && out.min > out.max) throw { field: `${name}-max`, reason: 'minAboveMax', value: c.max };
    if (Object.keys(out).length) criteria[name] = out;
  }
  const prefs = [];
  const p = form.prefs || {};
  // The zone preference names the layer's zones field (its role is `zones`; the name is the data's).
  if (p.zone && p.zone.id) prefs.push({ in: { [p.zone.field || 'zones']: [p.zone.id] }, weight: p.zone.weight || 1 });
  if (p.park && p.park.id) prefs.push({ near_feature: { collection: p.park.collection, id: p.park.id }, within_m: 5000, weight: p.park.weight || 1 });
  if (p.size && p.size.value !== '' && p.size.value !== null && p.size.value !== undefined) {
    const n = num(p.size.value);
    if (Number.isNaN(n) || n === 0) throw { field: 'pref-size', reason: 'notNumber', value: p.size.value };
    prefs.push({ close_to: { [p.size.field]: n }, weight: p.size.weight || 1 });
  }
  if (p.sooner && p.sooner.field) {
    const to = (criteria[p.sooner.field] && criteria[p.sooner.field].max) || addYears(today, 3);
    if (to > today) prefs.push({ sooner: p.sooner.field, from: today, to, weight: p.sooner.weight || 1 });
  }
  const out = { criteria, preferences: prefs };
  const margin = num(form.margin);
  if (Number.isNaN(margin) || (margin !== null && (margin < 0 || margin > 100))) throw { field: 'margin', reason: 'notPercent', value: form.margin };
  if (margin !== null) out.margin = margin / 100;
  return out;
}

/** The form's values for a requirement read back from a link (the inverse of toRequirement). */
export function toForm(req) {
  const form = { criteria: {}, prefs: {}, margin: req && typeof req.margin === 'number' ? String(Math.round(req.margin * 1000) / 10) : '' };
  for (const [name, c] of Object.entries((req && req.criteria) || {})) {
    if (c && Array.isArray(c.in)) form.criteria[name] = { in: c.in.map(String) };
    else if (c && typeof c === 'object') form.criteria[name] = { min: c.min ?? '', max: c.max ?? '' };
  }
  for (const p of (req && req.preferences) || []) {
    const zone = p.in && Object.entries(p.in).find(([, ids]) => Array.isArray(ids));
    if (zone) form.prefs.zone = { field: zone[0], id: zone[1][0], weight: p.weight || 1 };
    else if (p.near_feature) form.prefs.park = { ...p.near_feature, weight: p.weight || 1 };
    else if (p.close_to) {
      const [[field, value]] = Object.entries(p.close_to);
      form.prefs.size = { field, value: String(value), weight: p.weight || 1 };
    } else if (p.sooner) form.prefs.sooner = { field: p.sooner, weight: p.weight || 1 };
  }
  return form;
}

function addYears(iso, n) {
  const [y, m, d] = iso.split('-').map(Number);
  return `${String(y + n).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(Math.min(d, 28)).padStart(2, '0')}`;
}

/**
 * How a failed criterion misses, as `{key, amount}`: `key` is `missShort` (below a minimum),
 * `missOver` (above a maximum) or `missLate` (a date past its maximum, amount in days).
 */
export function shortfall(c) {
  if (typeof c.by !== 'number' || c.by >= 0) return null;
  const amount = Math.round(-c.by * 1e6) / 1e6;
  const over = c.max !== undefined && (c.min === undefined || isAbove(c));
  if (c.unit === 'days') return { key: over ? 'missLate' : 'missEarly', amount };
  return { key: over ? 'missOver' : 'missShort', amount };
}

function isAbove(c) {
  if (typeof c.value === 'number' && typeof c.max === 'number') return c.value > c.max;
  if (typeof c.value === 'string' && typeof c.max === 'string') return c.value > c.max;
  return true;
}
