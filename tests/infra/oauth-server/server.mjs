// FTGate OAuth integration tests: a real OAuth2/OIDC authorization server on loopback.
// Built on oidc-provider 8.8.1 (newest release that runs on Node 18/20).
//
//   node server.mjs [--port 0] [--host 127.0.0.1] [--state-file path] [--config config.json]
//                   [--access-token-ttl 3600] [--refresh-token-ttl 1209600]
//
// Once listening it writes the state file (JSON) and prints "READY <issuer>" on stdout.
// See ../README.md for users, clients, form element ids and the /_test/ endpoints.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

import Provider from 'oidc-provider';

const HERE = path.dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------- arguments
function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    if (eq > 0) { out[a.slice(2, eq)] = a.slice(eq + 1); continue; }
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) { out[a.slice(2)] = 'true'; } else { out[a.slice(2)] = next; i += 1; }
  }
  return out;
}
const args = parseArgs(process.argv.slice(2));
const HOST = args.host || process.env.FTG_OAUTH_HOST || '127.0.0.1';
const PORT = Number(args.port ?? process.env.FTG_OAUTH_PORT ?? 0);
const STATE_FILE = args['state-file'] || process.env.FTG_OAUTH_STATE_FILE || '';
const CONFIG_FILE = args.config || process.env.FTG_OAUTH_CONFIG || path.join(HERE, 'config.json');
const QUIET = (args.quiet || process.env.FTG_OAUTH_QUIET) === 'true';

const config = JSON.parse(fs.readFileSync(CONFIG_FILE, 'utf8'));
const MAIL_RESOURCE = config.mailResource || 'urn:ftgate:mail';
const MAIL_SCOPE = 'mail';

// Mutable at run time through POST /_test/config.
const settings = {
  accessTokenTTL: Number(args['access-token-ttl'] ?? process.env.FTG_OAUTH_ACCESS_TOKEN_TTL ?? config.accessTokenTTL ?? 3600),
  refreshTokenTTL: Number(args['refresh-token-ttl'] ?? process.env.FTG_OAUTH_REFRESH_TOKEN_TTL ?? config.refreshTokenTTL ?? 14 * 24 * 3600),
};

function log(...m) { if (!QUIET) console.error(new Date().toISOString(), '[oauth]', ...m); }

// ---------------------------------------------------------------- users and clients
const users = new Map(config.users.map((u) => [u.email.toLowerCase(), u]));
const clientExtras = new Map(); // client_id -> { pkceRequired, mailbox, accessTokenTTL }
const clients = config.clients.map((c) => {
  const meta = {};
  const extra = {};
  for (const [k, v] of Object.entries(c)) {
    if (k.startsWith('x_')) extra[k.slice(2)] = v; else meta[k] = v;
  }
  clientExtras.set(c.client_id, extra);
  return meta;
});

function accessTokenTTLFor(clientId) {
  const override = clientExtras.get(clientId)?.accessTokenTTL;
  return Number(override ?? settings.accessTokenTTL);
}

// ---------------------------------------------------------------- in-memory adapter (enumerable)
// Like oidc-provider's MemoryAdapter, but a plain Map without an LRU bound so that the
// /_test/ endpoints can enumerate, revoke and expire tokens.
const store = new Map(); // `${model}:${id}` -> { payload, expiresAt }
const grantIndex = new Map(); // grantId -> Set(key)
const uidIndex = new Map(); // session uid -> id
const userCodeIndex = new Map(); // user code -> id
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);
const nowSec = () => Math.floor(Date.now() / 1000);

function storeGet(key) {
  const e = store.get(key);
  if (!e) return undefined;
  if (e.expiresAt && e.expiresAt < Date.now()) { store.delete(key); return undefined; }
  return e.payload;
}

class TestAdapter {
  constructor(model) { this.model = model; }

