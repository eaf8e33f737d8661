// The only module that talks to the server. It uses the public OGC API that every client uses.

/** Fetches JSON, turning a problem+json answer into an Error with the server's explanation. */
async function getJson(path) {
  const res = await fetch(path, { headers: { Accept: 'application/json' } });
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const detail = body && body.detail ? body.detail : res.statusText;
    throw new Error(`${res.status}: ${detail}`);
  }
  return body;
}

export async function listCollections() {
  return (await getJson('/collections')).collections;
}

/** Every feature of a collection, following `next` links page by page. */
export async function allItems(collectionId) {
  const features = [];
  let url = `/collections/${encodeURIComponent(collectionId)}/items?limit=10000`;
  while (url) {
    const page = await getJson(url);
    features.push(...page.features);
    const next = (page.links || []).find((l) => l.rel === 'next');
    url = next ? new URL(next.href, location.href).pathname + new URL(next.href, location.href).search : null;
  }
  return { type: 'FeatureCollection', features };
}
