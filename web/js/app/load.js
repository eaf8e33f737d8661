// What the app knows before it draws anything: the map settings, the layers with their fields
// (core/catalog.js), the vocabularies, and a short link's state if the page was opened from one.
import * as api from '../api.js';
import { t } from '../i18n/index.js';
import { buildCatalog } from '../core/catalog.js';
import { unpack } from '../core/share.js';
import { showError } from './chrome.js';

/** The state a short link (`#s=…`, core/share.js) carries, laid over `store`; null without one. */
export async function openShared(store) {
  const shared = new URLSearchParams(location.hash.replace(/^#/, '')).get('s');
  const opened = shared ? await unpack(shared) : null;
  if (opened) Object.assign(store.state, opened);
  else if (shared) showError(new Error(t('shareBroken')));
  return opened;
}

/** The data's description, from the API: `{ config, catalog, vocabularies }`. */
export async function loadDescription() {
  const [config, collections, vocabularyList] = await Promise.all([api.getMapConfig(), api.getCollections(), api.getVocabularies()]);
  const [queryables, vocabs] = await Promise.all([
    Promise.all(collections.map((c) => api.getQueryables(c.id))),
    Promise.all(vocabularyList.map((v) => api.getVocabulary(v.id))),
  ]);
  const vocabularies = Object.fromEntries(vocabs.map((v) => [v.id, v]));
  const catalog = buildCatalog(collections, Object.fromEntries(collections.map((c, i) => [c.id, queryables[i]])));
  return { config, catalog, vocabularies };
}
