// Unit tests of the web app's pure modules, run by node's test runner (no browser).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wgs84ToGcj02, gcj02ToWgs84, outOfChina, mapPositions } from '../web/js/gcj02.js';
import { toCql, chips, isActive, readValue, fromLegacy } from '../web/js/core/filters.js';
import { toHash, fromHash, defaults } from '../web/js/core/permalink.js';
import { buildCatalog, fieldsOf, featureName, chooseSubject } from '../web/js/core/catalog.js';
import * as format from '../web/js/core/format.js';
import { toRequirement, toForm, shortfall } from '../web/js/core/requirement.js';
import { toCsv, tableToCsv } from '../web/js/core/csv.js';
import { shortlistTable } from '../web/js/core/shortlist.js';
import { pack, unpack, linkFor } from '../web/js/core/share.js';
import { spread, scaleBar, metresPerPixel } from '../web/js/map/snapshot.js';
import { Values } from '../web/js/core/values.js';
import { readNumber } from '../web/js/core/numbers.js';
import zh from '../web/js/i18n/zh.js';
import en from '../web/js/i18n/en.js';

// Published test vectors of the eviltransform project (googollee/eviltransform, test.py):
// [wgsLat, wgsLon, gcjLat, gcjLon].
const VECTORS = [
  [31.1774276, 121.5272106, 31.17530398364597, 121.531541859215], // Shanghai
  [22.543847, 113.912316, 22.540796131694766, 113.9171764808363], // Shenzhen
  [39.911954, 116.377817, 39.91334545536069, 116.38404722455657], // Beijing
];

test('WGS84 to GCJ-02 matches the published pairs', () => {
  for (const [wLat, wLon, gLat, gLon] of VECTORS) {
    const [lon, lat] = wgs84ToGcj02([wLon, wLat]);
    assert.ok(Math.abs(lon - gLon) < 1e-9 && Math.abs(lat - gLat) < 1e-9, `${lon},${lat} vs ${gLon},${gLat}`);
  }
});

test('GCJ-02 back to WGS84 recovers the original within 1e-8 degrees', () => {
  for (const [wLat, wLon, gLat, gLon] of VECTORS) {
    const [lon, lat] = gcj02ToWgs84([gLon, gLat]);
    assert.ok(Math.abs(lon - wLon) < 1e-8 && Math.abs(lat - wLat) < 1e-8);
  }
});

test('outside China nothing moves', () => {
  assert.ok(outOfChina(-0.1015987, 51.5286416));
  assert.deepEqual(wgs84ToGcj02([-0.1015987, 51.5286416]), [-0.1015987, 51.5286416]);
  const fc = { type: 'FeatureCollection', features: [{ type: 'Feature', geometry: { type: 'Polygon', coordinates: [[[116.5, 39.8], [116.6, 39.8], [116.6, 39.9], [116.5, 39.8]]] }, properties: {} }] };
  const shifted = mapPositions(fc, wgs84ToGcj02);
  assert.notDeepEqual(shifted.features[0].geometry.coordinates, fc.features[0].geometry.coordinates);
  assert.deepEqual(fc.features[0].geometry.coordinates[0][0], [116.5, 39.8], 'the input is not mutated');
});

// A layer as the server describes it (the shape of /collections/{id}), and its queryables.
const carriers = {
  id: 'spatial-carriers', title: 'Carriers', titles: { zh: '载体', en: 'Carriers' }, numberOfFeatures: 58, zone: undefined,
  displayProperty: { zh: 'name_zh', en: 'name_en' }, mapRendering: { mode: 'geojson' },
  presentation: { primary: true, style: { color: '#333333', color_by: 'industry' }, fields: [
    { name: 'name_zh', type: 'string', hidden: true, title: { zh: '中文名称', en: 'Chinese name' } },
    { name: 'name_en', type: 'string', hidden: true },
    { name: 'industry', type: 'string', filter: 'in', vocabulary: 'industries', title: { zh: '产业', en: 'Industry' } },
    { name: 'available_floor_area_m2', type: 'integer', filter: 'min', unit: 'm²', list: true },
    { name: 'delivery_date', type: 'date', filter: 'max', list: true },
    { name: 'zones', type: 'string array', filter: 'contains', derived: true, role: 'zones' },
    { name: 'note', type: 'string', filter: 'text' },
    { name: 'open', type: 'boolean', filter: 'flag' },
    { name: 'height', type: 'number', filter: 'range' },
  ] },
};
const fields = fieldsOf(carriers, { properties: { industry: { enum: ['a', 'b'] } } });
const area = { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 0]]] };

