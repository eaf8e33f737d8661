// The Team dialog (issue 29), as an administrator uses it: make a park operator's token with its
// rights (one park, some properties), hand over the secret shown once, see it work only inside
// those rights, revoke it, and read who changed what, filtered and as a CSV file. In Chinese,
// then the same dialog in English; an editor who is not an administrator never sees it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { startServer, launch, open, outside, debugBin, shot } from './helpers.mjs';

const ITEMS = '/collections/spatial-carriers/items';
let browser;
let server;
let dir;
let chief;
let office;

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'atlas-team-'));
  const state = path.join(dir, 'state');
  const make = (name, role) => execFileSync(debugBin, ['token', 'create', '--state', state, '--name', name, '--role', role], { encoding: 'utf8' }).trim().split('\n').pop();
  chief = make('chief', 'admin');
  office = make('park-office', 'editor');
  server = await startServer(['--state', state]);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function signIn(page, token) {
  await page.click('#signin');
  await page.fill('#token', token);
  await page.click('.signin-dialog button[type=submit]');
  await page.waitForSelector('.signin-dialog', { state: 'detached' });
}

/** PATCHes a carrier's available area with `token`, as any client: the status. */
async function patch(token, id, value) {
  const url = `${server.base}${ITEMS}/${id}`;
  const etag = (await fetch(url)).headers.get('etag');
  const r = await fetch(url, {
    method: 'PATCH',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/merge-patch+json', 'If-Match': etag },
    body: JSON.stringify({ properties: { available_floor_area_m2: value } }),
  });
  return r.status;
}

test('an administrator makes a scoped token, revokes it and reads the audit, in Chinese', async () => {
  const carriers = (await (await fetch(`${server.base}${ITEMS}?limit=1000`)).json()).features;
  const mine = carriers.find((f) => f.properties.park === 'ic-park').id;
  const theirs = carriers.find((f) => f.properties.park && f.properties.park !== 'ic-park').id;

  // An editor has no Team button.
  const asEditor = await open(browser, server.base);
  await signIn(asEditor.page, office);
  await asEditor.page.waitForSelector('#sheet-update');
  assert.equal(await asEditor.page.$('#team'), null);
  await asEditor.context.close();

  const { page, context, errors, requests } = await open(browser, server.base);
  await signIn(page, chief);
  await page.waitForSelector('#team');
  assert.equal((await page.textContent('#team')).trim(), '团队');
  await page.click('#team');
  await page.waitForSelector('.team-dialog tr[data-token="park-office"]');
  assert.match(await page.textContent('.team-dialog tr[data-token="chief"]'), /管理员/);

  // A filter naming a property the carriers do not have is refused, in words, at once.
  await page.fill('#team-name', 'ic-operator');
  await page.selectOption('#team-collection', 'spatial-carriers');
  await page.fill('#team-where', "parc = 'ic-park'");
  await page.click('#team-create');
  await page.waitForSelector('.team-create .edit-message:not([hidden])');
  assert.match(await page.textContent('.team-create .edit-message'), /parc/);
  await page.fill('#team-where', "park = 'ic-park'");
  await page.check('#team-field-available_floor_area_m2');
  await page.check('#team-field-status');
  await page.click('#team-create');
  await page.waitForSelector('#team-secret');
  const secret = await page.inputValue('#team-secret');
  assert.match(secret, /^eta_/);
  assert.match(await page.textContent('.team-dialog .made'), /仅显示这一次/);
  const row = '.team-dialog tr[data-token="ic-operator"]';
  assert.match(await page.textContent(row), /park = 'ic-park'/);
  assert.match(await page.textContent(row), /仅 可用面积、建设状态/);
  assert.match(await page.textContent(row), /有效/);
  await shot(page, 'team-made-zh.png');

  // The token works inside its rights only.
  assert.equal(await patch(secret, mine, 777), 200);
  assert.equal(await patch(secret, theirs, 777), 403);
  assert.equal(await patch(office, theirs, 888), 200);

  // Revoked in two clicks; refused from then on.
  await page.click(`${row} .revoke`);
  assert.match(await page.textContent(`${row} .revoke`), /再次点击/);
  assert.equal(await patch(secret, mine, 778), 200, 'one click revokes nothing');
  await page.click(`${row} .revoke`);
  await page.waitForFunction((sel) => /已吊销/.test(document.querySelector(sel)?.textContent || ''), row);
  assert.equal(await patch(secret, mine, 779), 401);

  // The audit: the changes just made, newest first; filtered by who; as a CSV file.
  await page.click('#audit-apply');
  await page.waitForFunction(() => document.querySelectorAll('.team-table.audit tbody tr').length === 3);
  const cells = await page.$$eval('.team-table.audit tbody tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
  assert.deepEqual(cells.map((c) => [c[1], c[3], c[4]]), [['ic-operator', mine, '修改'], ['park-office', theirs, '修改'], ['ic-operator', mine, '修改']]);
  await page.fill('#audit-principal', 'park-office');
  await page.click('#audit-apply');
  await page.waitForFunction(() => document.querySelectorAll('.team-table.audit tbody tr').length === 1);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#audit-csv')]);
  const file = path.join(dir, 'audit.csv');
  await download.saveAs(file);
  const lines = readFileSync(file, 'utf8').replace(/^\uFEFF/, '').trim().split(/\r?\n/);
  assert.equal(lines[0], 'seq,at,principal,collection,feature_id,operation,changeset');
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.match(lines[1], new RegExp(`,park-office,spatial-carriers,${theirs},update,$`));
  await page.fill('#audit-principal', 'nobody');
  await page.click('#audit-apply');
  await page.waitForSelector('#audit-none');
  await shot(page, 'team-audit-zh.png');

  assert.deepEqual(errors.filter((e) => !/status of 4\d\d/.test(e)), []);
  assert.deepEqual(outside(requests, server.base), []);
  await context.close();
});

test('the Team dialog in English', async () => {
  const { page, context, errors } = await open(browser, server.base, { options: { locale: 'en-GB' } });
  await page.evaluate(() => window.__atlas.store.update({ lang: 'en' }));
  await signIn(page, chief);
  await page.waitForSelector('#team');
  assert.equal((await page.textContent('#team')).trim(), 'Team');
  await page.click('#team');
  await page.waitForSelector('.team-dialog tr[data-token="ic-operator"]');
  assert.match(await page.textContent('.team-dialog h2'), /Team: tokens and the audit/);
  assert.match(await page.textContent('.team-dialog tr[data-token="ic-operator"]'), /revoked/);
  assert.match(await page.textContent('.team-dialog tr[data-token="chief"]'), /administrator/);
  await page.waitForFunction(() => document.querySelectorAll('.team-table.audit tbody tr').length === 3);
  assert.match(await page.textContent('.team-table.audit'), /updated/);
  assert.match(await page.textContent('.team-dialog'), /Who changed what/);
  // A name taken is said in English.
  await page.fill('#team-name', 'park-office');
  await page.click('#team-create');
  await page.waitForSelector('.team-create .edit-message:not([hidden])');
  assert.match(await page.textContent('.team-create .edit-message'), /exists/);
  assert.deepEqual(errors.filter((e) => !/status of 4\d\d/.test(e)), []);
  await context.close();
});
