// One small store for what the page shows. Subscribers name the keys they depend on and are
// called only when one of them changes, so a panel renders only what changed. The state is
// mirrored in the URL hash (see permalink.js).
import { defaults, toHash } from './permalink.js';

export class Store {
  constructor(initial = {}) {
    this.state = { ...defaults(), ...initial };
    this.listeners = [];
    this.writingHash = false;
  }

  /** Calls `fn(state, changedKeys)` whenever one of `keys` changes. */
  on(keys, fn) {
    this.listeners.push({ keys: new Set(keys), fn });
  }

  /** Applies `patch`; listeners of the changed keys run once each, in subscription order. */
  update(patch) {
    const changed = Object.keys(patch).filter((k) => !same(this.state[k], patch[k]));
    if (changed.length === 0) return;
    Object.assign(this.state, patch);
    for (const { keys, fn } of this.listeners) {
      if (changed.some((k) => keys.has(k))) fn(this.state, changed);
    }
    this.writeHash();
  }

  writeHash() {
    if (typeof history === 'undefined') return;
    const h = toHash(this.state);
    if (location.hash !== h) {
      this.writingHash = true;
      history.replaceState(null, '', h);
      this.writingHash = false;
    }
  }
}

function same(a, b) {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}
