// Unit tests of the web app's pure modules, run by node's test runner (no browser).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wgs84ToGcj02, gcj02ToWgs84, outOfChina, mapPositions } from '../web/js/gcj02.js';
import { buildFilter, emptyFilters } from '../web/js/cql.js';

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

test('an empty form is no filter; each field adds one condition', () => {
  assert.equal(buildFilter(emptyFilters(), null), null);
  const f = buildFilter({ industries: ['future_health'], minAvailable: 3000, minClearHeight: 8, readyBy: '2027-12-31', inside: 'ftz-etown-cluster' }, null);
  assert.equal(f.op, 'and');
  assert.deepEqual(f.args[0], { op: 'in', args: [{ property: 'industry' }, ['future_health']] });
  assert.deepEqual(f.args.at(-1), { op: 'a_contains', args: [{ property: 'zones' }, ['ftz-etown-cluster']] });
  assert.ok(f.args.some((a) => a.op === '<=' && a.args[1].date === '2027-12-31'));
  const area = { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 0]]] };
  assert.deepEqual(buildFilter(emptyFilters(), area), { op: 's_intersects', args: [{ property: 'geometry' }, area] });
  assert.equal(buildFilter({ minAvailable: 'abc', readyBy: 'soon' }, null), null, 'malformed inputs add nothing');
});
