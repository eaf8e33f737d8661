// Matching in the web map, as an investment-promotion officer does it in Chinese: the needs of
// issue 16 typed into the panel, the ranked matches and near misses as the API answers the same
// requirement (written here by hand), the map coloured by score, two carriers compared, and the
// shortlist's dossier printed to PDF with the carriers' names in it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { startServer, launch, open, outside, api, shot, artifacts, contactConfig } from './helpers.mjs';

let browser;
let server;
let dir;
let A;

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'atlas-match-'));
  server = await startServer(['--config', contactConfig(dir)]);
  A = api(server.base);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** "3,000 m² or more for future health, 7.5 kN/m², 2,000 kVA, ready by mid-2027; preferably in
 * the FTZ cluster and near the biomedicine park": issue 16's company, with 6 m clear instead of
 * 8 (the shipped laboratories are 4.5 to 6 m high, so at 8 m only factories match and nothing
 * is a near miss). */
const REQUIREMENT = {
  criteria: {
    available_floor_area_m2: { min: 3000 },
    clear_height_m: { min: 6 },
    floor_load_kn_m2: { min: 7.5 },
    power_kva: { min: 2000 },
    delivery_date: { max: '2027-06-30' },
    industry: { in: ['future_health'] },
  },
  preferences: [
    { in: { zones: ['ftz-etown-cluster'] }, weight: 2 },
    { near_feature: { collection: 'parks', id: 'biomedicine-park' }, within_m: 5000, weight: 1 },
  ],
  margin: 0.1,
};

