// Single sign-on from the web map (issue 29): "Sign in with …" sends the browser to an identity
// server (a stand-in the test runs on loopback: discovery, authorize, token and key set, the
// token signed with a key made by node's crypto), which sends it back with a code; the page
// trades the code with its PKCE verifier for a token, signs in, and an edit made then is
// recorded under the token's subject. The stand-in checks the verifier against the challenge
// as an identity server does. In Chinese and in English.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { generateKeyPairSync, createHash, createSign, randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { startServer, launch, open } from './helpers.mjs';

const b64url = (buf) => Buffer.from(buf).toString('base64url');
let browser;
let server;
let idp;
let dir;
const issued = { codes: new Map(), tokens: 0, refusedVerifiers: 0 };

/** The stand-in identity server on a loopback port; its issuer URL. */
async function identityServer(atlasOrigin) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'idp-1', alg: 'RS256', use: 'sig' };
  let issuer = '';
  const sign = (claims) => {
    const head = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'idp-1' }));
    const body = b64url(JSON.stringify(claims));
    const s = createSign('RSA-SHA256').update(`${head}.${body}`).sign(privateKey);
    return `${head}.${body}.${b64url(s)}`;
  };
  const srv = createServer((req, res) => {
    const url = new URL(req.url, issuer);
    const json = (status, v) => {
      res.writeHead(status, { 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': atlasOrigin() });
      res.end(JSON.stringify(v));
    };
    if (url.pathname === '/realms/etown/.well-known/openid-configuration') {
      return json(200, { issuer, authorization_endpoint: `${issuer}/auth`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/certs` });
    }
    if (url.pathname === '/realms/etown/certs') return json(200, { keys: [jwk] });
    if (url.pathname === '/realms/etown/auth') {
      // The person is signed in at the identity server already: straight back with a code.
      const p = url.searchParams;
      assert.equal(p.get('response_type'), 'code');
      assert.equal(p.get('code_challenge_method'), 'S256');
      const code = b64url(randomBytes(16));
      issued.codes.set(code, { challenge: p.get('code_challenge'), redirect: p.get('redirect_uri'), client: p.get('client_id') });
      res.writeHead(302, { Location: `${p.get('redirect_uri')}?code=${code}&state=${encodeURIComponent(p.get('state'))}` });
      return res.end();
    }
    if (url.pathname === '/realms/etown/token' && req.method === 'OPTIONS') {
      res.writeHead(204, { 'Access-Control-Allow-Origin': atlasOrigin(), 'Access-Control-Allow-Headers': 'content-type', 'Access-Control-Allow-Methods': 'POST' });
      return res.end();
    }
    if (url.pathname === '/realms/etown/token' && req.method === 'POST') {
      let text = '';
      req.on('data', (c) => { text += c; });
      req.on('end', () => {
        const form = new URLSearchParams(text);
        const grant = issued.codes.get(form.get('code'));
        issued.codes.delete(form.get('code'));
        const verified = grant && createHash('sha256').update(form.get('code_verifier') || '').digest('base64url') === grant.challenge;
        if (!verified || grant.redirect !== form.get('redirect_uri') || grant.client !== form.get('client_id')) {
          issued.refusedVerifiers += 1;
          return json(400, { error: 'invalid_grant' });
        }
        issued.tokens += 1;
        const now = Math.floor(Date.now() / 1000);
        return json(200, {
          token_type: 'Bearer', expires_in: 300,
          access_token: sign({ iss: issuer, aud: 'etown-atlas', sub: 'wang.fang@etown', iat: now, exp: now + 300, realm_access: { roles: ['park-editor'] } }),
        });
      });
      return undefined;
    }
    res.writeHead(404);
    return res.end();
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${srv.address().port}/realms/etown`;
  return { srv, issuer };
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'atlas-sso-'));
  let atlas = '';
  idp = await identityServer(() => atlas);
  writeFileSync(path.join(dir, 'atlas.toml'), `[auth.oidc]
issuer = "${idp.issuer}"
audience = "etown-atlas"
client_id = "etown-atlas-web"
display_name = "亦庄统一认证"
roles_claim = "realm_access.roles"
[auth.oidc.roles.park-editor]
role = "editor"
collections = ["spatial-carriers"]
`);
  server = await startServer(['--state', path.join(dir, 'state'), '--config', path.join(dir, 'atlas.toml')]);
  atlas = new URL(server.base).origin;
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.stop();
  idp?.srv.close();
  rmSync(dir, { recursive: true, force: true });
});

for (const lang of ['zh', 'en']) {
  test(`${lang}: sign in with the identity server, and edit as its subject`, async () => {
    const { page, context, errors } = await open(browser, server.base, { options: { locale: lang === 'zh' ? 'zh-CN' : 'en-GB' } });
    await page.evaluate((l) => window.__atlas.store.update({ lang: l }), lang);
    const before = issued.tokens;
    await page.click('#signin');
    const label = (await page.textContent('#signin-sso')).trim();
    assert.equal(label, lang === 'zh' ? '使用亦庄统一认证登录' : 'Sign in with 亦庄统一认证');
    await page.click('#signin-sso');
    // Away to the identity server and back: signed in, the code gone from the address bar.
    await page.waitForFunction(() => /退出登录|Sign out/.test(document.querySelector('#signin')?.textContent || ''), null, { timeout: 30000 });
    assert.equal(issued.tokens, before + 1);
    assert.equal(new URL(page.url()).search, '', 'the code left the address');
    const token = await page.evaluate(() => sessionStorage.getItem('etown-atlas-token'));
    assert.equal(token.split('.').length, 3, 'the tab keeps the access token');
    // An edit through the form is recorded under the subject.
    const id = lang === 'zh' ? 'carrier-10' : 'carrier-11';
    await page.evaluate((x) => window.__atlas.store.update({ selected: { collection: 'spatial-carriers', id: x } }), id);
    await page.click('#details .edit-open');
    await page.waitForSelector('#edit-available_floor_area_m2');
    const was = (await (await fetch(`${server.base}/collections/spatial-carriers/items/${id}`)).json()).properties.available_floor_area_m2;
    await page.fill('#edit-available_floor_area_m2', String(was + 100));
    await page.click('.edit-form button[type=submit]');
    await page.waitForSelector('#details .saved');
    const history = await (await fetch(`${server.base}/collections/spatial-carriers/items/${id}/history`, { headers: { Authorization: `Bearer ${token}` } })).json();
    assert.deepEqual(history.changes.map((c) => c.principal), ['wang.fang@etown']);
    assert.deepEqual(errors.filter((e) => !/status of 4\d\d/.test(e)), []);
    await context.close();
  });
}

test('a code that comes back without this tab having asked for it is not used', async () => {
  // The page is opened with a code it never asked for: it says so and stays signed out.
  const { page, context } = await open(browser, server.base, { hash: '?code=forged&state=x' });
  await page.waitForFunction(() => /过期|expired/.test(document.body.textContent));
  assert.equal(await page.evaluate(() => sessionStorage.getItem('etown-atlas-token')), null);
  assert.equal(new URL(page.url()).search, '');
  assert.equal(issued.refusedVerifiers, 0, 'the forged code never reached the identity server');
  await context.close();
});
