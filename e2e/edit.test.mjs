// Editing in the web map, as a park operator does it: sign in with an API token (made by the
// CLI into a throwaway state directory), open a carrier, change its availability, and see the
// map, the details and the API agree; a typo and a conflicting save are explained, not lost.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { startServer, launch, open, outside, debugBin, shot } from './helpers.mjs';

const CARRIER = 'carrier-20';
const ITEM = `/collections/spatial-carriers/items/${CARRIER}`;
let browser;
let server;
let dir;
let token;

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'atlas-edit-'));
  const state = path.join(dir, 'state');
  token = execFileSync(debugBin, ['token', 'create', '--state', state, '--name', 'park-office', '--collections', 'spatial-carriers'], { encoding: 'utf8' }).trim().split('\n').pop();
  // Figures older than a day are stale here, so the shipped as_of (2026-11-01) shows the badge.
  writeFileSync(path.join(dir, 'atlas.toml'), 'stale_after_days = 1\n');
  server = await startServer(['--state', state, '--config', path.join(dir, 'atlas.toml')]);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The carrier as stored, with its ETag, read by the test as any client would. */
async function stored() {
  const r = await fetch(`${server.base}${ITEM}`, { headers: { Accept: 'application/geo+json' }, cache: 'no-store' });
  assert.equal(r.status, 200);
  return { feature: await r.json(), etag: r.headers.get('etag') };
}

/** The value the map's own source holds for the carrier (what is drawn and listed). */
const drawnValue = (page) => page.evaluate((id) => {
  const f = window.__atlas.map.querySourceFeatures('spatial-carriers').find((x) => String(x.properties.fid) === id);
  return f ? f.properties.available_floor_area_m2 : undefined;
}, CARRIER);

