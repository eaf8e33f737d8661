// The web map on the shipped data, in headless Debian Chromium: as an investment-promotion
// officer, a company and a planner use it, on a desktop and a phone, in Chinese and English,
// with a mouse and with the keyboard only. Expected values come from the API, not the app.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, launch, open, outside, api, renderedIds, waitIdle, settled, screenAt, centre, seriousViolations, shot, artifacts } from './helpers.mjs';

let server;
let browser;
let A;
const LAYERS = ['new-town', 'ftz-etown-cluster', 'data-pilot-zone', 'bonded-zone', 'parks', 'spatial-carriers'];

before(async () => {
  server = await startServer();
  A = api(server.base);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

const listedIds = (page) => page.$$eval('#results .result', (els) => els.map((e) => e.dataset.id).sort());
const waitList = (page, n) => page.waitForFunction((count) => document.querySelector('#summary')?.dataset.count === String(count) && document.querySelectorAll('#results .result').length === Math.min(count, 100), n, { timeout: 20000 });
const cqlIds = async (cql) => (await A.get(`/collections/spatial-carriers/items?limit=1000&filter=${encodeURIComponent(cql)}`)).features.map((f) => f.id).sort();

test('first view: every layer drawn, zone names and a legend, the data\'s notice, no error, no outside request', async () => {
  const { page, context, errors, requests, loadMs } = await open(browser, server.base);
  console.log(`cold load to map idle: ${loadMs} ms`);
  await waitIdle(page);
  assert.deepEqual(errors, []);
  assert.deepEqual(outside(requests, server.base), []);
  for (const l of LAYERS) assert.ok((await renderedIds(page, l)).length > 0, `${l} renders nothing`);
  // Zone names as map labels (collision-aware symbols), drawn with local fonts.
  const labels = await page.evaluate(() => window.__atlas.map.queryRenderedFeatures({ layers: ['ftz-etown-cluster-label', 'data-pilot-zone-label'] }).map((f) => f.properties.name_zh));
  assert.ok(labels.length >= 2, `zone labels: ${labels}`);
  assert.equal(await page.$$eval('.map-label', (e) => e.length), 0, 'no DOM labels');
  // The legend names every layer; the notice is the data's own.
  const legend = await page.textContent('.legend-ctrl');
  const collections = (await A.get('/collections')).collections;
  for (const c of collections) assert.ok(legend.includes(c.titles.zh), `legend lacks ${c.titles.zh}`);
  const notice = collections.find((c) => c.id === 'spatial-carriers').presentation.notice.zh;
  assert.equal((await page.textContent('#info')).trim(), notice);
  assert.ok(!(await page.textContent('body')).includes('null'), 'no "null" anywhere');
  assert.equal(await page.$('#signin'), null, 'a server without a state store offers no sign-in');
  await shot(page, 'desktop-zh.png');
  await context.close();
});

test('typing into four number fields in a row keeps all four', async () => {
  const { page, context } = await open(browser, server.base);
  // As a person types: click a field, type, click the next one at once.
  for (const [field, value] of [['available_floor_area_m2', '3000'], ['clear_height_m', '8'], ['floor_load_kn_m2', '10'], ['power_kva', '2000']]) {
    await page.click(`#f-${field}`);
    await page.keyboard.type(value, { delay: 30 });
  }
  await page.waitForFunction(() => Object.keys(window.__atlas.store.state.filters).length === 4, null, { timeout: 5000 });
  for (const [field, value] of [['available_floor_area_m2', '3000'], ['clear_height_m', '8'], ['floor_load_kn_m2', '10'], ['power_kva', '2000']]) {
    assert.equal(await page.inputValue(`#f-${field}`), value, field);
  }
  const ids = await cqlIds('available_floor_area_m2 >= 3000 AND clear_height_m >= 8 AND floor_load_kn_m2 >= 10 AND power_kva >= 2000');
  assert.ok(ids.length > 0 && ids.length < 58);
  await waitList(page, ids.length);
  assert.deepEqual(await listedIds(page), ids);
  assert.equal(await page.$$eval('#chips .chip', (c) => c.length), 4);
  await context.close();
});

test('keyboard only: Space-Tab-Space ticks the two industries meant, and the zone select steps with arrows', async () => {
  const { page, context } = await open(browser, server.base);
  const boxes = await page.$$eval('input[data-field=industry]', (els) => els.map((e) => e.value));
  await page.focus(`#${await page.$eval('input[data-field=industry]', (e) => e.id)}`);
  await page.keyboard.press('Space');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Space');
  await page.waitForFunction(() => (window.__atlas.store.state.filters.industry || []).length === 2);
  assert.deepEqual(await page.evaluate(() => window.__atlas.store.state.filters.industry), boxes.slice(0, 2));
  assert.equal(await page.evaluate(() => document.activeElement.value), boxes[1], 'focus stays on the second box');
  // The zone select: focus it and step down twice with the arrow key.
  await page.focus('#f-zones');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  const zones = await page.$$eval('#f-zones option', (o) => o.map((x) => x.value));
  await page.waitForFunction((z) => JSON.stringify(window.__atlas.store.state.filters.zones) === JSON.stringify([z]), zones[2]);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'f-zones');
  await context.close();
});

test('a filter changes the list, the map, the chips and the totals, as the API answers it', async () => {
  const { page, context } = await open(browser, server.base);
  await page.check('#f-industry-future_health');
  await page.fill('#f-available_floor_area_m2', '3000');
  const cql = "industry IN ('future_health') AND available_floor_area_m2 >= 3000";
  const ids = await cqlIds(cql);
  assert.ok(ids.length > 0 && ids.length < 58);
  await waitList(page, ids.length);
  await settled(page);
  assert.deepEqual(await listedIds(page), ids);
  // The totals are the statistics endpoint's, not a sum over a page.
  const stats = await A.get(`/collections/spatial-carriers/stats?filter=${encodeURIComponent(cql)}`);
  const summary = await page.textContent('#summary');
  assert.match(summary, new RegExp(`58 个中有 ${ids.length} 个`));
  assert.ok(summary.includes(`${(stats.total.sums.available_floor_area_m2 / 10000).toLocaleString('zh-CN', { maximumFractionDigits: 1 })} 万㎡`), summary);
  // The map zoomed to the results and draws exactly them.
  await waitIdle(page);
  assert.deepEqual(await renderedIds(page, 'spatial-carriers'), ids);
  const view = await page.evaluate(() => window.__atlas.map.getBounds().toArray());
  const [w, s, e, n] = stats.total.bbox;
  assert.ok(view[0][0] <= w && view[0][1] <= s && view[1][0] >= e && view[1][1] >= n, 'the results are in view');
  // Removing a chip removes its filter, and the form shows it.
  await page.click('#chips .chip[data-key=industry]');
  const ids2 = await cqlIds('available_floor_area_m2 >= 3000');
  await waitList(page, ids2.length);
  assert.equal(await page.isChecked('#f-industry-future_health'), false);
  assert.equal(await page.inputValue('#f-available_floor_area_m2'), '3000');
  await shot(page, 'filtered.png');
  await context.close();
});

test('the list sorts both ways, loads more and downloads as CSV for Excel', async () => {
  const { page, context } = await open(browser, server.base);
  await page.check('#f-status-operating');
  const operating = (await A.get('/collections/spatial-carriers/items?limit=100&status=operating&sortby=-power_kva,name_zh')).features.map((f) => f.id);
  await waitList(page, operating.length);
  await page.selectOption('#sort', 'power_kva');
  await page.waitForFunction((first) => document.querySelector('#results .result')?.dataset.id === first, operating[0]);
  assert.deepEqual(await page.$$eval('#results .result', (els) => els.map((e) => e.dataset.id)), operating);
  await page.click('#sort-direction');
  const ascending = (await A.get('/collections/spatial-carriers/items?limit=100&status=operating&sortby=power_kva,name_zh')).features.map((f) => f.id);
  await page.waitForFunction((first) => document.querySelector('#results .result')?.dataset.id === first, ascending[0]);
  assert.deepEqual(await page.$$eval('#results .result', (els) => els.map((e) => e.dataset.id)), ascending);
  // Each row shows the facts a company asks about, with units.
  const row = await page.textContent('#results .result');
  for (const s of ['可用面积', '净高', '楼面荷载', '供电容量', 'kVA', 'kN/m²']) assert.ok(row.includes(s), `${s} in ${row}`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-csv')]);
  const file = path.join(artifacts, 'list.csv');
  await download.saveAs(file);
  const csv = readFileSync(file, 'utf8');
  assert.ok(csv.startsWith('\ufeff'), 'a BOM, so Excel reads UTF-8');
  assert.equal(csv.trim().split('\n').length - 1, operating.length);
  await context.close();
});

test('clicks: a carrier opens its details, a zone reads as a zone, the background closes them', async () => {
  const { page, context } = await open(browser, server.base);
  const carrier = await A.get('/collections/spatial-carriers/items/carrier-20');
  await page.evaluate((c) => window.__atlas.map.jumpTo({ center: c, zoom: 15 }), centre(carrier));
  await waitIdle(page);
  const p = await screenAt(page, centre(carrier));
  await page.mouse.move(p.x, p.y);
  await page.waitForSelector('.map-tooltip:not([hidden])');
  assert.match(await page.textContent('.map-tooltip'), new RegExp(carrier.properties.name_zh));
  await page.mouse.click(p.x, p.y);
  await page.waitForSelector('#details:not([hidden])');
  assert.equal((await page.textContent('#details-title')).trim(), carrier.properties.name_zh);
  const text = await page.textContent('#details');
  assert.ok(!text.includes('null'), text);
  assert.match(text, /万㎡|㎡/);
  await shot(page, 'carrier-details.png');
  // A zone: its area in km², its policy focus.
  const ftz = await A.get('/collections/ftz-etown-cluster/items/ftz-etown-cluster');
  await page.evaluate(() => window.__atlas.map.jumpTo({ center: [116.56, 39.78], zoom: 11 }));
  await page.evaluate(() => window.__atlas.store.update({ selected: { collection: 'ftz-etown-cluster', id: 'ftz-etown-cluster' } }));
  await page.waitForFunction((n) => document.querySelector('#details-title')?.textContent.trim() === n, ftz.properties.name_zh);
  const zone = await page.textContent('#details');
  assert.ok(zone.includes('27.83 平方公里'), zone);
  assert.ok(zone.includes(ftz.properties.focus_zh) && !zone.includes(ftz.properties.focus_en), 'the focus in the reader\'s language only');
  // A click where only the New Town lies (it encloses the whole view): nothing, details close.
  await page.evaluate(() => window.__atlas.map.jumpTo({ center: [116.62, 39.70], zoom: 14 }));
  await waitIdle(page);
  const hits = await page.evaluate(() => {
    const m = window.__atlas.map;
    const c = m.project(m.getCenter());
    return m.queryRenderedFeatures(c).map((f) => f.source);
  });
  assert.ok(hits.includes('new-town') && !hits.includes('spatial-carriers'), `${hits}`);
  const box = await page.locator('#map canvas').boundingBox();
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.waitForSelector('#details', { state: 'hidden' });
  await context.close();
});

test('search finds close spellings, says the layer, and opens a result the filters hide', async () => {
  const { page, context } = await open(browser, server.base);
  await page.check('#f-industry-future_space');
  await settled(page);
  await page.fill('#search', 'Robto');
  await page.waitForSelector('#search-results:not([hidden]) button');
  const first = await page.$eval('#search-results button', (b) => ({ id: b.dataset.id, text: b.textContent }));
  assert.equal(first.id, 'robot-industrial-park');
  assert.match(first.text, /特色产业园区/);
  // A carrier the filter hides (not future_space): details open, saying so, replacing others.
  await page.fill('#search', '未来健康产业载体 01');
  await page.waitForSelector('#search-results button[data-id=carrier-01]');
  await page.click('#search-results button[data-id=carrier-01]');
  await page.waitForSelector('#hidden-note');
  assert.match(await page.textContent('#details-title'), /未来健康产业载体 01/);
  await context.close();
});

test('drawing an area filters list and statistics, and exports what the map shows', async () => {
  const { page, context } = await open(browser, server.base);
  await page.fill('#f-available_floor_area_m2', '20000');
  await settled(page);
  await page.click('[data-tab=area]');
  await page.click('#draw-rectangle');
  const box = await page.locator('#map canvas').boundingBox();
  const [a, b] = [[0.25, 0.25], [0.75, 0.75]].map(([x, y]) => [box.x + box.width * x, box.y + box.height * y]);
  await page.mouse.click(a[0], a[1]);
  await page.waitForTimeout(200);
  await page.mouse.click(b[0], b[1]);
  await page.waitForFunction(() => window.__atlas.store.state.area !== null, null, { timeout: 10000 });
  await page.waitForTimeout(300);
  assert.ok(await page.isHidden('#details'), 'finishing the rectangle opened nothing');
  const area = await page.evaluate(() => window.__atlas.store.state.area);
  const filter = { op: 'and', args: [{ op: '>=', args: [{ property: 'available_floor_area_m2' }, 20000] }, { op: 's_intersects', args: [{ property: 'geometry' }, area] }] };
  const stats = await A.post('/collections/spatial-carriers/stats', { filter, 'group-by': 'industry' });
  assert.ok(stats.total.count > 0);
  // The area tab says how many carriers the area holds, and the map stays where it was drawn.
  await page.waitForFunction((n) => document.querySelector('#area-count')?.textContent.includes(`${n} 个`), stats.total.count);
  const centreAfter = await page.evaluate(() => window.__atlas.map.getCenter().toArray());
  await settled(page);
  await page.waitForTimeout(800); // longer than the 500 ms a zoom to the results takes
  const centreLater = await page.evaluate(() => window.__atlas.map.getCenter().toArray());
  assert.deepEqual(centreLater, centreAfter, 'no zoom away from the drawn outline');
  await page.click('[data-tab=stats]');
  await page.waitForFunction((n) => document.querySelector('#stats-table tfoot td')?.textContent.replace(/\D/g, '') === String(n), stats.total.count);
  assert.equal(await page.$$eval('#stats-table tbody tr', (r) => r.length), stats.groups.length);
  // Value labels on the bars, legible.
  const values = await page.$$eval('.chart-value', (t) => t.map((x) => x.textContent));
  assert.equal(values.length, stats.groups.length);
  // Grouped by zone instead.
  await page.selectOption('#stats-group', 'zones');
  const byZone = await A.post('/collections/spatial-carriers/stats', { filter, 'group-by': 'zones' });
  await page.waitForFunction((n) => document.querySelectorAll('#stats-table tbody tr').length === n, byZone.groups.length);
  await page.click('[data-tab=area]');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-area')]);
  const file = path.join(artifacts, download.suggestedFilename());
  await download.saveAs(file);
  const exported = JSON.parse(readFileSync(file, 'utf8'));
  const carriers = (await A.post('/collections/spatial-carriers/search', { filter, limit: 1000 })).features.map((f) => f.id).sort();
  assert.deepEqual(exported.features.filter((f) => f.properties.layer === 'spatial-carriers').map((f) => f.id).sort(), carriers);
  for (const layer of LAYERS.filter((l) => l !== 'spatial-carriers')) {
    const want = (await A.post(`/collections/${layer}/search`, { filter: { op: 's_intersects', args: [{ property: 'geometry' }, area] }, limit: 1000 })).features.map((f) => f.id).sort();
    assert.deepEqual(exported.features.filter((f) => f.properties.layer === layer).map((f) => f.id).sort(), want, layer);
  }
  assert.match(await page.textContent('#export-status'), new RegExp(`已导出 ${exported.features.length} 个要素：${download.suggestedFilename().replace('.', '\\.')}`));
  // A GeoPackage cannot be counted here, but what was saved is said.
  await page.selectOption('#export-format', 'gpkg');
  const [gpkg] = await Promise.all([page.waitForEvent('download'), page.click('#export-area')]);
  await page.waitForFunction(() => /已保存 .*\.gpkg（\d+ KB）/.test(document.querySelector('#export-status')?.textContent || ''));
  assert.ok(gpkg.suggestedFilename().endsWith('.gpkg'));
  await shot(page, 'drawn-area.png');
  await context.close();
});

test('English, and back: every text, MapLibre\'s controls and the server\'s messages follow', async () => {
  const { page, context } = await open(browser, server.base);
  assert.equal(await page.getAttribute('.maplibregl-ctrl-zoom-in', 'title'), '放大');
  await page.click('#lang');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  assert.equal((await page.textContent('h1 .long')).trim(), 'Beijing E-Town industrial space');
  assert.equal(await page.getAttribute('.maplibregl-ctrl-zoom-in', 'title'), 'Zoom in');
  assert.match(await page.textContent('#summary'), /58 of 58 match/);
  assert.match(await page.textContent('#info'), /Schematic data/);
  assert.match(await page.textContent('.legend-ctrl'), /Spatial carriers/);
  const labels = await page.evaluate(() => window.__atlas.map.getLayoutProperty('ftz-etown-cluster-label', 'text-field'));
  assert.match(JSON.stringify(labels), /name_en/);
  await shot(page, 'desktop-en.png');
  // A problem from the server, in the reader's language (the app asks for it).
  let asked = null;
  await page.route('**/collections/spatial-carriers/search', async (route) => {
    asked = route.request().headers()['accept-language'];
    const r = await fetch(`${server.base}/collections/spatial-carriers/items?limit=abc`, { headers: { 'accept-language': asked } });
    route.fulfill({ status: r.status, contentType: r.headers.get('content-type'), body: await r.text() });
  });
  await page.click('#lang');
  await page.check('#f-status-planned');
  await page.waitForSelector('#error:not([hidden])');
  assert.equal(asked, 'zh-CN');
  assert.match(await page.textContent('#error'), /参数 “limit”/);
  await context.close();
});

test('a permalink restores filters, sort, view, tab and the open feature', async () => {
  const { page, context } = await open(browser, server.base);
  await page.check('#f-status-planned');
  await page.selectOption('#sort', 'delivery_date');
  await page.evaluate(() => window.__atlas.map.jumpTo({ center: [116.6, 39.8], zoom: 13.25 }));
  await page.evaluate(() => window.__atlas.store.update({ selected: { collection: 'spatial-carriers', id: 'carrier-05' } }));
  await page.waitForFunction(() => location.hash.includes('planned') && location.hash.includes('13.25') && location.hash.includes('carrier-05'));
  const hash = await page.evaluate(() => location.hash);
  await page.reload();
  await page.waitForSelector('body[data-ready=true]');
  assert.equal(await page.evaluate(() => location.hash), hash);
  assert.ok(await page.isChecked('#f-status-planned'));
  assert.equal(await page.inputValue('#sort'), 'delivery_date');
  await page.waitForSelector('#details:not([hidden])');
  const planned = await A.get('/collections/spatial-carriers/items?limit=100&status=planned');
  await waitList(page, planned.numberMatched);
  await context.close();
});

test('a phone: the tab bar opens the panel, details are a sheet below the header, nothing scrolls sideways', async () => {
  for (const [locale, lang] of [['en-US', 'en'], ['zh-CN', 'zh']]) {
    const { page, context, errors } = await open(browser, server.base, { options: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale } });
    assert.equal(await page.evaluate(() => document.documentElement.lang.slice(0, 2)), lang);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), 'no horizontal scrolling');
    const header = await page.locator('header.bar').boundingBox();
    assert.ok(header.height <= 60, `the header is ${header.height}px tall`);
    assert.ok(await page.isHidden('#summary'));
    await page.tap('[data-tab=find]');
    await page.waitForSelector('#summary', { state: 'visible' });
    await shot(page, `phone-${lang}.png`);
    await page.tap('[data-tab=find]');
    await page.waitForSelector('#summary', { state: 'hidden' });
    await page.evaluate(() => window.__atlas.store.update({ selected: { collection: 'spatial-carriers', id: 'carrier-10' } }));
    await page.waitForSelector('#details:not([hidden])');
    const d = await page.locator('#details').boundingBox();
    assert.ok(d.y >= header.y + header.height, 'details never cover the header');
    const mapBox = await page.locator('#map').boundingBox();
    assert.ok(d.y - mapBox.y >= 200, `at least 200 px of map stay visible above the sheet (${d.y - mapBox.y})`);
    await shot(page, `phone-details-${lang}.png`);
    assert.deepEqual(errors, []);
    await context.close();
  }
});

test('no serious accessibility violation (axe-core), in both languages', async () => {
  const { page, context } = await open(browser, server.base);
  assert.deepEqual(await seriousViolations(page), []);
  await page.click('#lang');
  await page.click('[data-tab=stats]');
  await settled(page);
  assert.deepEqual(await seriousViolations(page), []);
  // The match panel with an answer and its comparison dialog.
  await page.click('[data-tab=match]');
  await page.fill('#m-available_floor_area_m2-min', '3000');
  await page.click('#match-run');
  await page.waitForSelector('#match-list');
  assert.deepEqual(await seriousViolations(page), []);
  const rows = await page.$$('#match-list .match-row input[type=checkbox]');
  await rows[0].check();
  await rows[1].check();
  await page.click('#compare');
  await page.waitForSelector('#compare-dialog');
  assert.deepEqual(await seriousViolations(page), []);
  await context.close();
});
