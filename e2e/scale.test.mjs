// The web map at scale, on synthetic carriers the test generates (the release binary: loading a
// million carriers in a debug build takes minutes). Big layers come as vector tiles; the page
// must say how many match in all, total them from the statistics, draw carriers everywhere,
// follow the find filters and open a carrier on click. `ATLAS_SCALE_COUNTS` picks the sizes
// (default 200000 and 1000000).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, launch, open, api, waitIdle, settled, screenAt, synth, releaseBin, shot } from './helpers.mjs';

const COUNTS = (process.env.ATLAS_SCALE_COUNTS || '200000,1000000').split(',').map(Number);
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Features of the carriers drawn in view (features or per-cell totals). */
const drawn = (page) => page.evaluate(() => {
  const m = window.__atlas.map;
  const features = m.queryRenderedFeatures({ layers: ['spatial-carriers-fill'] });
  const cells = m.queryRenderedFeatures({ layers: ['spatial-carriers-cells'] });
  return { features: features.map((f) => ({ fid: String(f.properties.fid), industry: f.properties.industry })), cells: cells.length };
});

for (const count of COUNTS) {
  test(`${count.toLocaleString('en')} carriers: counted in all, totalled by the statistics, drawn everywhere, filtered live, clickable`, { timeout: 15 * 60 * 1000 }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'atlas-scale-'));
    let server;
    try {
      synth(dir, count, releaseBin);
      server = await startServer(['--data', dir], releaseBin);
      const A = api(server.base);
      const collection = await A.get('/collections/spatial-carriers');
      assert.equal(collection.numberOfFeatures, count);
      assert.equal(collection.mapRendering.mode, 'tiles', 'a big layer is drawn from tiles');
      const [w, s, e, n] = collection.extent.spatial.bbox[0];

      // Time from navigation to the first carriers drawn.
      const started = Date.now();
      const { page, context, errors } = await open(browser, server.base, { timeout: 120000 });
      await page.waitForFunction(() => window.__atlas.map.queryRenderedFeatures({ layers: ['spatial-carriers-fill', 'spatial-carriers-cells'] }).length > 0, null, { timeout: 120000, polling: 100 });
      console.log(`${count} carriers: navigation to first carriers drawn: ${Date.now() - started} ms`);
      await settled(page);

      // How many exist in all, and totals from the statistics endpoint.
      const stats = await A.post('/collections/spatial-carriers/stats', {});
      assert.equal(stats.numberMatched, count);
      const summary = await page.textContent('#summary');
      assert.ok(summary.includes(count.toLocaleString('zh-CN')), summary);
      assert.ok(summary.includes(`${Math.round(stats.total.sums.available_floor_area_m2 / 10000).toLocaleString('zh-CN')} 万㎡`), summary);
      assert.match(await page.textContent('#showing'), new RegExp(`100 / ${count.toLocaleString('zh-CN')}`));

      // Carriers in the far corners of the extent (features or per-cell totals).
      for (const corner of [[w, s], [e, n], [w, n], [e, s]]) {
        const near = await A.get(`/collections/spatial-carriers/items?limit=1&bbox=${[corner[0] - 0.05, corner[1] - 0.05, corner[0] + 0.05, corner[1] + 0.05].map((x) => x.toFixed(4)).join(',')}`);
        if (near.numberMatched === 0) continue;
        const [x0, y0] = near.features[0].geometry.coordinates[0][0];
        await page.evaluate((c) => window.__atlas.map.jumpTo({ center: c, zoom: 12 }), [x0, y0]);
        await waitIdle(page);
        const d = await drawn(page);
        assert.ok(d.features.length + d.cells > 0, `nothing drawn near ${corner}`);
      }

      // Files: one for people would be too long to build here, and the data CSV says its size first.
      assert.equal(await page.isDisabled('#download-xlsx'), true);
      await page.click('#download-csv');
      await page.waitForSelector('#download-warning:not([hidden])');
      assert.ok((await page.textContent('#download-warning')).includes(count.toLocaleString('zh-CN')), 'the warning says how many rows');
      // The legend explains the per-cell shading a layer this size is drawn with from afar.
      assert.match(await page.textContent('#legend-cells'), /每格数量/);
      // A find filter changes what is drawn: only future space, where there was everything.
      const [cx, cy] = [116.55, 39.78];
      await page.evaluate((c) => window.__atlas.map.jumpTo({ center: c, zoom: 14 }), [cx, cy]);
      await waitIdle(page);
      const before = await drawn(page);
      assert.ok(new Set(before.features.map((f) => f.industry)).size > 1, 'several industries drawn before');
      await page.check('#f-industry-future_space');
      await settled(page);
      // The map zooms to the results; back to the same view to compare.
      await page.evaluate((c) => window.__atlas.map.jumpTo({ center: c, zoom: 14 }), [cx, cy]);
      await waitIdle(page);
      const after = await drawn(page);
      assert.ok(after.features.length > 0 && after.features.length < before.features.length, `${before.features.length} then ${after.features.length}`);
      assert.ok(after.features.every((f) => f.industry === 'future_space'));
      const filtered = await A.get('/collections/spatial-carriers/items?limit=1&industry=future_space');
      assert.ok((await page.textContent('#summary')).includes(filtered.numberMatched.toLocaleString('zh-CN')));
      await shot(page, `scale-${count}.png`);

      // A click on a drawn carrier opens its details (fetched by id).
      const target = after.features[0].fid;
      const feature = await A.get(`/collections/spatial-carriers/items/${target}`);
      const ring = feature.geometry.coordinates[0];
      const c = [(ring[0][0] + ring[2][0]) / 2, (ring[0][1] + ring[2][1]) / 2];
      await page.evaluate((x) => window.__atlas.map.jumpTo({ center: x, zoom: 16 }), c);
      await waitIdle(page);
      const p = await screenAt(page, c);
      await page.mouse.click(p.x, p.y);
      await page.waitForSelector('#details:not([hidden])');
      assert.equal((await page.textContent('#details-title')).trim(), feature.properties.name_zh);

      // Matching: every match drawn carries its score colour, not only the listed hundred.
      await page.evaluate(() => window.__atlas.store.update({ filters: {}, tab: 'match' }));
      await settled(page);
      await page.waitForSelector('#match-form');
      await page.fill('#m-available_floor_area_m2-min', '5000');
      await page.check('#m-industry-future_health');
      await page.selectOption('#m-pref-zone', 'ftz-etown-cluster');
      await page.click('#match-run');
      await page.waitForSelector('#match-summary');
      const requirement = { criteria: { available_floor_area_m2: { min: 5000 }, industry: { in: ['future_health'] } }, preferences: [{ in: { zones: ['ftz-etown-cluster'] }, weight: 1 }], limit: 1000 };
      const answer = await A.post('/collections/spatial-carriers/match', requirement);
      assert.ok(answer.numberMatched > 1000, `more matches than any list holds: ${answer.numberMatched}`);
      await page.waitForFunction((n) => document.body.dataset.scored === String(n), answer.numberMatched, { timeout: 120000 });
      const listed = new Map(answer.matches.map((m) => [String(m.id), m.score]));
      await page.evaluate((c) => window.__atlas.map.jumpTo({ center: c, zoom: 14 }), [cx, cy]);
      await waitIdle(page);
      const coloured = await page.evaluate(() => {
        const m = window.__atlas.map;
        return m.queryRenderedFeatures({ layers: ['spatial-carriers-fill'] }).map((f) => ({
          fid: String(f.properties.fid), industry: f.properties.industry, area: f.properties.available_floor_area_m2,
          score: window.__atlas.data.scoreOf('spatial-carriers', String(f.properties.fid)),
        }));
      });
      // Which drawn carriers match is worked out here from their own properties.
      const matching = coloured.filter((f) => f.industry === 'future_health' && f.area >= 5000);
      assert.ok(matching.length > 0 && matching.length < coloured.length, `${matching.length} of ${coloured.length} drawn match`);
      for (const f of coloured) {
        const isMatch = f.industry === 'future_health' && f.area >= 5000;
        assert.equal(typeof f.score === 'number', isMatch, `${f.fid}: coloured by score if and only if it matches`);
        if (listed.has(f.fid)) assert.equal(f.score, listed.get(f.fid), `${f.fid}: the score the answer gives`);
      }
      await shot(page, `scale-match-${count}.png`);
      assert.deepEqual(errors, []);
      await context.close();
    } finally {
      server?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
