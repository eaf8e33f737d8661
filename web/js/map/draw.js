// One terra-draw on the map, shared by what draws on it: the planner's area (a polygon or a
// rectangle) and the editor's outlines (a carrier's outline reshaped or moved in select mode, or
// a new carrier drawn). Only one of them draws at a time; starting one ends the other.
import { TerraDraw, TerraDrawPolygonMode, TerraDrawRectangleMode, TerraDrawSelectMode } from '/vendor/terra-draw/terra-draw.module.js';
import { TerraDrawMapLibreGLAdapter } from '/vendor/terra-draw/terra-draw-maplibre-gl-adapter.module.js';

/** Decimal places kept of a drawn position (about 1 cm; terra-draw refuses more than 9). */
const PLACES = 7;

const rounded = (ring) => ring.map(([x, y]) => [Number(x.toFixed(PLACES)), Number(y.toFixed(PLACES))]);

export class Drawing {
  constructor({ map, maplibregl }) {
    this.draw = new TerraDraw({
      adapter: new TerraDrawMapLibreGLAdapter({ map, lib: maplibregl }),
      modes: [
        new TerraDrawPolygonMode(),
        new TerraDrawRectangleMode(),
        new TerraDrawSelectMode({
          flags: { polygon: { feature: { draggable: true, coordinates: { midpoints: true, draggable: true, deletable: true } } } },
        }),
      ],
    });
    this.draw.start();
    this.finishedAt = 0;
    this.onFinish = null;
    this.owner = null;
    this.listeners = [];
    this.draw.on('finish', (id) => {
      // Reshaping a selected outline finishes too; only a new shape ends the drawing.
      if (this.draw.getMode() === 'select') return;
      const f = this.draw.getSnapshot().find((x) => x.id === id);
      if (!f || f.geometry.type !== 'Polygon') return;
      this.finishedAt = Date.now();
      const done = this.onFinish;
      this.reset();
      done?.(f.geometry);
    });
  }

  /** Whether the map's clicks belong to drawing (while drawing or editing, and just after). */
  active() {
    return this.draw.getMode() !== 'static' || Date.now() - this.finishedAt < 400;
  }

  mode() {
    return this.draw.getMode();
  }

  /** Who draws now ('area', 'outline', 'new'), or null. */
  get by() {
    return this.owner;
  }

  /** Told when the drawing ends or changes hands. */
  onChange(fn) {
    this.listeners.push(fn);
  }

  /** Draws a new shape in `mode` ('polygon' or 'rectangle') for `owner`; `onFinish(polygon)`. */
  start(mode, owner, onFinish) {
    this.reset();
    this.owner = owner;
    this.onFinish = onFinish;
    this.draw.setMode(mode);
    this.listeners.forEach((fn) => fn());
  }

  /**
   * Puts `polygon` (in the map's coordinates) on the map to reshape and move, for `owner`;
   * returns a function that gives it as it is now.
   */
  edit(polygon, owner) {
    this.reset();
    const geometry = { type: 'Polygon', coordinates: polygon.coordinates.map(rounded) };
    const [added] = this.draw.addFeatures([{ type: 'Feature', geometry, properties: { mode: 'polygon' } }]);
    if (!added?.valid) throw new Error(added?.reason || 'the outline cannot be edited on the map');
    this.owner = owner;
    this.draw.setMode('select');
    this.draw.selectFeature(added.id);
    this.listeners.forEach((fn) => fn());
    return () => this.draw.getSnapshot().find((x) => x.id === added.id)?.geometry || null;
  }

  /** Ends any drawing and removes what was drawn. */
  reset() {
    this.draw.clear();
    this.draw.setMode('static');
    const had = this.owner;
    this.owner = null;
    this.onFinish = null;
    if (had) this.listeners.forEach((fn) => fn());
  }
}
