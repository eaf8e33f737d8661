// The web map on data that is not E-Town's: a planner's own file of three polygons with no
// sidecar and no vocabulary, and an offline basemap the operator provides as an MBTiles file
// (made here with GDAL from a generated raster), served by etown-atlas under its CSP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { inflateSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { startServer, launch, open, outside, api, renderedIds, waitIdle, settled, screenAt, shot } from './helpers.mjs';

let browser;
const dirs = [];
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'atlas-e2e-'));
  dirs.push(d);
  return d;
};

before(async () => { browser = await launch(); });
after(async () => {
  await browser?.close();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

/** Three plots near Yizhuang, with a name, a number, a category and a date. */
function plots() {
  const square = (x, y) => ({ type: 'Polygon', coordinates: [[[x, y], [x + 0.01, y], [x + 0.01, y + 0.008], [x, y + 0.008], [x, y]]] });
  return {
    type: 'FeatureCollection',
    features: [
      { type: 'Feature', id: 'p1', geometry: square(116.50, 39.78), properties: { name: 'North plot', area_ha: 12.5, owner: 'district', surveyed: '2024-05-01' } },
      { type: 'Feature', id: 'p2', geometry: square(116.53, 39.77), properties: { name: 'Riverside plot', area_ha: 3.2, owner: 'city', surveyed: '2023-11-20' } },
      { type: 'Feature', id: 'p3', geometry: square(116.56, 39.79), properties: { name: 'East plot', area_ha: null, owner: 'city', surveyed: null } },
    ],
  };
}

test('one arbitrary GeoJSON file: drawn, searchable, filterable, details without "null", no console error', async () => {
  const dir = tmp();
  writeFileSync(path.join(dir, 'plots.geojson'), JSON.stringify(plots()));
  const server = await startServer(['--data', dir]);
  try {
    const { page, context, errors, requests } = await open(browser, server.base);
    await waitIdle(page);
    assert.deepEqual(errors, []);
    assert.deepEqual(outside(requests, server.base), []);
    assert.deepEqual(await renderedIds(page, 'plots'), ['p1', 'p2', 'p3']);
    assert.ok(await page.isHidden('#info'), 'no schematic notice on data that does not say so');
    assert.match(await page.textContent('#summary'), /3 个中有 3 个/);
    // A filter from the file's types: area_ha between 3 and 20.
    await page.fill('#f-area_ha-from', '3');
    await page.fill('#f-area_ha-to', '20');
    await page.waitForFunction(() => document.querySelector('#summary')?.dataset.count === '2');
    await settled(page);
    assert.deepEqual((await page.$$eval('#results .result', (r) => r.map((x) => x.dataset.id))).sort(), ['p1', 'p2']);
    // Search by name, then the details.
    await page.fill('#search', 'riverside');
    await page.waitForSelector('#search-results button[data-id=p2]');
    await page.click('#search-results button[data-id=p2]');
    await page.waitForSelector('#details:not([hidden])');
    assert.equal((await page.textContent('#details-title')).trim(), 'Riverside plot');
    // A plot with empty values: a dash, never "null".
    await page.evaluate(() => window.__atlas.store.update({ selected: { collection: 'plots', id: 'p3' } }));
    await page.waitForFunction(() => document.querySelector('#details-title')?.textContent.trim() === 'East plot');
    const text = await page.textContent('body');
    assert.ok(!/null|undefined|NaN/.test(text), 'no null, undefined or NaN on the page');
    assert.match(await page.textContent('#details'), /—/);
    await shot(page, 'any-data.png');
    assert.deepEqual(errors, []);
    await context.close();
  } finally {
    server.stop();
  }
});

/** The RGB of one pixel of a PNG screenshot (8-bit RGB or RGBA, not interlaced). */
function pixel(png, x, y) {
  let pos = 8;
  let width = 0;
  let channels = 4;
  const idat = [];
  while (pos < png.length) {
    const len = png.readUInt32BE(pos);
    const type = png.toString('ascii', pos + 4, pos + 8);
    const data = png.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      channels = data[9] === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(data);
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const rows = [];
  let prev = Buffer.alloc(stride);
  for (let r = 0; r <= y; r++) {
    const filter = raw[r * (stride + 1)];
    const line = Buffer.from(raw.subarray(r * (stride + 1) + 1, (r + 1) * (stride + 1)));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? line[i - channels] : 0;
      const b = prev[i];
      const c = i >= channels ? prev[i - channels] : 0;
      const p = a + b - c;
      const pred = [0, a, b, (a + b) >> 1, Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c][filter];
      line[i] = (line[i] + pred) & 0xff;
    }
    rows.push(line);
    prev = line;
  }
  const o = x * channels;
  return [rows[y][o], rows[y][o + 1], rows[y][o + 2]];
}

test('an MBTiles basemap the operator provides is drawn beneath the data, with no outside request', async () => {
  const dir = tmp();
  // A raster of one colour over Yizhuang, in Web Mercator, made into MBTiles by GDAL.
  const tif = path.join(dir, 'survey.tif');
  const mbtiles = path.join(dir, 'survey.mbtiles');
  execFileSync('gdal_create', ['-of', 'GTiff', '-outsize', '512', '512', '-bands', '3', '-ot', 'Byte', '-burn', '200', '-burn', '40', '-burn', '160',
    '-a_srs', 'EPSG:4326', '-a_ullr', '116.30', '39.95', '116.80', '39.60', tif]);
  execFileSync('gdal_translate', ['-q', '-of', 'MBTILES', '-co', 'ZOOM_LEVEL_STRATEGY=UPPER', tif, mbtiles]);
  execFileSync('gdaladdo', ['-q', '-r', 'nearest', mbtiles, '2', '4', '8']);
  writeFileSync(path.join(dir, 'atlas.toml'), `[[map.basemaps]]\nid = "survey"\ntitle = { zh = "测绘底图", en = "Survey basemap" }\nmbtiles = "survey.mbtiles"\nattribution = "Test survey"\ndefault = true\n`);
  const server = await startServer(['--config', path.join(dir, 'atlas.toml')]);
  try {
    const csp = (await fetch(`${server.base}/`)).headers.get('content-security-policy');
    assert.ok(!/https?:/.test(csp), `the CSP names no other host: ${csp}`);
    const config = await api(server.base).get('/map-config');
    assert.equal(config.basemaps[0].type, 'raster');
    const { page, context, errors, requests } = await open(browser, server.base, { hash: '#map=11/39.78/116.56' });
    await waitIdle(page);
    assert.deepEqual(errors, []);
    assert.deepEqual(outside(requests, server.base), []);
    assert.ok(requests.some((u) => u.includes('/basemaps/survey/')), 'tiles came from this server');
    // Beneath the data: the basemap is the style's first drawn layer after the background.
    const order = await page.evaluate(() => window.__atlas.map.getStyle().layers.map((l) => l.id));
    assert.ok(order.indexOf('basemap-survey') < order.indexOf('new-town-fill'));
    // A point with no data over it shows the raster's colour.
    const spot = await screenAt(page, [116.42, 39.86]);
    const png = await page.screenshot({ clip: { x: spot.x - 1, y: spot.y - 1, width: 3, height: 3 } });
    const [r, g, b] = pixel(png, 1, 1);
    assert.ok(Math.abs(r - 200) < 12 && Math.abs(g - 40) < 12 && Math.abs(b - 160) < 12, `pixel ${r},${g},${b}`);
    assert.match(await page.textContent('.maplibregl-ctrl-attrib'), /Test survey/);
    await shot(page, 'basemap.png');
    await context.close();
  } finally {
    server.stop();
  }
});
