// Outlines on the map (issue 29), as an editor does it, in Chinese and in English: sign in with
// a pasted token, reshape a carrier's outline by dragging a corner (terra-draw's select mode),
// add a carrier by drawing it and filling in its figures, and meet a second editor's change as
// the conflict message, not a silent overwrite. Expected positions come from the map's own
// projection of where the mouse went, and the API is read as any client reads it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { startServer, launch, open, outside, debugBin, screenAt, waitIdle, centre, shot } from './helpers.mjs';

const ITEMS = '/collections/spatial-carriers/items';
let browser;
let server;
let dir;
let editor;
let second;

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'atlas-outline-'));
  const state = path.join(dir, 'state');
  const make = (name) => execFileSync(debugBin, ['token', 'create', '--state', state, '--name', name, '--collections', 'spatial-carriers'], { encoding: 'utf8' }).trim().split('\n').pop();
  editor = make('park-office');
  second = make('second-office');
  server = await startServer(['--state', state]);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const stored = async (id) => {
  const r = await fetch(`${server.base}${ITEMS}/${id}`, { cache: 'no-store' });
  assert.equal(r.status, 200, id);
  return { feature: await r.json(), etag: r.headers.get('etag') };
};
const history = async (id) => (await (await fetch(`${server.base}${ITEMS}/${id}/history`, { headers: { Authorization: `Bearer ${editor}` } })).json()).changes;
const near = (a, b) => Math.abs(a[0] - b[0]) < 1e-6 && Math.abs(a[1] - b[1]) < 1e-6;

/** The map position under a screen point. */
const lngLatAt = (page, { x, y }) => page.evaluate(([px, py]) => {
  const m = window.__atlas.map;
  const rect = m.getCanvas().getBoundingClientRect();
  const p = m.unproject([px - rect.left, py - rect.top]);
  return [p.lng, p.lat];
}, [x, y]);

async function signIn(page) {
  await page.click('#signin');
  await page.fill('#token', editor);
  await page.click('.signin-dialog button[type=submit]');
  await page.waitForSelector('.signin-dialog', { state: 'detached' });
}

/** Opens a carrier's details with the map centred on it, close enough to drag its corners. */
async function openCarrier(page, id) {
  const { feature } = await stored(id);
  await page.evaluate((x) => window.__atlas.store.update({ selected: { collection: 'spatial-carriers', id: x } }), id);
  await page.waitForSelector('#details .outline-open');
  await page.evaluate((c) => window.__atlas.map.jumpTo({ center: c, zoom: 17 }), centre(feature));
  await waitIdle(page);
  return feature;
}

/** Drags the outline's first corner by (dx, dy) pixels; where it was put, on the map. */
async function dragCorner(page, feature, dx, dy) {
  const corner = feature.geometry.coordinates[0][0];
  const from = await screenAt(page, corner);
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  for (let i = 1; i <= 8; i += 1) await page.mouse.move(from.x + (dx * i) / 8, from.y + (dy * i) / 8);
  await page.mouse.up();
  return { from: corner, to: await lngLatAt(page, { x: from.x + dx, y: from.y + dy }) };
}