test('an empty form is no filter; each kind of filter adds its CQL2 condition', () => {
  assert.equal(toCql(fields, {}, null), null);
  const f = toCql(fields, { industry: ['future_health'], available_floor_area_m2: '3,000', delivery_date: '2027-12-31', zones: ['ftz'], note: '50%_off', open: true, height: { from: '4', to: '' } }, area);
  assert.equal(f.op, 'and');
  assert.deepEqual(f.args[0], { op: 'in', args: [{ property: 'industry' }, ['future_health']] });
  assert.deepEqual(f.args[1], { op: '>=', args: [{ property: 'available_floor_area_m2' }, 3000] });
  assert.deepEqual(f.args[2], { op: '<=', args: [{ property: 'delivery_date' }, { date: '2027-12-31' }] });
  assert.deepEqual(f.args[3], { op: 'a_contains', args: [{ property: 'zones' }, ['ftz']] });
  // LIKE's own characters in typed text are taken literally.
  assert.deepEqual(f.args[4], { op: 'like', args: [{ op: 'casei', args: [{ property: 'note' }] }, { op: 'casei', args: ['%50\\%\\_off%'] }] });
  assert.deepEqual(f.args[5], { op: '=', args: [{ property: 'open' }, true] });
  assert.deepEqual(f.args[6], { op: '>=', args: [{ property: 'height' }, 4] });
  assert.deepEqual(f.args.at(-1), { op: 's_intersects', args: [{ property: 'geometry' }, area] });
  // Several zones: any of them.
  assert.equal(toCql(fields, { zones: ['a', 'b'] }, null).op, 'a_overlaps');
  // Half-typed or malformed values add nothing (and stay in the state as typed).
  assert.equal(toCql(fields, { available_floor_area_m2: 'abc', delivery_date: '2027-1', industry: [] }, null), null);
  assert.equal(readValue('integer', ' 12 000 '), 12000);
  assert.ok(!isActive(fields.find((x) => x.name === 'height'), { from: '', to: '' }));
});

test('chips say each active filter in words', () => {
  const t = (k, v = {}) => ({ chipIn: `${v.label}: ${v.values}`, chipMin: `${v.label} ≥ ${v.value}`, chipArea: 'area' }[k] || k);
  const list = chips(fields, { industry: ['a', 'b'], available_floor_area_m2: '3000' }, area, { label: (f) => (typeof f.title === 'string' ? f.title : f.title.en), valueLabel: (f, v) => `<${v}>`, t, join: (x) => x.join(', ') });
  assert.deepEqual(list, [{ key: 'industry', text: 'Industry: <a>, <b>' }, { key: 'available_floor_area_m2', text: 'available floor area m2 ≥ <3000>' }, { key: 'area', text: 'area' }]);
});

test('a permalink round-trips, and malformed links are ignored, old ones understood', () => {
  const s = { ...defaults(), lang: 'en', view: { center: [116.6, 39.8], zoom: 13.25 }, hidden: ['parks'], subject: 'spatial-carriers', filters: { industry: ['a'], available_floor_area_m2: '30' }, area, sort: { field: 'power_kva', desc: true }, basemap: '', tab: 'stats', groupBy: 'zones', selected: { collection: 'parks', id: 'a/b' },
    requirement: { criteria: { power_kva: { min: 2000 } }, preferences: [{ sooner: 'delivery_date', from: '2026-12-01', to: '2027-06-30', weight: 2 }] }, shortlist: ['carrier-07', '12'] };
  const back = fromHash(toHash(s));
  for (const k of Object.keys(s)) if (k !== 'area') assert.deepEqual(back[k], s[k], k);
  assert.deepEqual(back.area.coordinates, area.coordinates);
  assert.deepEqual(fromHash('#map=x/1/2&f={bad&area=[1]&sort=a b&req={x&short=[1'), {});
  assert.deepEqual(fromHash('#filters={"industries":["x"],"minAvailable":3000,"inside":"ftz"}').filters, { industry: ['x'], available_floor_area_m2: '3000', zones: ['ftz'] });
});