test('an editor signs in, changes availability, and the map, the details and the API agree', async () => {
  const { page, context, errors, requests } = await open(browser, server.base);
  const before = await stored();
  // Anonymous: the figures' date and the stale badge, no Edit button.
  await page.evaluate((id) => window.__atlas.store.update({ selected: { collection: 'spatial-carriers', id } }), CARRIER);
  await page.waitForSelector('#details:not([hidden])');
  assert.match(await page.textContent('#details .updated'), /数据截至 2026年11月1日/);
  const days = Math.floor((Date.now() - Date.parse('2026-11-01T00:00:00Z')) / 86_400_000);
  assert.match(await page.textContent('#details .stale'), new RegExp(`已 ${days.toLocaleString('zh-CN')} 天未更新`));
  assert.equal(await page.$('#details .edit-open'), null, 'no Edit button before signing in');
  // The results list marks the stale rows too.
  assert.match(await page.textContent(`#results .result[data-id="${CARRIER}"]`), new RegExp(`${days.toLocaleString('zh-CN')} 天未更新`));
  const totalOf = async () => (await (await fetch(`${server.base}/collections/spatial-carriers/stats`)).json()).total.sums.available_floor_area_m2;
  const wan = (m2) => `${Math.round(m2 / 10000).toLocaleString('zh-CN')} 万㎡`;
  assert.ok((await page.textContent('#summary')).includes(wan(await totalOf())));
  // A wrong token is refused in words; the right one is kept for this tab.
  await page.click('#signin');
  await page.fill('#token', 'eta_not-a-token');
  await page.click('.signin-dialog button[type=submit]');
  await page.waitForSelector('.signin-dialog .edit-message:not([hidden])');
  assert.match(await page.textContent('.signin-dialog .edit-message'), /令牌在本服务器无效/);
  await page.fill('#token', token);
  await page.click('.signin-dialog button[type=submit]');
  await page.waitForSelector('.signin-dialog', { state: 'detached' });
  assert.equal((await page.textContent('#signin')).trim(), '退出登录');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('etown-atlas-token')), token);
  // A typo is named and nothing is sent.
  await page.click('#details .edit-open');
  await page.waitForSelector('#edit-available_floor_area_m2');
  assert.equal(await page.inputValue('#edit-available_floor_area_m2'), String(before.feature.properties.available_floor_area_m2));
  // The park it belongs to is picked by name, not typed as an id.
  const park = await (await fetch(`${server.base}/collections/parks/items/${before.feature.properties.park}`)).json();
  assert.equal(await page.inputValue('#edit-park'), before.feature.properties.park);
  assert.equal((await page.$eval('#edit-park', (s) => s.selectedOptions[0].textContent)).trim(), park.properties.name_zh);
  await page.fill('#edit-available_floor_area_m2', '4千');
  await page.click('.edit-form button[type=submit]');
  await page.waitForSelector('.edit-form .edit-message:not([hidden])');
  assert.match(await page.textContent('.edit-form .edit-message'), /“4千”不是数字/);
  assert.equal(await page.getAttribute('#edit-available_floor_area_m2', 'aria-invalid'), 'true');
  assert.equal((await stored()).etag, before.etag, 'a refused value changes nothing');
  // A real value, typed as people type it: 47,300 m² to 4,500 is more than ten times less, so
  // the first Save asks (at the field, saving nothing) and the second saves.
  await page.fill('#edit-available_floor_area_m2', '4,500');
  await page.click('.edit-form button[type=submit]');
  await page.waitForFunction(() => /相差十倍以上/.test(document.querySelector('.edit-form .edit-message')?.textContent || ''));
  assert.match(await page.textContent('.edit-form .edit-message'), /可用面积将从 4\.7 万㎡ 改为 4,500 ㎡，相差十倍以上/);
  assert.equal(await page.getAttribute('#edit-available_floor_area_m2', 'aria-invalid'), 'true');
  assert.equal((await stored()).etag, before.etag, 'asked, not saved');
  await page.click('.edit-form button[type=submit]');
  await page.waitForSelector('#details .saved');
  const after1 = await stored();
  assert.equal(after1.feature.properties.available_floor_area_m2, 4500);
  assert.notEqual(after1.etag, before.etag);
  assert.equal(after1.feature.properties.updated_at.slice(0, 10), new Date().toISOString().slice(0, 10));
  await page.waitForFunction(() => /由 park-office 更新/.test(document.querySelector('#details .updated')?.textContent || ''));
  assert.equal(await page.$('#details .stale'), null, 'just updated: not stale');
  assert.match(await page.textContent('#details [data-field=available_floor_area_m2]'), /4,500|4500|0\.45/);
  await page.waitForFunction((id) => window.__atlas.map.querySourceFeatures('spatial-carriers').some((x) => String(x.properties.fid) === id && x.properties.available_floor_area_m2 === 4500), CARRIER);
  assert.equal(await drawnValue(page), 4500);
  // The list row and the totals follow: the row is fresh and shows 4,500 m², the summary the
  // new total the statistics endpoint gives.
  const row = `#results .result[data-id="${CARRIER}"]`;
  await page.waitForFunction((sel) => !/天未更新/.test(document.querySelector(sel)?.textContent || 'x'), row);
  assert.match(await page.textContent(row), /4,500|4500|0\.45 万/);
  const total = await totalOf();
  await page.waitForFunction((text) => document.querySelector('#summary')?.textContent.includes(text), wan(total));
  // A second browser opens the form; the first saves meanwhile; the second's save is stale.
  const second = await open(browser, server.base);
  const other = second.page;
  await other.click('#signin');
  await other.fill('#token', token);
  await other.click('.signin-dialog button[type=submit]');
  await other.waitForSelector('.signin-dialog', { state: 'detached' });
  await other.evaluate((id) => window.__atlas.store.update({ selected: { collection: 'spatial-carriers', id } }), CARRIER);
  await other.click('#details .edit-open');
  await other.waitForSelector('#edit-available_floor_area_m2');
  await other.fill('#edit-available_floor_area_m2', '5000');
  await page.click('#details .edit-open');
  await page.waitForSelector('#edit-available_floor_area_m2');
  await page.fill('#edit-available_floor_area_m2', '1234');
  await page.click('.edit-form button[type=submit]');
  await page.waitForSelector('#details .saved');
  assert.equal((await stored()).feature.properties.available_floor_area_m2, 1234);
  await other.click('.edit-form button[type=submit]');
  await other.waitForFunction(() => /其他人保存了此要素/.test(document.querySelector('.edit-form .edit-message')?.textContent || ''));
  assert.match(await other.textContent('.edit-form .edit-message'), /可用面积（对方 1,234 ㎡，您 5,000 ㎡）/, 'the conflict names the field that differs');
  assert.equal((await stored()).feature.properties.available_floor_area_m2, 1234, 'the stale save changed nothing');
  assert.match(await other.textContent('#details [data-field=available_floor_area_m2]'), /1,234|1234/);
  assert.equal(await other.inputValue('#edit-available_floor_area_m2'), '5000', 'what was typed is kept');
  await shot(other, 'edit-conflict.png');
  await other.click('.edit-form button[type=submit]');
  await other.waitForSelector('#details .saved');
  assert.equal((await stored()).feature.properties.available_floor_area_m2, 5000);
  assert.deepEqual(second.errors.filter((e) => !/status of 4\d\d/.test(e)), []);
  await second.context.close();
  // Deleting takes two clicks, then the carrier is gone from the API and the map.
  await page.click('#details .edit-open');
  await page.waitForSelector('#edit-delete');
  await page.click('#edit-delete');
  assert.match(await page.textContent('#edit-delete'), /再次点击/);
  assert.equal((await fetch(`${server.base}${ITEM}`)).status, 200, 'one click deletes nothing');
  await page.click('#edit-delete');
  await page.waitForSelector('#details', { state: 'hidden' });
  assert.equal((await fetch(`${server.base}${ITEM}`)).status, 404);
  await page.waitForFunction((id) => !window.__atlas.map.querySourceFeatures('spatial-carriers').some((x) => String(x.properties.fid) === id), CARRIER);
  // The history records who made each change.
  const history = await (await fetch(`${server.base}${ITEM}/history`, { headers: { Authorization: `Bearer ${token}` } })).json();
  assert.deepEqual(history.changes.map((c) => [c.operation, c.principal]), [['update', 'park-office'], ['update', 'park-office'], ['update', 'park-office'], ['delete', 'park-office']]);
  // Signing out removes the token and the Edit button.
  await page.click('#signin');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('etown-atlas-token')), null);
  await page.evaluate(() => window.__atlas.store.update({ selected: { collection: 'spatial-carriers', id: 'carrier-03' } }));
  await page.waitForFunction(() => /03/.test(document.querySelector('#details-title')?.textContent || ''));
  assert.equal(await page.$('#details .edit-open'), null);
  assert.deepEqual(errors.filter((e) => !/status of 4\d\d/.test(e)), []);
  assert.deepEqual(outside(requests, server.base), []);
  await context.close();
});

