// "Update from a spreadsheet", as a park office does its weekly update: sign in, download the
// workbook (read back by openpyxl), upload a file with a mistake and see it at its cell in
// Chinese, upload it corrected, review the changed cell, apply, and undo it from the list in
// English; the API agrees at every step.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { startServer, launch, open, outside, debugBin, root } from './helpers.mjs';

const python = process.env.ETOWN_ATLAS_PYTHON || path.join(root, 'target/venv/bin/python3');
const CARRIER = 'carrier-10';
let browser;
let server;
let dir;
let token;

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'atlas-changeset-'));
  const state = path.join(dir, 'state');
  token = execFileSync(debugBin, ['token', 'create', '--state', state, '--name', 'park-office', '--collections', 'spatial-carriers'], { encoding: 'utf8' }).trim().split('\n').pop();
  server = await startServer(['--state', state]);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const item = async () => (await (await fetch(`${server.base}/collections/spatial-carriers/items/${CARRIER}`, { cache: 'no-store' })).json()).properties;

test('an editor updates carriers from a spreadsheet, reviews, applies and undoes it, in Chinese and English', async () => {
  const { page, errors, requests } = await open(browser, server.base);
  const original = await item();
  assert.equal(await page.$('#sheet-update'), null, 'no spreadsheet update before signing in');
  await page.click('#signin');
  await page.fill('#token', token);
  await page.click('.signin-dialog button[type=submit]');
  await page.waitForSelector('.signin-dialog', { state: 'detached' });
  await page.click('#sheet-update');
  await page.waitForSelector('.changeset-dialog h2');
  assert.equal((await page.textContent('.changeset-dialog h2')).trim(), '用表格批量更新');
  // The workbook, downloaded as a person does, and read by openpyxl.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#changeset-workbook')]);
  const book = path.join(dir, 'workbook.xlsx');
  await download.saveAs(book);
  assert.match(download.suggestedFilename(), /^spatial-carriers-\d{4}-\d{2}-\d{2}\.xlsx$/);
  const script = 'import json,sys,openpyxl\nws=openpyxl.load_workbook(sys.argv[1]).worksheets[0]\nprint(json.dumps([list(r) for r in ws.iter_rows(values_only=True)],default=str))';
  const rows = JSON.parse(execFileSync(python, ['-c', script, book], { encoding: 'utf8' }));
  const seed = (await (await fetch(`${server.base}/collections/spatial-carriers/items?limit=1000`)).json()).features;
  assert.equal(rows.length, seed.length + 2, 'two header rows, then one row per carrier');
  assert.equal(rows[0][0], '编号');
  assert.equal(rows[1][0], 'id');
  const areaCol = rows[1].indexOf('available_floor_area_m2');
  assert.ok(areaCol > 0);
  assert.ok(rows[0][areaCol].includes('可用面积'), rows[0][areaCol]);
  const row = rows.find((r) => r[0] === CARRIER);
  assert.equal(row[areaCol], original.available_floor_area_m2);

  // A file with a mistake: the error is shown at its cell, and nothing can be applied.
  const wrong = path.join(dir, 'wrong.csv');
  writeFileSync(wrong, `id,available_floor_area_m2,rent_cny_m2_day\n${CARRIER},1234,about five\n`);
  await page.setInputFiles('#changeset-file', wrong);
  await page.waitForSelector('.changeset-table .cell-error');
  const error = await page.textContent(`.changeset-row[data-id="${CARRIER}"] .cell-error`);
  assert.match(error, /租金/);
  assert.match(error, /“about five”不是数字/);
  assert.ok(await page.$eval('#changeset-apply', (b) => b.disabled), 'a set with an error cannot be applied');
  assert.equal((await item()).available_floor_area_m2, original.available_floor_area_m2);

  // Corrected: the changed cell is marked with before and after; applied all at once.
  const right = path.join(dir, 'right.csv');
  writeFileSync(right, `id,available_floor_area_m2,rent_cny_m2_day\n${CARRIER},1234,${original.rent_cny_m2_day}\n`);
  await page.setInputFiles('#changeset-file', right);
  await page.waitForFunction(() => document.querySelector('.changeset-table .cell-changed') && !document.querySelector('.changeset-table .cell-error'));
  const changed = await page.textContent(`.changeset-row[data-id="${CARRIER}"] .cell-changed`);
  assert.match(changed, /可用面积/);
  assert.ok(changed.includes(String(original.available_floor_area_m2)) && changed.includes('1234'), changed);
  assert.match(await page.textContent('.changeset-summary'), /修改 1 项/);
  await page.click('#changeset-apply');
  await page.waitForFunction(() => /已应用/.test(document.querySelector('.changeset-dialog .edit-message')?.textContent || ''));
  assert.equal((await item()).available_floor_area_m2, 1234);
  await page.waitForSelector('.changeset-list .changeset-revert');
  assert.match(await page.textContent('.changeset-list'), /已应用/);
  assert.match(await page.textContent('.changeset-list'), /park-office/);

  // In English: the list, and undoing the update from it.
  await page.click('.changeset-dialog .edit-actions button:last-child');
  await page.click('#lang');
  await page.click('#sheet-update');
  await page.waitForSelector('.changeset-list .changeset-revert');
  assert.equal((await page.textContent('.changeset-dialog h2')).trim(), 'Update from a spreadsheet');
  assert.match(await page.textContent('.changeset-list'), /applied/);
  await page.click('.changeset-list .changeset-revert');
  await page.waitForFunction(() => /Undone/.test(document.querySelector('.changeset-dialog .edit-message')?.textContent || ''));
  assert.deepEqual(await item(), original, 'the carrier is back exactly as it was');
  assert.match(await page.textContent('.changeset-list'), /undone/);
  // An English upload shows English reasons.
  await page.setInputFiles('#changeset-file', wrong);
  await page.waitForSelector('.changeset-table .cell-error');
  assert.match(await page.textContent(`.changeset-row[data-id="${CARRIER}"] .cell-error`), /"about five" is not a number/);
  assert.deepEqual(errors, []);
  assert.deepEqual(outside(requests, server.base), []);
});
