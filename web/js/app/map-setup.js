// The MapLibre map: where it opens (the shared view, else the main zone or the subject layer),
// and its own controls in the reader's language.
import { baseStyle } from '../map/style.js';
import { maplibreLocale, onLanguageChange } from '../i18n/index.js';

/** The map, loaded: `{ map, bounds }` (bounds: the overview the dossier draws too). */
export async function createMap({ maplibregl, store, catalog, basemaps, subject }) {
  const start = store.state.view;
  const bounds = (catalog.layers.find((l) => l.zone && l.bbox && l.count === 1 && !l.primary) || subject || {}).bbox;
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
  map.touchZoomRotate.disableRotation();
  await new Promise((resolve) => map.on('load', resolve));
  return { map, bounds };
}

/** Navigation and scale in the reader's language (MapLibre's English under the reader's). */
export function addMapLibreControls(map, maplibregl) {
  const englishUi = { ...map._locale };
  let nav = null;
  let scale = null;
  const add = () => {
    if (nav) map.removeControl(nav);
    if (scale) map.removeControl(scale);
    map._locale = { ...englishUi, ...maplibreLocale() };
    nav = new maplibregl.NavigationControl({ showCompass: false });
    scale = new maplibregl.ScaleControl();
    map.addControl(nav, 'top-right');
    map.addControl(scale, 'bottom-right');
  };
  add();
  onLanguageChange(add);
}