test('English: the sign-in, the form and its messages', async () => {
  const { page, context } = await open(browser, server.base, { options: { locale: 'en-GB' } });
  await page.evaluate(() => window.__atlas.store.update({ lang: 'en' }));
  assert.equal((await page.textContent('#signin')).trim(), 'Sign in');
  await page.click('#signin');
  assert.match(await page.textContent('.signin-dialog'), /API token/);
  await page.fill('#token', token);
  await page.click('.signin-dialog button[type=submit]');
  await page.waitForSelector('.signin-dialog', { state: 'detached' });
  // (carrier-20 was deleted by the test above.)
  await page.evaluate(() => window.__atlas.store.update({ selected: { collection: 'spatial-carriers', id: 'carrier-03' } }));
  await page.waitForSelector('#details .edit-open');
  assert.equal((await page.textContent('#details .edit-open')).trim(), 'Edit');
  await page.click('#details .edit-open');
  await page.waitForSelector('#edit-available_floor_area_m2');
  assert.match(await page.textContent('.edit-form'), /Available floor area/);
  await page.click('.edit-form button[type=submit]');
  await page.waitForSelector('.edit-form .edit-message:not([hidden])');
  assert.match(await page.textContent('.edit-form .edit-message'), /Nothing was changed/);
  await context.close();
});
