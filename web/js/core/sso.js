// Single sign-on in the browser: the authorization code flow with PKCE (RFC 7636), against the
// organisation's own identity server, as the server's /auth/config describes it. The page sends
// the person there; back here with a code, it trades the code (and the verifier only this tab
// knows) for an access token at the identity server, which then signs the API requests like a
// pasted token. Nothing is kept but the token, in this tab's sessionStorage.
import { t } from '../i18n/index.js';

const KEY = 'etown-atlas-sso';

const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const random = (n) => b64url(crypto.getRandomValues(new Uint8Array(n)));

/** Where the identity server sends the person back: this page, without query or hash. */
const redirectUri = () => `${location.origin}${location.pathname}`;

/** Sends the person to sign in at the identity server described by `oidc`. */
export async function startSignIn(oidc) {
  // SHA-256 in the browser needs a secure context (HTTPS, or localhost).
  if (!globalThis.crypto?.subtle) throw new Error(t('ssoNeedsHttps'));
  const verifier = random(32);
  const state = random(16);
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  sessionStorage.setItem(KEY, JSON.stringify({ state, verifier, redirect: redirectUri(), hash: location.hash }));
  const url = new URL(oidc.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code', client_id: oidc.client_id, redirect_uri: redirectUri(), scope: oidc.scope || 'openid',
    state, code_challenge: b64url(new Uint8Array(digest)), code_challenge_method: 'S256',
  }).toString();
  location.assign(url.toString());
}

/**
 * Back from the identity server: the access token the code is traded for; null when this page
 * was not opened by a sign-in. Throws a message a person can read when the sign-in failed.
 */
export async function finishSignIn(oidc) {
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  const error = params.get('error');
  if (!code && !error) return null;
  let saved = null;
  try {
    saved = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    sessionStorage.removeItem(KEY);
  } catch { /* storage blocked: the state cannot be checked, so the code is not used */ }
  // The code is single-use and not to be bookmarked: it leaves the address bar now.
  history.replaceState(null, '', `${location.pathname}${saved?.hash || location.hash}`);
  if (error) throw new Error(t('ssoRefused', { error }));
  if (!oidc || !saved || saved.state !== params.get('state')) throw new Error(t('ssoStale'));
  let res;
  try {
    res = await fetch(oidc.token_endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: saved.redirect, client_id: oidc.client_id, code_verifier: saved.verifier }),
    });
  } catch {
    throw new Error(t('ssoUnreachable'));
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok || !body.access_token) throw new Error(t('ssoRefused', { error: body.error || res.status }));
  return body.access_token;
}
