// Wiring only: reads the data's description from the API, builds the map, its controls and the
// panels, and connects them through the store. Each piece lives in its own module; none of
// them knows the shipped data's field names: they come from the API (see core/catalog.js).
import * as maplibregl from '/vendor/maplibre-gl/maplibre-gl.mjs';
import * as api from './api.js';
import { t, local, translator, setLanguage, browserLanguage, language, onLanguageChange, translatePage, maplibreLocale } from './i18n/index.js';
import { Store } from './core/store.js';
import { fromHash } from './core/permalink.js';
import { buildCatalog, featureName, nameProperty } from './core/catalog.js';
import { toCql } from './core/filters.js';
import { Values } from './core/values.js';
import * as format from './core/format.js';
import { wgs84ToGcj02, gcj02ToWgs84, mapPositions } from './gcj02.js';
import { baseStyle, SCORE_COLOURS, OTHER_COLOUR } from './map/style.js';
import { DataLayers } from './map/data.js';
import { Interaction } from './map/interaction.js';
import { LegendControl, InfoControl, ThinnedControl } from './map/controls.js';
import { h, fill } from './dom.js';
import { FindPanel, PAGE, MAX_PEOPLE_ROWS } from './panels/find.js';
import { StatsPanel } from './panels/stats.js';
import { AreaPanel } from './panels/area.js';
import { LayersPanel } from './panels/layers.js';
import { DetailsPanel } from './panels/details.js';
import { SearchBox } from './panels/search.js';
import { SignIn } from './panels/signin.js';
import { MatchPanel } from './panels/match.js';
import { openCompare } from './panels/compare.js';
import { openDossier } from './panels/dossier.js';
import { dossierMaps } from './map/snapshot.js';
import { toCsv, tableToCsv } from './core/csv.js';
import { shortlistTable } from './core/shortlist.js';
import { tableToXlsx } from './core/xlsx.js';
import { pack, unpack, linkFor } from './core/share.js';
import { visibleFields } from './core/catalog.js';
import { isActive } from './core/filters.js';
import { Session } from './core/session.js';

const store = new Store(fromHash(location.hash));
setLanguage(store.state.lang || browserLanguage());

const statusEl = document.getElementById('status');
const errorEl = document.getElementById('error');

/** Server errors become a readable message (in the reader's language), never a silent failure. */
function showError(e) {
  fill(errorEl, h('span', {}, t('error', { message: e.message })), h('button', { type: 'button', onclick: () => { errorEl.hidden = true; } }, t('dismiss')));
  errorEl.hidden = false;
  console.warn('etown-atlas:', e);
}

let busy = 0;
function setBusy(delta) {
  busy = Math.max(0, busy + delta);
  document.body.setAttribute('aria-busy', String(busy > 0));
  statusEl.textContent = busy > 0 ? t('loading') : t('ready');
}

