// What the browser tests share: a server started on a free loopback port (the debug binary, or
// $ETOWN_ATLAS_BIN), headless Debian Chromium, a page that records its console errors and every
// request, and small helpers over the public API. Screenshots go to test-artifacts/.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const artifacts = path.join(root, 'test-artifacts');
mkdirSync(artifacts, { recursive: true });
export const debugBin = process.env.ETOWN_ATLAS_BIN || path.join(root, 'target/debug/etown-atlas');
/** The release binary, for the tests at scale (loading a million carriers in a debug build takes minutes). */
export const releaseBin = process.env.ETOWN_ATLAS_RELEASE_BIN || path.join(root, 'target/release/etown-atlas');

/** Starts the server with `args` after `serve`; resolves to { base, stop }. */
export function startServer(args = [], bin = debugBin) {
  assert.ok(existsSync(bin), `${bin} is missing: build it first (cargo build${bin === releaseBin ? ' --release' : ''})`);
  return new Promise((resolve, reject) => {
    const server = spawn(bin, ['--log-json', 'serve', '--listen', '127.0.0.1:0', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    server.stderr.on('data', (chunk) => {
      log += chunk;
      const m = log.match(/"address":"([^"]+)"/);
      if (m) resolve({ base: `http://${m[1]}`, stop: () => server.kill('SIGTERM'), log: () => log });
    });
    server.on('exit', (code) => reject(new Error(`server exited (${code}): ${log}`)));
  });
}

/** Writes `dir`/atlas.toml with the inquiry contact the dossier prints; returns its path. */
export function contactConfig(dir) {
  const file = path.join(dir, 'atlas.toml');
  writeFileSync(file, [
    '[map.contact]',
    'office = { zh = "亦庄投资促进服务中心", en = "E-Town Investment Promotion Centre" }',
    'phone = "+86 10 6788 0000"',
    'email = "invest@etown.example"',
    '',
  ].join('\n'));
  return file;
}

/** Writes `count` synthetic carriers (with the shipped zones, parks and vocabularies) into `dir`. */
export function synth(dir, count, bin = debugBin) {
  execFileSync(bin, ['synth', '--count', String(count), '--out', dir], { stdio: 'ignore' });
}

export function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A page with its console errors and every request it made recorded, opened at `base` + `hash`. */
export async function open(browser, base, { options = {}, hash = '', timeout = 60000 } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN', acceptDownloads: true, ...options });
  const page = await context.newPage();
  const errors = [];
  const requests = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => requests.push(r.url()));
  const started = Date.now();
  await page.goto(`${base}/${hash}`);
  await page.waitForSelector('body[data-ready=true]', { timeout });
  return { page, context, errors, requests, loadMs: Date.now() - started };
}

/** The requests a page made to any host but the server's. */
export function outside(requests, base) {
  const origin = new URL(base).origin;
  return requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
}

export const api = (base) => {
  const get = async (p, init) => {
    const r = await fetch(`${base}${p}`, init);
    assert.ok(r.ok, `${p}: ${r.status} ${await r.clone().text()}`);
    return r.json();
  };
  const post = (p, body) => get(p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { get, post };
};

/** Ids of a layer's features the map has drawn (deduplicated, sorted). */
export const renderedIds = (page, layer) => page.evaluate((l) => [...new Set(window.__atlas.map.queryRenderedFeatures({ layers: [`${l}-fill`] }).map((f) => String(f.properties.fid)))].sort(), layer);

/** Waits until the map has drawn everything it was asked to. */
export const waitIdle = (page) => page.evaluate(() => new Promise((r) => {
  const m = window.__atlas.map;
  const done = () => r();
  if (m.loaded() && !m.isMoving()) { m.once('idle', done); m.triggerRepaint(); } else m.once('idle', done);
}));

/** Waits until no request of the page is in flight (the app's aria-busy is false). */
export const settled = (page) => page.waitForFunction(() => document.body.getAttribute('aria-busy') === 'false', null, { timeout: 60000 });

/** The screen position of a lon/lat on the map. */
export const screenAt = (page, lngLat) => page.evaluate(([lon, lat]) => {
  const m = window.__atlas.map;
  const p = m.project([lon, lat]);
  const rect = m.getCanvas().getBoundingClientRect();
  return { x: rect.left + p.x, y: rect.top + p.y };
}, lngLat);

/** The centre of a polygon feature's envelope. */
export function centre(feature) {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  const walk = (c) => {
    if (typeof c[0] === 'number') { minX = Math.min(minX, c[0]); maxX = Math.max(maxX, c[0]); minY = Math.min(minY, c[1]); maxY = Math.max(maxY, c[1]); } else c.forEach(walk);
  };
  walk(feature.geometry.coordinates);
  return [(minX + maxX) / 2, (minY + maxY) / 2];
}

/** Runs axe-core in the page; the violations of at least serious impact. */
export async function seriousViolations(page) {
  const source = readFileSync(path.join(root, 'e2e/node_modules/axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')})`);
}

export const shot = (page, name) => page.screenshot({ path: path.join(artifacts, name) });