  key(id) { return `${this.model}:${id}`; }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    store.set(key, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined });
    if (this.model === 'Session' && payload.uid) uidIndex.set(payload.uid, id);
    if (GRANTABLE.has(this.model) && payload.grantId) {
      if (!grantIndex.has(payload.grantId)) grantIndex.set(payload.grantId, new Set());
      grantIndex.get(payload.grantId).add(key);
    }
    if (payload.userCode) userCodeIndex.set(payload.userCode, id);
  }

  async find(id) { return storeGet(this.key(id)); }

  async findByUid(uid) { const id = uidIndex.get(uid); return id ? this.find(id) : undefined; }

  async findByUserCode(userCode) { const id = userCodeIndex.get(userCode); return id ? this.find(id) : undefined; }

  async consume(id) { const p = storeGet(this.key(id)); if (p) p.consumed = nowSec(); }

  async destroy(id) { store.delete(this.key(id)); }

  async revokeByGrantId(grantId) {
    const keys = grantIndex.get(grantId);
    if (keys) { for (const k of keys) store.delete(k); grantIndex.delete(grantId); }
  }
}

function entries(model) {
  const out = [];
  for (const [key, e] of store) {
    if (key.startsWith(`${model}:`) && (!e.expiresAt || e.expiresAt >= Date.now())) out.push([key, e.payload]);
  }
  return out;
}

// ---------------------------------------------------------------- stats and fault injection
const stats = { token: {}, tokenErrors: {}, tokenTimes: {}, introspection: 0, introspectionActive: 0, revocation: 0, authorization: 0, deviceAuthorization: 0, logins: 0, loginFailures: 0, consents: 0, denials: 0 };
function resetStats() {
  stats.token = {}; stats.tokenErrors = {}; stats.tokenTimes = {};
  for (const k of ['introspection', 'introspectionActive', 'revocation', 'authorization', 'deviceAuthorization', 'logins', 'loginFailures', 'consents', 'denials']) stats[k] = 0;
}
const faults = []; // { route, status, remaining }