test('a layer with no sidecar gets filters from its types, and names never read "null"', () => {
  const plain = { id: 'plots', title: 'plots', numberOfFeatures: 3, presentation: { fields: [
    { name: 'name', type: 'string' }, { name: 'area_ha', type: 'number' }, { name: 'owner', type: 'string' },
    { name: 'opened', type: 'date' }, { name: 'open', type: 'boolean' }, { name: 'geodesic_area_m2', type: 'number', derived: true },
  ] } };
  const catalog = buildCatalog([plain], { plots: { properties: { owner: { enum: ['city', 'state'] } } } });
  const f = Object.fromEntries(catalog.layers[0].fields.map((x) => [x.name, x.filter]));
  assert.deepEqual(f, { name: undefined, area_ha: 'range', owner: 'in', opened: 'range', open: 'flag', geodesic_area_m2: undefined });
  assert.equal(catalog.subject, 'plots');
  assert.equal(catalog.layers[0].fields.find((x) => x.name === 'geodesic_area_m2').unit, 'm²');
  assert.equal(featureName(catalog.layers[0], { name: null }, 7, 'zh'), '7');
  assert.equal(featureName(catalog.layers[0], { name: 'Plot A' }, 7, 'zh'), 'Plot A');
  assert.equal(chooseSubject([{ id: 'z', zone: true, count: 9 }, { id: 'a', count: 2 }]), 'a');
});

test('Chinese readers get 万㎡, dates and lists as Chinese writes them', () => {
  assert.equal(format.squareMetres(3312700, 'zh'), '331 万㎡');
  assert.equal(format.squareMetres(73600, 'zh'), '7.4 万㎡');
  assert.equal(format.squareMetres(3600, 'zh'), '3,600 ㎡');
  assert.equal(format.squareMetres(3312700, 'en'), '3,312,700 m²');
  assert.equal(format.squareKilometres(27.83, 'zh'), '27.83 平方公里');
  assert.equal(format.date('2025-03-31', 'zh'), '2025年3月31日');
  assert.equal(format.date('2025-03-31', 'en'), '31 Mar 2025');
  assert.equal(format.list(['a', 'b'], 'zh'), 'a、b');
});

test('every interface string exists in both languages', () => {
  assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort());
  for (const [k, v] of Object.entries(zh)) assert.ok(v.trim() !== '', k);
});

test('the match form becomes the requirement README § Matching describes, and back', () => {
  const form = {
    criteria: {
      available_floor_area_m2: { min: '3,000', max: '5000' },
      clear_height_m: { min: '8', max: '' },
      delivery_date: { max: '2027-06-30', date: true },
      industry: { in: ['future_health'] },
      zones: { in: [] },
    },
    prefs: {
      zone: { id: 'ftz-etown-cluster', weight: 2 },
      park: { collection: 'parks', id: 'biomedicine-park', weight: 1 },
      size: { field: 'available_floor_area_m2', value: '4000', weight: 1 },
      sooner: { field: 'delivery_date', weight: 3 },
    },
    margin: '15',
  };
  const req = toRequirement(form, { today: '2026-11-30' });
  assert.deepEqual(req, {
    criteria: {
      available_floor_area_m2: { min: 3000, max: 5000 },
      clear_height_m: { min: 8 },
      delivery_date: { max: '2027-06-30' },
      industry: { in: ['future_health'] },
    },
    preferences: [
      { in: { zones: ['ftz-etown-cluster'] }, weight: 2 },
      { near_feature: { collection: 'parks', id: 'biomedicine-park' }, within_m: 5000, weight: 1 },
      { close_to: { available_floor_area_m2: 4000 }, weight: 1 },
      { sooner: 'delivery_date', from: '2026-11-30', to: '2027-06-30', weight: 3 },
    ],
    margin: 0.15,
  });
  const again = toForm(req);
  assert.equal(again.criteria.available_floor_area_m2.min, 3000);
  assert.deepEqual(again.criteria.industry, { in: ['future_health'] });
  assert.equal(again.prefs.park.id, 'biomedicine-park');
  assert.equal(again.prefs.sooner.weight, 3);
  assert.equal(again.margin, '15');
  // A typo is named by its control; an impossible margin too.
  assert.throws(() => toRequirement({ criteria: { power_kva: { min: '2千' } } }, { today: '2026-11-30' }), (e) => e.field === 'power_kva-min' && e.reason === 'notNumber');
  assert.throws(() => toRequirement({ criteria: {}, margin: '150' }, { today: '2026-11-30' }), (e) => e.field === 'margin');
  // Shortfalls in words: below a minimum, above a maximum, days late.
  assert.deepEqual(shortfall({ min: 8, value: 7.5, by: -0.5 }), { key: 'missShort', amount: 0.5 });
  assert.deepEqual(shortfall({ min: 1000, max: 2000, value: 2150, by: -150 }), { key: 'missOver', amount: 150 });
  assert.deepEqual(shortfall({ max: '2027-06-30', value: '2027-07-20', by: -20, unit: 'days' }), { key: 'missLate', amount: 20 });
  assert.equal(shortfall({ min: 8, value: 9, by: 1 }), null);
});

