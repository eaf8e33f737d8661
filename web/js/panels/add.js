// "Add by drawing", for editors: draw the outline of a new feature of the layer shown on the map
// (terra-draw's polygon mode, on the map's shared drawing), then its figures are filled in the
// details panel and saved with a POST. Escape or the button again stops drawing.
import { h, fill } from '../dom.js';
import { t, onLanguageChange } from '../i18n/index.js';

export class AddFeature {
  /** `layer()`: the layer shown; `onDrawn(layer, polygon)`: the outline, in map coordinates. */
  constructor({ session, drawing, layer, onDrawn }) {
    Object.assign(this, { session, drawing, layer, onDrawn });
    this.element = h('div', { class: 'add-feature' });
    session.onChange(() => this.render());
    drawing.onChange(() => this.render());
    onLanguageChange(() => this.render());
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && drawing.by === 'new') drawing.reset();
    });
    this.render();
  }

  render() {
    const layer = this.layer();
    const show = this.session.signedIn && layer && layer.editable;
    const drawing = this.drawing.by === 'new';
    fill(this.element, show
      ? h('button', { type: 'button', id: 'add-feature', title: t('addFeatureTitle'), 'aria-pressed': String(drawing), onclick: () => this.toggle() },
        drawing ? t('addCancel') : t('addFeature'))
      : null);
  }

  toggle() {
    if (this.drawing.by === 'new') {
      this.drawing.reset();
      return;
    }
    const layer = this.layer();
    this.drawing.start('polygon', 'new', (polygon) => this.onDrawn(layer, polygon));
  }
}
