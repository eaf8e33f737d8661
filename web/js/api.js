// The only module that talks to the server. It uses the same public API as every other client:
// OGC API - Features with CQL2, plus /stats, /search, /whats-here and /map-config.

/** An error the server explained (problem+json), or a network failure. */
export class ApiError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function request(path, options = {}) {
  let res;
  try {
    res = await fetch(path, { ...options, headers: { Accept: 'application/json', ...(options.headers || {}) } });
  } catch (e) {
    throw new ApiError(e.message || 'network error', 0, 'network');
  }
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    throw new ApiError(body && body.detail ? body.detail : `${res.status} ${res.statusText}`, res.status, body && body.code);
  }
  return body;
}

const post = (path, body) => request(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
const enc = encodeURIComponent;

export const getCollections = async () => (await request('/collections')).collections;
export const getVocabulary = (id) => request(`/vocabularies/${enc(id)}`);
export const getMapConfig = () => request('/map-config');

/** Every feature of a collection, page by page along the `next` links. */
export async function getAllItems(collection) {
  const features = [];
  let url = `/collections/${enc(collection)}/items?limit=10000`;
  while (url) {
    const page = await request(url);
    features.push(...page.features);
    const next = (page.links || []).find((l) => l.rel === 'next');
    url = next ? new URL(next.href, location.href).pathname + new URL(next.href, location.href).search : null;
  }
  return { type: 'FeatureCollection', features };
}

/** Features matching a CQL2 JSON filter (POST, so a drawn polygon never makes a giant URL). */
export async function searchItems(collection, { filter, sortby, limit = 10000 } = {}) {
  const body = { limit };
  if (filter) body.filter = filter;
  if (sortby) body.sortby = sortby;
  return post(`/collections/${enc(collection)}/search`, body);
}

export function getStats(collection, { filter, groupBy } = {}) {
  const body = {};
  if (filter) body.filter = filter;
  if (groupBy) body['group-by'] = groupBy;
  return post(`/collections/${enc(collection)}/stats`, body);
}

/** An area export (POST /export): the file as a Blob, and the name the server gave it. */
export async function exportArea(body) {
  let res;
  try {
    res = await fetch('/export', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(e.message || 'network error', 0, 'network');
  }
  if (!res.ok) {
    const p = await res.json().catch(() => null);
    throw new ApiError(p && p.detail ? p.detail : `${res.status} ${res.statusText}`, res.status, p && p.code);
  }
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') || '');
  return { blob: await res.blob(), name: name ? name[1] : 'etown-atlas-area' };
}

export const searchNames = (q, limit = 10) => request(`/search?q=${enc(q)}&limit=${limit}`);
export const whatsHere = (lon, lat, tolerance = 0) => request(`/whats-here?lon=${lon}&lat=${lat}&tolerance=${tolerance}`);
