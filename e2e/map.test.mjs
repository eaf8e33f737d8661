// End-to-end tests of the web map in headless Debian Chromium, driven by playwright-core.
// The test starts the server itself (target/debug/etown-atlas, or $ETOWN_ATLAS_BIN) on a free
// loopback port. Screenshots go to test-artifacts/ (not committed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const artifacts = path.join(root, 'test-artifacts');
mkdirSync(artifacts, { recursive: true });
const bin = process.env.ETOWN_ATLAS_BIN || path.join(root, 'target/debug/etown-atlas');
const LAYERS = ['new-town', 'ftz-etown-cluster', 'data-pilot-zone', 'bonded-zone', 'parks', 'spatial-carriers'];

let server;
let base;
let browser;

function startServer() {
  return new Promise((resolve, reject) => {
    server = spawn(bin, ['--log-json', 'serve', '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    server.stderr.on('data', (chunk) => {
      log += chunk;
      const m = log.match(/"address":"([^"]+)"/);
      if (m) resolve(`http://${m[1]}`);
    });
    server.on('exit', (code) => reject(new Error(`server exited (${code}): ${log}`)));
  });
}

before(async () => {
  base = await startServer();
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
});

/** A page with its console errors and every request it made recorded. */
async function open(options = {}, hash = '') {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN', acceptDownloads: true, ...options });
  const page = await context.newPage();
  const errors = [];
  const requests = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => requests.push(r.url()));
  const started = Date.now();
  await page.goto(`${base}/${hash}`);
  await page.waitForSelector('body[data-ready=true]', { timeout: 30000 });
  return { page, context, errors, requests, loadMs: Date.now() - started };
}

const api = async (p, init) => {
  const r = await fetch(`${base}${p}`, init);
  assert.ok(r.ok, `${p}: ${r.status}`);
  return r.json();
};
const post = (p, body) => api(p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const renderedIds = (page, layer) => page.evaluate((l) => [...new Set(window.__atlas.map.queryRenderedFeatures({ layers: [`${l}-fill`] }).map((f) => f.properties.fid))].sort(), layer);
const waitIdle = (page) => page.evaluate(() => new Promise((r) => { const m = window.__atlas.map; if (m.loaded() && !m.isMoving()) { m.once('idle', r); m.triggerRepaint(); } else m.once('idle', r); }));

test('loads with no console errors, no outside request, and every layer rendered', async () => {
  const { page, context, errors, requests, loadMs } = await open();
  console.log(`cold load to map idle: ${loadMs} ms`);
  await waitIdle(page);
  await page.screenshot({ path: path.join(artifacts, 'desktop-zh.png') });
  assert.deepEqual(errors, []);
  const origin = new URL(base).origin;
  const outside = requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
  assert.deepEqual(outside, []);
  for (const l of LAYERS) {
    const n = (await renderedIds(page, l)).length;
    assert.ok(n > 0, `${l} renders nothing`);
  }
  assert.match(await page.textContent('#info'), /示意数据/);
  await context.close();
});

test('clicking a carrier opens its panel with its name in the chosen language', async () => {
  const { page, context } = await open();
  const carrier = (await api('/collections/spatial-carriers/items/carrier-20')).properties;
  // Zoom onto the carrier, then click the centre of its parcel.
  const point = await page.evaluate(async () => {
    const m = window.__atlas.map;
    const f = await (await fetch('/collections/spatial-carriers/items/carrier-20')).json();
    const ring = f.geometry.coordinates[0];
    const c = [(ring[0][0] + ring[2][0]) / 2, (ring[0][1] + ring[2][1]) / 2];
    m.jumpTo({ center: c, zoom: 15 });
    await new Promise((r) => m.once('idle', r));
    const p = m.project(c);
    const rect = m.getCanvas().getBoundingClientRect();
    return { x: rect.left + p.x, y: rect.top + p.y };
  });
  await page.mouse.click(point.x, point.y);
  await page.waitForSelector('#details:not([hidden])');
  assert.equal((await page.textContent('#details-title')).trim(), carrier.name_zh);
  const panel = await page.textContent('#details');
  assert.match(panel, /m²/);
  assert.match(panel, /示意数据/);
  await page.screenshot({ path: path.join(artifacts, 'carrier-panel.png') });
  await context.close();
});

test('a filter changes the list and the rendered features, as the API answers it', async () => {
  const { page, context } = await open();
  await page.check('#f-industries-future_health');
  await page.fill('#f-minAvailable', '3000');
  await page.press('#f-minAvailable', 'Tab');
  const cql = "industry IN ('future_health') AND available_floor_area_m2 >= 3000";
  const expected = await api(`/collections/spatial-carriers/items?limit=100&filter=${encodeURIComponent(cql)}`);
  const ids = expected.features.map((f) => f.id).sort();
  assert.ok(ids.length > 0 && ids.length < 58);
  await page.waitForFunction((n) => document.querySelectorAll('#results .result').length === n, ids.length);
  const listed = (await page.$$eval('#results .result', (els) => els.map((e) => e.dataset.id))).sort();
  assert.deepEqual(listed, ids);
  // The rendered carriers: fit the result and read what the map drew.
  await page.evaluate(() => {
    const m = window.__atlas.map;
    m.fitBounds([[116.45, 39.69], [116.68, 39.86]], { duration: 0 });
  });
  await waitIdle(page);
  assert.deepEqual(await renderedIds(page, 'spatial-carriers'), ids);
  const summary = await page.textContent('#summary');
  assert.match(summary, new RegExp(`^${ids.length} `));
  await page.screenshot({ path: path.join(artifacts, 'filtered.png') });
  await context.close();
});

test('drawing a polygon gives statistics and an export of exactly that area', async () => {
  const { page, context } = await open();
  await page.click('[data-tab=area]');
  await page.click('#draw-polygon');
  const box = await page.locator('#map canvas').boundingBox();
  const pts = [[0.3, 0.3], [0.6, 0.28], [0.65, 0.6], [0.35, 0.65]].map(([x, y]) => [box.x + box.width * x, box.y + box.height * y]);
  for (const [x, y] of pts) {
    await page.mouse.click(x, y);
    await page.waitForTimeout(150);
  }
  await page.mouse.click(pts[0][0], pts[0][1]);
  await page.waitForFunction(() => window.__atlas.state.area !== null, null, { timeout: 10000 });
  const area = await page.evaluate(() => window.__atlas.state.area);
  assert.equal(area.type, 'Polygon');
  assert.equal(area.coordinates[0].length, 5);

  // Statistics for exactly that area, against the API.
  const expected = await post('/collections/spatial-carriers/stats', { filter: { op: 's_intersects', args: [{ property: 'geometry' }, area] }, 'group-by': 'industry' });
  assert.ok(expected.total.count > 0, 'the drawn area should hold carriers');
  await page.click('[data-tab=stats]');
  await page.waitForFunction((n) => {
    const cell = document.querySelector('#stats-table tfoot td');
    return cell && cell.textContent.replace(/\D/g, '') === String(n);
  }, expected.total.count);
  const rows = await page.$$eval('#stats-table tbody tr', (trs) => trs.length);
  assert.equal(rows, expected.groups.length);

  // The export, parsed and compared with the API, layer by layer.
  await page.click('[data-tab=area]');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-area')]);
  const file = path.join(artifacts, download.suggestedFilename());
  await download.saveAs(file);
  const exported = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(exported.type, 'FeatureCollection');
  for (const layer of LAYERS) {
    const want = (await post(`/collections/${layer}/search`, { filter: { op: 's_intersects', args: [{ property: 'geometry' }, area] }, limit: 10000 })).features.map((f) => f.id).sort();
    const got = exported.features.filter((f) => f.properties.layer === layer).map((f) => f.id).sort();
    assert.deepEqual(got, want, layer);
  }
  await page.screenshot({ path: path.join(artifacts, 'drawn-area.png') });
  await context.close();
});

test('switching language changes the text; panels work from the keyboard', async () => {
  const { page, context } = await open();
  assert.equal(await page.textContent('h1'), '北京亦庄产业空间地图');
  await page.click('#lang');
  assert.equal(await page.textContent('h1'), 'Beijing E-Town industrial space');
  assert.match(await page.textContent('#summary'), /carriers/);
  assert.match(await page.textContent('#info'), /Schematic data/);
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  // Tabs: arrow keys move between them.
  await page.focus('[data-tab=find]');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.getAttribute('[data-tab=stats]', 'aria-selected'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.tab), 'stats');
  await page.screenshot({ path: path.join(artifacts, 'desktop-en.png') });
  await context.close();
});

