// The zone outlines as style layers (data, not code). Each zone layer: a faint fill and a line.
const ZONE_STYLE = {
  'new-town': { color: '#6b7b8c', fill: 0.04, width: 1.5, dash: [3, 2] },
  'ftz-etown-cluster': { color: '#c0392b', fill: 0.08, width: 2.5 },
  'data-pilot-zone': { color: '#2471a3', fill: 0.08, width: 2.5 },
  'bonded-zone': { color: '#b9770e', fill: 0.15, width: 2.5 },
};

export const ZONE_IDS = Object.keys(ZONE_STYLE);

export function colorOf(id) {
  return (ZONE_STYLE[id] || {}).color || '#555';
}

export function zoneLayers(id) {
  const s = ZONE_STYLE[id] || { color: '#555', fill: 0.06, width: 1.5 };
  const line = { 'line-color': s.color, 'line-width': ['case', ['boolean', ['feature-state', 'hover'], false], s.width + 2, s.width] };
  if (s.dash) line['line-dasharray'] = s.dash;
  return [
    { id: `${id}-fill`, type: 'fill', source: id, paint: { 'fill-color': s.color, 'fill-opacity': s.fill } },
    { id: `${id}-line`, type: 'line', source: id, paint: line },
  ];
}