test('a shortlist CSV opens in Excel and cannot run formulas', () => {
  const csv = toCsv([{ name: 'name', title: '名称' }, { name: 'area', title: 'Area, m²' }, { name: 'note', title: 'Note' }],
    [{ id: 'a', properties: { name: '载体 "A"', area: 3000, note: '=HYPERLINK("x")' } }, { id: 7, properties: { name: 'B', area: null, note: ['x', 'y'] } },
      { id: 8, properties: { name: 'C', area: -5, note: ['@SUM(A1)', 'z'] } }]);
  assert.ok(csv.startsWith('\ufeff'));
  assert.deepEqual(csv.slice(1).trimEnd().split('\r\n'), [
    'id,名称,"Area, m²",Note',
    'a,"载体 ""A""",3000,"\'=HYPERLINK(""x"")"',
    '7,B,,x; y',
    "8,C,-5,'@SUM(A1); z",
  ]);
});

/** A layer as the catalog describes it, small enough to check every cell by hand. */
const SMALL_LAYER = {
  id: 'carriers',
  displayProperty: { zh: 'name_zh', en: 'name_en' },
  fields: [
    { name: 'name_zh', type: 'string', hidden: true },
    { name: 'name_en', type: 'string', hidden: true },
    { name: 'industry', type: 'string', title: { zh: '产业方向', en: 'Industry' }, vocabulary: 'industries' },
    { name: 'area_m2', type: 'number', unit: 'm²', title: { zh: '可用面积', en: 'Available area' } },
    { name: 'height_m', type: 'number', unit: 'm', title: { zh: '净高', en: 'Clear height' } },
    { name: 'zones', type: 'string array', derived: true, role: 'zones', title: { zh: '所在区域', en: 'Lies in' } },
  ],
};
const SMALL_VALUES = new Values({ industries: { terms: [{ id: 'future_health', zh: '未来健康', en: 'Future health' }] } },
  (collection, id, lang) => ({ ftz: { zh: '自贸区', en: 'FTZ' } }[id]?.[lang] ?? null), (k) => ({ yes: 'yes', no: 'no' }[k]));

test('the shortlist for people: names, labels, units, rounding, the verdict and each shortfall', () => {
  const features = [
    { id: 'a', properties: { name_zh: '载体甲', name_en: 'Carrier A', industry: 'future_health', area_m2: 52245.245378255844, height_m: 11.9, zones: ['ftz'] } },
    { id: 'b', properties: { name_zh: '载体乙', name_en: 'Carrier B', industry: 'future_health', area_m2: 4000, height_m: 5.3, zones: [] } },
  ];
  const answer = {
    requirement: { criteria: [{ property: 'height_m', min: 6 }], preferences: [{ in: { zones: ['ftz'] }, weight: 2 }] },
    matches: [{ id: 'a', score: 84.06, criteria: [{ property: 'height_m', min: 6, value: 11.9, met: true, by: 5.9 }], preferences: [{ score: 1 }] }],
    nearMisses: [{ id: 'b', score: 0, criteria: [{ property: 'height_m', min: 6, value: 5.3, met: false, by: -0.7000000000000002 }], preferences: [{ score: 0 }] }],
  };
  const table = shortlistTable({ layer: SMALL_LAYER, features, answer, values: SMALL_VALUES, tr: (k, v = {}) => (k === 'tableNeed' ? `Need: ${v.need}` : k === 'tablePreference' ? `Pref: ${v.preference}` : k === 'prefInside' ? `inside ${v.name}` : k === 'cellShort' ? `${v.amount} short` : k === 'verdictNear' ? `near (${v.n})` : k), lang: 'en' });
  assert.deepEqual(table.columns.map((c) => c.title), ['tableNumber', 'tableName', 'tableVerdict', 'matchScore', 'Need: Clear height ≥ 6 m',
    'Pref: inside FTZ (matchWeight2)', 'Industry', 'Available area (m²)', 'Clear height (m)', 'Lies in']);
  assert.deepEqual(table.rows, [
    [1, 'Carrier A', 'verdictMatch', 84.1, '✓ compareMet', 100, 'Future health', 52245, 11.9, 'FTZ'],
    [2, 'Carrier B', 'near (1)', 0, '✗ 0.7 m short', 0, 'Future health', 4000, 5.3, null],
  ]);
  // In Chinese the header's unit is ㎡; the CSV quotes and guards as the data CSV does.
  const zhTable = shortlistTable({ layer: SMALL_LAYER, features: features.slice(0, 1), answer: null, values: SMALL_VALUES, tr: (k) => k, lang: 'zh' });
  assert.deepEqual(zhTable.columns.map((c) => c.title), ['tableNumber', 'tableName', '产业方向', '可用面积 (㎡)', '净高 (m)', '所在区域']);
  assert.deepEqual(zhTable.rows, [[1, '载体甲', '未来健康', 52245, 11.9, '自贸区']]);
  const csv = tableToCsv({ columns: [{ title: 'Name, zh' }, { title: 'n' }], rows: [['=1+1', 3], [null, -2]] });
  assert.equal(csv, '\ufeff"Name, zh",n\r\n\'=1+1,3\r\n,-2\r\n');
});

