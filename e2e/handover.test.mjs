// What the officer hands a company, checked as the company receives it: the shortlist as Excel
// (read back by openpyxl, a reader that shares no code with the writer) and as CSV, cell by cell
// against the API's answer and the vocabularies; the dossier printed to PDF and read back with
// pdftotext, a near miss's shortfalls in it; the short link opened in a fresh browser in the
// other language, landing on the shortlist; the answer on screen after "Find matches"; the
// statistics by zone readable. Chinese and English, desktop and phone, on a server that keeps
// edits (so the header carries "Sign in" as well).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { startServer, launch, open, outside, api, shot, artifacts, root, seriousViolations, settled, contactConfig } from './helpers.mjs';

let browser;
let server;
let dir;
let A;
const python = process.env.ETOWN_ATLAS_PYTHON || path.join(root, 'target/venv/bin/python3');

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'atlas-handover-'));
  server = await startServer(['--state', path.join(dir, 'state.sqlite'), '--config', contactConfig(dir)]);
  A = api(server.base);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The search: future health, at least 5,000 m² and 6 m clear, near misses within 25 %,
 * preferably in the FTZ cluster and near the biomedicine park. */
const REQUIREMENT = {
  criteria: {
    available_floor_area_m2: { min: 5000 },
    clear_height_m: { min: 6 },
    industry: { in: ['future_health'] },
  },
  preferences: [
    { in: { zones: ['ftz-etown-cluster'] }, weight: 2 },
    { near_feature: { collection: 'parks', id: 'biomedicine-park' }, within_m: 5000, weight: 1 },
  ],
  margin: 0.25,
};

async function fillForm(page, area = '5000') {
  await page.fill('#m-available_floor_area_m2-min', area);
  await page.fill('#m-clear_height_m-min', '6');
  await page.check('#m-industry-future_health');
  await page.selectOption('#m-pref-zone', 'ftz-etown-cluster');
  await page.selectOption('#m-pref-zone-weight', '2');
  await page.selectOption('#m-pref-park', 'biomedicine-park');
  await page.fill('#m-margin', '25');
}

/** Whether an element's box lies inside the viewport (and is not hidden under another panel). */
const inViewport = (page, selector) => page.$eval(selector, (el) => {
  const r = el.getBoundingClientRect();
  return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight && r.left >= 0 && r.right <= window.innerWidth;
});

/** The cells of an .xlsx file's first sheet, read by openpyxl (values as stored). */
function readXlsx(file) {
  const script = 'import json,sys,openpyxl\nws=openpyxl.load_workbook(sys.argv[1]).active\nprint(json.dumps({"title":ws.title,"rows":[list(r) for r in ws.iter_rows(values_only=True)],"formats":[c.number_format for c in ws[2]]},default=str))';
  return JSON.parse(execFileSync(python, ['-c', script, file], { encoding: 'utf8' }));
}

/** RFC 4180 CSV (quoted cells, "" inside), after the byte-order mark. */
function parseCsv(text) {
  assert.equal(text.charCodeAt(0), 0xfeff, 'a byte-order mark, so Excel reads UTF-8');
  const rows = [[]];
  let cell = '';
  let quoted = false;
  const s = text.slice(1);
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === '"' && s[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { rows.at(-1).push(cell); cell = ''; } else if (c === '\r') { /* CRLF */ } else if (c === '\n') { rows.at(-1).push(cell); cell = ''; rows.push([]); } else cell += c;
  }
  return rows.filter((r) => r.length > 1);
}

async function download(page, selector) {
  const [d] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  const file = path.join(artifacts, d.suggestedFilename());
  await d.saveAs(file);
  return { file, name: d.suggestedFilename() };
}

/** What the API and the vocabularies say about the shortlist, in `lang`: the expected cells. */
async function expectations(ids, lang) {
  const answer = await A.post('/collections/spatial-carriers/match', { ...REQUIREMENT, limit: 100, nearMissLimit: 50 });
  const verdicts = new Map([...answer.matches.map((m) => [String(m.id), { ...m, near: false }]), ...answer.nearMisses.map((m) => [String(m.id), { ...m, near: true }])]);
  const features = await Promise.all(ids.map((id) => A.get(`/collections/spatial-carriers/items/${id}?f=json`)));
  const industries = (await A.get('/vocabularies/industries')).terms;
  const zoneNames = new Map();
  for (const c of (await A.get('/collections')).collections) {
    const fc = await A.get(`/collections/${c.id}/items?limit=1000&f=json`).catch(() => null);
    for (const f of fc?.features || []) if (f.properties && f.properties[`name_${lang}`]) zoneNames.set(String(f.id), f.properties[`name_${lang}`]);
  }
  return { answer, verdicts, features, industries, zoneNames };
}

