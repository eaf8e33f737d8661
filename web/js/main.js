// Wiring only: reads the state (and the permalink), builds the map and the panels, and connects
// them to the public API. Each piece lives in its own module.
import * as maplibregl from '/vendor/maplibre-gl/maplibre-gl.mjs';
import * as api from './api.js';
import { t, setLanguage, browserLanguage, language, onLanguageChange, translatePage } from './i18n/index.js';
import { state, update, subscribe, fromHash, isWritingHash } from './state.js';
import { buildFilter } from './cql.js';
import { wgs84ToGcj02, gcj02ToWgs84, mapPositions } from './gcj02.js';
import { baseStyle, build, styleLayerIds } from './map/style.js';
import { Labels } from './map/labels.js';
import { ZONE_IDS } from './map/layers/zones.js';
import { h, featureName } from './controls/dom.js';
import { LayersPanel } from './controls/layers.js';
import { FindPanel } from './controls/find.js';
import { StatsPanel } from './controls/stats.js';
import { AreaPanel } from './controls/area.js';
import { DetailsPanel } from './controls/details.js';
import { SearchBox } from './controls/search.js';

const CARRIERS = 'spatial-carriers';
const SORTS = { available_desc: () => '-available_floor_area_m2,name_en', name: () => (language() === 'zh' ? 'name_zh' : 'name_en'), delivery: () => 'delivery_date,name_en' };

Object.assign(state, fromHash(location.hash));
setLanguage(state.lang || browserLanguage());

const statusEl = document.getElementById('status');
const errorEl = document.getElementById('error');

/** Server errors become a readable message, never a silent failure. */
function showError(e) {
  errorEl.replaceChildren(h('span', {}, t('error', { message: e.message })), h('button', { type: 'button', onclick: () => { errorEl.hidden = true; } }, t('dismiss')));
  errorEl.hidden = false;
  console.warn('etown-atlas:', e);
}

function setBusy(busy) {
  document.body.setAttribute('aria-busy', String(busy));
  statusEl.textContent = busy ? t('loading') : t('ready');
}

// --- data in WGS84, shown in the basemap's datum ---------------------------------------------
const data = {}; // collection id -> FeatureCollection (WGS84), carriers = the current result
let basemaps = [];
const datum = () => (basemaps.find((b) => b.id === state.basemap) || {}).datum || 'wgs84';
const display = (geojson) => (datum() === 'gcj02' ? mapPositions(geojson, wgs84ToGcj02) : geojson);
const toWgs84 = (geojson) => (datum() === 'gcj02' ? mapPositions(geojson, gcj02ToWgs84) : geojson);
const withFid = (fc) => ({ ...fc, features: fc.features.map((f) => ({ ...f, properties: { ...f.properties, fid: f.id } })) });

