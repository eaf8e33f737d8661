// The page's state in the URL hash, so a shared link or a reload restores the view, the
// layers, the find filters, the drawn area, the sort, the statistics grouping, the language and
// the open feature, the match requirement and the shortlist. Pure: tested by the node unit tests.
import { fromLegacy } from './filters.js';

const round = (v, d) => Math.round(v * 10 ** d) / 10 ** d;

/** The defaults: what an empty hash means. */
export function defaults() {
  return {
    lang: null,
    view: null, // { center: [lon, lat], zoom }
    hidden: [], // ids of layers switched off
    subject: null, // the layer the find panel searches
    filters: {}, // field name -> value (see core/filters.js)
    area: null, // GeoJSON Polygon (WGS84)
    sort: null, // { field, desc }
    basemap: null, // id, '' for none, null for the configured default
    tab: 'find',
    groupBy: null,
    selected: null, // { collection, id }
    requirement: null, // the match requirement (README § Matching)
    shortlist: [], // ids of shortlisted features of the subject layer
  };
}

/** The state as a URL hash (only what differs from the defaults). */
export function toHash(s) {
  const p = new URLSearchParams();
  if (s.view) p.set('map', `${round(s.view.zoom, 2)}/${round(s.view.center[1], 5)}/${round(s.view.center[0], 5)}`);
  if (s.lang) p.set('lang', s.lang);
  if (s.hidden && s.hidden.length) p.set('hide', s.hidden.join(','));
  if (s.subject) p.set('find', s.subject);
  if (s.filters && Object.keys(s.filters).length) p.set('f', JSON.stringify(s.filters));
  if (s.area) p.set('area', JSON.stringify(s.area.coordinates[0].map(([x, y]) => [round(x, 6), round(y, 6)])));
  if (s.sort) p.set('sort', `${s.sort.desc ? '-' : ''}${s.sort.field}`);
  if (s.basemap !== null && s.basemap !== undefined) p.set('basemap', s.basemap);
  if (s.tab && s.tab !== 'find') p.set('tab', s.tab);
  if (s.groupBy) p.set('group', s.groupBy);
  if (s.selected) p.set('sel', `${s.selected.collection}/${s.selected.id}`);
  if (s.requirement) p.set('req', JSON.stringify(s.requirement));
  if (s.shortlist && s.shortlist.length) p.set('short', JSON.stringify(s.shortlist));
  return '#' + p.toString();
}

/** Reads a hash back into a partial state; anything malformed is left out, never fatal. */
export function fromHash(hash) {
  const p = new URLSearchParams((hash || '').replace(/^#/, ''));
  const out = {};
  const m = (p.get('map') || '').split('/').map(Number);
  if (m.length === 3 && m.every(Number.isFinite) && Math.abs(m[1]) <= 90 && Math.abs(m[2]) <= 180) out.view = { zoom: m[0], center: [m[2], m[1]] };
  if (p.get('lang') === 'zh' || p.get('lang') === 'en') out.lang = p.get('lang');
  if (p.get('hide')) out.hidden = p.get('hide').split(',').filter(Boolean);
  if (p.get('find')) out.subject = p.get('find');
  try {
    const f = p.get('f') && JSON.parse(p.get('f'));
    if (f && typeof f === 'object' && !Array.isArray(f)) out.filters = f;
  } catch { /* a hand-edited link: keep the defaults */ }
  try {
    // Links made before filters came from the data.
    if (!out.filters && p.get('filters')) out.filters = fromLegacy(JSON.parse(p.get('filters')));
  } catch { /* ignore */ }
  try {
    const ring = p.get('area') && JSON.parse(p.get('area'));
    if (Array.isArray(ring) && ring.length >= 4 && ring.every((c) => Array.isArray(c) && c.length === 2 && c.every(Number.isFinite))) {
      out.area = { type: 'Polygon', coordinates: [ring] };
    }
  } catch { /* ignore */ }
  const sort = p.get('sort');
  if (sort && /^-?[\w.-]+$/.test(sort)) out.sort = { field: sort.replace(/^-/, ''), desc: sort.startsWith('-') };
  if (p.has('basemap')) out.basemap = p.get('basemap');
  if (p.get('tab')) out.tab = p.get('tab');
  if (p.get('group')) out.groupBy = p.get('group');
  try {
    const req = p.get('req') && JSON.parse(p.get('req'));
    if (req && typeof req === 'object' && !Array.isArray(req)) out.requirement = req;
    const short = p.get('short') && JSON.parse(p.get('short'));
    if (Array.isArray(short)) out.shortlist = short.map(String).slice(0, 100);
  } catch { /* a hand-edited link: keep the defaults */ }
  const sel = p.get('sel');
  if (sel && sel.includes('/')) {
    const i = sel.indexOf('/');
    out.selected = { collection: sel.slice(0, i), id: sel.slice(i + 1) };
  }
  return out;
}
