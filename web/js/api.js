// The only module that talks to the server. It uses the same public API as every other client:
// OGC API - Features with CQL2 and Tiles, plus /stats, /search, /whats-here and /map-config.
// Every request says the reader's language, so problems come back in it.
import { language, t } from './i18n/index.js';

/** An error the server explained (problem+json), or a network failure. */
export class ApiError extends Error {
  constructor(message, status, code, parameter, detailEn = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.parameter = parameter; // the parameter or property at fault, when the server names one
    this.detailEn = detailEn; // a Chinese answer's technical specifics, in English
  }

  /** The message with its technical specifics (a Chinese answer's English detail) after it. */
  get full() {
    return this.detailEn && this.detailEn !== this.message ? `${this.message}（${this.detailEn}）` : this.message;
  }
}

const headers = (extra = {}) => ({ Accept: 'application/json', 'Accept-Language': language() === 'zh' ? 'zh-CN' : 'en', ...extra });

async function problem(res) {
  const p = await res.json().catch(() => null);
  return new ApiError(p && p.detail ? p.detail : `${res.status} ${res.statusText}`, res.status, p && p.code, p && p.parameter, p && p.detail_en);
}

/** Times a busy server (503 with Retry-After) is asked again before its refusal is shown. */
const RETRIES = 3;

const pause = (ms, signal) => new Promise((resolve, reject) => {
  const timer = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(timer); reject(new DOMException('aborted', 'AbortError')); }, { once: true });
});

async function request(path, options = {}) {
  for (let attempt = 0; ; attempt += 1) {
    let res;
    try {
      res = await fetch(path, { ...options, headers: headers(options.headers) });
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      throw new ApiError(t('networkError'), 0, 'network');
    }
    // A server at its limit says when to come back: the page's first burst of requests can
    // meet that on a loaded machine, and a person would just wait and retry too.
    const wait = Number(res.headers.get('retry-after'));
    if (res.status === 503 && attempt < RETRIES && Number.isFinite(wait) && wait > 0) {
      await pause(Math.min(wait, 5) * 1000, options.signal);
      continue;
    }
    if (!res.ok) throw await problem(res);
    return res.json();
  }
}

/**
 * The moment the app shows the data as of (an RFC 3339 instant), or null for now: every read of
 * features, statistics and tiles carries it as `asOf` (the server rebuilds the data from its
 * change log).
 */
let moment = null;
export const setMoment = (m) => { moment = m || null; };
export const getMoment = () => moment;
const withMoment = (body) => (moment ? { ...body, asOf: moment } : body);
/** `asOf=…` for a URL, or nothing. */
export const momentQuery = () => (moment ? `asOf=${encodeURIComponent(moment)}` : '');

const post = (path, body) => request(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
const enc = encodeURIComponent;

export const getCollections = async () => (await request('/collections')).collections;
export const getQueryables = (id) => request(`/collections/${enc(id)}/queryables`);
export const getVocabularies = async () => (await request('/vocabularies')).vocabularies;
export const getVocabulary = (id) => request(`/vocabularies/${enc(id)}`);
export const getMapConfig = () => request('/map-config');
export const getFeature = (collection, id) => request(`/collections/${enc(collection)}/items/${enc(id)}${moment ? `?${momentQuery()}` : ''}`);

/** A same-origin path and query from a link the server wrote (absolute, with its host). */
const local = (href) => {
  const u = new URL(href, location.href);
  return u.pathname + u.search;
};

/** Every feature of a collection matching `filter`, page by page along the `next` links. */
export async function allFeatures(collection, filter, signal) {
  const features = [];
  let page = await request(`/collections/${enc(collection)}/search`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(withMoment(filter ? { filter, limit: 10000 } : { limit: 10000 })), signal,
  });
  for (;;) {
    features.push(...page.features);
    const next = (page.links || []).find((l) => l.rel === 'next');
    if (!next || page.features.length === 0) break;
    // A POSTed search's next link carries its body.
    page = next.method === 'POST'
      ? await request(local(next.href), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(next.body), signal })
      : await request(local(next.href), { signal });
  }
  return { type: 'FeatureCollection', features };
}