test('the needs of issue 16 in Chinese: ranked matches, near misses, map, comparison, dossier', async () => {
  const { page, context, errors, requests } = await open(browser, server.base);
  await page.click('[role=tab][data-tab=match]');
  await page.waitForSelector('#match-form');
  await page.fill('#m-available_floor_area_m2-min', '3,000');
  await page.fill('#m-clear_height_m-min', '6');
  await page.fill('#m-floor_load_kn_m2-min', '7.5');
  await page.fill('#m-power_kva-min', '2000');
  await page.fill('#m-delivery_date-max', '2027-06-30');
  await page.check('#m-industry-future_health');
  await page.selectOption('#m-pref-zone', 'ftz-etown-cluster');
  await page.selectOption('#m-pref-zone-weight', '2');
  await page.selectOption('#m-pref-park', 'biomedicine-park');
  await page.click('#match-run');
  await page.waitForSelector('#match-summary');
  // What the panel shows is what the API answers for the requirement written above.
  const expected = await A.post('/collections/spatial-carriers/match', { ...REQUIREMENT, limit: 100, nearMissLimit: 50 });
  assert.ok(expected.numberMatched >= 2, `the shipped data has matches: ${expected.numberMatched}`);
  assert.ok(expected.numberNearMisses >= 1, 'and near misses');
  const shown = await page.$$eval('#match-list .match-row', (rows) => rows.map((r) => r.dataset.id));
  assert.deepEqual(shown, expected.matches.map((m) => String(m.id)));
  const near = await page.$$eval('#near-list .match-row', (rows) => rows.map((r) => r.dataset.id));
  assert.deepEqual(near, expected.nearMisses.map((m) => String(m.id)));
  assert.match(await page.textContent('#match-summary'), new RegExp(`${expected.numberMatched} 个匹配，${expected.numberNearMisses} 个接近匹配`));
  // A near miss says what it misses, in words.
  const firstNear = expected.nearMisses[0];
  const failed = firstNear.criteria.find((c) => !c.met);
  const title = (await A.get('/collections/spatial-carriers')).presentation.fields.find((f) => f.name === failed.property).title.zh;
  assert.match(await page.textContent(`#near-list .match-row[data-id="${firstNear.id}"] .reasons`), new RegExp(`${title}：(差|超出|晚)`));
  // The map colours the carriers by score.
  const paint = await page.evaluate(() => window.__atlas.map.getPaintProperty('spatial-carriers-fill', 'fill-color'));
  assert.equal(paint[0], 'case');
  // The requirement is in the link: a reload shows the same answer.
  assert.match(await page.evaluate(() => decodeURIComponent(location.hash)), /req=\{"criteria"/);
  // Shortlist the top two and compare them.
  const [a, b] = expected.matches.slice(0, 2).map((m) => String(m.id));
  await page.check(`#match-list .match-row[data-id="${a}"] input[type=checkbox]`);
  await page.check(`#match-list .match-row[data-id="${b}"] input[type=checkbox]`);
  await page.click('#compare');
  await page.waitForSelector('#compare-dialog');
  const heads = await page.$$eval('#compare-dialog thead th', (th) => th.map((x) => x.textContent.trim()));
  const names = expected.matches.slice(0, 2).map((m) => m.names.name_zh);
  assert.deepEqual(heads.slice(1), names);
  assert.equal(await page.$$eval('#compare-dialog tr.criterion', (r) => r.length), Object.keys(REQUIREMENT.criteria).length);
  assert.ok(await page.$$eval('#compare-dialog td.met', (r) => r.length) >= 2 * 6, 'every criterion met by both matches');
  await shot(page, 'compare.png');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#compare-dialog', { state: 'detached' });
  // The dossier: printed to A4 PDF, its text read back with pdftotext.
  await page.click('#dossier-open');
  await page.waitForSelector('#dossier:not([hidden]) .dossier-table');
  await page.emulateMedia({ media: 'print' });
  const pdf = path.join(artifacts, 'dossier.pdf');
  await page.pdf({ path: pdf, format: 'A4', printBackground: true });
  const text = execFileSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' });
  for (const m of expected.matches.slice(0, 2)) {
    assert.ok(text.includes(m.names.name_zh), `${m.names.name_zh} in the PDF`);
    assert.ok(text.includes(m.names.name_en), `${m.names.name_en} in the PDF`);
  }
  assert.ok(text.includes('亦庄投资促进服务中心') && text.includes('E-Town Investment Promotion Centre'), 'the contact');
  assert.ok(text.includes('产业空间意向清单 / Shortlist of industrial space'), 'bilingual title');
  assert.ok(!text.includes('需求匹配'), 'the app around the dossier is not printed');
  await page.emulateMedia({ media: 'screen' });
  await shot(page, 'dossier.png');
  assert.deepEqual(errors, []);
  assert.deepEqual(outside(requests, server.base), []);
  await context.close();
});

test('a shared shortlist link restores the requirement, the answer and the choice; English', async () => {
  const hash = `#tab=match&lang=en&req=${encodeURIComponent(JSON.stringify(REQUIREMENT))}`;
  const { page, context } = await open(browser, server.base, { hash, options: { locale: 'en-GB' } });
  await page.waitForSelector('#match-summary');
  const expected = await A.post('/collections/spatial-carriers/match', { ...REQUIREMENT, limit: 100, nearMissLimit: 50 });
  const [n, near] = [expected.numberMatched, expected.numberNearMisses];
  assert.equal((await page.textContent('#match-summary')).trim(), `${n} ${n === 1 ? 'match' : 'matches'}, ${near} ${near === 1 ? 'near miss' : 'near misses'}`);
  assert.equal(await page.inputValue('#m-power_kva-min'), '2000');
  assert.ok(await page.isChecked('#m-industry-future_health'));
  assert.equal(await page.inputValue('#m-pref-zone'), 'ftz-etown-cluster');
  // The answer is on screen and the form folded away; opened, a typo is named, and nothing is sent.
  assert.equal(await page.$eval('#match-needs', (d) => d.open), false);
  await page.click('#match-needs summary');
  await page.fill('#m-clear_height_m-min', 'eight');
  await page.click('#match-run');
  await page.waitForSelector('.match-form .edit-message:not([hidden])');
  assert.match(await page.textContent('.match-form .edit-message'), /“eight” is not a number/);
  assert.equal(await page.getAttribute('#m-clear_height_m-min', 'aria-invalid'), 'true');
  // The details of a carrier show whom to ask.
  await page.evaluate((id) => window.__atlas.store.update({ selected: { collection: 'spatial-carriers', id } }), String(expected.matches[0].id));
  await page.waitForSelector('#details .contact');
  assert.match(await page.textContent('#details .contact'), /E-Town Investment Promotion Centre/);
  await context.close();
});
