// What's here: a right-click, or a long press on a touch screen, lists every feature of every
// layer at that point; picking one opens its details.
import * as api from '../api.js';
import { t, local, language } from '../i18n/index.js';
import { featureName } from '../core/catalog.js';
import { h } from '../dom.js';
import { showError } from './chrome.js';

export function whatsHere({ map, maplibregl, store, layerOf, toWgs84 }) {
  let popup = null;
  async function at(lngLat) {
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
  map.on('contextmenu', (e) => { e.preventDefault(); at(e.lngLat); });
  let pressTimer = null;
  map.on('touchstart', (e) => { if (e.points && e.points.length === 1) pressTimer = setTimeout(() => at(e.lngLat), 600); });
  ['touchend', 'touchmove', 'touchcancel'].forEach((ev) => map.on(ev, () => clearTimeout(pressTimer)));
}
