// A number as a person types it into a filter, a match need or the edit form: digit grouping
// with , ， or spaces, a 万 (ten thousand) after it, as the screen writes floor space ("0.5万"
// is 5,000, shown as 0.5 万㎡), and an area or length unit after that (㎡, m², 平方米, m, 米),
// which the field already implies. Pure: the node unit tests check it.

const TYPED = /^([-+]?(?:\d+(?:\.\d*)?|\.\d+))\s*(万)?\s*(㎡|m²|m2|平方米|平米|米|m)?$/i;
const TIMES = { 万: 10000 };

/** The number `text` stands for; null for nothing typed, NaN for text that is not a number. */
export function readNumber(text) {
  if (text === null || text === undefined) return null;
  const s = String(text).replace(/[,，\s]/g, '');
  if (s === '') return null;
  if (typeof text === 'number') return Number.isFinite(text) ? text : NaN;
  const m = TYPED.exec(s);
  if (!m) return NaN;
  const n = Number(m[1]) * (m[2] ? TIMES[m[2]] : 1);
  // 0.5万 is 5000, not 5000.000000000001: round away the binary residue of the multiplication.
  return m[2] ? Math.round(n * 1e6) / 1e6 : n;
}
