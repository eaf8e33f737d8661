// The search box: names in Chinese and English (close spellings too), through GET /search;
// each result says which layer it is in, and how many more matched than are listed.
import { h, fill } from '../dom.js';
import { t, local, language, onLanguageChange } from '../i18n/index.js';
import * as format from '../core/format.js';

export class SearchBox {
  constructor({ search, catalog, nameOf, onPick, onError }) {
    this.search = search;
    this.catalog = catalog;
    this.nameOf = nameOf;
    this.onPick = onPick;
    this.onError = onError;
    this.input = h('input', { type: 'search', id: 'search', autocomplete: 'off', dataset: { i18nPlaceholder: 'searchPlaceholder', i18nLabel: 'searchLabel' },
      role: 'combobox', 'aria-expanded': 'false', 'aria-controls': 'search-results', oninput: () => this.schedule(), onkeydown: (e) => this.keys(e) });
    this.list = h('ul', { id: 'search-results', class: 'search-results', role: 'listbox', hidden: true });
    this.element = h('div', { class: 'search', role: 'search' }, this.input, this.list);
    this.timer = null;
    this.last = null;
    document.addEventListener('click', (e) => { if (!this.element.contains(e.target)) this.hide(); });
    onLanguageChange(() => this.render());
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(), 200);
  }

  hide() {
    this.list.hidden = true;
    this.input.setAttribute('aria-expanded', 'false');
  }

  keys(e) {
    if (e.key === 'Escape') { this.hide(); return; }
    if (e.key === 'ArrowDown') { e.preventDefault(); this.list.querySelector('button')?.focus(); }
    if (e.key === 'Enter') { e.preventDefault(); this.list.querySelector('button')?.click(); }
  }

  async run() {
    const q = this.input.value.trim();
    if (!q) { this.hide(); return; }
    try {
      this.last = await this.search(q);
      this.render();
    } catch (e) {
      this.onError(e);
    }
  }

  /** (Re)draws the open list, in the current language. */
  render() {
    const r = this.last;
    if (!r || this.list.hidden && this.input.value.trim() === '') return;
    const lang = language();
    const items = r.features.map((f) => {
      const layer = this.catalog.layers.find((l) => l.id === f.collection);
      return h('li', { role: 'option' },
        h('button', { type: 'button', dataset: { id: f.id, collection: f.collection }, onclick: () => { this.hide(); this.onPick(f.collection, String(f.id)); },
          onkeydown: (e) => {
            if (e.key === 'ArrowDown') { e.preventDefault(); e.target.closest('li').nextElementSibling?.querySelector('button')?.focus(); }
            if (e.key === 'ArrowUp') { e.preventDefault(); (e.target.closest('li').previousElementSibling?.querySelector('button') || this.input).focus(); }
            if (e.key === 'Escape') { this.hide(); this.input.focus(); }
          } },
          h('span', { class: 'search-name' }, layer ? this.nameOf(layer.id, f.id, lang, f.properties) : String(f.id)),
          h('span', { class: 'search-layer' }, layer ? local(layer.title, layer.id) : f.collection,
            f.match && f.match.kind === 'close' ? ` · ${t('searchClose')}` : '')));
    });
    if (items.length === 0) items.push(h('li', { class: 'empty' }, t('searchNone')));
    const more = (r.numberMatched ?? r.features.length) - r.features.length;
    if (more > 0) items.push(h('li', { class: 'more muted' }, t('searchMore', { more: format.number(more, lang) })));
    fill(this.list, ...items);
    this.list.hidden = false;
    this.input.setAttribute('aria-expanded', 'true');
  }
}