test('a permalink survives a reload', async () => {
  const { page, context } = await open();
  await page.check('#f-statuses-planned');
  await page.evaluate(() => window.__atlas.map.jumpTo({ center: [116.6, 39.8], zoom: 13.25 }));
  await page.waitForFunction(() => location.hash.includes('planned') && location.hash.includes('13.25'));
  const hash = await page.evaluate(() => location.hash);
  await page.reload();
  await page.waitForSelector('body[data-ready=true]');
  assert.equal(await page.evaluate(() => location.hash), hash);
  assert.ok(await page.isChecked('#f-statuses-planned'));
  const view = await page.evaluate(() => ({ z: window.__atlas.map.getZoom(), c: window.__atlas.map.getCenter() }));
  assert.ok(Math.abs(view.z - 13.25) < 0.01 && Math.abs(view.c.lng - 116.6) < 1e-4 && Math.abs(view.c.lat - 39.8) < 1e-4);
  const planned = await api(`/collections/spatial-carriers/items?limit=100&status=planned`);
  assert.equal(await page.$$eval('#results .result', (els) => els.length), planned.numberMatched);
  await context.close();
});

test('the phone viewport works', async () => {
  const { page, context, errors } = await open({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'en-US' });
  assert.equal(await page.textContent('h1'), 'Beijing E-Town industrial space', 'an English browser gets English');
  assert.ok(await page.isVisible('#panel-toggle'));
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), 'no horizontal scrolling');
  await page.click('#panel-toggle');
  await page.waitForTimeout(300);
  assert.ok(await page.isVisible('#summary'));
  await page.screenshot({ path: path.join(artifacts, 'phone.png') });
  assert.deepEqual(errors, []);
  await context.close();
});

test('a server error is shown as a readable message', async () => {
  const { page, context } = await open();
  await page.route('**/collections/spatial-carriers/search', (route) => route.fulfill({
    status: 400, contentType: 'application/problem+json',
    body: JSON.stringify({ type: 'urn:x', title: 'Bad Request', status: 400, code: 'filter_syntax', detail: 'syntax error at character 3' }),
  }));
  await page.check('#f-statuses-operating');
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await page.textContent('#error'), /syntax error at character 3/);
  await context.close();
});