test('a short link carries the layer, requirement and shortlist, and a damaged one is refused', async () => {
  const requirement = { criteria: { available_floor_area_m2: { min: 3000 }, industry: { in: ['future_health'] } }, preferences: [{ in: { zones: ['ftz-etown-cluster'] }, weight: 2 }], margin: 0.1 };
  const code = await pack({ subject: 'spatial-carriers', requirement, shortlist: ['carrier-03', 'carrier-07'] });
  assert.match(code, /^[A-Za-z0-9_-]+$/);
  const long = toHash({ ...defaults(), requirement, shortlist: ['carrier-03', 'carrier-07'], tab: 'match' });
  assert.ok(code.length < long.length, `${code.length} characters, where the page’s own state takes ${long.length}`);
  assert.deepEqual(await unpack(code), { subject: 'spatial-carriers', requirement, shortlist: ['carrier-03', 'carrier-07'], tab: 'match' });
  assert.equal(linkFor('http://127.0.0.1:8080/#map=11/39/116', code), `http://127.0.0.1:8080/#s=${code}`);
  for (const bad of ['', 'not base64!', code.slice(0, -6), 'A'.repeat(9000), 'AAAA']) assert.equal(await unpack(bad), null, bad.slice(0, 20));
});

test('dossier maps: numbers side by side move apart, the scale bar is a round distance', () => {
  const placed = spread([{ n: 1, x: 100, y: 100 }, { n: 2, x: 104, y: 98 }, { n: 3, x: 300, y: 300 }, { n: 4, x: 101, y: 102 }]);
  for (let i = 0; i < placed.length; i++) {
    for (let j = 0; j < i; j++) {
      const apart = Math.abs(placed[i].x - placed[j].x) >= 26 || Math.abs(placed[i].y - placed[j].y) >= 26;
      assert.ok(apart, `${placed[i].n} and ${placed[j].n} do not overlap`);
    }
  }
  assert.deepEqual(placed[2], { n: 3, x: 300, y: 300 }, 'a number with room stays on its carrier');
  // At the equator and zoom 0 a 512-pixel world is 40,075 km wide.
  assert.ok(Math.abs(metresPerPixel(0, 0) * 512 - 40075016.686) < 1e-6);
  const bar = scaleBar(12.3, 100); // 1,230 m at most
  assert.deepEqual([bar.metres, bar.label], [1000, '1 km']);
  assert.ok(Math.abs(bar.px - 1000 / 12.3) < 1e-9);
  assert.equal(scaleBar(0.5, 100).label, '50 m');
});

test('numbers as people type them: grouping, 万 as the screen writes floor space, a unit after', () => {
  const cases = [['3,000', 3000], ['3，000', 3000], ['3 000', 3000], ['0.5万', 5000], ['0.5 万㎡', 5000], ['1.2万平方米', 12000], ['21000 m²', 21000],
    ['8 m', 8], ['7.5', 7.5], ['-3', -3], ['.5', 0.5], ['', null], ['  ', null], [null, null], [12, 12]];
  for (const [typed, n] of cases) assert.equal(readNumber(typed), n, String(typed));
  for (const bad of ['eight', '4千', '3,000 km', '1e3', '0x10', '5万万', '万', '1.2.3']) assert.ok(Number.isNaN(readNumber(bad)), bad);
  // The match form refuses a maximum below the minimum at the maximum's field.
  assert.throws(() => toRequirement({ criteria: { area: { min: '0.5万', max: '4000' } } }, { today: '2026-12-06' }), (e) => e.field === 'area-max' && e.reason === 'minAboveMax');
  assert.deepEqual(toRequirement({ criteria: { area: { min: '0.5万' } } }, { today: '2026-12-06' }).criteria, { area: { min: 5000 } });
});
