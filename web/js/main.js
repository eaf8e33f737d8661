// Wiring only: reads the data's description from the API, builds the map, its controls and the
// panels, and connects them through the store. Each piece lives in its own module and keeps
// itself current (panels redraw themselves for a new language or the state they show); none of
// them knows the shipped data's field names: they come from the API (see core/catalog.js), and
// derived fields by their role.
import * as maplibregl from '/vendor/maplibre-gl/maplibre-gl.mjs';
import * as api from './api.js';
import { t, local, setLanguage, browserLanguage, language, onLanguageChange, translatePage } from './i18n/index.js';
import { Store } from './core/store.js';
import { fromHash } from './core/permalink.js';
import { featureName } from './core/catalog.js';
import { isActive } from './core/filters.js';
import { Values } from './core/values.js';
import { Session } from './core/session.js';
import * as format from './core/format.js';
import { DataLayers } from './map/data.js';
import { Interaction } from './map/interaction.js';
import { LegendControl, InfoControl, ThinnedControl } from './map/controls.js';
import { FindPanel } from './panels/find.js';
import { StatsPanel } from './panels/stats.js';
import { AreaPanel } from './panels/area.js';
import { Drawing } from './map/draw.js';
import { AddFeature } from './panels/add.js';
import { Team } from './panels/team.js';
import { finishSignIn } from './core/sso.js';
import { LayersPanel } from './panels/layers.js';
import { DetailsPanel } from './panels/details.js';
import { SearchBox } from './panels/search.js';
import { SignIn } from './panels/signin.js';
import { SheetUpdate } from './panels/changesets.js';
import { MatchPanel } from './panels/match.js';
import { showError, setBusy, renderStatus } from './app/chrome.js';
import { openShared, loadDescription } from './app/load.js';
import { Datum } from './app/datum.js';
import { createMap, addMapLibreControls } from './app/map-setup.js';
import { SubjectQuery } from './app/query.js';
import { Results } from './app/results.js';
import { Selection } from './app/selection.js';
import { Handover } from './app/handover.js';
import { AnswerOnMap } from './app/answer-map.js';
import { areaExporter } from './app/area-export.js';
import { whatsHere } from './app/whats-here.js';
import { tabs } from './app/tabs.js';
import { timeControls } from './app/history.js';

const store = new Store(fromHash(location.hash));
setLanguage(store.state.lang || browserLanguage());

