// Availability over time in the app: the Over-time section's choices applied to the map, the
// list and the statistics (core of it in api.js's moment and panels/history.js), the monthly
// trend loaded with every refresh, and other people's edits followed live from the change
// stream while someone is signed in.
import * as api from '../api.js';
import { t, language } from '../i18n/index.js';
import { HistoryPanel, beijingToday, yearBefore } from '../panels/history.js';
import { showError, saveFile } from './chrome.js';

const OUTLINE = 'changed-since';

export function timeControls({ store, catalog, data, map, query, results, find, stats, values, session }) {
  // Says the map shows the past; a click goes back to now.
  const banner = document.createElement('button');
  banner.type = 'button';
  banner.className = 'past-banner';
  banner.id = 'past-banner';
  banner.hidden = true;
  document.getElementById('map').append(banner);
  let since = null;

  /** The subject's features edited since `since`, outlined on the map. */
  function outline() {
    if (map.getLayer(OUTLINE)) map.removeLayer(OUTLINE);
    const layer = query.subject();
    if (!since || !map.getSource(layer.id)) return;
    map.addLayer({
      id: OUTLINE, type: 'line', source: layer.id,
      ...(data.isTiled(layer) ? { 'source-layer': layer.id } : {}),
      filter: ['>=', ['to-string', ['get', 'updated_at']], since],
      paint: { 'line-color': '#c2255c', 'line-width': 3 },
    });
  }

  async function countChanged() {
    if (!since) return;
    const layer = query.subject();
    const edited = { op: '>=', args: [{ property: 'updated_at' }, { timestamp: since }] };
    const base = query.cql();
    const filter = base ? { op: 'and', args: [base, edited] } : edited;
    try {
      history.setChangedCount((await api.getStats(layer.id, { filter })).numberMatched);
    } catch (e) {
      showError(e);
    }
  }

  async function loadTrend() {
    const layer = query.subject();
    const today = beijingToday();
    try {
      history.setTrend(await api.getTrend(layer.id, { filter: query.cql(), groupBy: stats.groupBy(), from: yearBefore(today), to: today }));
    } catch (e) {
      showError(e);
    }
  }

  const history = new HistoryPanel({
    onMoment: async (moment) => {
      api.setMoment(moment);
      banner.hidden = !moment;
      banner.textContent = moment ? `${t('pastBanner', { day: moment.slice(0, 10) })} · ${t('historyNow')}` : '';
      // Every layer drawn from features reloads as of the moment; the subject with its filter.
      await Promise.all(catalog.layers.map((l) => data.invalidate(l.id, store.state.subject))).catch(showError);
      await results.refresh();
      store.update({ selected: null });
    },
    onSince: (iso) => {
      since = iso;
      find.changedSince = iso;
      history.setChangedCount(null);
      outline();
      countChanged();
      results.refresh();
    },
    canReport: () => Boolean(session.token),
    onReport: async (f) => {
      // The tab opens now, while the click still counts, and shows the report when it comes.
      const tab = f === 'html' ? window.open('', '_blank') : null;
      try {
        const blob = await api.weeklyReport(store.state.subject, f, session.token);
        if (tab) tab.location.href = URL.createObjectURL(blob);
        else saveFile(blob, `weekly-report-${store.state.subject}.csv`);
      } catch (e) {
        tab?.close();
        showError(e);
      }
    },
    onGroup: (name, key) => {
      const field = query.subject().fields.find((f) => f.name === name);
      return field ? values.item(field, key, language()) : String(key);
    },
  });
  results.onRefreshed(() => { loadTrend(); countChanged(); outline(); });

  // Others' edits, live: the subject's list, statistics and map follow (not while showing the past).
  let stop = null;
  let pending = null;
  const follow = () => {
    stop?.();
    stop = session.token ? api.followChanges(session.token, (c) => {
      if (api.getMoment()) return;
      clearTimeout(pending);
      pending = setTimeout(async () => {
        await data.invalidate(c.collection, store.state.subject).catch(() => {});
        if (c.collection === store.state.subject) await results.refresh();
        document.getElementById('status').textContent = t('liveUpdated', { who: c.principal, id: c.featureId });
      }, 300);
    }) : null;
  };
  session.onChange(() => { follow(); history.render(); });
  follow();
  banner.addEventListener('click', () => history.now());
  return history;
}
