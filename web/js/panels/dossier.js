// The shortlist's dossier: what a company takes away, in Chinese and English side by side. The
// date and the requirement (needs and preferences); an overview map of E-Town with the
// shortlisted carriers numbered, a legend and a scale bar; a summary table; then one section per
// carrier: its verdict (a near miss says so, with every shortfall), its score and how it scored
// on each preference, its own map, and its figures. The numbers on the maps are text laid over
// the pictures (map/snapshot.js), so they print at a readable size. Print CSS (css/app.css) lays
// it on A4; on a phone the sections stack. "Print" and "Save as PDF" are the browser's print.
import { h, fill } from '../dom.js';
import { translator } from '../i18n/index.js';
import { visibleFields } from '../core/catalog.js';
import { criterionText, preferenceText, shortfallText } from '../core/shortlist.js';
import * as format from '../core/format.js';

const tr = { zh: translator('zh'), en: translator('en') };

/** "中文 / English" for an interface text. */
const both = (key, vars = {}) => ['zh', 'en'].map((l) => tr[l](key, vars)).join(' / ');
/** "中文 / English" from a function of the language (the same text once when both agree). */
const bothBy = (fn) => {
  const zh = fn('zh');
  const en = fn('en');
  return zh === en ? zh : `${zh} / ${en}`;
};
/** "中文 / English" for text from the data (a {zh, en} object or one string). */
const bothLocal = (text, fallback) => {
  if (!text) return fallback;
  if (typeof text === 'string') return text;
  return bothBy((l) => text[l] || text.en || text.zh || fallback);
};

/** A map picture with the carriers' numbers over it and a scale bar under it. */
function mapFigure(pic, { alt, className }) {
  if (!pic) return null;
  return h('figure', { class: `dossier-figure ${className}` },
    h('div', { class: 'map-frame' },
      h('img', { src: pic.image, alt }),
      pic.markers.map((m) => h('span', { class: 'marker', style: `left:${m.x.toFixed(2)}%;top:${m.y.toFixed(2)}%`, 'aria-hidden': 'true' }, String(m.n)))),
    h('div', { class: 'scale-bar', role: 'img', 'aria-label': `${both('dossierScale')}: ${pic.scale.label}` },
      h('span', { class: 'scale-line', style: `width:${pic.scale.widthPct.toFixed(2)}%` }), h('span', { class: 'label' }, pic.scale.label)));
}