async function main() {
  setBusy(1);
  const opened = await openShared(store);
  const { config, catalog, vocabularies } = await loadDescription();
  if (!catalog.layers.some((l) => l.id === store.state.subject)) store.state.subject = catalog.subject;
  const basemaps = config.basemaps || [];
  const datum = new Datum(store, basemaps);
  const layerOf = (id) => catalog.layers.find((l) => l.id === id);

  const { map, bounds } = await createMap({ maplibregl, store, catalog, basemaps, subject: layerOf(store.state.subject) });
  window.__atlas = { map, store, catalog };
  const data = new DataLayers(map, catalog, vocabularies, { display: datum.display });
  window.__atlas.data = data;
  await data.add(language());
  const query = new SubjectQuery({ store, catalog, vocabularies, data });
  const { subject } = query;

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
  addMapLibreControls(map, maplibregl);
  map.addControl(new maplibregl.AttributionControl({ compact: true }), 'bottom-right');
  map.addControl(legend, 'bottom-left');
  map.addControl(info, 'bottom-left');
  map.addControl(thinned, 'top-left');

  // Panels. Actions that need several of them are filled in below, once all exist.
  const { choicesOf, sortFields, cql, sortby } = query;
  const session = new Session();
  let results = null;
  const editing = config.editing ? {
    session,
    vocabularies,
    choicesOf,
    onError: showError,
    onEdited: async (layer) => {
      try {
        await data.invalidate(layer.id, store.state.subject);
        if (layer.id === store.state.subject) await results.refresh();
      } catch (e) {
        showError(e);
      }
    },
  } : null;
  const details = new DetailsPanel({ catalog, values, editing, contact: config.contact, staleAfterDays: config.staleAfterDays ?? 90, onClose: () => store.update({ selected: null }) });
  if (editing) {
    const sso = (await api.signInConfig().catch(() => ({ oidc: null }))).oidc;
    const signIn = new SignIn({ session, sso });
    // Back from the identity server: the code becomes this tab's token.
    finishSignIn(sso).then((token) => token && session.signIn(token)).catch(showError);
    document.getElementById('lang').before(signIn.element);
    session.onChange(() => { signIn.render(); details.render(); details.loadChangedBy(); });
    onLanguageChange(() => signIn.render());
    const sheet = new SheetUpdate({
      session,
      layer: () => catalog.layers.find((l) => l.id === store.state.subject),
      filter: () => query.cql(),
      onApplied: (layer) => editing.onEdited(layer),
      onError: showError,
    });
    signIn.element.before(sheet.element);
    const team = new Team({ session, layers: catalog.layers, onError: showError });
    sheet.element.before(team.element);
    store.on(['subject'], () => sheet.render());
  }
  const selection = new Selection({ store, query, data, details, map, maplibregl, display: datum.display });
  const { openAndFly } = selection;
  const find = new FindPanel({
    store, catalog, values, choicesOf, sortFields,
    onPickRow: (f) => openAndFly(store.state.subject, String(f.id)),
    onZoom: () => results.zoomToResults(),
    csvHref: () => api.csvLink(store.state.subject, cql(), sortby()),
    staleAfterDays: config.editing ? config.staleAfterDays ?? 90 : null,
  });
  const answerOnMap = new AnswerOnMap({ store, data, legend });
  let match = null;
  const handover = new Handover({ store, query, values, catalog, config, map, maplibregl, display: datum.display, overviewBounds: bounds, answer: () => match.answer, isVisible });
  find.onPeople = handover.people;
  match = new MatchPanel({
    store, catalog, values, choicesOf,
    run: (req) => api.matchRequirement(store.state.subject, req),
    onPick: (c, id) => openAndFly(c, id),
    onAnswer: answerOnMap.show,
    onCompare: handover.compare,
    onFile: handover.file,
    onDossier: (ids) => handover.dossier(ids, () => match.element.querySelector('#dossier-open')?.focus()),
    onLink: handover.link,
    findFilters: () => subject().fields.filter((f) => isActive(f, store.state.filters[f.name])).length + (store.state.area ? 1 : 0),
    onClearFind: () => store.update({ filters: {}, area: null }),
    onError: showError,
  });
  const stats = new StatsPanel({ store, catalog, values, onGroupBy: (g) => store.update({ groupBy: g }) });
  const drawing = new Drawing({ map, maplibregl });
  if (editing) {
    Object.assign(editing, {
      drawing,
      display: datum.display,
      toWgs84: datum.toWgs84,
      // An outline being reshaped is fitted into the part of the map the details leave free.
      reveal: (polygon) => {
        const ring = polygon.coordinates[0];
        const xs = ring.map((p) => p[0]);
        const ys = ring.map((p) => p[1]);
        const panel = details.element.getBoundingClientRect();
        const canvas = map.getCanvas().getBoundingClientRect();
        const covered = panel.width && panel.right < canvas.right - 200 ? Math.max(0, panel.right - canvas.left) : 0;
        map.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], {
          padding: { left: covered + 60, right: 60, top: 60, bottom: 60 }, maxZoom: 18, duration: 0,
        });
      },
      onCreated: async (layer, feature) => {
        await editing.onEdited(layer);
        store.update({ selected: { collection: layer.id, id: String(feature.id) } });
      },
    });
    const adder = new AddFeature({
      session,
      drawing,
      layer: () => catalog.layers.find((l) => l.id === store.state.subject),
      onDrawn: (layer, polygon) => details.openNew(layer, datum.toWgs84(polygon)),
    });
    document.querySelector('.sheet-update')?.before(adder.element);
    store.on(['subject'], () => adder.render());
  }
  const area = new AreaPanel({ drawing, store, catalog, toWgs84: datum.toWgs84, exportArea: areaExporter({ store, query }) });
  const layersPanel = new LayersPanel({ store, catalog, basemaps });
  const search = new SearchBox({ search: (q) => api.searchNames(q), catalog, nameOf, onPick: (c, id) => openAndFly(c, id), onError: showError });
  document.getElementById('search-slot').append(search.element);
  document.getElementById('map').after(details.element);
  // The statistics tab holds the statistics and, below them, the Over-time section.
  const statsTab = { element: document.createElement('div') };
  statsTab.element.append(stats.element);
  const sections = { find, layers: layersPanel, match, stats: statsTab, area };
  document.getElementById('panel-body').append(...Object.values(sections).map((s) => s.element));
  const showTab = tabs(store, sections);
  results = new Results({ store, query, data, map, maplibregl, display: datum.display, find, stats, area, thinned });
  statsTab.element.append(timeControls({ store, catalog, data, map, query, results, find, stats, values, session }).element);

  const areaRole = (layer) => layer.fields.find((f) => f.role === 'area');
  const interaction = new Interaction(map, data, catalog, {
    subject: store.state.subject,
    isBlocked: () => area.drawing(),
    onPick: (collection, id) => store.update({ selected: { collection, id } }),
    onNothing: () => store.update({ selected: null }),
    describe: (layer, props, id) => {
      const lang = language();
      const lines = [featureName(layer, props, id, lang)];
      if (layer.zone) {
        const measured = areaRole(layer) && props[areaRole(layer).name];
        const km2 = typeof props.official_area_km2 === 'number' ? props.official_area_km2 : typeof measured === 'number' ? measured / 1e6 : null;
        if (km2 !== null) lines.push(format.squareKilometres(km2, lang));
      } else {
        const f = layer.fields.find((x) => x.list && props[x.name] !== undefined && props[x.name] !== null);
        if (f) lines.push(`${local(f.title, f.name)}${t('colon')}${values.format(f, props[f.name], lang)}`);
      }
      return lines;
    },
  });
  whatsHere({ map, maplibregl, store, layerOf, toWgs84: datum.toWgs84 });

  // Layers, basemap, language.
  function applyVisibility() {
    for (const l of catalog.layers) data.setVisible(l.id, isVisible(l.id));
    legend.render();
    info.render();
  }
  function renderTexts() {
    translatePage();
    document.title = t('title');
    document.getElementById('map').setAttribute('aria-label', t('mapLabel', { title: t('appName') }));
    renderStatus();
  }

  // A new filter zooms to its results; a drawn area keeps the view it was drawn in.
  store.on(['filters', 'area'], (s, changed) => { find.sync(); match.renderResults(); results.refresh({ zoom: !s.requirement && !changed.includes('area') }); });
  store.on(['area'], (s) => data.setArea(s.area));
  store.on(['sort'], () => results.refresh());
  store.on(['subject'], (s) => {
    interaction.subject = s.subject;
    legend.setSubject(s.subject);
    find.build();
    match.clear(); // a requirement names one layer's properties
    Promise.all(catalog.layers.filter((l) => l.mode !== 'tiles' && l.id !== s.subject && !data.features[l.id]).map((l) => data.setFeatures(l.id, null))).catch(showError);
    results.refresh({ zoom: true });
  });
  store.on(['groupBy'], () => results.refreshStats());
  store.on(['hidden'], () => applyVisibility());
  store.on(['basemap'], () => datum.apply(map, data));
  store.on(['lang'], (s) => setLanguage(s.lang));
  onLanguageChange((lang) => {
    renderTexts();
    data.setLanguage(lang);
    if (store.state.sort === null || /^name/.test(store.state.sort?.field || '')) results.refresh();
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
    results.fitTo(await handover.shortlisted(store.state.shortlist).catch(() => []));
  }
  applyVisibility();
  datum.apply(map, data);
  await results.refresh();
  if (store.state.selected) selection.open();
  setBusy(-1);
  map.once('idle', () => { document.body.dataset.ready = 'true'; });
  map.triggerRepaint();
}

main().catch((e) => { showError(e); setBusy(-1); });
