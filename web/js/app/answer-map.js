// A match's answer on the map: matches and near misses coloured by score on the layer it is
// for, one answer at a time, and the legend says so. When the answer lists fewer than it found,
// every match's score is fetched (/match/scores) so each is coloured, not only the listed.
import * as api from '../api.js';
import { showError } from './chrome.js';

export class AnswerOnMap {
  constructor({ store, data, legend }) {
    Object.assign(this, { store, data, legend });
    this.highlighted = null;
    this.scoring = null;
  }

  show = (a) => {
    this.scoring?.abort();
    if (this.highlighted) this.data.highlight(this.highlighted, null);
    this.highlighted = a ? this.store.state.subject : null;
    this.legend.setScore(Boolean(a));
    if (!a) return;
    const pairs = (list) => Object.fromEntries(list.map((m) => [String(m.id), m.score]));
    this.data.highlight(this.highlighted, pairs(a.matches), pairs(a.nearMisses));
    if (a.numberMatched > a.matches.length || a.numberNearMisses > a.nearMisses.length) {
      const ctrl = new AbortController();
      this.scoring = ctrl;
      const layer = this.highlighted;
      api.matchScores(layer, this.store.state.requirement, ctrl.signal).then((all) => {
        if (ctrl.signal.aborted || this.highlighted !== layer) return;
        const byId = (list) => Object.fromEntries(list.map(([id, score]) => [String(id), score]));
        this.data.highlight(layer, byId(all.matches), byId(all.nearMisses));
        document.body.dataset.scored = String(all.matches.length);
      }).catch((e) => { if (e.name !== 'AbortError') showError(e); });
    } else document.body.dataset.scored = String(a.matches.length);
  };
}
