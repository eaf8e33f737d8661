// Availability over time in the web map (issue 30): two edits placed in the past (the change
// log's instants rewritten to two and one months ago), then in Chinese and in English: the
// monthly trend shows each month's absorption; "as of" a day before both edits brings back the
// old figures in the list and says so on the map, and "back to now" returns; "changes since"
// today marks the edited carriers in the list and outlines them on the map; and an edit made by
// someone else appears without a reload while an editor is signed in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { startServer, launch, open, outside, settled, debugBin, shot } from './helpers.mjs';

const ITEMS = '/collections/spatial-carriers/items';
let browser;
let server;
let dir;
let token;
let state;

/** A day `months` months before this one, on its `day`, Beijing time: YYYY-MM-DD. */
function monthsAgo(months, day) {
  const now = new Date(Date.now() + 8 * 3600e3);
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - months, day));
  return d.toISOString().slice(0, 10);
}

async function patch(id, properties) {
  const url = `${server.base}${ITEMS}/${id}`;
  const etag = (await fetch(url)).headers.get('etag');
  const r = await fetch(url, {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/merge-patch+json', 'If-Match': etag },
    body: JSON.stringify({ properties }),
  });
  assert.equal(r.status, 200);
  return Number(r.headers.get('atlas-data-version'));
}

/** Sets change `seq`'s instant in the state store's log (the server reads it from there). */
function placeAt(seq, instant) {
  const script = 'import sqlite3,sys\ndb=sqlite3.connect(sys.argv[1],timeout=10)\ndb.execute("UPDATE changes SET at=? WHERE seq=?",(sys.argv[3],int(sys.argv[2])))\ndb.commit()';
  execFileSync('python3', ['-c', script, path.join(state, 'state.sqlite'), String(seq), instant]);
}

const october = monthsAgo(2, 15);
const november = monthsAgo(1, 20);

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'atlas-history-'));
  state = path.join(dir, 'state');
  token = execFileSync(debugBin, ['token', 'create', '--state', state, '--name', 'historian', '--role', 'editor'], { encoding: 'utf8' }).trim().split('\n').pop();
  server = await startServer(['--state', state]);
  // carrier-01: 7,300 → 100 available two months ago; carrier-02: 34,500 → 0 a month ago.
  placeAt(await patch('carrier-01', { available_floor_area_m2: 100 }), new Date(`${october}T10:00:00+08:00`).toISOString());
  placeAt(await patch('carrier-02', { available_floor_area_m2: 0 }), new Date(`${november}T10:00:00+08:00`).toISOString());
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const row = (page, id) => page.textContent(`#results button.result[data-id="${id}"]`);