/** Saves `blob` as a file named `name` (a download, as a link click makes it). */
function saveFile(blob, name) {
  const a = h('a', { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60000);
}

async function main() {
  setBusy(1);
  // A short link (core/share.js): its layer, requirement and shortlist, opened on the answer.
  const shared = new URLSearchParams(location.hash.replace(/^#/, '')).get('s');
  const opened = shared ? await unpack(shared) : null;
  if (opened) Object.assign(store.state, opened);
  else if (shared) showError(new Error(t('shareBroken')));
  const [config, collections, vocabularyList] = await Promise.all([api.getMapConfig(), api.getCollections(), api.getVocabularies()]);
  const [queryables, vocabs] = await Promise.all([
    Promise.all(collections.map((c) => api.getQueryables(c.id))),
    Promise.all(vocabularyList.map((v) => api.getVocabulary(v.id))),
  ]);
  const vocabularies = Object.fromEntries(vocabs.map((v) => [v.id, v]));
  const catalog = buildCatalog(collections, Object.fromEntries(collections.map((c, i) => [c.id, queryables[i]])));
  const layerOf = (id) => catalog.layers.find((l) => l.id === id);
  if (!layerOf(store.state.subject)) store.state.subject = catalog.subject;
  const subject = () => layerOf(store.state.subject);

  // Basemaps, and the datum overlays are shown in (GCJ-02 only under such a basemap).
  const basemaps = config.basemaps || [];
  const chosenBasemap = () => {
    const b = store.state.basemap;
    if (b === null || b === undefined) return (basemaps.find((x) => x.default) || {}).id || '';
    return b;
  };
  const datum = () => (basemaps.find((b) => b.id === chosenBasemap()) || {}).datum || 'wgs84';
  const display = (g) => (datum() === 'gcj02' ? mapPositions(g, wgs84ToGcj02) : g);
  const toWgs84 = (g) => (datum() === 'gcj02' ? mapPositions(g, gcj02ToWgs84) : g);

  const start = store.state.view;
  const bounds = (catalog.layers.find((l) => l.zone && l.bbox && l.count === 1 && !l.primary) || subject() || {}).bbox;
  const map = new maplibregl.Map({
    container: 'map',
    style: baseStyle(basemaps),
    center: start ? start.center : [116.56, 39.78],
    zoom: start ? start.zoom : 11,
    bounds: !start && bounds ? [[bounds[0], bounds[1]], [bounds[2], bounds[3]]] : undefined,
    fitBoundsOptions: { padding: 20 },
    attributionControl: false,
    dragRotate: false,
    pitchWithRotate: false,
  });
  // MapLibre's own texts: its English ones, with the reader's language over them.
  const englishUi = { ...map._locale };
  map.touchZoomRotate.disableRotation();
  window.__atlas = { map, store, catalog };
  await new Promise((resolve) => map.on('load', resolve));

  const data = new DataLayers(map, catalog, vocabularies, { display });
  window.__atlas.data = data;
  await data.add(language());

  // Names of features other features point to (a carrier's park, the zones it lies in).
  const nameOf = (collection, id, lang, props) => {
    if (collection !== null) {
      const layer = layerOf(collection);
      if (!layer) return null;
      const f = props ? { properties: props } : data.feature(collection, id);
      return f ? featureName(layer, f.properties, id, lang) : null;
    }
    for (const layer of catalog.layers.filter((l) => l.zone)) {
      const f = data.feature(layer.id, id);
      if (f) return featureName(layer, f.properties, id, lang);
    }
    return null;
  };
  const values = new Values(vocabularies, nameOf, t);

  // Controls on the map.
  const isVisible = (id) => !store.state.hidden.includes(id);
  const legend = new LegendControl({ catalog, vocabularies, isVisible, subject: store.state.subject });
  const info = new InfoControl({ catalog, config, isVisible });
  const thinned = new ThinnedControl();
  let nav = null;
  let scale = null;
  function addMapLibreControls() {
    if (nav) map.removeControl(nav);
    if (scale) map.removeControl(scale);
    map._locale = { ...englishUi, ...maplibreLocale() };
    nav = new maplibregl.NavigationControl({ showCompass: false });
    scale = new maplibregl.ScaleControl();
    map.addControl(nav, 'top-right');
    map.addControl(scale, 'bottom-right');
  }
  addMapLibreControls();
  map.addControl(new maplibregl.AttributionControl({ compact: true }), 'bottom-right');
  map.addControl(legend, 'bottom-left');
  map.addControl(info, 'bottom-left');
  map.addControl(thinned, 'top-left');

  // Panels.
  const choicesOf = (field, lang) => {
    if (field.vocabulary && vocabularies[field.vocabulary]) {
      return vocabularies[field.vocabulary].terms.map((x) => ({ value: x.id, label: x[lang] || x.en, color: x.color }));
    }
    const fromLayers = (layers) => layers.flatMap((l) => (data.features[l.id]?.features || []).map((f) => ({ value: String(f.id), label: featureName(l, f.properties, f.id, lang) })));
    if (field.references) return fromLayers([layerOf(field.references)].filter(Boolean));
    if (field.name === 'zones' && field.derived) return fromLayers(catalog.layers.filter((l) => l.zone));
    if (field.enum) return field.enum.map((v) => ({ value: v, label: String(v) }));
    return null;
  };
  const sortFields = (layer) => {
    const name = nameProperty(layer, language());
    const out = name ? [{ value: name, label: t('sortName'), desc: false }] : [];
    for (const f of layer.fields.filter((x) => x.list && ['integer', 'number', 'date', 'string'].includes(x.type))) {
      out.push({ value: f.name, label: local(f.title, f.name), desc: f.type !== 'string' && f.type !== 'date' });
    }
    return out.length ? out : [{ value: 'id', label: 'id', desc: false }];
  };
  const sortby = () => {
    const options = sortFields(subject());
    const first = options.find((o) => o.desc) || options[0];
    const s = store.state.sort && options.some((o) => o.value === store.state.sort.field) ? store.state.sort : { field: first.value, desc: first.desc };
    const name = nameProperty(subject(), language());
    return `${s.desc ? '-' : ''}${s.field}${name && name !== s.field ? `,${name}` : ''}`;
  };
  const cql = () => toCql(subject().fields, store.state.filters, store.state.area);

  // Editing, where the server keeps edits: a token in this tab, the edit form in the details.
  const session = new Session();
  const editing = config.editing ? {
    session,
    vocabularies,
    choicesOf,
    onError: showError,
    onEdited: async (layer) => {
      try {
        await data.invalidate(layer.id, store.state.subject);
        if (layer.id === store.state.subject) await refresh();
      } catch (e) {
        showError(e);
      }
    },
  } : null;
  const details = new DetailsPanel({ catalog, values, editing, contact: config.contact, staleAfterDays: config.staleAfterDays ?? 90, onClose: () => store.update({ selected: null }) });
  if (editing) {
    const signIn = new SignIn({ session });
    document.getElementById('lang').before(signIn.element);
    session.onChange(() => { signIn.render(); details.render(); details.loadChangedBy(); });
    onLanguageChange(() => signIn.render());
  }
  const find = new FindPanel({
    store, catalog, values, choicesOf, sortFields,
    onPickRow: (f) => openAndFly(store.state.subject, String(f.id)),
    onZoom: () => zoomToResults(),
    csvHref: () => api.csvLink(store.state.subject, cql(), sortby()),
    staleAfterDays: config.editing ? config.staleAfterDays ?? 90 : null,
  });
  /**
   * Saves features of the subject layer as a table for people (core/shortlist.js), as Excel
   * or CSV, named after the layer, `what` and the date, in the reader's language.
   */
  async function saveTable(features, answer, kind, what) {
    const lang = language();
    const table = shortlistTable({ layer: subject(), features, answer, values, tr: translator(lang), lang });
    const name = `${local(subject().title, subject().id)}-${what}-${new Date().toISOString().slice(0, 10)}`.replace(/[\\/:*?"<>|\s]+/g, '-');
    if (kind === 'xlsx') saveFile(await tableToXlsx(table, what), `${name}.xlsx`);
    else saveFile(new Blob([tableToCsv(table)], { type: 'text/csv;charset=utf-8' }), `${name}.csv`);
  }
  find.onPeople = async (kind) => {
    try {
      setBusy(1);
      const features = [];
      for (;;) {
        const page = await api.searchItems(store.state.subject, { filter: cql(), sortby: sortby(), limit: 1000, offset: features.length });
        features.push(...page.features);
        if (page.features.length === 0 || features.length >= page.numberMatched || features.length >= MAX_PEOPLE_ROWS) break;
      }
      await saveTable(features.slice(0, MAX_PEOPLE_ROWS), null, kind, t('findFile'));
    } catch (e) { showError(e); } finally { setBusy(-1); }
  };

  // Matching: the subject layer's features for a requirement, and the shortlist made of them.
  const shortlisted = async (ids) => Promise.all(ids.map((id) => api.getFeature(store.state.subject, id)));
  let highlighted = null;
  let scoring = null;
  const nameIn = (f, lang = language()) => featureName(subject(), f.properties, f.id, lang);
  const match = new MatchPanel({
    store, catalog, values, choicesOf,
    run: (req) => api.matchRequirement(store.state.subject, req),
    onPick: (c, id) => openAndFly(c, id),
    onAnswer: (a) => {
      // The map shows one answer at a time, on the layer it is for, and the legend says so.
      scoring?.abort();
      if (highlighted) data.highlight(highlighted, null);
      highlighted = a ? store.state.subject : null;
      legend.setScore(Boolean(a));
      if (!a) return;
      const pairs = (list) => Object.fromEntries(list.map((m) => [String(m.id), m.score]));
      data.highlight(highlighted, pairs(a.matches), pairs(a.nearMisses));
      // More matches than listed: every one's score, so each is coloured, not only the listed.
      if (a.numberMatched > a.matches.length || a.numberNearMisses > a.nearMisses.length) {
        const ctrl = new AbortController();
        scoring = ctrl;
        const layer = highlighted;
        api.matchScores(layer, store.state.requirement, ctrl.signal).then((all) => {
          if (ctrl.signal.aborted || highlighted !== layer) return;
          const byId = (list) => Object.fromEntries(list.map(([id, score]) => [String(id), score]));
          data.highlight(layer, byId(all.matches), byId(all.nearMisses));
          document.body.dataset.scored = String(all.matches.length);
        }).catch((e) => { if (e.name !== 'AbortError') showError(e); });
      } else document.body.dataset.scored = String(a.matches.length);
    },
    onCompare: async (ids) => {
      try {
        openCompare({ layer: subject(), features: await shortlisted(ids), answer: match.answer, values, nameOf: (f) => nameIn(f) });
      } catch (e) { showError(e); }
    },
    onFile: async (ids, kind) => {
      try {
        const features = await shortlisted(ids);
        if (kind === 'data') {
          const columns = visibleFields(subject(), language()).map((f) => ({ name: f.name, title: f.name }));
          saveFile(new Blob([toCsv(columns, features)], { type: 'text/csv;charset=utf-8' }), `${store.state.subject}-shortlist-data.csv`);
        } else await saveTable(features, match.answer, kind, t('shortlistFile'));
      } catch (e) { showError(e); }
    },
    onDossier: async (ids) => {
      try {
        setBusy(1);
        const features = await shortlisted(ids);
        const maps = await dossierMaps({ map, maplibregl, features, display, layerId: store.state.subject, overviewBounds: bounds, colours: { shortlisted: SCORE_COLOURS[2], other: OTHER_COLOUR } });
        openDossier({ layer: subject(), features, answer: match.answer, values, nameOf: nameIn, contact: config.contact, maps, zones: catalog.layers.filter((l) => l.zone && isVisible(l.id)), onClose: () => match.element.querySelector('#dossier-open')?.focus() });
      } catch (e) { showError(e); } finally { setBusy(-1); }
    },
    onLink: async (ids) => linkFor(location.href, await pack({ subject: store.state.subject, requirement: store.state.requirement, shortlist: ids })),
    findFilters: () => subject().fields.filter((f) => isActive(f, store.state.filters[f.name])).length + (store.state.area ? 1 : 0),
    onClearFind: () => store.update({ filters: {}, area: null }),
    onError: showError,
  });
  const stats = new StatsPanel({ store, catalog, values, onGroupBy: (g) => store.update({ groupBy: g }) });
  const area = new AreaPanel({ map, maplibregl, store, catalog, toWgs84, exportArea });
  const layersPanel = new LayersPanel({ store, catalog, basemaps });
  const search = new SearchBox({ search: (q) => api.searchNames(q), catalog, nameOf, onPick: (c, id) => openAndFly(c, id), onError: showError });
  document.getElementById('search-slot').append(search.element);
  document.getElementById('map').after(details.element);
  const sections = { find, layers: layersPanel, match, stats, area };
  document.getElementById('panel-body').append(...Object.values(sections).map((s) => s.element));

  // Tabs: on a wide screen they switch panels; on a phone they also open and close the sheet.
  const tabs = [...document.querySelectorAll('[role=tab]')];
  function showTab() {
    for (const [name, s] of Object.entries(sections)) s.element.hidden = name !== store.state.tab;
    tabs.forEach((b) => {
      const on = b.dataset.tab === store.state.tab;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
    });
  }
  tabs.forEach((b) => b.addEventListener('click', () => {
    const same = b.dataset.tab === store.state.tab;
    const open = document.body.classList.contains('panel-open');
    document.body.classList.toggle('panel-open', !(same && open));
    store.update({ tab: b.dataset.tab });
  }));
  document.getElementById('tabs').addEventListener('keydown', (e) => {
    const i = tabs.findIndex((b) => b.dataset.tab === store.state.tab);
    const next = e.key === 'ArrowRight' ? tabs[(i + 1) % tabs.length] : e.key === 'ArrowLeft' ? tabs[(i + tabs.length - 1) % tabs.length] : null;
    if (next) { store.update({ tab: next.dataset.tab }); next.focus(); }
  });
  document.getElementById('panel-close').addEventListener('click', () => document.body.classList.remove('panel-open'));

  // The subject layer's matches: statistics (count and totals), the first page of the list and
  // the map, together; a newer query cancels an older one.
  let inflight = null;
  async function refresh({ zoom = false } = {}) {
    inflight?.abort();
    const ctrl = new AbortController();
    inflight = ctrl;
    const layer = subject();
    const filter = cql();
    find.setLoading(true);
    setBusy(1);
    try {
      const [s, page] = await Promise.all([
        api.getStats(layer.id, { filter, groupBy: stats.groupBy() }, ctrl.signal),
        api.searchItems(layer.id, { filter, sortby: sortby(), limit: PAGE }, ctrl.signal),
        data.applyFilter(layer.id, filter, ctrl.signal),
      ]);
      if (ctrl.signal.aborted) return;
      find.setStats(s);
      stats.setStats(s);
      area.setCount(s.numberMatched);
      find.setPage(page, false);
      find.renderTools();
      lastStats = s;
      if (zoom) zoomToResults();
      checkThinned();
    } catch (e) {
      if (e.name !== 'AbortError' && !ctrl.signal.aborted) showError(e);
    } finally {
      setBusy(-1);
      if (inflight === ctrl) find.setLoading(false);
    }
  }
  find.onMore = async () => {
    try {
      setBusy(1);
      const page = await api.searchItems(store.state.subject, { filter: cql(), sortby: sortby(), limit: PAGE, offset: find.result.features.length });
      find.setPage(page, true);
    } catch (e) {
      showError(e);
    } finally {
      setBusy(-1);
    }
  };
  async function refreshStats() {
    try {
      const s = await api.getStats(store.state.subject, { filter: cql(), groupBy: stats.groupBy() });
      stats.setStats(s);
    } catch (e) {
      showError(e);
    }
  }
  let lastStats = null;
  /** Fits the map to features (a shared shortlist's carriers). */
  function fitTo(features) {
    const b = new maplibregl.LngLatBounds();
    const walk = (c) => (typeof c[0] === 'number' ? b.extend(c) : c.forEach(walk));
    features.filter((f) => f && f.geometry).forEach((f) => walk(display(f).geometry.coordinates));
    if (!b.isEmpty()) map.fitBounds(b, { padding: 60, maxZoom: 15, duration: 0 });
  }
  function zoomToResults() {
    const b = lastStats && lastStats.numberMatched > 0 && lastStats.total.bbox;
    if (!b) return;
    const [w, s] = display({ type: 'Point', coordinates: [b[0], b[1]] }).coordinates;
    const [e, n] = display({ type: 'Point', coordinates: [b[2], b[3]] }).coordinates;
    map.fitBounds([[w, s], [e, n]], { padding: 60, maxZoom: 15.5, duration: 500 });
  }

  /** Says so when tiles on screen sum or thin the subject's matches (their tile_info layer). */
  function checkThinned() {
    const layer = subject();
    if (layer.mode !== 'tiles' || !map.getSource(layer.id)) { thinned.set(null); return; }
    const infos = map.querySourceFeatures(layer.id, { sourceLayer: 'tile_info' });
    const incomplete = infos.some((f) => f.properties.collection === layer.id && f.properties.complete === false);
    thinned.set(incomplete && lastStats ? format.number(lastStats.numberMatched, language()) : null);
  }
  map.on('idle', checkThinned);

  // Selection: a click, a search result or a list row opens a feature's details.
  let flyNext = false;
  function openAndFly(collection, id) {
    flyNext = true;
    if (store.state.selected && store.state.selected.collection === collection && store.state.selected.id === id) openSelected();
    else store.update({ selected: { collection, id } });
  }
  let opening = 0;
  async function openSelected() {
    const sel = store.state.selected;
    const mine = ++opening;
    if (!sel) {
      details.close();
      data.setSelection(null);
      return;
    }
    const layer = layerOf(sel.collection);
    if (!layer) return;
    try {
      let feature = data.feature(sel.collection, sel.id);
      if (!feature) feature = await api.getFeature(sel.collection, sel.id);
      if (mine !== opening) return;
      const filtered = sel.collection === store.state.subject && cql() !== null && layer.mode !== 'tiles';
      const hidden = filtered && !data.feature(sel.collection, sel.id);
      details.open(layer, feature, { hidden });
      data.setSelection(feature);
      if (flyNext) {
        flyNext = false;
        const b = new maplibregl.LngLatBounds();
        const walk = (c) => (typeof c[0] === 'number' ? b.extend(c) : c.forEach(walk));
        walk(display(feature).geometry.coordinates);
        map.fitBounds(b, { padding: 80, maxZoom: 16, duration: 600 });
      }
    } catch (e) {
      details.close();
      showError(e);
    }
  }

  const interaction = new Interaction(map, data, catalog, {
    subject: store.state.subject,
    isBlocked: () => area.drawing(),
    onPick: (collection, id) => store.update({ selected: { collection, id } }),
    onNothing: () => store.update({ selected: null }),
    describe: (layer, props, id) => {
      const lang = language();
      const lines = [featureName(layer, props, id, lang)];
      if (layer.zone) {
        const km2 = typeof props.official_area_km2 === 'number' ? props.official_area_km2 : typeof props.geodesic_area_m2 === 'number' ? props.geodesic_area_m2 / 1e6 : null;
        if (km2 !== null) lines.push(format.squareKilometres(km2, lang));
      } else {
        const f = layer.fields.find((x) => x.list && props[x.name] !== undefined && props[x.name] !== null);
        if (f) lines.push(`${local(f.title, f.name)}${t('colon')}${values.format(f, props[f.name], lang)}`);
      }
      return lines;
    },
  });

  // What's here: right-click, or a long press on a touch screen.
  let popup = null;
  async function whatsHere(lngLat) {
    const [lon, lat] = toWgs84({ type: 'Point', coordinates: [lngLat.lng, lngLat.lat] }).coordinates;
    try {
      const r = await api.whatsHere(lon.toFixed(6), lat.toFixed(6));
      const lang = language();
      const list = r.features.length
        ? h('ul', { class: 'whats-here' }, r.features.map((f) => {
          const layer = layerOf(f.collection);
          return h('li', {}, h('button', { type: 'button', onclick: () => { popup?.remove(); store.update({ selected: { collection: f.collection, id: String(f.id) } }); } },
            h('span', { class: 'muted' }, `${layer ? local(layer.title, layer.id) : f.collection}${t('colon')}`), layer ? featureName(layer, f.properties, f.id, lang) : String(f.id)));
        }))
        : h('p', {}, t('whatsHereNone'));
      popup?.remove();
      popup = new maplibregl.Popup({ closeButton: true, maxWidth: '320px' }).setLngLat(lngLat).setDOMContent(h('div', { id: 'whats-here' }, h('h3', {}, t('whatsHere')), list)).addTo(map);
    } catch (e) { showError(e); }
  }
  map.on('contextmenu', (e) => { e.preventDefault(); whatsHere(e.lngLat); });
  let pressTimer = null;
  map.on('touchstart', (e) => { if (e.points && e.points.length === 1) pressTimer = setTimeout(() => whatsHere(e.lngLat), 600); });
  ['touchend', 'touchmove', 'touchcancel'].forEach((ev) => map.on(ev, () => clearTimeout(pressTimer)));

  // Export: the drawn area's features from each chosen layer, through the server (POST /export),
  // with the find filter on the subject layer when asked, so the file holds what the map shows.
  async function exportArea({ layers, format: f, clip, filtered }) {
    if (!store.state.area || layers.length === 0) return null;
    const own = toCql(subject().fields, store.state.filters, null);
    const body = { layers, area: store.state.area, clip, f };
    if (filtered && own && layers.includes(store.state.subject)) body.filters = { [store.state.subject]: own };
    try {
      setBusy(1);
      const { blob, name } = await api.exportArea(body);
      saveFile(blob, name);
      // What was saved, said: the features counted where the format is read here (GeoJSON).
      const count = f === 'geojson' ? JSON.parse(await blob.text()).features.length : null;
      return { count, name, bytes: blob.size };
    } catch (e) {
      showError(e);
      return null;
    } finally {
      setBusy(-1);
    }
  }

  // Layers, basemap, language.
  function applyVisibility() {
    for (const l of catalog.layers) data.setVisible(l.id, isVisible(l.id));
    legend.render();
    info.render();
  }
  function applyBasemap() {
    const chosen = chosenBasemap();
    for (const l of map.getStyle().layers) {
      const owner = l.id.startsWith('basemap-') ? basemaps.find((b) => l.id === `basemap-${b.id}` || l.id.startsWith(`basemap-${b.id}-`)) : null;
      if (owner) map.setLayoutProperty(l.id, 'visibility', owner.id === chosen ? 'visible' : 'none');
    }
    data.redrawAll();
    data.setArea(store.state.area);
  }
  function renderTexts() {
    translatePage();
    document.title = t('title');
    document.getElementById('map').setAttribute('aria-label', t('mapLabel', { title: t('appName') }));
    statusEl.textContent = busy > 0 ? t('loading') : t('ready');
  }

  // A new filter zooms to its results; a drawn area keeps the view it was drawn in.
  store.on(['filters', 'area'], (s, changed) => { find.sync(); match.renderResults(); refresh({ zoom: !s.requirement && !changed.includes('area') }); });
  store.on(['area'], (s) => { data.setArea(s.area); area.render(); });
  store.on(['sort'], () => refresh());
  store.on(['subject'], (s) => {
    interaction.subject = s.subject;
    legend.setSubject(s.subject);
    find.build();
    match.clear(); // a requirement names one layer's properties
    Promise.all(catalog.layers.filter((l) => l.mode !== 'tiles' && l.id !== s.subject && !data.features[l.id]).map((l) => data.setFeatures(l.id, null))).catch(showError);
    refresh({ zoom: true });
  });
  store.on(['groupBy'], () => refreshStats());
  store.on(['hidden'], () => { applyVisibility(); layersPanel.render(); });
  store.on(['basemap'], () => { applyBasemap(); layersPanel.render(); });
  store.on(['tab'], () => showTab());
  store.on(['selected'], () => openSelected());
  store.on(['lang'], (s) => setLanguage(s.lang));
  onLanguageChange((lang) => {
    renderTexts();
    addMapLibreControls();
    data.setLanguage(lang);
    find.build();
    match.build();
    stats.render();
    area.render();
    layersPanel.render();
    legend.render();
    info.render();
    thinned.render();
    details.render();
    search.render();
    if (store.state.sort === null || /^name/.test(store.state.sort?.field || '')) refresh();
  });
  document.getElementById('lang').addEventListener('click', () => store.update({ lang: language() === 'zh' ? 'en' : 'zh' }));
  map.on('moveend', () => store.update({ view: { center: [map.getCenter().lng, map.getCenter().lat], zoom: map.getZoom() } }));
  window.addEventListener('hashchange', () => {
    if (store.writingHash) return;
    const next = fromHash(location.hash);
    if (next.view) map.jumpTo({ center: next.view.center, zoom: next.view.zoom });
    store.update(next);
  });

  // First view: the context layers, then the subject's matches.
  renderTexts();
  find.build();
  stats.render();
  area.render();
  layersPanel.render();
  showTab();
  await data.loadContext(store.state.subject);
  find.build(); // choices from the layers just loaded (parks, zones)
  match.build();
  if (store.state.requirement) await match.refresh();
  if (opened && match.answer) {
    match.showAnswer();
    fitTo(await shortlisted(store.state.shortlist).catch(() => []));
  }
  applyVisibility();
  applyBasemap();
  await refresh();
  if (store.state.selected) openSelected();
  setBusy(-1);
  map.once('idle', () => { document.body.dataset.ready = 'true'; });
  map.triggerRepaint();
}

main().catch((e) => { showError(e); setBusy(-1); });
