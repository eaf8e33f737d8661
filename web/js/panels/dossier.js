// The shortlist's dossier: one printable page, in Chinese and English side by side, for a
// company to take away: the date, the requirement, a map of the shortlisted features, their
// attributes, whom to ask, and the data's own notice. Print CSS (css/app.css) lays it on A4.
import { h, fill } from '../dom.js';
import { catalogs, language } from '../i18n/index.js';
import { visibleFields } from '../core/catalog.js';
import * as format from '../core/format.js';

/** "中文 / English" for an interface text. */
const both = (key, vars = {}) => ['zh', 'en'].map((l) => (catalogs[l][key] || key).replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? '')).join(' / ');
/** "中文 / English" for text from the data (a {zh, en} object or one string). */
const bothLocal = (text, fallback) => {
  if (!text) return fallback;
  if (typeof text === 'string') return text;
  return text.zh && text.en && text.zh !== text.en ? `${text.zh} / ${text.en}` : text.zh || text.en || fallback;
};

/** A picture of the map around `features` (the canvas read during a render). */
export async function snapshot(map, features, display) {
  let w = Infinity; let s = Infinity; let e = -Infinity; let n = -Infinity;
  const walk = (c) => (typeof c[0] === 'number' ? (w = Math.min(w, c[0]), e = Math.max(e, c[0]), s = Math.min(s, c[1]), n = Math.max(n, c[1])) : c.forEach(walk));
  features.forEach((f) => walk(display(f).geometry.coordinates));
  if (!Number.isFinite(w)) return null;
  map.fitBounds([[w, s], [e, n]], { padding: 60, maxZoom: 16, duration: 0 });
  await new Promise((resolve) => map.once('idle', resolve));
  return new Promise((resolve) => {
    map.once('render', () => resolve(map.getCanvas().toDataURL('image/png')));
    map.triggerRepaint();
  });
}

export function openDossier({ layer, features, answer, values, nameOf, contact, image, onClose }) {
  const today = new Date().toISOString().slice(0, 10);
  const zh = (f, v) => values.format(f, v, 'zh');
  const en = (f, v) => values.format(f, v, 'en');
  const fields = visibleFields(layer, language()).filter((f) => f.name !== 'updated_at');
  const criteria = answer ? answer.requirement.criteria : [];
  const verdicts = new Map([...(answer ? [...answer.matches, ...answer.nearMisses] : [])].map((m) => [String(m.id), m]));
  const criterionText = (c) => {
    const f = layer.fields.find((x) => x.name === c.property) || { name: c.property };
    const title = bothLocal(f.title, c.property);
    if (c.in) return `${title}: ${c.in.map((v) => `${values.item(f, v, 'zh')} / ${values.item(f, v, 'en')}`).join(', ')}`;
    const parts = [];
    if (c.min !== undefined) parts.push(`≥ ${f.type === 'date' ? c.min : format.withUnit(c.min, f.unit, 'en')}`);
    if (c.max !== undefined) parts.push(`≤ ${f.type === 'date' ? c.max : format.withUnit(c.max, f.unit, 'en')}`);
    return `${title}: ${parts.join(', ')}`;
  };
  const section = document.getElementById('dossier') || h('section', { id: 'dossier', class: 'dossier', 'aria-labelledby': 'dossier-title' });
  const close = () => { section.hidden = true; document.body.classList.remove('dossier-open'); onClose?.(); };
  fill(section,
    h('div', { class: 'dossier-actions no-print' },
      h('button', { type: 'button', class: 'primary', id: 'dossier-print', onclick: () => window.print() }, both('dossierPrint')),
      h('button', { type: 'button', id: 'dossier-close', onclick: close }, both('close'))),
    h('h1', { id: 'dossier-title' }, both('dossierTitle')),
    h('p', { class: 'dossier-meta' }, `${both('dossierDate')}: ${format.date(today, 'zh')} / ${format.date(today, 'en')} · ${bothLocal(layer.title, layer.id)}`),
    criteria.length ? [h('h2', {}, both('dossierRequirement')), h('ul', {}, criteria.map((c) => h('li', {}, criterionText(c))))] : null,
    image ? h('img', { class: 'dossier-map', src: image, alt: both('dossierMap') }) : null,
    h('h2', {}, both('dossierCarriers', { n: features.length })),
    h('table', { class: 'dossier-table' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, ''), features.map((f) => h('th', { scope: 'col' }, nameOf(f, 'zh'), h('br'), nameOf(f, 'en'))))),
      h('tbody', {},
        answer ? h('tr', {}, h('th', { scope: 'row' }, both('matchScore')), features.map((f) => h('td', {}, verdicts.has(String(f.id)) ? String(verdicts.get(String(f.id)).score) : '—'))) : null,
        fields.map((fld) => h('tr', {}, h('th', { scope: 'row' }, bothLocal(fld.title, fld.name)),
          features.map((f) => {
            const v = (f.properties || {})[fld.name];
            const a = zh(fld, v); const b = en(fld, v);
            return h('td', {}, a === b ? a : `${a} / ${b}`);
          }))))),
    contact ? h('div', { class: 'dossier-contact' }, h('h2', {}, both('contactTitle')),
      h('p', {}, bothLocal(contact.office, '')),
      contact.phone ? h('p', {}, `${both('contactPhone')}: ${contact.phone}`) : null,
      contact.email ? h('p', {}, `${both('contactEmail')}: ${contact.email}`) : null) : null,
    layer.notice ? h('p', { class: 'dossier-notice' }, bothLocal(layer.notice, '')) : null);
  if (!section.isConnected) document.body.append(section);
  section.hidden = false;
  document.body.classList.add('dossier-open');
  section.querySelector('#dossier-print').focus();
  return section;
}