export function openDossier({ layer, features, answer, values, nameOf, contact, maps, zones = [], onClose }) {
  const today = new Date().toISOString().slice(0, 10);
  const fields = visibleFields(layer, 'zh').filter((f) => f.role !== 'updated' && !f.lang);
  const criteria = answer ? answer.requirement.criteria : [];
  const preferences = answer ? answer.requirement.preferences || [] : [];
  const fieldOf = (name) => layer.fields.find((x) => x.name === name) || { name };
  const verdicts = new Map([
    ...(answer ? answer.matches.map((m) => [String(m.id), { ...m, near: false }]) : []),
    ...(answer ? answer.nearMisses.map((m) => [String(m.id), { ...m, near: true }]) : []),
  ]);
  const name = (f) => bothBy((l) => nameOf(f, l));
  const verdictOf = (v) => (!v ? both('verdictNone') : v.near
    ? both('verdictNear', { n: v.criteria.filter((c) => !c.met).length })
    : both('verdictMatch'));
  const valueOf = (fld, v) => bothBy((l) => values.format(fld, v, l));

  const carrierSection = (f, i) => {
    const v = verdicts.get(String(f.id));
    const rows = [];
    if (v) {
      rows.push(h('tr', {}, h('th', { scope: 'row' }, both('matchScore')), h('td', { class: 'score' }, format.number(v.score, 'en', 1))));
      v.criteria.forEach((c) => {
        const fld = fieldOf(c.property);
        rows.push(h('tr', { class: c.met ? 'met' : 'unmet' },
          h('th', { scope: 'row' }, bothBy((l) => tr[l]('dossierNeedsRow', { need: criterionText(c, fld, values, l) }))),
          h('td', {}, c.met ? `✓ ${both('compareMet')}` : `✗ ${bothBy((l) => shortfallText(c, fld, tr[l], l))}`)));
      });
      v.preferences.forEach((p, k) => {
        rows.push(h('tr', { class: 'preference' },
          h('th', { scope: 'row' }, bothBy((l) => tr[l]('dossierPreferenceRow', { preference: preferenceText(preferences[k] || p, layer, values, tr[l], l) }))),
          h('td', {}, typeof p.score === 'number' ? `${Math.round(p.score * 100)} %` : '—')));
      });
    }
    for (const fld of fields) {
      rows.push(h('tr', {}, h('th', { scope: 'row' }, bothLocal(fld.title, fld.name)), h('td', {}, valueOf(fld, (f.properties || {})[fld.name]))));
    }
    const misses = v && v.near ? v.criteria.filter((c) => !c.met) : [];
    return h('article', { class: `dossier-carrier${v && v.near ? ' near' : ''}`, dataset: { id: String(f.id) } },
      h('h2', {}, h('span', { class: 'number' }, String(i + 1)), ' ', name(f)),
      h('p', { class: `verdict${v && v.near ? ' near' : ''}` }, verdictOf(v)),
      misses.length ? h('ul', { class: 'shortfalls' }, misses.map((c) => h('li', {}, bothBy((l) => `${tr[l]('tableNeed', { need: criterionText(c, fieldOf(c.property), values, l) })}${tr[l]('colon')}${shortfallText(c, fieldOf(c.property), tr[l], l)}`)))) : null,
      h('div', { class: 'carrier-body' },
        mapFigure(maps && maps.carriers[i], { alt: `${both('dossierMap')}: ${name(f)}`, className: 'carrier-map' }),
        h('table', { class: 'dossier-table' }, h('tbody', {}, rows))));
  };

  const section = document.getElementById('dossier') || h('section', { id: 'dossier', class: 'dossier', 'aria-labelledby': 'dossier-title' });
  const close = () => {
    section.hidden = true;
    document.body.classList.remove('dossier-open');
    document.removeEventListener('keydown', onKey);
    onClose?.();
  };
  const onKey = (e) => { if (e.key === 'Escape' && !section.hidden) close(); };
  const legend = h('ul', { class: 'dossier-legend' },
    h('li', {}, h('span', { class: 'swatch shortlisted', 'aria-hidden': 'true' }), h('span', { class: 'marker-inline', 'aria-hidden': 'true' }, '1'), both('legendShortlisted')),
    h('li', {}, h('span', { class: 'swatch other', 'aria-hidden': 'true' }), both('legendOther')),
    zones.map((z) => h('li', {}, h('span', { class: 'swatch', style: `border-color:${z.style.color}`, 'aria-hidden': 'true' }), bothLocal(z.title, z.id))));
  fill(section,
    h('div', { class: 'dossier-actions no-print' },
      h('button', { type: 'button', class: 'primary', id: 'dossier-print', onclick: () => window.print() }, both('dossierPrint')),
      h('button', { type: 'button', id: 'dossier-pdf', onclick: () => window.print() }, both('dossierPdf')),
      h('button', { type: 'button', id: 'dossier-close', onclick: close }, both('close'))),
    h('h1', { id: 'dossier-title' }, both('dossierTitle')),
    h('p', { class: 'dossier-meta' }, `${both('dossierDate')}: ${format.date(today, 'zh')} / ${format.date(today, 'en')} · ${bothLocal(layer.title, layer.id)}`),
    criteria.length ? [h('h2', {}, both('dossierRequirement')), h('ul', { class: 'dossier-needs' }, criteria.map((c) => h('li', {}, bothBy((l) => criterionText(c, fieldOf(c.property), values, l)))))] : null,
    preferences.length ? [h('h2', {}, both('dossierPreferences')), h('ul', { class: 'dossier-prefs' }, preferences.map((p) => h('li', {}, bothBy((l) => preferenceText(p, layer, values, tr[l], l)))))] : null,
    maps && maps.overview ? h('section', { class: 'dossier-overview', 'aria-labelledby': 'dossier-overview-title' },
      h('h2', { id: 'dossier-overview-title' }, both('dossierOverview')),
      mapFigure(maps.overview, { alt: both('dossierMap'), className: 'overview-map' }), legend) : null,
    h('h2', {}, both('dossierCarriers', { n: features.length })),
    h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': both('dossierCarriers', { n: features.length }) },
      h('table', { class: 'dossier-summary' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, both('tableNumber')), h('th', { scope: 'col' }, both('tableName')),
          answer ? [h('th', { scope: 'col' }, both('dossierVerdict')), h('th', { scope: 'col' }, both('matchScore'))] : null)),
        h('tbody', {}, features.map((f, i) => {
          const v = verdicts.get(String(f.id));
          return h('tr', { class: v && v.near ? 'near' : null }, h('td', {}, String(i + 1)), h('td', {}, name(f)),
            answer ? [h('td', {}, verdictOf(v)), h('td', { class: 'num' }, v ? format.number(v.score, 'en', 1) : '—')] : null);
        })))),
    features.map(carrierSection),
    contact ? h('div', { class: 'dossier-contact' }, h('h2', {}, both('contactTitle')),
      h('p', {}, bothLocal(contact.office, '')),
      contact.phone ? h('p', {}, `${both('contactPhone')}: ${contact.phone}`) : null,
      contact.email ? h('p', {}, `${both('contactEmail')}: ${contact.email}`) : null) : null,
    layer.notice ? h('p', { class: 'dossier-notice' }, bothLocal(layer.notice, '')) : null);
  if (!section.isConnected) document.body.append(section);
  section.hidden = false;
  document.body.classList.add('dossier-open');
  document.addEventListener('keydown', onKey);
  section.querySelector('#dossier-print').focus();
  return section;
}