async function main() {
  setBusy(true);
  const [config, collections, industries, clusters, buildingTypes, statuses] = await Promise.all([
    api.getMapConfig(), api.getCollections(), api.getVocabulary('industries'),
    api.getVocabulary('clusters'), api.getVocabulary('building-types'), api.getVocabulary('statuses'),
  ]);
  basemaps = config.basemaps || [];
  const vocabularies = { industries, clusters, buildingTypes, statuses };
  const byId = Object.fromEntries(collections.map((c) => [c.id, c]));
  const titleOf = (id) => {
    const zone = byId[id];
    if (zone) return (zone.titles && zone.titles[language()]) || zone.title;
    const park = (data.parks?.features || []).find((f) => f.id === id);
    return park ? featureName(park, language()) : id;
  };

  const map = new maplibregl.Map({
    container: 'map',
    style: baseStyle(basemaps),
    center: state.view ? state.view.center : [116.56, 39.78],
    zoom: state.view ? state.view.zoom : 11,
    attributionControl: false,
    dragRotate: false,
  });
  window.__atlas = { map, state };
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl(), 'bottom-right');
  map.addControl(new maplibregl.AttributionControl({ compact: true }), 'bottom-right');
  await new Promise((resolve) => map.on('load', resolve));

  const ids = build(map, collections.map((c) => c.id), industries);
  map.addSource('area', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({ id: 'area-line', type: 'line', source: 'area', paint: { 'line-color': '#e67e22', 'line-width': 2.5, 'line-dasharray': [2, 1] } });
  const labels = new Labels(map);

  // Panels.
  const zoneChoices = [...ZONE_IDS.filter((z) => z !== 'new-town' && byId[z]).map((z) => ({ id: z, title: byId[z].titles || { en: byId[z].title, zh: byId[z].title } }))];
  const details = new DetailsPanel({ vocabularies, titleOf, onClose: () => select(null) });
  const pick = (f) => { flyTo(f); openFeature(f.collection || CARRIERS, f.id); };
  const layersPanel = new LayersPanel({ collections: ids.map((id) => byId[id]), industries, basemaps });
  const findPanel = new FindPanel({ vocabularies, zoneChoices, onPick: pick });
  const statsPanel = new StatsPanel({ industries });
  const areaPanel = new AreaPanel({ map, maplibregl, collections: ids.map((id) => byId[id]), toWgs84, exportArea });
  const search = new SearchBox({ search: (q) => api.searchNames(q), onPick: pick, onError: showError });
  document.getElementById('search-slot').append(search.element);
  document.body.append(details.element);
  const sections = { layers: layersPanel, find: findPanel, stats: statsPanel, area: areaPanel };
  const panelBody = document.getElementById('panel-body');
  panelBody.append(...Object.values(sections).map((s) => s.element));

  function showTab() {
    for (const [name, s] of Object.entries(sections)) s.element.hidden = name !== state.tab;
    document.querySelectorAll('[role=tab]').forEach((b) => {
      const on = b.dataset.tab === state.tab;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
    });
  }
  document.querySelectorAll('[role=tab]').forEach((b) => b.addEventListener('click', () => update({ tab: b.dataset.tab })));
  document.getElementById('tabs').addEventListener('keydown', (e) => {
    const tabs = [...document.querySelectorAll('[role=tab]')];
    const i = tabs.findIndex((b) => b.dataset.tab === state.tab);
    const next = e.key === 'ArrowRight' ? tabs[(i + 1) % tabs.length] : e.key === 'ArrowLeft' ? tabs[(i + tabs.length - 1) % tabs.length] : null;
    if (next) { update({ tab: next.dataset.tab }); next.focus(); }
  });

  // Attribution line, bottom-left: the schematic notice, the review number, the attribution.
  const info = document.getElementById('info');
  function renderInfo() {
    const parts = [t('schematicNotice')];
    if (config.reviewNumber) parts.push(t('reviewNumber', { number: config.reviewNumber }));
    if (config.attribution) parts.push(config.attribution);
    info.textContent = parts.join(' · ');
  }

  // Map content.
  function setSource(id) {
    if (!data[id]) return;
    map.getSource(id).setData(display(withFid(data[id])));
  }
  function setArea() {
    map.getSource('area').setData(state.area ? display({ type: 'Feature', geometry: state.area, properties: {} }) : { type: 'FeatureCollection', features: [] });
  }
  function setLabels() {
    const lang = language();
    if (data.parks) labels.set('parks', display(data.parks).features, (f) => featureName(f, lang), { minZoom: 11, className: 'park-label' });
    if (data[CARRIERS]) labels.set(CARRIERS, display(data[CARRIERS]).features, (f) => featureName(f, lang), { minZoom: 13.5, className: 'carrier-label' });
    labels.show('parks', !state.hidden.includes('parks'));
    labels.show(CARRIERS, !state.hidden.includes(CARRIERS));
  }
  function applyVisibility() {
    for (const id of ids) {
      const v = state.hidden.includes(id) ? 'none' : 'visible';
      styleLayerIds(map, id).forEach((l) => map.setLayoutProperty(l, 'visibility', v));
    }
    labels.show('parks', !state.hidden.includes('parks'));
    labels.show(CARRIERS, !state.hidden.includes(CARRIERS));
  }
  function applyBasemap() {
    for (const b of basemaps) map.setLayoutProperty(`basemap-${b.id}`, 'visibility', b.id === state.basemap ? 'visible' : 'none');
    ids.forEach(setSource);
    setArea();
    setLabels();
  }

  // Hover, click, selection.
  const fills = ids.map((id) => `${id}-fill`);
  let hovered = null;
  let selected = null;
  function setHover(f) {
    if (hovered) map.setFeatureState(hovered, { hover: false });
    hovered = f ? { source: f.source, id: f.id } : null;
    if (hovered) map.setFeatureState(hovered, { hover: true });
    map.getCanvas().style.cursor = f ? 'pointer' : '';
  }
  function select(target) {
    if (selected) map.setFeatureState(selected, { selected: false });
    selected = target;
    if (selected) map.setFeatureState(selected, { selected: true });
  }
  function openFeature(collection, id) {
    const f = (data[collection]?.features || []).find((x) => x.id === id);
    if (!f) return;
    select({ source: collection, id });
    details.open(f);
  }
  map.on('mousemove', (e) => {
    const top = map.queryRenderedFeatures(e.point, { layers: fills.filter((l) => map.getLayer(l)) })[0];
    setHover(top || null);
  });
  map.on('mouseout', () => setHover(null));
  map.on('click', (e) => {
    if (drawing()) return;
    const top = map.queryRenderedFeatures(e.point, { layers: fills })[0];
    if (top) openFeature(top.source, top.id);
  });
  const drawing = () => areaPanel.draw.getMode() !== 'static';

  function flyTo(f) {
    const g = display(f).geometry;
    const b = new maplibregl.LngLatBounds();
    const walk = (c) => (typeof c[0] === 'number' ? b.extend(c) : c.forEach(walk));
    walk(g.coordinates);
    map.fitBounds(b, { padding: 80, maxZoom: 16, duration: 600 });
  }

  // What's here: right-click, or a long press on touch screens.
  let popup = null;
  async function whatsHere(lngLat) {
    const [lon, lat] = toWgs84({ type: 'Point', coordinates: [lngLat.lng, lngLat.lat] }).coordinates;
    try {
      const r = await api.whatsHere(lon.toFixed(6), lat.toFixed(6), 0);
      const lang = language();
      const list = r.features.length
        ? h('ul', { class: 'whats-here' }, r.features.map((f) => h('li', {}, h('button', { type: 'button', onclick: () => { popup?.remove(); openFeature(f.collection, f.id); } },
          h('span', { class: 'muted' }, `${titleOf(f.collection)}: `), featureName(f, lang)))))
        : h('p', {}, t('whatsHereNone'));
      popup?.remove();
      popup = new maplibregl.Popup({ closeButton: true, maxWidth: '320px' }).setLngLat(lngLat).setDOMContent(h('div', { id: 'whats-here' }, h('h3', {}, t('whatsHere')), list)).addTo(map);
    } catch (e) { showError(e); }
  }
  map.on('contextmenu', (e) => { e.preventDefault(); whatsHere(e.lngLat); });
  let pressTimer = null;
  map.on('touchstart', (e) => { if (e.points && e.points.length === 1) pressTimer = setTimeout(() => whatsHere(e.lngLat), 600); });
  ['touchend', 'touchmove', 'touchcancel'].forEach((ev) => map.on(ev, () => clearTimeout(pressTimer)));

  // Export: the drawn area's features from each chosen layer, through the server (POST /export).
  async function exportArea({ layers, format, clip }) {
    if (!state.area) return null;
    try {
      setBusy(true);
      const { blob, name } = await api.exportArea({ layers, area: state.area, clip, f: format });
      const a = h('a', { href: URL.createObjectURL(blob), download: name });
      document.body.append(a);
      a.click();
      a.remove();
      if (format !== 'geojson') return null;
      return JSON.parse(await blob.text()).features.length;
    } catch (e) {
      showError(e);
      return null;
    } finally {
      setBusy(false);
    }
  }

  // The query: one CQL2 request updates the map and the list together; statistics follow.
  let generation = 0;
  async function refresh() {
    const mine = ++generation;
    const filter = buildFilter(state.filters, state.area);
    findPanel.setLoading(true);
    setBusy(true);
    try {
      const result = await api.searchItems(CARRIERS, { filter, sortby: SORTS[state.sort] ? SORTS[state.sort]() : SORTS.available_desc() });
      if (mine !== generation) return;
      data[CARRIERS] = result;
      setSource(CARRIERS);
      setLabels();
      findPanel.setResult(result);
      const stats = await api.getStats(CARRIERS, { filter, groupBy: 'industry' });
      if (mine !== generation) return;
      statsPanel.setStats(stats);
    } catch (e) {
      if (mine === generation) showError(e);
    } finally {
      if (mine === generation) {
        findPanel.setLoading(false);
        setBusy(false);
      }
    }
  }
  let refreshTimer = null;
  const scheduleRefresh = () => { clearTimeout(refreshTimer); refreshTimer = setTimeout(refresh, 150); };

  function renderAll() {
    translatePage();
    statusEl.textContent = document.body.getAttribute('aria-busy') === 'true' ? t('loading') : t('ready');
    renderInfo();
    Object.values(sections).forEach((s) => s.render());
    details.render();
    setLabels();
    document.title = t('title');
  }

  subscribe((s, patch) => {
    if ('filters' in patch || 'area' in patch || 'sort' in patch) scheduleRefresh();
    if ('filters' in patch || 'sort' in patch) findPanel.render();
    if ('area' in patch) { setArea(); areaPanel.render(); }
    if ('hidden' in patch) { applyVisibility(); layersPanel.render(); }
    if ('basemap' in patch) applyBasemap();
    if ('tab' in patch) showTab();
  });
  onLanguageChange(() => { renderAll(); if (state.sort === 'name') scheduleRefresh(); });
  document.getElementById('lang').addEventListener('click', () => {
    const lang = language() === 'zh' ? 'en' : 'zh';
    setLanguage(lang);
    update({ lang });
  });
  document.getElementById('panel-toggle').addEventListener('click', (e) => {
    const open = document.body.classList.toggle('panel-open');
    e.currentTarget.setAttribute('aria-expanded', String(open));
  });
  map.on('moveend', () => update({ view: { center: [map.getCenter().lng, map.getCenter().lat], zoom: map.getZoom() } }));
  window.addEventListener('hashchange', () => {
    if (isWritingHash()) return;
    const next = fromHash(location.hash);
    if (next.view) map.jumpTo({ center: next.view.center, zoom: next.view.zoom });
    update(next);
    if (next.lang && next.lang !== language()) setLanguage(next.lang);
  });

  // First load: every layer, then the query.
  renderAll();
  showTab();
  await Promise.all(ids.filter((id) => id !== CARRIERS).map(async (id) => {
    data[id] = await api.getAllItems(id);
    setSource(id);
  }));
  applyVisibility();
  applyBasemap();
  if (!state.view) {
    const b = byId['new-town']?.extent?.spatial?.bbox?.[0];
    if (b) map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 20, duration: 0 });
  }
  await refresh();
  renderAll();
  map.once('idle', () => { document.body.dataset.ready = 'true'; });
  map.triggerRepaint();
}

main().catch((e) => { showError(e); setBusy(false); });