/** One page of features matching a CQL2 JSON filter (POST, so a drawn polygon never makes a giant URL). */
export function searchItems(collection, { filter, sortby, limit = 100, offset = 0 } = {}, signal) {
  const body = { limit, offset };
  if (filter) body.filter = filter;
  if (sortby) body.sortby = sortby;
  return request(`/collections/${enc(collection)}/search`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(withMoment(body)), signal });
}

export function getStats(collection, { filter, groupBy } = {}, signal) {
  const body = {};
  if (filter) body.filter = filter;
  if (groupBy) body['group-by'] = groupBy;
  return request(`/collections/${enc(collection)}/stats`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(withMoment(body)), signal });
}

/** A series per month (or `interval`) from `from` to `to` (days): vacancy, absorption, new supply. */
export function getTrend(collection, { filter, groupBy, interval = 'month', from, to } = {}, signal) {
  const body = { interval };
  if (filter) body.filter = filter;
  if (groupBy) body['group-by'] = groupBy;
  if (from) body.from = from;
  if (to) body.to = to;
  return request(`/collections/${enc(collection)}/stats`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), signal });
}

/**
 * Follows the change stream (GET /changes/stream, Server-Sent Events) with `token`, calling
 * `onChange` with each change; read with fetch, as EventSource cannot send a token. Reconnects
 * after a break from the last change seen. Returns a function that stops it.
 */
export function followChanges(token, onChange) {
  const ctrl = new AbortController();
  let last = null;
  (async () => {
    while (!ctrl.signal.aborted) {
      try {
        const extra = { Accept: 'text/event-stream', Authorization: `Bearer ${token}` };
        if (last) extra['Last-Event-ID'] = last;
        const res = await fetch('/changes/stream', { headers: headers(extra), signal: ctrl.signal });
        if (!res.ok || !res.body) throw new Error(String(res.status));
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const id = block.match(/^id:\s*(.*)$/m);
            const data = block.match(/^data:\s*(.*)$/m);
            if (id) last = id[1];
            if (data) onChange(JSON.parse(data[1]));
          }
        }
      } catch (e) {
        if (ctrl.signal.aborted) return;
      }
      await pause(3000, ctrl.signal).catch(() => {});
    }
  })();
  return () => ctrl.abort();
}

/** A tileset of `collection` for `filter`: TileJSON whose tile URLs carry the stored query. */
export function filteredTileJson(collection, filter) {
  return post(`/collections/${enc(collection)}/tiles`, { filter });
}

export const getTileJson = (href) => request(local(href));

/** The CSV download of a layer's matches, as a link (the server writes a BOM for Excel). */
export function csvLink(collection, filter, sortby) {
  const q = new URLSearchParams({ f: 'csv', bom: 'true' });
  if (filter) {
    q.set('filter', JSON.stringify(filter));
    q.set('filter-lang', 'cql2-json');
  }
  if (sortby) q.set('sortby', sortby);
  return `/collections/${enc(collection)}/export?${q}`;
}

/** An area export (POST /export): the file as a Blob, and the name the server gave it. */
export async function exportArea(body) {
  let res;
  try {
    res = await fetch('/export', { method: 'POST', headers: headers({ 'Content-Type': 'application/json' }), body: JSON.stringify(body) });
  } catch {
    throw new ApiError(t('networkError'), 0, 'network');
  }
  if (!res.ok) throw await problem(res);
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') || '');
  return { blob: await res.blob(), name: name ? name[1] : 'etown-atlas-area' };
}

export const searchNames = (q, limit = 10) => request(`/search?q=${enc(q)}&limit=${limit}`);
export const whatsHere = (lon, lat) => request(`/whats-here?lon=${lon}&lat=${lat}`);

