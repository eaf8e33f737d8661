// The carriers, filled by industry colour from the shared vocabulary (geodata/industries.vocab.json,
// served at /vocabularies/industries), with outlines; hover and selection through feature-state.
export function industryColor(industries) {
  const match = ['match', ['get', 'industry']];
  for (const t of industries.terms) match.push(t.id, t.color || '#888');
  match.push('#888888');
  return match;
}

export function carrierLayers(id, industries) {
  const color = industryColor(industries);
  return [
    { id: `${id}-fill`, type: 'fill', source: id, paint: { 'fill-color': color, 'fill-opacity': ['case', ['boolean', ['feature-state', 'hover'], false], 0.95, 0.7] } },
    {
      id: `${id}-line`, type: 'line', source: id,
      paint: {
        'line-color': ['case', ['boolean', ['feature-state', 'selected'], false], '#111', '#333'],
        'line-width': ['case', ['boolean', ['feature-state', 'selected'], false], 3, ['boolean', ['feature-state', 'hover'], false], 2.5, 0.8],
      },
    },
  ];
}