/** Checks a table read back from a file (header row first) against the API, cell by cell. */
function checkTable(rows, ids, ex, lang) {
  const [header, ...body] = rows;
  const col = (re) => {
    const i = header.findIndex((h) => re.test(String(h)));
    assert.ok(i >= 0, `a column ${re} in ${JSON.stringify(header)}`);
    return i;
  };
  const zh = lang === 'zh';
  const name = col(zh ? /^名称$/ : /^Name$/);
  const verdict = col(zh ? /^匹配情况$/ : /^Verdict$/);
  const score = col(zh ? /^得分/ : /^Score/);
  const industry = col(zh ? /^产业方向$/ : /^Industry$/);
  const area = col(zh ? /^可用面积 \(㎡\)$/ : /^Available floor area \(m²\)$/);
  const parcel = col(zh ? /^用地面积（测地） \(㎡\)$/ : /^Parcel area \(geodesic\) \(m²\)$/);
  const zones = col(zh ? /^所在区域$/ : /^Lies in$/);
  const clear = col(zh ? /^需求：净高 ≥/ : /^Need: Clear height ≥/);
  assert.ok(header.some((h) => String(h).startsWith(zh ? '偏好：位于' : 'Preference: inside')), 'the zone preference has its column');
  assert.ok(!header.includes('name_zh') && !header.includes('available_floor_area_m2'), 'no stored field names');
  assert.equal(body.length, ids.length);
  ids.forEach((id, i) => {
    const row = body[i];
    const f = ex.features[i];
    const v = ex.verdicts.get(id);
    assert.equal(Number(row[0]), i + 1, 'numbered as on the dossier');
    assert.equal(row[name], f.properties[`name_${lang}`], `${id}: its name in the reader's language`);
    assert.equal(row[industry], ex.industries.find((x) => x.id === f.properties.industry)[lang], `${id}: the industry's label, not its code`);
    assert.equal(Number(row[area]), f.properties.available_floor_area_m2);
    assert.equal(Number(row[parcel]), Math.round(f.properties.geodesic_area_m2), `${id}: the parcel area rounded to whole m²`);
    for (const z of f.properties.zones) assert.ok(String(row[zones]).includes(ex.zoneNames.get(z)), `${id}: zone ${z} by its name`);
    assert.ok(!String(row[zones]).includes(f.properties.zones[0]), `${id}: no zone code`);
    assert.equal(Number(row[score]), Math.round(v.score * 10) / 10);
    const c = v.criteria.find((x) => x.property === 'clear_height_m');
    if (v.near) {
      assert.match(String(row[verdict]), zh ? /^接近匹配：\d 项需求未满足$/ : /^Near miss: \d need\(s\) not met$/);
      const n = v.criteria.filter((x) => !x.met).length;
      assert.ok(String(row[verdict]).includes(String(n)), `${id}: says how many needs it misses`);
    } else assert.equal(row[verdict], zh ? '满足全部需求' : 'Meets every need');
    if (c.met) assert.match(String(row[clear]), zh ? /✓ 满足/ : /✓ met/);
    else {
      const amount = String(Math.round(-c.by * 100) / 100);
      assert.ok(String(row[clear]).includes(amount) && String(row[clear]).includes(zh ? '差' : 'short'), `${id}: the clear height's shortfall ${amount} in ${row[clear]}`);
    }
  });
}

/** Shortlists the first two matches and the first near miss; their ids, in that order. */
async function shortlistThree(page, answer) {
  const ids = [...answer.matches.slice(0, 2), answer.nearMisses[0]].map((m) => String(m.id));
  for (const id of ids) await page.check(`.match-row[data-id="${id}"] input[type=checkbox]`);
  return ids;
}

