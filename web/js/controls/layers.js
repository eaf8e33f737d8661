// Layers panel: a toggle and a swatch per collection, the industry legend, and the basemap choice.
import { h, termLabel } from './dom.js';
import { t, language } from '../i18n/index.js';
import { state, update } from '../state.js';
import { colorOf } from '../map/layers/zones.js';
import { PARKS_COLOR } from '../map/layers/parks.js';

export class LayersPanel {
  constructor({ collections, industries, basemaps }) {
    this.collections = collections;
    this.industries = industries;
    this.basemaps = basemaps;
    this.element = h('section', { class: 'panel-section', 'aria-labelledby': 'layers-heading' });
  }

  swatch(id) {
    if (id === 'spatial-carriers') return h('span', { class: 'swatch swatch-multi', 'aria-hidden': 'true' });
    return h('span', { class: 'swatch', style: `border-color:${id === 'parks' ? PARKS_COLOR : colorOf(id)}`, 'aria-hidden': 'true' });
  }

  render() {
    const lang = language();
    const list = h('ul', { class: 'layer-list' }, this.collections.map((c) => {
      const id = `layer-toggle-${c.id}`;
      const title = (c.titles && c.titles[lang]) || c.title;
      return h('li', {},
        h('input', { type: 'checkbox', id, checked: !state.hidden.includes(c.id), dataset: { layer: c.id },
          onchange: (e) => update({ hidden: e.target.checked ? state.hidden.filter((x) => x !== c.id) : [...state.hidden, c.id] }) }),
        this.swatch(c.id),
        h('label', { for: id }, title));
    }));
    const legend = h('ul', { class: 'legend' }, this.industries.terms.map((term) =>
      h('li', {}, h('span', { class: 'swatch', style: `background:${term.color}`, 'aria-hidden': 'true' }), termLabel(this.industries, term.id, lang))));
    const parts = [h('h2', { id: 'layers-heading' }, t('tabLayers')), list, h('h3', {}, t('legendIndustries')), legend];
    if (this.basemaps.length) {
      const select = h('select', { id: 'basemap-select', onchange: (e) => update({ basemap: e.target.value }) },
        h('option', { value: '' }, t('basemapNone')),
        this.basemaps.map((b) => h('option', { value: b.id, selected: state.basemap === b.id }, b.title[lang] || b.title)));
      parts.push(h('label', { for: 'basemap-select', class: 'block-label' }, t('basemap')), select);
    }
    this.element.replaceChildren(...parts);
  }
}
