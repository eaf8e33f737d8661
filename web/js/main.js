// Wiring only: builds the map, loads every collection from the API and draws it.
import * as maplibregl from '/vendor/maplibre-gl/maplibre-gl.mjs';
import { listCollections, allItems } from './api.js';
import { defaultLanguage, t } from './i18n.js';

const palette = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
let lang = defaultLanguage();

function applyLanguage() {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(lang, el.dataset.i18n); });
  document.getElementById('lang').textContent = t(lang, 'switchTo');
}

const map = new maplibregl.Map({
  container: 'map',
  // No basemap by default: the page asks no host but its own server.
  style: { version: 8, sources: {}, layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#eef2f4' } }] },
  center: [116.56, 39.79],
  zoom: 10.5,
  attributionControl: false,
});
map.addControl(new maplibregl.NavigationControl(), 'top-right');
map.addControl(new maplibregl.AttributionControl({ compact: false, customAttribution: t(lang, 'schematic') }), 'bottom-left');
window.__map = map;

function addCollection(c, data, color) {
  map.addSource(c.id, { type: 'geojson', data });
  map.addLayer({ id: `${c.id}-fill`, type: 'fill', source: c.id, filter: ['==', ['geometry-type'], 'Polygon'],
    paint: { 'fill-color': color, 'fill-opacity': 0.25 } });
  map.addLayer({ id: `${c.id}-line`, type: 'line', source: c.id, filter: ['!=', ['geometry-type'], 'Point'],
    paint: { 'line-color': color, 'line-width': 1.5 } });
  map.addLayer({ id: `${c.id}-point`, type: 'circle', source: c.id, filter: ['==', ['geometry-type'], 'Point'],
    paint: { 'circle-color': color, 'circle-radius': 4 } });
}

async function load() {
  const status = document.getElementById('status');
  try {
    const collections = await listCollections();
    const list = document.getElementById('layers');
    const bounds = new maplibregl.LngLatBounds();
    for (const [i, c] of collections.entries()) {
      const color = palette[i % palette.length];
      addCollection(c, await allItems(c.id), color);
      const bbox = c.extent && c.extent.spatial && c.extent.spatial.bbox[0];
      if (bbox) bounds.extend([[bbox[0], bbox[1]], [bbox[2], bbox[3]]]);
      const li = document.createElement('li');
      const title = (c.titles && c.titles[lang]) || c.title;
      li.innerHTML = `<span class="swatch" style="background:${color}"></span><span></span>`;
      li.lastChild.textContent = `${title} (${c.numberOfFeatures})`;
      list.appendChild(li);
    }
    if (!bounds.isEmpty()) map.fitBounds(bounds, { padding: 20, duration: 0 });
    status.textContent = t(lang, 'loaded', collections.length);
    document.body.dataset.ready = 'true';
  } catch (e) {
    status.textContent = t(lang, 'failed', e.message);
    status.className = 'error';
  }
}

document.getElementById('lang').addEventListener('click', () => {
  lang = lang === 'zh' ? 'en' : 'zh';
  applyLanguage();
});
applyLanguage();
map.on('load', load);