test('Chinese, desktop: the answer on screen, Excel and CSV for people, the dossier, a short link opened in English', async () => {
  const { page, context, errors, requests } = await open(browser, server.base);
  // Find's results for people: every carrier, named and labelled.
  await page.waitForSelector('#download-xlsx:not([disabled])');
  const all = (await A.get('/collections/spatial-carriers/items?limit=1000&f=json')).features;
  const found = readXlsx((await download(page, '#download-xlsx')).file);
  assert.equal(found.rows.length, all.length + 1, 'a header and a row per carrier');
  const nameCol = found.rows[0].indexOf('名称');
  assert.deepEqual(found.rows.slice(1).map((r) => r[nameCol]).sort(), all.map((f) => f.properties.name_zh).sort());
  assert.ok(!found.rows[0].some((h) => /wkt|_m2$/.test(String(h))), `no stored names: ${found.rows[0]}`);
  await page.click('[role=tab][data-tab=match]');
  await page.waitForSelector('#match-form');
  // Floor space typed as the screen writes it (0.5 万㎡ is 5,000 m²).
  await fillForm(page, '0.5万');
  await page.click('#match-run');
  await page.waitForSelector('#match-summary');
  // The answer replaces the form on screen, with focus on its summary; the legend follows.
  assert.ok(await inViewport(page, '#match-list .match-row'), 'the first match is on screen');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'match-summary');
  assert.equal(await page.$eval('#match-needs', (d) => d.open), false, 'the needs fold away');
  assert.match(await page.textContent('#legend-by'), /匹配得分/);
  await shot(page, 'handover-answer-zh.png');

  const ex0 = await expectations([], 'zh');
  assert.ok(ex0.answer.numberNearMisses >= 1 && ex0.answer.numberMatched >= 2, 'the shipped data has matches and a near miss');
  const ids = await shortlistThree(page, ex0.answer);
  const ex = await expectations(ids, 'zh');

  // Excel, read by openpyxl.
  const xlsx = await download(page, '#shortlist-xlsx');
  assert.match(xlsx.name, /意向清单-\d{4}-\d{2}-\d{2}\.xlsx$/);
  const book = readXlsx(xlsx.file);
  assert.equal(book.title, '意向清单');
  checkTable(book.rows, ids, ex, 'zh');
  assert.ok(book.formats.includes('#,##0'), `whole m² shown with grouping: ${book.formats}`);
  // The same table as CSV.
  const csv = await download(page, '#shortlist-csv');
  checkTable(parseCsv(readFileSync(csv.file, 'utf8')), ids, ex, 'zh');
  // The data as stored stays one click away, with its codes.
  const data = await download(page, '#shortlist-data');
  const raw = parseCsv(readFileSync(data.file, 'utf8'));
  assert.ok(raw[0].includes('available_floor_area_m2') && raw[0].includes('industry'));
  assert.equal(raw[1][raw[0].indexOf('industry')], ex.features[0].properties.industry);

  // The dossier: the near miss is marked with its shortfalls; maps numbered, with legend and scale.
  await page.click('#dossier-open');
  await page.waitForSelector('#dossier:not([hidden]) .dossier-carrier');
  const near = ex.verdicts.get(ids[2]);
  assert.equal(await page.$$eval('.overview-map .marker', (m) => m.length), 3, 'three numbers on the overview');
  const markerPt = await page.$eval('.overview-map .marker', (m) => parseFloat(getComputedStyle(m).fontSize) * 0.75);
  assert.ok(markerPt >= 8, `marker text ${markerPt} pt`);
  assert.ok(await page.$('.overview-map .scale-bar .scale-line'), 'a scale bar');
  assert.equal(await page.$$eval('.dossier-carrier .carrier-map', (m) => m.length), 3, 'a map per carrier');
  assert.equal(await page.$$eval('.dossier-legend li', (l) => l.length) >= 3, true);
  // The near miss's section says so, with every shortfall.
  const nearSection = await page.textContent(`.dossier-carrier[data-id="${ids[2]}"]`);
  assert.match(nearSection, /接近匹配：\d 项需求未满足 \/ Near miss/);
  assert.equal(await page.$$eval(`.dossier-carrier[data-id="${ids[2]}"] .shortfalls li`, (l) => l.length), near.criteria.filter((c) => !c.met).length);
  assert.deepEqual(await seriousViolations(page), []);
  await shot(page, 'handover-dossier-zh.png');
  await page.emulateMedia({ media: 'print' });
  const pdf = path.join(artifacts, 'handover-dossier.pdf');
  await page.pdf({ path: pdf, format: 'A4', printBackground: true });
  await page.emulateMedia({ media: 'screen' });
  const text = execFileSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
  assert.ok(text.includes(near.names.name_zh) && text.includes(near.names.name_en), 'the near miss by name');
  assert.ok(text.includes('接近匹配') && text.includes('Near miss'), 'marked as a near miss');
  for (const c of near.criteria.filter((x) => !x.met)) {
    const amount = String(Math.round(-c.by * 100) / 100);
    assert.ok(text.includes(`差 ${amount}`) || text.includes(`晚 ${amount}`), `the shortfall ${c.property} ${amount} is printed`);
  }
  assert.ok(text.includes('偏好 / Preferences'), 'the preferences');
  assert.ok(text.includes('亦庄投资促进服务中心'), 'whom to ask');
  // Esc closes it and puts focus back on the button that opened it.
  await page.keyboard.press('Escape');
  await page.waitForSelector('#dossier', { state: 'hidden' });
  assert.equal(await page.evaluate(() => document.activeElement.id), 'dossier-open');

  // The short link: copied, far shorter than the page's own, and opened in English elsewhere.
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.click('#shortlist-link');
  await page.waitForSelector('#share-link:not([hidden])');
  const link = await page.$eval('#share-link', (el) => el.dataset.link);
  assert.ok(link.length < 400, `a short link: ${link.length} characters`);
  assert.ok(link.length < (await page.evaluate(() => location.href.length)), 'shorter than the full state');
  assert.ok(!/lang=/.test(link), 'the recipient’s language decides');
  assert.deepEqual(errors, []);
  assert.deepEqual(outside(requests, server.base), []);
  await context.close();

  const other = await open(browser, server.base, { hash: link.slice(link.indexOf('#')), options: { locale: 'en-GB' } });
  await other.page.waitForSelector('#match-summary');
  await settled(other.page);
  assert.equal(await other.page.evaluate(() => document.documentElement.lang), 'en');
  assert.ok(await inViewport(other.page, '#match-summary'), 'it opens on the answer');
  const ticked = await other.page.$$eval('.match-row input[type=checkbox]:checked', (b) => b.map((x) => x.closest('.match-row').dataset.id));
  assert.deepEqual(ticked.sort(), [...ids].sort(), 'the shortlist is ticked');
  assert.match(await other.page.textContent('#shortlist-count'), /3 on the shortlist/);
  const zoom = await other.page.evaluate(() => window.__atlas.map.getZoom());
  assert.ok(zoom > 11, `the map is around the shortlisted carriers (zoom ${zoom})`);
  await shot(other.page, 'handover-link-en.png');
  assert.deepEqual(other.errors, []);
  await other.context.close();
});