for (const lang of ['zh', 'en']) {
  const say = lang === 'zh'
    ? { edit: '编辑轮廓', saved: /轮廓已保存/, conflict: /其他人保存了此要素/, add: '绘制新增', outside: /超出令牌的权限/ }
    : { edit: 'Edit the outline', saved: /Outline saved/, conflict: /Someone else saved this feature/, add: 'Add by drawing' };
  const carrier = lang === 'zh' ? 'carrier-05' : 'carrier-06';

  test(`${lang}: an editor reshapes an outline, meets a second editor's change, and adds a carrier by drawing`, async () => {
    const { page, context, errors, requests } = await open(browser, server.base, { options: { locale: lang === 'zh' ? 'zh-CN' : 'en-GB' } });
    await page.evaluate((l) => window.__atlas.store.update({ lang: l }), lang);
    await signIn(page);
    const before = await openCarrier(page, carrier);
    assert.equal((await page.textContent('#details .outline-open')).trim(), say.edit);

    // 1. Reshape: drag the first corner; the stored outline has that corner where the mouse
    // left it, the other corners where they were, and the change is the editor's.
    await page.click('#details .outline-open');
    await page.waitForSelector('#outline-save');
    await waitIdle(page);
    const moved = await dragCorner(page, before, 40, 25);
    await page.click('#outline-save');
    await page.waitForFunction((re) => new RegExp(re).test(document.querySelector('#details .saved')?.textContent || ''), say.saved.source);
    const after = (await stored(carrier)).feature;
    const ring = after.geometry.coordinates[0];
    const was = before.geometry.coordinates[0];
    assert.ok(ring.some((p) => near(p, moved.to)), `the dragged corner is at ${moved.to}: ${JSON.stringify(ring)}`);
    assert.ok(!ring.some((p) => near(p, moved.from)), 'the corner left its old place');
    for (const p of was.slice(1, -1)) assert.ok(ring.some((q) => near(p, q)), `corner ${p} stayed`);
    assert.deepEqual(after.properties.available_floor_area_m2, before.properties.available_floor_area_m2, 'the figures are untouched');
    const last = (await history(carrier)).at(-1);
    assert.deepEqual([last.operation, last.principal], ['update', 'park-office']);
    await shot(page, `outline-saved-${lang}.png`);

    // 2. A second editor changes the carrier while this one reshapes it: the save is stale,
    // said so, and changes nothing; saving again puts this outline over theirs.
    await page.click('#details .outline-open');
    await page.waitForSelector('#outline-save');
    await waitIdle(page);
    const theirs = await stored(carrier);
    const r = await fetch(`${server.base}${ITEMS}/${carrier}`, {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${second}`, 'Content-Type': 'application/merge-patch+json', 'If-Match': theirs.etag },
      body: JSON.stringify({ properties: { available_floor_area_m2: 4321 } }),
    });
    assert.equal(r.status, 200);
    const second1 = await stored(carrier);
    const again = await dragCorner(page, after, -30, 20);
    await page.click('#outline-save');
    await page.waitForFunction((re) => new RegExp(re).test(document.querySelector('.outline-edit .edit-message')?.textContent || ''), say.conflict.source);
    assert.deepEqual((await stored(carrier)).feature, second1.feature, 'the stale save changed nothing');
    await shot(page, `outline-conflict-${lang}.png`);
    await page.click('#outline-save');
    await page.waitForFunction((re) => new RegExp(re).test(document.querySelector('#details .saved')?.textContent || ''), say.saved.source);
    const final = (await stored(carrier)).feature;
    assert.ok(final.geometry.coordinates[0].some((p) => near(p, again.to)), 'the outline went over theirs');
    assert.equal(final.properties.available_floor_area_m2, 4321, 'their figure stays: only the outline was saved');
    assert.deepEqual((await history(carrier)).slice(-2).map((c) => c.principal), ['second-office', 'park-office']);

    // 3. Add a carrier by drawing: four clicks and the first again close the outline; the
    // figures are filled in; the new carrier is stored with that outline and opens.
    const count = async () => (await (await fetch(`${server.base}${ITEMS}?limit=1`)).json()).numberMatched;
    const n0 = await count();
    await page.click('#add-feature');
    assert.equal(await page.getAttribute('#add-feature', 'aria-pressed'), 'true');
    const box = await page.$eval('#map canvas', (c) => { const b = c.getBoundingClientRect(); return { x: b.left, y: b.top, w: b.width, h: b.height }; });
    const cx = box.x + box.w * 0.6;
    const cy = box.y + box.h * 0.3;
    const corners = [[cx, cy], [cx + 80, cy], [cx + 80, cy + 60], [cx, cy + 60]];
    for (const [x, y] of corners) {
      await page.mouse.click(x, y);
      await page.waitForTimeout(150);
    }
    await page.mouse.click(corners[0][0], corners[0][1]);
    await page.waitForSelector('#details .edit-form');
    const drawn = await Promise.all(corners.map(([x, y]) => lngLatAt(page, { x, y })));
    const name = lang === 'zh' ? '新建实验楼' : 'New lab building';
    await page.fill('#edit-name_zh', `${name} zh`);
    await page.fill('#edit-name_en', `${name} en`);
    await page.fill('#edit-available_floor_area_m2', '2500');
    await page.selectOption('#edit-status', { index: 1 });
    await page.selectOption('#edit-industry', { index: 1 });
    await page.click('.edit-form button[type=submit]');
    await page.waitForFunction((n) => (document.querySelector('#details-title')?.textContent || '').includes(n), `${name} ${lang === 'zh' ? 'zh' : 'en'}`);
    assert.equal(await count(), n0 + 1);
    const made = (await (await fetch(`${server.base}${ITEMS}?limit=1000`)).json()).features.find((f) => f.properties.name_zh === `${name} zh`);
    assert.ok(made, 'the new carrier is served');
    assert.equal(made.properties.available_floor_area_m2, 2500);
    for (const p of drawn) assert.ok(made.geometry.coordinates[0].some((q) => near(p, q)), `corner ${p} of the drawing is stored`);
    assert.deepEqual((await history(made.id)).map((c) => [c.operation, c.principal]), [['create', 'park-office']]);
    await shot(page, `outline-added-${lang}.png`);

    assert.deepEqual(errors.filter((e) => !/status of 4\d\d/.test(e)), []);
    assert.deepEqual(outside(requests, server.base), []);
    await context.close();
  });
}