// Editing (OGC API - Features Part 4). The token goes only to this server, in the
// Authorization header; it is never put in a URL.
const bearer = (token) => ({ Authorization: `Bearer ${token}` });

/** Whether `token` is valid here: the change feed answers any valid token. */
/** How people sign in here: `{ oidc: null }`, or the identity server's endpoints. */
export const signInConfig = () => request('/auth/config', { cache: 'no-store' });

export async function checkToken(token) {
  return request('/auth/me', { headers: bearer(token), cache: 'no-store' });
}

// Administration: tokens and the audit (administrators only).

export const listTokens = async (token) => (await request('/admin/tokens', { headers: bearer(token), cache: 'no-store' })).tokens;
export const createToken = (body, token) => request('/admin/tokens', {
  method: 'POST', headers: { ...bearer(token), 'Content-Type': 'application/json' }, body: JSON.stringify(body),
});
export async function revokeToken(name, token) {
  let res;
  try {
    res = await fetch(`/admin/tokens/${enc(name)}`, { method: 'DELETE', headers: headers(bearer(token)) });
  } catch {
    throw new ApiError(t('networkError'), 0, 'network');
  }
  if (!res.ok) throw await problem(res);
}
const auditQuery = (filters) => Object.entries(filters).filter(([, v]) => v).map(([k, v]) => `${k}=${enc(v)}`).join('&');
export const audit = (filters, token) => request(`/admin/audit?${auditQuery(filters)}`, { headers: bearer(token), cache: 'no-store' });
/** The audit as a CSV file (a Blob), for the filters. */
export async function auditCsv(filters, token) {
  let res;
  try {
    res = await fetch(`/admin/audit?${auditQuery({ ...filters, f: 'csv', limit: 10000 })}`, { headers: headers(bearer(token)), cache: 'no-store' });
  } catch {
    throw new ApiError(t('networkError'), 0, 'network');
  }
  if (!res.ok) throw await problem(res);
  return res.blob();
}

/** The weekly report of `collection` for this week (`f`: html or csv), as a Blob. */
export async function weeklyReport(collection, f, token) {
  let res;
  try {
    res = await fetch(`/reports/weekly?collection=${enc(collection)}&f=${f}`, { headers: headers(bearer(token)), cache: 'no-store' });
  } catch {
    throw new ApiError(t('networkError'), 0, 'network');
  }
  if (!res.ok) throw await problem(res);
  return res.blob();
}

/** A feature as stored now, with its ETag (the precondition of an edit). */
export async function featureForEdit(collection, id, token) {
  let res;
  try {
    res = await fetch(`/collections/${enc(collection)}/items/${enc(id)}`, { headers: headers(bearer(token)), cache: 'no-store' });
  } catch {
    throw new ApiError(t('networkError'), 0, 'network');
  }
  if (!res.ok) throw await problem(res);
  return { feature: await res.json(), etag: res.headers.get('etag') };
}

/** Changes the properties in `changes` (null removes one), only if the feature is still `etag`. */
export const patchFeature = (collection, id, changes, etag, token) => patchWith(collection, id, { properties: changes }, etag, token);

/** Moves or reshapes a feature's outline (a GeoJSON geometry), only if it is still `etag`. */
export const moveFeature = (collection, id, geometry, etag, token) => patchWith(collection, id, { geometry }, etag, token);

/** A merge patch of the feature, only if it is still `etag`: the stored feature and its ETag. */
async function patchWith(collection, id, patch, etag, token) {
  let res;
  try {
    res = await fetch(`/collections/${enc(collection)}/items/${enc(id)}`, {
      method: 'PATCH',
      headers: headers({ ...bearer(token), 'Content-Type': 'application/merge-patch+json', 'If-Match': etag }),
      body: JSON.stringify(patch),
    });
  } catch {
    throw new ApiError(t('networkError'), 0, 'network');
  }
  if (!res.ok) throw await problem(res);
  return { feature: await res.json(), etag: res.headers.get('etag') };
}

