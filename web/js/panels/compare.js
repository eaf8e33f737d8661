// Two to four features side by side in a dialog: every attribute the data shows, in readable
// units, rows where they differ marked, and the requirement's criteria met or not per feature.
import { h } from '../dom.js';
import { t, local, language } from '../i18n/index.js';
import { visibleFields } from '../core/catalog.js';
import { shortfallText } from '../core/shortlist.js';
import * as format from '../core/format.js';

export function openCompare({ layer, features, answer, values, nameOf }) {
  const lang = language();
  const verdicts = new Map([...(answer ? [...answer.matches, ...answer.nearMisses] : [])].map((m) => [String(m.id), m]));
  const fields = visibleFields(layer, lang).filter((f) => f.role !== 'updated');
  const head = h('tr', {}, h('th', { scope: 'col' }, t('matchAttribute')),
    features.map((f) => h('th', { scope: 'col' }, nameOf(f))));
  const rows = fields.map((f) => {
    const shown = features.map((x) => values.format(f, (x.properties || {})[f.name], lang));
    const differs = new Set(shown).size > 1;
    return h('tr', { class: differs ? 'differs' : null, dataset: { field: f.name } }, h('th', { scope: 'row' }, local(f.title, f.name), differs ? h('span', { class: 'visually-hidden' }, ` (${t('compareDiffers')})`) : null),
      shown.map((s) => h('td', {}, s)));
  });
  const criteria = answer ? answer.requirement.criteria : [];
  const criteriaRows = criteria.map((c, i) => {
    const f = layer.fields.find((x) => x.name === c.property);
    return h('tr', { class: 'criterion' }, h('th', { scope: 'row' }, t('compareCriterion', { field: local(f ? f.title : c.property, c.property) })),
      features.map((x) => {
        const v = verdicts.get(String(x.id));
        const met = v ? v.criteria[i].met : null;
        const miss = v && !met ? shortfallText(v.criteria[i], f || { name: c.property }, t, lang) : null;
        return h('td', { class: met === true ? 'met' : met === false ? 'unmet' : null }, met === null ? '—' : met ? `✓ ${t('compareMet')}` : `✗ ${miss}`);
      }));
  });
  // The score first, then the needs: what the answer says about each, before the figures.
  const scoreRow = answer ? h('tr', { class: 'score-row' }, h('th', { scope: 'row' }, t('matchScore')),
    features.map((x) => {
      const v = verdicts.get(String(x.id));
      return h('td', {}, v ? format.number(v.score, lang, 1) : '—');
    })) : null;
  const close = () => { dialog.close(); dialog.remove(); };
  const dialog = h('dialog', { class: 'compare-dialog', id: 'compare-dialog', 'aria-labelledby': 'compare-title' },
    h('header', {}, h('h2', { id: 'compare-title' }, t('compareTitle', { n: features.length })),
      h('button', { type: 'button', class: 'close', 'aria-label': t('close'), onclick: close }, '×')),
    h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-labelledby': 'compare-title' },
      h('table', { class: 'compare-table' }, h('thead', {}, head), h('tbody', {}, scoreRow, criteriaRows, rows))),
    h('p', { class: 'muted' }, t('compareLegend')));
  dialog.addEventListener('cancel', (e) => { e.preventDefault(); close(); });
  document.body.append(dialog);
  dialog.showModal();
  dialog.querySelector('.close').focus();
  return dialog;
}
