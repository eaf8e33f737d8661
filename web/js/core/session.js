// The editor's sign-in: an API token kept in this tab's sessionStorage (gone when the tab
// closes, never in a URL or a cookie), checked against the server before it is kept.
import * as api from '../api.js';

const KEY = 'etown-atlas-token';

export class Session {
  constructor() {
    this.listeners = [];
    this.me = null; // { name, role, collections, scopes } once the server has said
    try {
      this.token = sessionStorage.getItem(KEY);
    } catch {
      this.token = null; // storage blocked: sign-in lasts until the page reloads
    }
    if (this.token) this.whoAmI();
  }

  /** Asks the server who the kept token names (a token gone stale signs out). */
  async whoAmI() {
    try {
      this.me = await api.checkToken(this.token);
      this.listeners.forEach((fn) => fn(this.signedIn));
    } catch (e) {
      if (e.status === 401) this.signOut();
    }
  }

  get isAdmin() {
    return this.me?.role === 'admin';
  }

  get signedIn() {
    return Boolean(this.token);
  }

  /** Keeps `token` if the server accepts it; throws the server's refusal otherwise. */
  async signIn(token) {
    const trimmed = token.trim();
    this.me = await api.checkToken(trimmed);
    this.set(trimmed);
  }

  signOut() {
    this.set(null);
  }

  set(token) {
    this.token = token;
    if (!token) this.me = null;
    try {
      if (token) sessionStorage.setItem(KEY, token);
      else sessionStorage.removeItem(KEY);
    } catch { /* see the constructor */ }
    this.listeners.forEach((fn) => fn(this.signedIn));
  }

  onChange(fn) {
    this.listeners.push(fn);
  }
}