async function run(lang, words) {
  const { page, context, errors, requests } = await open(browser, server.base, { options: { locale: lang === 'zh' ? 'zh-CN' : 'en-GB' } });
  await page.click('#signin');
  await page.fill('#token', token);
  await page.click('.signin-dialog button[type=submit]');
  await page.waitForSelector('.signin-dialog', { state: 'detached' });
  await page.click('[data-tab=stats]');
  await page.waitForSelector('#trend-table tbody tr');
  assert.equal((await page.textContent('#history-heading')).trim(), words.title);
  assert.equal((await page.textContent('#trend-heading')).trim(), words.trend);

  // The trend: two months ago carrier-01's 7,200 m² were absorbed; last month carrier-02's 34,500.
  const cells = async (month) => (await page.$$eval(`#trend-table tr[data-month="${month}"] td`, (tds) => tds.map((td) => td.textContent.trim())));
  const [, absorbedOct] = await cells(october.slice(0, 7));
  const [, absorbedNov] = await cells(november.slice(0, 7));
  assert.match(absorbedOct, words.oct, `absorption in ${october.slice(0, 7)}`);
  assert.match(absorbedNov, words.nov, `absorption in ${november.slice(0, 7)}`);

  // As of the day before the first edit: the old figures, and the map says so.
  await page.click('[data-tab=find]');
  assert.match(await row(page, 'carrier-01'), words.now01);
  await page.click('[data-tab=stats]');
  const before = monthsAgo(2, 1);
  await page.fill('#history-as-of', before);
  await page.dispatchEvent('#history-as-of', 'change');
  await page.waitForSelector('#past-banner:not([hidden])');
  await settled(page);
  assert.match(await page.textContent('#past-banner'), new RegExp(before));
  assert.match(await page.textContent('#history-showing'), new RegExp(before));
  await page.click('[data-tab=find]');
  await page.waitForFunction((re) => new RegExp(re).test(document.querySelector('#results button.result[data-id="carrier-01"]')?.textContent || ''), words.then01.source);
  assert.match(await row(page, 'carrier-02'), words.then02);
  await shot(page, `history-as-of-${lang}.png`);
  // Back to now.
  await page.click('#past-banner');
  await page.waitForSelector('#past-banner[hidden]', { state: 'attached' });
  await page.waitForFunction((re) => new RegExp(re).test(document.querySelector('#results button.result[data-id="carrier-01"]')?.textContent || ''), words.now01.source);

  // Changes since today: both edited carriers are marked, and outlined on the map.
  await page.click('[data-tab=stats]');
  const today = monthsAgo(0, new Date(Date.now() + 8 * 3600e3).getUTCDate());
  await page.fill('#history-since', today);
  await page.dispatchEvent('#history-since', 'change');
  await page.waitForSelector('#history-changed');
  assert.match(await page.textContent('#history-changed'), words.changed);
  await page.click('[data-tab=find]');
  await page.waitForSelector('#results button.result[data-id="carrier-01"] .badge.changed');
  assert.equal((await page.textContent('#results button.result[data-id="carrier-01"] .badge.changed')).trim(), words.mark);
  assert.equal(await page.$('#results button.result[data-id="carrier-05"] .badge.changed'), null);
  assert.ok(await page.evaluate(() => Boolean(window.__atlas.map.getLayer('changed-since'))));

  // Someone else's edit appears without a reload.
  const value = lang === 'zh' ? 4321 : 5432;
  await patch('carrier-03', { available_floor_area_m2: value });
  await page.waitForFunction((v) => (document.querySelector('#status')?.textContent || '').includes('carrier-03'), null, { timeout: 15000 });
  assert.match(await page.textContent('#status'), words.live);
  await page.waitForFunction((re) => new RegExp(re).test(document.querySelector('#results button.result[data-id="carrier-03"]')?.textContent || ''), words.live03.source);

  // This week's report, printable, in a tab of its own: both languages, the carriers changed.
  await page.click('[data-tab=stats]');
  const [tab] = await Promise.all([context.waitForEvent('page'), page.click('#weekly-report')]);
  await tab.waitForFunction(() => document.body && /Weekly report/.test(document.body.textContent), null, { timeout: 15000 });
  const report = await tab.textContent('body');
  assert.match(report, /周报/);
  assert.match(report, /carrier-03/);
  await tab.close();

  assert.deepEqual(errors, []);
  assert.deepEqual(outside(requests, server.base), []);
  await context.close();
}

test('the map, list and statistics over time, in Chinese', () => run('zh', {
  title: '随时间变化',
  trend: '每月空置率与去化',
  oct: /7,200 ㎡/,
  nov: /3\.5 万㎡/,
  now01: /100 ㎡/,
  then01: /7,300 ㎡/,
  then02: /3\.5 万㎡/,
  changed: /有 [2-9] 个变更/,
  mark: '已变更',
  live: /historian 更新了 carrier-03/,
  live03: /4,321 ㎡/,
}));

test('the map, list and statistics over time, in English', () => run('en', {
  title: 'Over time',
  trend: 'Vacancy and absorption per month',
  oct: /7,200 m²/,
  nov: /34,500 m²/,
  now01: /100 m²/,
  then01: /7,300 m²/,
  then02: /34,500 m²/,
  changed: /^[2-9] changed since/,
  mark: 'changed',
  live: /Updated by historian: carrier-03/,
  live03: /5,432 m²/,
}));
