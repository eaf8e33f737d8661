// Builds one CQL2 JSON filter from the "find space" form and the drawn area. Pure: no DOM, no
// fetch, so it is tested on its own (web/tests/unit.test.mjs).

/** The default (empty) filters. */
export function emptyFilters() {
  return { industries: [], minAvailable: null, buildingTypes: [], statuses: [], readyBy: '', minClearHeight: null, minFloorLoad: null, minPower: null, inside: '' };
}

const prop = (property) => ({ property });
const num = (v) => (v === null || v === undefined || v === '' || Number.isNaN(Number(v)) ? null : Number(v));

/**
 * The filter as CQL2 JSON, or null when nothing is set. `area` is a GeoJSON Polygon in WGS84.
 */
export function buildFilter(filters, area) {
  const f = { ...emptyFilters(), ...(filters || {}) };
  const args = [];
  if (f.industries.length) args.push({ op: 'in', args: [prop('industry'), [...f.industries]] });
  if (f.buildingTypes.length) args.push({ op: 'in', args: [prop('building_type'), [...f.buildingTypes]] });
  if (f.statuses.length) args.push({ op: 'in', args: [prop('status'), [...f.statuses]] });
  const atLeast = (name, v) => { if (num(v) !== null) args.push({ op: '>=', args: [prop(name), num(v)] }); };
  atLeast('available_floor_area_m2', f.minAvailable);
  atLeast('clear_height_m', f.minClearHeight);
  atLeast('floor_load_kn_m2', f.minFloorLoad);
  atLeast('power_kva', f.minPower);
  if (/^\d{4}-\d{2}-\d{2}$/.test(f.readyBy || '')) args.push({ op: '<=', args: [prop('delivery_date'), { date: f.readyBy }] });
  if (f.inside) args.push({ op: 'a_contains', args: [prop('zones'), [f.inside]] });
  if (area) args.push({ op: 's_intersects', args: [prop('geometry'), area] });
  if (args.length === 0) return null;
  return args.length === 1 ? args[0] : { op: 'and', args };
}
