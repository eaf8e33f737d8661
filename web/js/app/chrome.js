// The page around the map: the status line, the error banner and downloads. Every part of the
// app reports through these, so a failure is always said, in the reader's language.
import { t } from '../i18n/index.js';
import { h, fill } from '../dom.js';

const statusEl = () => document.getElementById('status');
const errorEl = () => document.getElementById('error');

/** Server errors become a readable message (in the reader's language), never a silent failure. */
export function showError(e) {
  const el = errorEl();
  fill(el, h('span', {}, t('error', { message: e.message })), h('button', { type: 'button', onclick: () => { el.hidden = true; } }, t('dismiss')));
  el.hidden = false;
  console.warn('etown-atlas:', e);
}

let busy = 0;

/** One more (1) or one fewer (-1) piece of work under way: the page says it is loading. */
export function setBusy(delta) {
  busy = Math.max(0, busy + delta);
  document.body.setAttribute('aria-busy', String(busy > 0));
  renderStatus();
}

/** The status line, in the current language. */
export function renderStatus() {
  statusEl().textContent = busy > 0 ? t('loading') : t('ready');
}

/** Runs `work` with the page marked busy; a failure is shown, not thrown. */
export async function busyWhile(work) {
  try {
    setBusy(1);
    return await work();
  } catch (e) {
    showError(e);
    return null;
  } finally {
    setBusy(-1);
  }
}

/** Saves `blob` as a file named `name` (a download, as a link click makes it). */
export function saveFile(blob, name) {
  const a = h('a', { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60000);
}
