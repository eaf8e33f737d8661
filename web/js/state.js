// One small store for what the page shows, mirrored in the URL hash so that a shared link or a
// reload restores the view, the layers, the filters, the drawn area and the language.
import { emptyFilters } from './cql.js';

const listeners = new Set();

export const state = {
  lang: null,
  view: null, // { center: [lon, lat], zoom }
  hidden: [], // ids of layers switched off
  filters: emptyFilters(),
  area: null, // GeoJSON Polygon (WGS84)
  sort: 'available_desc',
  basemap: '',
  tab: 'find',
};

export function update(patch) {
  Object.assign(state, patch);
  listeners.forEach((fn) => fn(state, patch));
  writeHash();
}

export function subscribe(fn) {
  listeners.add(fn);
}

const round = (v, d) => Math.round(v * 10 ** d) / 10 ** d;

/** The state as a URL hash. */
export function toHash(s = state) {
  const p = new URLSearchParams();
  if (s.view) p.set('map', `${round(s.view.zoom, 2)}/${round(s.view.center[1], 5)}/${round(s.view.center[0], 5)}`);
  if (s.lang) p.set('lang', s.lang);
  if (s.hidden.length) p.set('hide', s.hidden.join(','));
  const f = Object.fromEntries(Object.entries(s.filters).filter(([, v]) => v !== null && v !== '' && !(Array.isArray(v) && v.length === 0)));
  if (Object.keys(f).length) p.set('filters', JSON.stringify(f));
  if (s.area) p.set('area', JSON.stringify(s.area.coordinates[0].map(([x, y]) => [round(x, 6), round(y, 6)])));
  if (s.sort !== 'available_desc') p.set('sort', s.sort);
  if (s.basemap) p.set('basemap', s.basemap);
  if (s.tab !== 'find') p.set('tab', s.tab);
  return '#' + p.toString();
}

/** Reads a hash back into a partial state; anything malformed is ignored, never fatal. */
export function fromHash(hash) {
  const p = new URLSearchParams((hash || '').replace(/^#/, ''));
  const out = {};
  const m = (p.get('map') || '').split('/').map(Number);
  if (m.length === 3 && m.every(Number.isFinite)) out.view = { zoom: m[0], center: [m[2], m[1]] };
  if (p.get('lang') === 'zh' || p.get('lang') === 'en') out.lang = p.get('lang');
  if (p.get('hide')) out.hidden = p.get('hide').split(',').filter(Boolean);
  try {
    if (p.get('filters')) out.filters = { ...emptyFilters(), ...JSON.parse(p.get('filters')) };
  } catch { /* a hand-edited link: keep the defaults */ }
  try {
    const ring = p.get('area') && JSON.parse(p.get('area'));
    if (Array.isArray(ring) && ring.length >= 4) out.area = { type: 'Polygon', coordinates: [ring] };
  } catch { /* ignore */ }
  if (p.get('sort')) out.sort = p.get('sort');
  if (p.get('basemap')) out.basemap = p.get('basemap');
  if (p.get('tab')) out.tab = p.get('tab');
  return out;
}

let writing = false;
function writeHash() {
  const h = toHash();
  if (location.hash !== h) {
    writing = true;
    history.replaceState(null, '', h);
    writing = false;
  }
}

export function isWritingHash() {
  return writing;
}
