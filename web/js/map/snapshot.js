// Pictures of the map for the printed dossier: an overview of E-Town with the shortlisted
// carriers, and one close view per carrier, drawn by a map of their own (see `dossierMaps`).
// They show only the shortlist coloured and no label at all (labels shrunk into a picture print
// at 3 pt); the dossier writes the carriers' numbers over the picture as text instead, at a size
// that reads on paper, from the positions recorded here, with a scale bar measured at the
// picture's centre.

/** Metres per CSS pixel at `lat` and `zoom` (MapLibre's 512-pixel tiles). */
export function metresPerPixel(lat, zoom) {
  return (40075016.686 * Math.cos((lat * Math.PI) / 180)) / (512 * 2 ** zoom);
}

/** A scale bar at most `maxPx` wide: a round distance (1, 2 or 5 × 10ⁿ m) and its width in px. */
export function scaleBar(mpp, maxPx) {
  const max = mpp * maxPx;
  const pow = 10 ** Math.floor(Math.log10(max));
  const metres = [5, 2, 1].map((k) => k * pow).find((m) => m <= max) || pow;
  return { metres, px: metres / mpp, label: metres >= 1000 ? `${metres / 1000} km` : `${metres} m` };
}

const walk = (c, fn) => (typeof c[0] === 'number' ? fn(c) : c.forEach((x) => walk(x, fn)));

function boundsOf(geometries) {
  let w = Infinity; let s = Infinity; let e = -Infinity; let n = -Infinity;
  for (const g of geometries) walk(g.coordinates, ([x, y]) => { w = Math.min(w, x); e = Math.max(e, x); s = Math.min(s, y); n = Math.max(n, y); });
  return Number.isFinite(w) ? [[w, s], [e, n]] : null;
}

const centreOf = (g) => {
  const b = boundsOf([g]);
  return b ? [(b[0][0] + b[1][0]) / 2, (b[0][1] + b[1][1]) / 2] : null;
};

/** Pixels between two numbers' centres: a number is about 20 px wide where it prints. */
const MARKER_PX = 26;

/**
 * Moves numbers that would cover one another (carriers side by side) apart, to the right and
 * then down, in shortlist order, so each stays readable near its carrier.
 */
export function spread(markers) {
  const placed = [];
  for (const m of markers) {
    const p = { ...m };
    const clash = () => placed.some((q) => Math.abs(q.x - p.x) < MARKER_PX && Math.abs(q.y - p.y) < MARKER_PX);
    for (let step = 0; clash() && step < 12; step++) {
      if (step % 3 === 2) { p.x = m.x; p.y += MARKER_PX; } else p.x += MARKER_PX;
    }
    placed.push(p);
  }
  return placed;
}

/** Moves the camera to `bounds`, waits for the tiles, and reads the canvas (kept between frames). */
async function picture(map, bounds, maxZoom, points) {
  map.fitBounds(bounds, { padding: 50, maxZoom, duration: 0 });
  await new Promise((resolve) => { map.once('idle', resolve); map.triggerRepaint(); });
  const canvas = map.getCanvas();
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  const image = canvas.toDataURL('image/png');
  const markers = spread(points.map(({ n, at }) => ({ n, ...map.project(at) })))
    .map(({ n, x, y }) => ({ n, x: (100 * x) / width, y: (100 * y) / height }))
    .filter((m) => m.x >= 0 && m.x <= 100 && m.y >= 0 && m.y <= 100);
  const bar = scaleBar(metresPerPixel(map.getCenter().lat, map.getZoom()), width / 4);
  return { image, markers, scale: { label: bar.label, widthPct: (100 * bar.px) / width }, aspect: width / height };
}

/** How long the dossier's map may take to load its style. */
const LOAD_TIMEOUT_MS = 30000;

/** Size, in CSS pixels, of every dossier picture: the same on a phone as on a desktop. */
export const PICTURE = { width: 960, height: 640, pixelRatio: 2 };

/**
 * The style of `map` for a picture: its sources and shapes as they are now, without labels,
 * the selection, or the drawing tool's layers; only the shortlist (`ids`) of `layerId`
 * coloured, the rest of that layer grey.
 */
export function pictureStyle(style, layerId, ids, colours) {
  const out = structuredClone(style);
  out.layers = out.layers.filter((l) => l.type !== 'symbol' && !l.id.startsWith('selection') && !l.id.startsWith('td-'));
  for (const l of out.layers) {
    if (l.id === `${layerId}-fill`) {
      l.paint = { ...l.paint, 'fill-color': ['case', ['in', ['to-string', ['get', 'fid']], ['literal', ids]], colours.shortlisted, colours.other], 'fill-opacity': 0.75 };
    }
  }
  return out;
}

/**
 * The dossier's pictures: `{ overview, carriers: [one per feature] }`, drawn by a second map of
 * a fixed size, off screen, made from the page map's style: the page's own map does not move,
 * and a dossier made on a phone prints as one made on a desktop. `overviewBounds`: the extent
 * of E-Town ([w, s, e, n]).
 */
export async function dossierMaps({ map, maplibregl, features, display, layerId, overviewBounds, colours }) {
  const shown = features.map((f, i) => ({ n: i + 1, geometry: f.geometry ? display(f).geometry : null, id: String(f.id) }));
  const points = shown.filter((s) => s.geometry).map((s) => ({ n: s.n, at: centreOf(s.geometry) }));
  const container = document.createElement('div');
  container.setAttribute('aria-hidden', 'true');
  container.style.cssText = `position:fixed;left:-${PICTURE.width + 100}px;top:0;width:${PICTURE.width}px;height:${PICTURE.height}px;`;
  document.body.append(container);
  const off = new maplibregl.Map({
    container,
    style: pictureStyle(map.getStyle(), layerId, shown.map((s) => s.id), colours),
    interactive: false,
    attributionControl: false,
    preserveDrawingBuffer: true,
    fadeDuration: 0,
    pixelRatio: PICTURE.pixelRatio,
    center: map.getCenter(),
    zoom: map.getZoom(),
  });
  try {
    // A tile that fails (a basemap out of reach) is left blank, as on screen; a style that never
    // loads is an error after a while, not a dossier that never opens.
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the dossier map did not load')), LOAD_TIMEOUT_MS);
      off.once('load', () => { clearTimeout(timer); resolve(); });
    });
    const all = boundsOf(shown.filter((s) => s.geometry).map((s) => s.geometry));
    let extent = all;
    if (overviewBounds) {
      const [w, s, e, n] = overviewBounds;
      const b = boundsOf([display({ type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: [[w, s], [e, n]] } }).geometry]);
      extent = all ? [[Math.min(b[0][0], all[0][0]), Math.min(b[0][1], all[0][1])], [Math.max(b[1][0], all[1][0]), Math.max(b[1][1], all[1][1])]] : b;
    }
    const overview = extent ? await picture(off, extent, 14, points) : null;
    const carriers = [];
    for (const s of shown) {
      carriers.push(s.geometry ? await picture(off, boundsOf([s.geometry]), 15, points.filter((p) => p.n === s.n)) : null);
    }
    return { overview, carriers };
  } finally {
    off.remove();
    container.remove();
  }
}
