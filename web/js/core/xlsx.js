// A table made for people (core/shortlist.js) as an Excel workbook, written in the browser by
// the vendored write-excel-file (web/vendor/write-excel-file, see scripts/vendor-xlsx.sh): a bold
// frozen header, numbers as numbers with the decimals the screen shows, text as text (so a
// spreadsheet never evaluates it), and columns wide enough for their longest cell.
import { writeXlsx } from '/vendor/write-excel-file/write-excel-file.mjs';

/** Excel's number format for a column's decimals (already rounded: 2 decimals stay general). */
const numberFormat = (digits) => (digits === 0 ? '#,##0' : digits === 1 ? '#,##0.0' : undefined);

/** Characters wide a text shows in a spreadsheet: Chinese characters count twice. */
const widthOf = (s) => [...String(s)].reduce((w, c) => w + (c.codePointAt(0) > 0x2e80 ? 2 : 1), 0);

/** The workbook's bytes as a Blob, one sheet named `sheet`. */
export function tableToXlsx(table, sheet) {
  const header = table.columns.map((c) => ({ value: c.title, type: String, fontWeight: 'bold', wrap: true }));
  const rows = table.rows.map((row) => row.map((v, i) => {
    if (v === null || v === undefined) return null;
    if (typeof v === 'number') return { value: v, type: Number, format: numberFormat(table.columns[i].digits) };
    return { value: String(v), type: String, format: '@' };
  }));
  const columns = table.columns.map((c, i) => ({
    width: Math.min(48, Math.max(8, Math.ceil(Math.max(widthOf(c.title) / 2, ...table.rows.map((r) => widthOf(r[i] ?? '')))) + 2)),
  }));
  // Excel refuses a sheet name longer than 31 characters or with any of []:*?/\
  const name = String(sheet).replace(/[[\]:*?/\\]/g, ' ').slice(0, 31) || 'Sheet1';
  return writeXlsx([header, ...rows], { columns, sheet: name, stickyRowsCount: 1 }).toBlob();
}