// ---------------------------------------------------------------- HTML
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
function page(title, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:sans-serif;max-width:28em;margin:2em auto}label{display:block;margin-top:.8em}input[type=text],input[type=email],input[type=password]{width:100%;padding:.4em;box-sizing:border-box}button{margin-top:1em;padding:.5em 1.2em}.error{color:#b00020}</style>
</head>
<body>
${body}
</body>
</html>`;
}

function loginPage(uid, { login = '', error = '', clientName = '' } = {}) {
  return page('Sign in', `<h1>Sign in</h1>
<p>to continue to <strong id="client-name">${esc(clientName)}</strong></p>
${error ? `<p class="error" id="error" role="alert">${esc(error)}</p>` : ''}
<form id="login-form" method="post" action="/interaction/${esc(uid)}/login" autocomplete="off">
  <label for="login">E-mail</label>
  <input type="email" id="login" name="login" value="${esc(login)}" required autofocus>
  <label for="password">Password</label>
  <input type="password" id="password" name="password" required>
  <button type="submit" id="submit" name="submit" value="login">Sign in</button>
</form>
<form id="cancel-form" method="post" action="/interaction/${esc(uid)}/abort">
  <button type="submit" id="cancel" name="cancel" value="cancel">Cancel</button>
</form>`);
}

function consentPage(uid, { account, clientName, scopes, claims }) {
  const list = scopes.map((s) => `<li class="scope" data-scope="${esc(s)}">${esc(s)}</li>`).join('');
  return page('Authorize access', `<h1>Authorize access</h1>
<p><strong id="client-name">${esc(clientName)}</strong> wants to access the account of <strong id="account">${esc(account)}</strong>:</p>
<ul id="scopes">${list}</ul>
${claims.length ? `<p>Claims: <span id="claims">${esc(claims.join(' '))}</span></p>` : ''}
<form id="consent-form" method="post" action="/interaction/${esc(uid)}/confirm">
  <button type="submit" id="allow" name="decision" value="allow">Allow</button>
  <button type="submit" id="deny" name="decision" value="deny" formaction="/interaction/${esc(uid)}/abort">Deny</button>
</form>`);
}

function sendHtml(res, status, html) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(html);
}
function sendJson(res, status, obj) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(JSON.stringify(obj, null, 2));
}
function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => { size += c.length; if (size > 1e6) { reject(new Error('body too large')); req.destroy(); } else chunks.push(c); });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
async function readForm(req) {
  const body = await readBody(req);
  const ct = String(req.headers['content-type'] || '');
  if (ct.includes('application/json')) { try { return JSON.parse(body || '{}'); } catch { return {}; } }
  return Object.fromEntries(new URLSearchParams(body));
}

// ---------------------------------------------------------------- provider
let provider; // created once the port is known
const issuerRef = { value: '' };

function buildProvider(issuer) {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'ftgate-test-rs256', use: 'sig', alg: 'RS256' };

  const configuration = {
    adapter: TestAdapter,
    clients,
    jwks: { keys: [jwk] },
    cookies: {
      keys: [crypto.randomBytes(32).toString('hex')],
      // Lax (not the default None): plain-http loopback, and Chromium drops SameSite=None cookies without Secure.
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    scopes: ['openid', 'offline_access', 'email', 'profile', MAIL_SCOPE],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
    },
    conformIdTokenClaims: false, // put email/name into the ID token (userinfo is not usable with mail-bound tokens)
    async findAccount(ctx, sub) {
      const u = users.get(String(sub).toLowerCase());
      if (!u) return undefined;
      return {
        accountId: u.email,
        async claims() {
          return { sub: u.email, email: u.email, email_verified: true, name: u.name || u.email, preferred_username: u.email };
        },
      };
    },
    interactions: {
      url(ctx, interaction) { return `/interaction/${interaction.uid}`; },
    },
    pkce: {
      methods: ['S256'],
      required(ctx, client) {
        const extra = clientExtras.get(client.clientId);
        if (extra && typeof extra.pkceRequired === 'boolean') return extra.pkceRequired;
        return client.clientAuthMethod === 'none';
      },
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // Only confidential clients introspect; any confidential client may introspect any token (Dovecot does).
        async allowedPolicy(ctx, client, token) {
          return client.clientAuthMethod !== 'none' || token.clientId === client.clientId;
        },
      },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      deviceFlow: {
        enabled: true,
        charset: 'base-20',
        mask: '****-****',
        async userCodeInputSource(ctx, form, out, err) {
          let msg = '<p id="message">Enter the code displayed on your device</p>';
          if (err && (err.userCode || err.name === 'NoCodeError')) msg = '<p class="error" id="error">The code you entered is incorrect. Try again</p>';
          else if (err && err.name === 'AbortedError') msg = '<p class="error" id="error">The Sign-in request was interrupted</p>';
          else if (err) msg = `<p class="error" id="error">There was an error processing your request (${esc(out?.error || err.name)})</p>`;
          const f = form.replace('type="text" name="user_code"', 'type="text" id="user_code" name="user_code"')
            .replace(/ onfocus="[^"]*"/, '');
          ctx.body = page('Device sign-in', `<h1>Device sign-in</h1>${msg}${f}<button type="submit" id="submit" form="op.deviceInputForm">Continue</button>`);
        },
        async userCodeConfirmSource(ctx, form, client, deviceInfo, userCode) {
          ctx.body = page('Confirm device', `<h1>Confirm device</h1>
<p><strong id="client-name">${esc(client.clientName || client.clientId)}</strong> shows the code <code id="user-code">${esc(userCode)}</code>.</p>
${form}
<button type="submit" id="confirm" form="op.deviceConfirmForm">Continue</button>
<button type="submit" id="abort" form="op.deviceConfirmForm" name="abort" value="yes">Abort</button>`);
        },
        async successSource(ctx) {
          ctx.body = page('Device signed in', `<h1 id="device-success">Sign-in successful</h1><p>You can close this page and return to your device.</p>`);
        },
      },
      resourceIndicators: {
        enabled: true,
        async defaultResource(ctx, client, oneOf) {
          if (oneOf && oneOf.length) return oneOf[0];
          return MAIL_RESOURCE;
        },
        useGrantedResource() { return true; },
        async getResourceServerInfo(ctx, resourceIndicator, client) {
          if (resourceIndicator !== MAIL_RESOURCE) throw new Provider.errors.InvalidTarget();
          return {
            scope: MAIL_SCOPE,
            audience: MAIL_RESOURCE,
            accessTokenFormat: 'opaque',
            accessTokenTTL: accessTokenTTLFor(client.clientId),
          };
        },
      },
    },
    // The claim Dovecot's passdb oauth2 maps (username_attribute = username).
    async extraTokenClaims(ctx, token) {
      if (token.kind === 'ClientCredentials') {
        const mailbox = clientExtras.get(token.clientId)?.mailbox;
        return mailbox ? { username: mailbox } : undefined;
      }
      if (token.accountId) return { username: token.accountId, email: token.accountId };
      return undefined;
    },
    async issueRefreshToken(ctx, client, code) {
      return client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access');
    },
    rotateRefreshToken: true,
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      return undefined;
    },
    clientBasedCORS() { return true; },
    ttl: {
      AccessToken(ctx, token, client) { return accessTokenTTLFor(client?.clientId ?? token.clientId); },
      ClientCredentials(ctx, token, client) { return accessTokenTTLFor(client?.clientId ?? token.clientId); },
      AuthorizationCode: 60,
      DeviceCode: 600,
      IdToken: 3600,
      Interaction: 3600,
      Session: 86400,
      Grant: 14 * 24 * 3600,
      RefreshToken() { return settings.refreshTokenTTL; },
    },
    async renderError(ctx, out, error) {
      ctx.type = 'html';
      ctx.body = page('Error', `<h1>Error</h1><p id="error-code">${esc(out.error)}</p><p id="error-description">${esc(out.error_description)}</p>`);
    },
  };

  const p = new Provider(issuer, configuration);
  p.proxy = false;

  // offline_access is dropped by oidc-provider unless prompt contains "consent" (OIDC Core 11).
  // Add it when a client asks for offline_access without any prompt, so refresh tokens are issued;
  // our consent page is shown in that case (a real user-visible consent).
  p.use(async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === '/auth') {
      const q = { ...ctx.query };
      const scopes = String(q.scope || '').split(' ');
      if (scopes.includes('offline_access') && !q.prompt) {
        q.prompt = 'consent';
        ctx.query = q;
      }
    }
    await next();
  });

  // Statistics.
  p.use(async (ctx, next) => {
    let route = ctx.path;
    try {
      await next();
    } finally {
      route = ctx.oidc?.route || route;
      if (route === 'token') {
        const gt = ctx.oidc?.params?.grant_type || 'unknown';
        stats.token[gt] = (stats.token[gt] || 0) + 1;
        if (ctx.status >= 400) {
          const err = (ctx.body && ctx.body.error) || String(ctx.status);
          stats.tokenErrors[gt] = stats.tokenErrors[gt] || {};
          stats.tokenErrors[gt][err] = (stats.tokenErrors[gt][err] || 0) + 1;
        } else {
          // When each grant was answered (server clock, ms): tests check the spacing of refreshes without reading the clients' output timing.
          (stats.tokenTimes[gt] = stats.tokenTimes[gt] || []).push(Date.now());
        }
      } else if (route === 'introspection') {
        stats.introspection += 1;
        if (ctx.body && ctx.body.active === true) stats.introspectionActive += 1;
      } else if (route === 'revocation') stats.revocation += 1;
      else if (route === 'authorization') stats.authorization += 1;
      else if (route === 'device_authorization') stats.deviceAuthorization += 1;
    }
  });

  p.on('server_error', (ctx, err) => log('server_error', err));
  p.on('grant.error', (ctx, err) => log('grant.error', err.message, err.error_description || ''));
  return p;
}

// ---------------------------------------------------------------- interactions (login / consent pages)
async function handleInteraction(req, res, url) {
  const m = url.pathname.match(/^\/interaction\/([^/]+)(?:\/(login|confirm|abort))?\/?$/);
  if (!m) return sendHtml(res, 404, page('Not found', '<h1>Not found</h1>'));
  const [, uid, action] = m;

  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    return sendHtml(res, 400, page('Error', `<h1>Error</h1><p id="error-code">${esc(err.error || 'invalid_request')}</p><p id="error-description">${esc(err.error_description || err.message)} (the interaction cookie is missing or expired)</p>`));
  }
  if (details.uid !== uid) return sendHtml(res, 400, page('Error', '<h1>Error</h1><p id="error-code">invalid_request</p><p id="error-description">interaction uid mismatch</p>'));

  const { prompt, params, session } = details;
  const client = await provider.Client.find(params.client_id);
  const clientName = client?.clientName || params.client_id;

  if (req.method === 'GET' && !action) {
    if (prompt.name === 'login') {
      return sendHtml(res, 200, loginPage(uid, { login: params.login_hint || '', clientName }));
    }
    if (prompt.name === 'consent') {
      const d = prompt.details || {};
      const scopes = [...new Set([...(d.missingOIDCScope || []), ...Object.values(d.missingResourceScopes || {}).flat()])];
      return sendHtml(res, 200, consentPage(uid, { account: session?.accountId, clientName, scopes, claims: d.missingOIDCClaims || [] }));
    }
    return sendHtml(res, 500, page('Error', `<h1>Unknown prompt ${esc(prompt.name)}</h1>`));
  }

  if (req.method !== 'POST') return sendHtml(res, 405, page('Error', '<h1>Method not allowed</h1>'));
  const form = await readForm(req);

  if (action === 'abort' || (action === 'confirm' && form.decision === 'deny')) {
    stats.denials += 1;
    return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'End-User denied the request' }, { mergeWithLastSubmission: false });
  }

  if (action === 'login') {
    if (prompt.name !== 'login') return sendHtml(res, 400, page('Error', '<h1>Error</h1><p id="error-code">invalid_request</p><p id="error-description">not a login prompt</p>'));
    const login = String(form.login || '').trim().toLowerCase();
    const u = users.get(login);
    if (!u || form.password !== u.password) {
      stats.loginFailures += 1;
      return sendHtml(res, 200, loginPage(uid, { login: form.login || '', error: 'Invalid e-mail or password.', clientName }));
    }
    stats.logins += 1;
    return provider.interactionFinished(req, res, { login: { accountId: u.email } }, { mergeWithLastSubmission: false });
  }

  if (action === 'confirm') {
    if (prompt.name !== 'consent') return sendHtml(res, 400, page('Error', '<h1>Error</h1><p id="error-code">invalid_request</p><p id="error-description">not a consent prompt</p>'));
    const d = prompt.details || {};
    let grant;
    if (details.grantId) grant = await provider.Grant.find(details.grantId);
    if (!grant) grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    if (d.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(d.missingResourceScopes)) grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    stats.consents += 1;
    const consent = details.grantId ? {} : { grantId };
    return provider.interactionFinished(req, res, { consent }, { mergeWithLastSubmission: true });
  }
  return sendHtml(res, 404, page('Not found', '<h1>Not found</h1>'));
}

// ---------------------------------------------------------------- /_test/ control endpoints
function isLoopback(addr) {
  return !!addr && (addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.'));
}

async function revokeWhere(pred) {
  const result = { grants: 0, tokens: 0, sessions: 0 };
  for (const [key, payload] of entries('Grant')) {
    if (pred({ accountId: payload.accountId, clientId: payload.clientId })) {
      const grantId = key.slice('Grant:'.length);
      const keys = grantIndex.get(grantId);
      if (keys) { for (const k of keys) if (store.delete(k)) result.tokens += 1; grantIndex.delete(grantId); }
      store.delete(key);
      result.grants += 1;
    }
  }
  for (const model of ['AccessToken', 'RefreshToken', 'AuthorizationCode', 'DeviceCode']) {
    for (const [key, payload] of entries(model)) {
      if (payload.accountId && pred({ accountId: payload.accountId, clientId: payload.clientId })) { store.delete(key); result.tokens += 1; }
    }
  }
  for (const [key, payload] of entries('ClientCredentials')) {
    if (payload.extra?.username && pred({ accountId: payload.extra.username, clientId: payload.clientId })) { store.delete(key); result.tokens += 1; }
  }
  for (const [key, payload] of entries('Session')) {
    if (payload.accountId && pred({ accountId: payload.accountId, clientId: undefined })) { store.delete(key); result.sessions += 1; }
  }
  return result;
}

async function handleTest(req, res, url) {
  if (!isLoopback(req.socket.remoteAddress)) return sendJson(res, 403, { error: 'forbidden' });
  const q = Object.fromEntries(url.searchParams);
  const body = req.method === 'POST' ? await readForm(req) : {};
  const p = { ...body, ...q };
  const route = url.pathname.replace(/\/+$/, '');

  if (route === '/_test/health') return sendJson(res, 200, { ok: true, issuer: issuerRef.value, pid: process.pid });
  if (route === '/_test/stats' && req.method === 'GET') return sendJson(res, 200, stats);
  if (route === '/_test/stats/reset' && req.method === 'POST') { resetStats(); return sendJson(res, 200, stats); }
  if (req.method !== 'POST') return sendJson(res, 405, { error: 'use POST' });

  if (route === '/_test/revoke-user') {
    const user = String(p.user || '').toLowerCase();
    if (!user) return sendJson(res, 400, { error: 'user required' });
    const r = await revokeWhere(({ accountId }) => String(accountId).toLowerCase() === user);
    log('revoke-user', user, r);
    return sendJson(res, 200, { user, ...r });
  }
  if (route === '/_test/revoke-client') {
    const clientId = String(p.client_id || '');
    const r = await revokeWhere(({ clientId: c }) => c === clientId);
    for (const [key, payload] of entries('ClientCredentials')) if (payload.clientId === clientId) { store.delete(key); r.tokens += 1; }
    return sendJson(res, 200, { client_id: clientId, ...r });
  }
  if (route === '/_test/revoke-all') {
    const n = store.size;
    store.clear(); grantIndex.clear(); uidIndex.clear(); userCodeIndex.clear();
    return sendJson(res, 200, { removed: n });
  }
  if (route === '/_test/expire-access-tokens') {
    // Marks access tokens (optionally of one user) as expired: introspection then says active:false.
    const user = p.user ? String(p.user).toLowerCase() : undefined;
    let expired = 0;
    const past = nowSec() - 1;
    for (const model of ['AccessToken', 'ClientCredentials']) {
      for (const [, payload] of entries(model)) {
        const owner = String(payload.accountId || payload.extra?.username || '').toLowerCase();
        if (user && owner !== user) continue;
        payload.exp = past;
        if (payload.iat > past) payload.iat = past - 1;
        expired += 1;
      }
    }
    return sendJson(res, 200, { expired });
  }
  if (route === '/_test/expire-refresh-tokens') {
    // Expires refresh tokens (optionally of one user) now: the next refresh_token grant answers invalid_grant,
    // as when a refresh token outlives its lifetime (without waiting for a short TTL to run out).
    const user = p.user ? String(p.user).toLowerCase() : undefined;
    let expired = 0;
    for (const [key, e] of store) {
      if (!key.startsWith('RefreshToken:')) continue;
      if (user && String(e.payload.accountId || '').toLowerCase() !== user) continue;
      e.payload.exp = nowSec() - 1;
      e.expiresAt = Date.now() - 1;
      expired += 1;
    }
    return sendJson(res, 200, { expired });
  }
  if (route === '/_test/config') {
    if (p.accessTokenTTL !== undefined) settings.accessTokenTTL = Number(p.accessTokenTTL);
    if (p.refreshTokenTTL !== undefined) settings.refreshTokenTTL = Number(p.refreshTokenTTL);
    return sendJson(res, 200, settings);
  }
  if (route === '/_test/fail-next') {
    // Next N requests to a provider route answer with the given status (e.g. token 503).
    const f = { route: String(p.route || 'token'), status: Number(p.status || 503), remaining: Number(p.count || 1) };
    faults.push(f);
    return sendJson(res, 200, f);
  }
  if (route === '/_test/reset') {
    store.clear(); grantIndex.clear(); uidIndex.clear(); userCodeIndex.clear(); resetStats(); faults.length = 0;
    return sendJson(res, 200, { ok: true });
  }
  return sendJson(res, 404, { error: 'unknown test endpoint' });
}

const ROUTE_PATHS = { token: '/token', introspection: '/token/introspection', revocation: '/token/revocation', authorization: '/auth', device_authorization: '/device/auth', userinfo: '/me', discovery: '/.well-known/openid-configuration', jwks: '/jwks' };

function takeFault(pathname) {
  for (const f of faults) {
    if (f.remaining > 0 && (ROUTE_PATHS[f.route] || f.route) === pathname) {
      f.remaining -= 1;
      return f;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------- HTTP server
let providerCallback;
const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname.startsWith('/_test/')) return await handleTest(req, res, url);
    const fault = takeFault(url.pathname);
    if (fault) {
      if (url.pathname === '/token') stats.token.faulted = (stats.token.faulted || 0) + 1;
      return sendJson(res, fault.status, { error: 'temporarily_unavailable', error_description: `injected fault (${fault.status})` });
    }
    if (url.pathname.startsWith('/interaction/')) return await handleInteraction(req, res, url);
    if (url.pathname === '/' || url.pathname === '') {
      return sendHtml(res, 200, page('FTGate test OAuth server', `<h1>FTGate test OAuth server</h1><p>Issuer <code>${esc(issuerRef.value)}</code>. See <a href="/.well-known/openid-configuration">discovery</a>.</p>`));
    }
    return providerCallback(req, res);
  } catch (err) {
    log('handler error', err);
    if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: String(err.message || err) });
    else res.end();
  }
});
server.keepAliveTimeout = 5000;

server.listen(PORT, HOST, () => {
  const { port } = server.address();
  const hostForUrl = HOST.includes(':') ? `[${HOST}]` : HOST;
  const issuer = `http://${hostForUrl}:${port}`;
  issuerRef.value = issuer;
  provider = buildProvider(issuer);
  providerCallback = provider.callback();

  const state = {
    issuer,
    port,
    pid: process.pid,
    host: HOST,
    discovery: `${issuer}/.well-known/openid-configuration`,
    authorizationEndpoint: `${issuer}/auth`,
    tokenEndpoint: `${issuer}/token`,
    introspectionEndpoint: `${issuer}/token/introspection`,
    revocationEndpoint: `${issuer}/token/revocation`,
    deviceAuthorizationEndpoint: `${issuer}/device/auth`,
    deviceVerificationUri: `${issuer}/device`,
    userinfoEndpoint: `${issuer}/me`,
    jwksUri: `${issuer}/jwks`,
    mailResource: MAIL_RESOURCE,
    accessTokenTTL: settings.accessTokenTTL,
    configFile: CONFIG_FILE,
  };
  if (STATE_FILE) {
    const tmp = `${STATE_FILE}.tmp${process.pid}`;
    fs.mkdirSync(path.dirname(path.resolve(STATE_FILE)), { recursive: true });
    fs.writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
    fs.renameSync(tmp, STATE_FILE);
  }
  process.stdout.write(`READY ${issuer}\n`);
  log(`listening on ${issuer} (pid ${process.pid})`);
});

let stopping = false;
function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  log(`${signal}: shutting down`);
  if (STATE_FILE) { try { fs.unlinkSync(STATE_FILE); } catch { /* ignore */ } }
  server.close(() => process.exit(0));
  if (server.closeAllConnections) server.closeAllConnections();
  setTimeout(() => process.exit(0), 1500).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
