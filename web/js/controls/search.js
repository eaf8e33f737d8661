// The search box: names in Chinese and English, through GET /search.
import { h, featureName } from './dom.js';
import { t, language } from '../i18n/index.js';

export class SearchBox {
  constructor({ search, onPick, onError }) {
    this.search = search;
    this.onPick = onPick;
    this.onError = onError;
    this.input = h('input', { type: 'search', id: 'search', autocomplete: 'off', dataset: { i18nPlaceholder: 'searchPlaceholder', i18nLabel: 'searchLabel' },
      'aria-controls': 'search-results', oninput: () => this.schedule(), onkeydown: (e) => this.keys(e) });
    this.list = h('ul', { id: 'search-results', class: 'search-results', role: 'listbox', hidden: true });
    this.element = h('div', { class: 'search', role: 'search' }, this.input, this.list);
    this.timer = null;
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(), 200);
  }

  keys(e) {
    if (e.key === 'Escape') { this.list.hidden = true; return; }
    if (e.key === 'ArrowDown') { e.preventDefault(); this.list.querySelector('button')?.focus(); }
    if (e.key === 'Enter') { e.preventDefault(); this.list.querySelector('button')?.click(); }
  }

  async run() {
    const q = this.input.value.trim();
    if (!q) { this.list.hidden = true; return; }
    try {
      const r = await this.search(q);
      const lang = language();
      this.list.replaceChildren(...(r.features.length ? r.features.map((f) => h('li', { role: 'option' },
        h('button', { type: 'button', dataset: { id: f.id, collection: f.collection }, onclick: () => { this.list.hidden = true; this.onPick(f); },
          onkeydown: (e) => {
            if (e.key === 'ArrowDown') { e.preventDefault(); e.target.parentElement.nextElementSibling?.querySelector('button')?.focus(); }
            if (e.key === 'ArrowUp') { e.preventDefault(); (e.target.parentElement.previousElementSibling?.querySelector('button') || this.input).focus(); }
          } }, featureName(f, lang)))) : [h('li', { class: 'empty' }, t('searchNone'))]));
      this.list.hidden = false;
    } catch (e) {
      this.onError(e);
    }
  }
}
