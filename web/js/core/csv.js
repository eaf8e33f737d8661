// Tables as CSV for Excel: a byte-order mark (Excel reads UTF-8 then), a header of field
// titles in the reader's language, values as stored (numbers stay numbers), and any cell a
// spreadsheet would evaluate (= + - @ tab CR) started with ' as the server's CSV does.
// Pure: the node unit tests check it.

const DANGEROUS = /^[=+\-@\t\r]/;

// Any text cell is checked, whatever it was made from: a list (zones) joined, or an object
// written as JSON, starts with its first item, which may itself be a formula. Numbers are left
// alone (-3 is a value, not a formula).
function cell(v) {
  if (v === null || v === undefined) return '';
  let s = Array.isArray(v) ? v.join('; ') : typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (typeof v !== 'number' && DANGEROUS.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The data as stored: `columns`: [{name, title}]; `features`: GeoJSON features. */
export function toCsv(columns, features) {
  const lines = [['id', ...columns.map((c) => c.title)].map(cell).join(',')];
  for (const f of features) lines.push([f.id, ...columns.map((c) => (f.properties || {})[c.name])].map(cell).join(','));
  return `\ufeff${lines.join('\r\n')}\r\n`;
}

/** A table made for people (core/shortlist.js): its column titles, then its rows. */
export function tableToCsv(table) {
  const lines = [table.columns.map((c) => cell(c.title)).join(',')];
  for (const row of table.rows) lines.push(row.map(cell).join(','));
  return `\ufeff${lines.join('\r\n')}\r\n`;
}
