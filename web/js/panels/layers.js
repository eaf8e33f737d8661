// Layers: a switch, a swatch and the size of each layer (top-most first), and the basemap.
import { h, fill } from '../dom.js';
import { t, local, language, onLanguageChange } from '../i18n/index.js';
import * as format from '../core/format.js';

export class LayersPanel {
  constructor({ store, catalog, basemaps }) {
    this.store = store;
    this.catalog = catalog;
    this.basemaps = basemaps;
    this.element = h('section', { class: 'panel-section layers', 'aria-labelledby': 'layers-heading' });
    // It redraws itself when layers are shown or hidden, the basemap changes, or the language.
    store.on(['hidden', 'basemap'], () => this.render());
    onLanguageChange(() => this.render());
  }

  render() {
    const lang = language();
    const hidden = this.store.state.hidden;
    const list = h('ul', { class: 'layer-list' }, [...this.catalog.layers].reverse().map((l) => {
      const id = `layer-toggle-${l.id}`;
      return h('li', {},
        h('input', { type: 'checkbox', id, checked: !hidden.includes(l.id), dataset: { layer: l.id },
          onchange: (e) => this.store.update({ hidden: e.target.checked ? this.store.state.hidden.filter((x) => x !== l.id) : [...this.store.state.hidden, l.id] }) }),
        h('span', { class: 'swatch', style: `border-color:${l.style.color}`, 'aria-hidden': 'true' }),
        h('label', { for: id }, local(l.title, l.id)),
        h('span', { class: 'muted count' }, format.number(l.count, lang)));
    }));
    const parts = [h('h2', { id: 'layers-heading' }, t('layersShown')), list];
    if (this.basemaps.length) {
      const current = this.store.state.basemap ?? '';
      const radio = (value, label) => {
        const id = `basemap-${value || 'none'}`;
        return h('span', { class: 'check' }, h('input', { type: 'radio', name: 'basemap', id, value, checked: current === value, onchange: () => this.store.update({ basemap: value }) }), h('label', { for: id }, label));
      };
      parts.push(h('fieldset', { class: 'checks', id: 'basemaps' }, h('legend', {}, t('basemap')),
        radio('', t('basemapNone')), this.basemaps.map((b) => radio(b.id, local(b.title, b.id)))));
    }
    fill(this.element, ...parts);
  }
}
