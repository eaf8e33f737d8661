// Sign-in for editors, in the header: a button that opens a small dialog for an API token
// (made by `etown-atlas token create` or in the Team dialog), checked by the server before it is
// kept for this tab; and, when the server is set up for single sign-on, "Sign in with …" the
// organisation's identity server.
import { h, fill } from '../dom.js';
import { t } from '../i18n/index.js';
import { startSignIn } from '../core/sso.js';

export class SignIn {
  /** `sso`: the identity server as /auth/config describes it, or null. */
  constructor({ session, sso = null }) {
    this.session = session;
    this.sso = sso;
    this.element = h('div', { class: 'signin' });
    this.dialog = null;
    this.render();
  }

  render() {
    const button = this.session.signedIn
      ? h('button', { type: 'button', id: 'signin', onclick: () => { this.session.signOut(); this.element.querySelector('button')?.focus(); } }, t('signOut'))
      : h('button', { type: 'button', id: 'signin', title: t('signInTitle'), onclick: () => this.open() }, t('signIn'));
    fill(this.element, button);
  }

  open() {
    const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true });
    const message = h('p', { class: 'edit-message', role: 'alert', hidden: true });
    const close = () => { this.dialog.close(); this.dialog.remove(); this.dialog = null; this.render(); this.element.querySelector('button')?.focus(); };
    const form = h('form', { method: 'dialog' },
      h('h2', {}, t('signInTitle')),
      this.sso ? h('div', { class: 'sso' },
        h('button', { type: 'button', id: 'signin-sso', class: 'primary', onclick: async () => {
          try {
            await startSignIn(this.sso);
          } catch (err) {
            message.textContent = err.message;
            message.hidden = false;
          }
        } }, t('ssoButton', { name: this.sso.display_name })),
        h('p', { class: 'muted' }, t('ssoOr'))) : null,
      h('p', { class: 'muted' }, t('signInHint')),
      h('label', { for: 'token' }, t('signInToken')),
      input,
      message,
      h('div', { class: 'edit-actions' },
        h('button', { type: 'submit', class: 'primary' }, t('signIn')),
        h('button', { type: 'button', onclick: close }, t('editCancel'))));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!input.value.trim()) { message.textContent = t('signInEmpty'); message.hidden = false; input.focus(); return; }
      try {
        await this.session.signIn(input.value);
        close();
      } catch (err) {
        message.textContent = err.status === 401 ? t('signInRefused') : err.message;
        message.hidden = false;
        input.select();
      }
    });
    this.dialog = h('dialog', { class: 'signin-dialog', 'aria-labelledby': 'signin-title' }, form);
    form.querySelector('h2').id = 'signin-title';
    this.dialog.addEventListener('cancel', (e) => { e.preventDefault(); close(); });
    document.body.append(this.dialog);
    this.dialog.showModal();
    input.focus();
  }
}