test('English, phone: the answer on screen, Excel in English, the dossier fits, statistics by zone read, the header holds', async () => {
  const { page, context, errors } = await open(browser, server.base, { options: { locale: 'en-GB', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true } });
  // The header: title, search, "Sign in" and the language switch, the search still usable.
  const searchWidth = await page.$eval('#search-slot input', (el) => el.getBoundingClientRect().width);
  assert.ok(searchWidth >= 120, `the search box is ${searchWidth} px wide`);
  await page.click('[role=tab][data-tab=match]');
  await page.waitForSelector('#match-form');
  await fillForm(page);
  await page.click('#match-run');
  await page.waitForSelector('#match-summary');
  assert.ok(await inViewport(page, '#match-list .match-row'), 'the first match is on screen');
  await shot(page, 'handover-answer-en-phone.png');
  const ex0 = await expectations([], 'en');
  const ids = await shortlistThree(page, ex0.answer);
  // Compare: the score and, for the near miss, its shortfall.
  await page.click('#compare');
  await page.waitForSelector('#compare-dialog');
  const scoreCells = await page.$$eval('#compare-dialog tr.score-row td', (td) => td.map((x) => x.textContent));
  assert.deepEqual(scoreCells, ids.map((id) => ex0.verdicts.get(id).score.toLocaleString('en-GB', { maximumFractionDigits: 1 })));
  assert.match(await page.textContent('#compare-dialog tr.criterion td.unmet'), /✗ [\d.]+ .* short|✗ [\d.]+ days late/);
  await page.keyboard.press('Escape');
  const ex = await expectations(ids, 'en');
  const book = readXlsx((await download(page, '#shortlist-xlsx')).file);
  assert.equal(book.title, 'shortlist');
  checkTable(book.rows, ids, ex, 'en');

  await page.click('#dossier-open');
  await page.waitForSelector('#dossier:not([hidden]) .dossier-carrier');
  const overflow = await page.$eval('#dossier', (d) => d.scrollWidth - d.clientWidth);
  assert.ok(overflow <= 1, `the dossier fits the phone (${overflow} px too wide)`);
  assert.deepEqual(await seriousViolations(page), []);
  await shot(page, 'handover-dossier-en-phone.png');
  await page.click('#dossier-close');
  // A maximum below the minimum is named at its field before anything is sent.
  await page.click('#match-needs summary');
  await page.fill('#m-available_floor_area_m2-max', '4000');
  await page.click('#match-run');
  await page.waitForSelector('.match-form .edit-message:not([hidden])');
  assert.match(await page.textContent('.match-form .edit-message'), /“at most” value 4000 is below the “at least” value/);
  assert.equal(await page.getAttribute('#m-available_floor_area_m2-max', 'aria-invalid'), 'true');

  // Statistics by zone: every label whole, the figures on screen.
  await page.evaluate(() => window.__atlas.store.update({ tab: 'stats' }));
  await page.waitForSelector('#stats-group');
  await page.selectOption('#stats-group', 'zones');
  await page.waitForFunction(() => document.querySelector('#stats-table thead th')?.textContent === 'Lies in');
  const cut = await page.$$eval('#stats-chart .chart-label', (ls) => ls.filter((l) => l.scrollWidth > l.clientWidth + 1).map((l) => l.textContent));
  assert.deepEqual(cut, [], 'no label is cut');
  const names = await page.$$eval('#stats-chart .chart-label', (ls) => ls.map((l) => l.textContent));
  assert.ok(names.some((n) => n.includes('Comprehensive Bonded Zone')), `whole names: ${names}`);
  await shot(page, 'handover-stats-en-phone.png');
  // The count and the chosen total are on screen; further totals scroll (the edge shows a shadow).
  await page.$eval('#stats-table', (t) => t.scrollIntoView());
  const heads = await page.$$eval('#stats-table thead th', (ths) => ths.map((th) => ({ text: th.textContent, right: th.getBoundingClientRect().right })));
  assert.deepEqual(heads.slice(1, 3).map((x) => x.text), ['Count', 'Available floor area'], 'the chosen total next to the count');
  for (const hd of heads.slice(0, 3)) assert.ok(hd.right <= 390, `${hd.text} is on screen (right edge ${hd.right})`);
  await shot(page, 'handover-stats-en-phone.png');
  assert.deepEqual(errors, []);
  await context.close();
});