/** Who changed a feature last, and when (needs a token; null when it was never edited). The
 * history comes oldest first, a page at a time: the pages are followed (from the last change
 * seen) until one is empty. */
export async function lastChange(collection, id, token) {
  const base = `/collections/${enc(collection)}/items/${enc(id)}/history`;
  let last = null;
  for (let page = 0; page < 100; page += 1) {
    const since = last ? last.seq : 0;
    const h = await request(`${base}?since=${since}&limit=1000`, { headers: bearer(token), cache: 'no-store' });
    if (!h.changes.length) break;
    last = h.changes[h.changes.length - 1];
  }
  return last;
}

/** Ranked matches and near misses of a requirement (README § Matching). */
export const matchRequirement = (collection, requirement, signal) => request(`/collections/${enc(collection)}/match`, {
  method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(requirement), signal,
});

/** Every match's and near miss's [id, score] for a requirement (the map colours them all). */
export const matchScores = (collection, requirement, signal) => request(`/collections/${enc(collection)}/match/scores`, {
  method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(requirement), signal,
});

/** Creates a feature (a GeoJSON Feature without an id): the stored feature and its ETag. */
export async function createFeature(collection, feature, token) {
  let res;
  try {
    res = await fetch(`/collections/${enc(collection)}/items`, {
      method: 'POST',
      headers: headers({ ...bearer(token), 'Content-Type': 'application/geo+json' }),
      body: JSON.stringify(feature),
    });
  } catch {
    throw new ApiError(t('networkError'), 0, 'network');
  }
  if (!res.ok) throw await problem(res);
  return { feature: await res.json(), etag: res.headers.get('etag') };
}

/** Deletes a feature, only if it is still `etag`. */
export async function deleteFeature(collection, id, etag, token) {
  let res;
  try {
    res = await fetch(`/collections/${enc(collection)}/items/${enc(id)}`, {
      method: 'DELETE', headers: headers({ ...bearer(token), 'If-Match': etag }),
    });
  } catch {
    throw new ApiError(t('networkError'), 0, 'network');
  }
  if (!res.ok) throw await problem(res);
}

// Change sets: a whole layer updated from a filled-in workbook, reviewed before it applies.

/** The workbook to fill in: every match of `filter`, with titles in `lang`. */
export function workbookLink(collection, filter, lang) {
  const q = new URLSearchParams({ f: 'xlsx', lang });
  if (filter) {
    q.set('filter', JSON.stringify(filter));
    q.set('filter-lang', 'cql2-json');
  }
  return `/collections/${enc(collection)}/export?${q}`;
}

const SHEET_TYPES = {
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  csv: 'text/csv',
  geojson: 'application/geo+json',
  json: 'application/geo+json',
};

/** Uploads a filled-in file; the server's preview of it (nothing is applied yet). */
export function previewChangeset(collection, file, token) {
  const ending = (file.name.split('.').pop() || '').toLowerCase();
  const type = SHEET_TYPES[ending] || file.type || 'application/octet-stream';
  return request(`/collections/${enc(collection)}/changesets`, {
    method: 'POST', headers: { ...bearer(token), 'Content-Type': type }, body: file,
  });
}

export const applyChangeset = (collection, id, token) => request(`/collections/${enc(collection)}/changesets/${enc(id)}/apply`, { method: 'POST', headers: bearer(token) });
export const revertChangeset = (collection, id, token) => request(`/collections/${enc(collection)}/changesets/${enc(id)}/revert`, { method: 'POST', headers: bearer(token) });
export async function listChangesets(collection, token) {
  return (await request(`/collections/${enc(collection)}/changesets?limit=20`, { headers: bearer(token), cache: 'no-store' })).changesets;
}
