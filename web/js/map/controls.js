// Map widgets as MapLibre controls (IControl): each owns its element, renders only itself, and
// is re-rendered in place when the language or what it shows changes.
import { h, fill } from '../dom.js';
import { t, local, onLanguageChange } from '../i18n/index.js';
import { fillColor, SCORE_COLOURS, NEAR_COLOUR, OTHER_COLOUR } from './style.js';

/** A control whose element is built once; `render()` fills it. */
class Control {
  constructor(className) {
    this.element = h('div', { class: `maplibregl-ctrl atlas-ctrl ${className}` });
  }

  onAdd(map) {
    this.map = map;
    this.render();
    return this.element;
  }

  onRemove() {
    this.element.remove();
    this.map = null;
  }

  render() {}
}

/**
 * The legend, always on the map: a swatch per visible layer (top-most first), and the terms of
 * the subject layer's colours (its `color_by` vocabulary). Collapsible, open on wide screens.
 */
export class LegendControl extends Control {
  constructor({ catalog, vocabularies, isVisible, subject }) {
    super('legend-ctrl');
    this.catalog = catalog;
    this.vocabularies = vocabularies;
    this.isVisible = isVisible;
    this.subject = subject;
    this.open = typeof window === 'undefined' || window.innerWidth > 700;
    onLanguageChange(() => this.render());
  }

  setSubject(subject) {
    this.subject = subject;
    this.render();
  }

  /** While a match answer colours the subject layer, the legend shows its colours instead. */
  setScore(on) {
    this.score = on;
    this.render();
  }

  render() {
    const layers = [...this.catalog.layers].reverse().filter((l) => this.isVisible(l.id));
    const subject = this.catalog.layers.find((l) => l.id === this.subject);
    const by = subject && subject.style.color_by;
    const field = by && subject.fields.find((f) => f.name === by);
    const vocab = field && this.vocabularies[field.vocabulary];
    const swatch = (layer) => {
      const colour = fillColor(layer, this.vocabularies);
      const style = typeof colour === 'string'
        ? `border-color:${layer.style.color};background:${hexAlpha(colour, layer.style.fill_opacity ?? 0.3)}`
        : `border-color:${layer.style.color};background:linear-gradient(90deg,${(vocab ? vocab.terms.slice(0, 3).map((x) => x.color) : ['#888']).join(',')})`;
      return h('span', { class: 'swatch', style, 'aria-hidden': 'true' });
    };
    const toggle = h('button', { type: 'button', class: 'legend-toggle', 'aria-expanded': String(this.open), onclick: () => { this.open = !this.open; this.render(); } }, t('legend'));
    const box = (background) => h('span', { class: 'swatch', style: `background:${background};border-color:#8c96a0`, 'aria-hidden': 'true' });
    const terms = this.score
      ? [h('p', { class: 'legend-by', id: 'legend-by' }, t('colouredBy', { label: t('legendScore') })),
        h('ul', { class: 'legend-terms' },
          h('li', {}, box(`linear-gradient(90deg,${SCORE_COLOURS.join(',')})`), '0–100'),
          h('li', {}, box(NEAR_COLOUR), t('legendNear')),
          h('li', {}, box(OTHER_COLOUR), t('legendOther')))]
      : vocab ? [h('p', { class: 'legend-by', id: 'legend-by' }, t('colouredBy', { label: local(field.title, field.name) })),
        h('ul', { class: 'legend-terms' }, vocab.terms.map((term) => h('li', {}, h('span', { class: 'swatch', style: `background:${term.color || '#888'};border-color:${term.color || '#888'}`, 'aria-hidden': 'true' }), local(term, term.id))))] : [];
    // A tiled layer too dense to draw at this zoom is shaded per cell by how many it holds
    // (style.js: opacity 0.15 for one, 0.45 for 100, 0.7 for 1,000 or more).
    const cells = subject && subject.mode === 'tiles' && this.isVisible(subject.id)
      ? h('p', { class: 'legend-cells', id: 'legend-cells' },
        h('span', { class: 'swatch wide', style: `background:linear-gradient(90deg,${hexAlpha(subject.style.color, 0.15)},${hexAlpha(subject.style.color, 0.45)},${hexAlpha(subject.style.color, 0.7)});border-color:${subject.style.color}`, 'aria-hidden': 'true' }),
        t('legendCells', { from: '1', to: '1,000+' }))
      : null;
    const body = h('div', { class: 'legend-body', hidden: !this.open },
      h('ul', { class: 'legend-layers' }, layers.map((l) => h('li', {}, swatch(l), local(l.title, l.id)))), terms, cells);
    fill(this.element, toggle, body);
  }
}

/** `#rrggbb` at an opacity, as an rgba() colour (the legend shows fills as the map does). */
function hexAlpha(hex, alpha) {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return hex;
  return `rgba(${parseInt(m[1], 16)},${parseInt(m[2], 16)},${parseInt(m[3], 16)},${Math.max(0.25, alpha)})`;
}

/**
 * The notice line: the caveats of the visible layers that carry one (the data's own words,
 * e.g. that outlines are schematic), the map review number and the data attribution.
 */
export class InfoControl extends Control {
  constructor({ catalog, config, isVisible }) {
    super('info-ctrl');
    this.catalog = catalog;
    this.config = config;
    this.isVisible = isVisible;
    this.element.id = 'info';
    onLanguageChange(() => this.render());
  }

  render() {
    const notices = [...new Set(this.catalog.layers.filter((l) => l.notice && this.isVisible(l.id)).map((l) => local(l.notice)))];
    if (this.config.reviewNumber) notices.push(`审图号 ${this.config.reviewNumber}`);
    if (this.config.attribution) notices.push(this.config.attribution);
    this.element.textContent = notices.join(' · ');
    this.element.hidden = notices.length === 0;
  }
}

/** Says when the tiles on screen hold cells or thinned features rather than every match. */
export class ThinnedControl extends Control {
  constructor() {
    super('thinned-ctrl');
    this.element.setAttribute('role', 'status');
    this.count = null;
    onLanguageChange(() => this.render());
  }

  set(count) {
    this.count = count;
    this.render();
  }

  render() {
    this.element.hidden = this.count === null;
    this.element.textContent = this.count === null ? '' : t('thinned', { count: this.count });
  }
}
