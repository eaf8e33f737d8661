// The planner's export: the drawn area's features from each chosen layer, through the server
// (POST /export), with the find filter on the subject layer when asked, so the file holds what
// the map shows.
import * as api from '../api.js';
import { toCql } from '../core/filters.js';
import { saveFile, busyWhile } from './chrome.js';

export function areaExporter({ store, query }) {
  return async ({ layers, format, clip, filtered }) => {
    if (!store.state.area || layers.length === 0) return null;
    const own = toCql(query.subject().fields, store.state.filters, null);
    const body = { layers, area: store.state.area, clip, f: format };
    if (filtered && own && layers.includes(store.state.subject)) body.filters = { [store.state.subject]: own };
    return busyWhile(async () => {
      const { blob, name } = await api.exportArea(body);
      saveFile(blob, name);
      // What was saved, said: the features counted where the format is read here (GeoJSON).
      const count = format === 'geojson' ? JSON.parse(await blob.text()).features.length : null;
      return { count, name, bytes: blob.size };
    });
  };
}
