// The characteristic parks: a hatched-looking light fill and a dark outline.
export const PARKS_COLOR = '#3d5a40';

export function parkLayers(id) {
  return [
    { id: `${id}-fill`, type: 'fill', source: id, paint: { 'fill-color': '#8fbf7f', 'fill-opacity': ['case', ['boolean', ['feature-state', 'hover'], false], 0.35, 0.18] } },
    { id: `${id}-line`, type: 'line', source: id, paint: { 'line-color': PARKS_COLOR, 'line-width': 1.2 } },
  ];
}
