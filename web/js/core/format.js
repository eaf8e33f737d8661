// Numbers, units, areas and values written for a reader of Chinese or English. Pure: the
// language is passed in, so the node unit tests check it without a browser.

const LOCALE = { zh: 'zh-CN', en: 'en-GB' };

/** A number with the language's digit grouping and at most `digits` decimals. */
export function number(n, lang, digits = 0) {
  return Number(n).toLocaleString(LOCALE[lang] || 'en-GB', { maximumFractionDigits: digits });
}

/**
 * An area in m² as a reader of `lang` expects it: in Chinese, 万㎡ (ten thousand m²) from ten
 * thousand up, as Chinese plans and press releases write floor space; in English, m² with
 * thousands separators.
 */
export function squareMetres(m2, lang) {
  if (lang === 'zh') {
    if (Math.abs(m2) >= 10000) return `${number(m2 / 10000, lang, Math.abs(m2) >= 1e6 ? 0 : 1)} 万㎡`;
    return `${number(m2, lang)} ㎡`;
  }
  return `${number(m2, lang)} m²`;
}

/** An area given in km² (a zone's): km² for both, with decimals that suit the size. */
export function squareKilometres(km2, lang) {
  const digits = km2 >= 100 ? 0 : km2 >= 1 ? 2 : 3;
  return `${number(km2, lang, digits)} ${lang === 'zh' ? '平方公里' : 'km²'}`;
}

/** A unit as the reader writes it: one string for both languages, or `{zh, en}`. */
export function unitText(unit, lang) {
  if (unit && typeof unit === 'object') return unit[lang] || unit.en || unit.zh || '';
  return unit || '';
}

/** A measured value with its unit (`m²` and `km²` get the forms above). */
export function withUnit(v, anyUnit, lang) {
  const unit = unitText(anyUnit, lang);
  if (unit === 'm²') return squareMetres(v, lang);
  if (unit === 'km²') return squareKilometres(v, lang);
  const digits = Number.isInteger(v) ? 0 : 2;
  return unit ? `${number(v, lang, digits)} ${unit}` : number(v, lang, digits);
}

/** A date (`YYYY-MM-DD`) as its reader writes it: 2025年3月31日, or 31 Mar 2025. */
export function date(iso, lang) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(iso));
  if (!m) return String(iso);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (lang === 'zh') return `${y}年${mo}月${d}日`;
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][mo - 1];
  return `${d} ${month} ${y}`;
}

/** Joins items as the language does: 、 in Chinese, a comma in English. */
export function list(items, lang) {
  return items.join(lang === 'zh' ? '、' : ', ');
}

/** A polygon ring's area in km² (spherical excess on the authalic sphere; a drawn area's size). */
export function ringAreaKm2(ring) {
  const R = 6371.0072;
  let s = 0;
  for (let i = 0; i < ring.length - 1; i++) {
    const [x1, y1] = ring[i];
    const [x2, y2] = ring[i + 1];
    s += ((x2 - x1) * Math.PI / 180) * (2 + Math.sin(y1 * Math.PI / 180) + Math.sin(y2 * Math.PI / 180));
  }
  return Math.abs((s * R * R) / 2);
}

const DAY_MS = 86_400_000;

/** Whole days from an RFC 3339 instant (or a date) to `now`; null for no date. */
export function daysSince(instant, now = Date.now()) {
  const ms = Date.parse(instant);
  return Number.isFinite(ms) ? Math.floor((now - ms) / DAY_MS) : null;
}