test('keyboard: Enter runs a match and lands on its answer; Esc and a removed chip leave focus where the reader was', async () => {
  const { page, context, errors } = await open(browser, server.base, { options: { locale: 'en-GB' } });
  // A chip removed from the keyboard: focus moves to the next chip, never to the page.
  await page.check('#f-industry-future_health');
  await page.check('#f-status-planned');
  await page.waitForSelector('#chips .chip >> nth=1');
  await page.focus('#chips .chip >> nth=0');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelectorAll('#chips .chip').length === 1);
  assert.equal(await page.evaluate(() => document.activeElement.classList.contains('chip')), true, 'focus on the chip left');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelectorAll('#chips .chip').length === 0);
  assert.notEqual(await page.evaluate(() => document.activeElement.tagName), 'BODY', 'the last chip gone, focus is in the form');
  await settled(page);
  // A list row opens the details; Esc closes them and focus returns to the row.
  await page.focus('#results .result >> nth=2');
  const row = await page.evaluate(() => document.activeElement.dataset.id);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#details:not([hidden])');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#details', { state: 'hidden' });
  assert.equal(await page.evaluate(() => document.activeElement.dataset.id), row, 'back on the row that opened them');
  // Enter in a need runs the match; focus lands on the answer's summary.
  await page.click('[role=tab][data-tab=match]');
  await page.fill('#m-available_floor_area_m2-min', '5000');
  await page.press('#m-available_floor_area_m2-min', 'Enter');
  await page.waitForSelector('#match-summary');
  await page.waitForFunction(() => document.activeElement.id === 'match-summary');
  // A find filter hides matches on the map: the match panel says so, and drops it on request.
  await page.evaluate(() => window.__atlas.store.update({ filters: { industry: ['future_space'] } }));
  await page.waitForSelector('#match-find-hides');
  assert.match(await page.textContent('#match-find-hides'), /find filters \(1\) also apply on the map/);
  await page.click('#match-find-hides button');
  await page.waitForSelector('#match-find-hides', { state: 'detached' });
  assert.deepEqual(await page.evaluate(() => window.__atlas.store.state.filters), {});
  assert.deepEqual(errors, []);
  await context.close();
});
