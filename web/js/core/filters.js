// The find panel's filters: what each kind of field filter holds, the CQL2 JSON it sends, and
// the chips that show it. Pure: no DOM, no fetch, so the node unit tests check it alone.
//
// A layer's filter state maps a field name to a value whose shape depends on the field's kind:
//   in, contains: an array of chosen values;  min, max, text: the string as typed;
//   range: { from, to } as typed;  flag: true.
// Values stay as typed (strings) so that a half-typed number survives every change; they are
// read as numbers or dates only here.

import { readNumber } from './numbers.js';

const prop = (property) => ({ property });

/** A typed value read for a field of `type`, or null if it is not one (yet). */
export function readValue(type, raw) {
  if (raw === null || raw === undefined) return null;
  const s = String(raw).trim();
  if (s === '') return null;
  if (type === 'date') return /^\d{4}-\d{2}-\d{2}$/.test(s) ? { date: s } : null;
  if (type === 'timestamp') return Number.isNaN(Date.parse(s)) ? null : { timestamp: new Date(s).toISOString() };
  const n = readNumber(s);
  return Number.isFinite(n) ? n : null;
}

/** Whether a filter value selects anything (an empty one is no filter). */
export function isActive(field, value) {
  if (value === null || value === undefined) return false;
  switch (field.filter) {
    case 'in':
    case 'contains':
      return Array.isArray(value) && value.length > 0;
    case 'min':
    case 'max':
      return readValue(field.type, value) !== null;
    case 'range':
      return readValue(field.type, value.from) !== null || readValue(field.type, value.to) !== null;
    case 'text':
      return String(value).trim() !== '';
    case 'flag':
      return value === true;
    default:
      return false;
  }
}

/** CQL2 LIKE with `%` and `_` in the typed text taken literally. */
function likePattern(text) {
  return `%${String(text).trim().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The CQL2 JSON terms of one field's filter. */
function terms(field, value) {
  const p = prop(field.name);
  const out = [];
  switch (field.filter) {
    case 'in':
      out.push({ op: 'in', args: [p, [...value]] });
      break;
    case 'contains':
      // Any of the chosen values (a carrier inside any of the chosen zones).
      out.push(value.length === 1 ? { op: 'a_contains', args: [p, [...value]] } : { op: 'a_overlaps', args: [p, [...value]] });
      break;
    case 'min':
      out.push({ op: '>=', args: [p, readValue(field.type, value)] });
      break;
    case 'max':
      out.push({ op: '<=', args: [p, readValue(field.type, value)] });
      break;
    case 'range': {
      const from = readValue(field.type, value.from);
      const to = readValue(field.type, value.to);
      if (from !== null) out.push({ op: '>=', args: [p, from] });
      if (to !== null) out.push({ op: '<=', args: [p, to] });
      break;
    }
    case 'text':
      out.push({ op: 'like', args: [{ op: 'casei', args: [p] }, { op: 'casei', args: [likePattern(value)] }] });
      break;
    case 'flag':
      out.push({ op: '=', args: [p, true] });
      break;
    default:
      break;
  }
  return out;
}

/**
 * The filter as CQL2 JSON (fields in the layer's order, then the area), or null when nothing
 * is set. `area` is a GeoJSON Polygon in WGS84.
 */
export function toCql(fields, state, area) {
  const args = [];
  for (const field of fields) {
    const value = state && state[field.name];
    if (field.filter && isActive(field, value)) args.push(...terms(field, value));
  }
  if (area) args.push({ op: 's_intersects', args: [prop('geometry'), area] });
  if (args.length === 0) return null;
  return args.length === 1 ? args[0] : { op: 'and', args };
}

/**
 * One chip per active filter: `{ key, text }`, `key` the field name (or `area`). `label(field)`
 * gives a field's title, `valueLabel(field, v)` a chosen or typed value as read, and `t` the
 * interface strings (chipMin, chipMax, chipRange, chipText, chipIn, chipFlag, chipArea).
 */
export function chips(fields, state, area, { label, valueLabel, t, join }) {
  const out = [];
  for (const field of fields) {
    const value = state && state[field.name];
    if (!field.filter || !isActive(field, value)) continue;
    const l = label(field);
    let text;
    switch (field.filter) {
      case 'in':
      case 'contains':
        text = t('chipIn', { label: l, values: join(value.map((v) => valueLabel(field, v))) });
        break;
      case 'min':
        text = t('chipMin', { label: l, value: valueLabel(field, value) });
        break;
      case 'max':
        text = t('chipMax', { label: l, value: valueLabel(field, value) });
        break;
      case 'range': {
        const from = readValue(field.type, value.from) !== null ? valueLabel(field, value.from) : '…';
        const to = readValue(field.type, value.to) !== null ? valueLabel(field, value.to) : '…';
        text = t('chipRange', { label: l, from, to });
        break;
      }
      case 'text':
        text = t('chipText', { label: l, value: String(value).trim() });
        break;
      case 'flag':
        text = t('chipFlag', { label: l });
        break;
      default:
        continue;
    }
    out.push({ key: field.name, text });
  }
  if (area) out.push({ key: 'area', text: t('chipArea') });
  return out;
}

/** The state without `key`'s filter. */
export function without(state, key) {
  const next = { ...state };
  delete next[key];
  return next;
}

/** The old permalinks' filters (before filters were read from the data), as field filters. */
export function fromLegacy(old) {
  if (!old || typeof old !== 'object') return {};
  const out = {};
  const arr = (v) => (Array.isArray(v) ? v.filter((x) => typeof x === 'string') : []);
  if (arr(old.industries).length) out.industry = arr(old.industries);
  if (arr(old.buildingTypes).length) out.building_type = arr(old.buildingTypes);
  if (arr(old.statuses).length) out.status = arr(old.statuses);
  const num = { minAvailable: 'available_floor_area_m2', minClearHeight: 'clear_height_m', minFloorLoad: 'floor_load_kn_m2', minPower: 'power_kva' };
  for (const [k, name] of Object.entries(num)) if (old[k] !== null && old[k] !== undefined && old[k] !== '') out[name] = String(old[k]);
  if (typeof old.readyBy === 'string' && old.readyBy) out.delivery_date = old.readyBy;
  if (typeof old.inside === 'string' && old.inside) out.zones = [old.inside];
  return out;
}
