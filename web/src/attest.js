// The attestation check the shield shows (docs/webui.md "The shield";
// blueprint "Trust protocol", "Attestation service API").
//
// It makes a fresh 32-byte nonce, fetches the server's ccai-attest/1 evidence
// for it, hands that evidence to the verifier, and then trusts nothing the
// verifier says until it has checked the token itself: an ES256 signature
// (WebCrypto) under a key from the verifier's JWKS (or the pinned key id),
// exp/nbf, the issuer from the verifier's discovery document, our own nonce
// echoed in the binding, the verifier's report-data binding result and the
// policy result. The algorithm is fixed to ES256: the token's header is only
// compared with it, never used to choose one (no algorithm confusion).
//
// The outcome is a state: "green" (real TDX, everything passed), "amber" (a
// valid token for the simulated TEE: not confidential) or "red" (anything
// else), with the first failure as the reason and every check listed. The
// module is plain JS with injected fetch/crypto/clock so node's test runner
// exercises it directly (tests/e2e/unit).

export const NONCE_BYTES = 32;
export const SKEW_S = 60; // clock skew tolerated on exp/nbf

// ---- base64url -----------------------------------------------------------------

export function b64urlEncode(bytes) {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// Strict: only the base64url alphabet, no padding, no impossible length.
export function b64urlDecode(s) {
  if (typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) {
    throw new Error('not base64url');
  }
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function makeNonce(cryptoImpl = globalThis.crypto) {
  const bytes = new Uint8Array(NONCE_BYTES);
  cryptoImpl.getRandomValues(bytes);
  return b64urlEncode(bytes);
}

// ---- the token -------------------------------------------------------------------

function isoTime(s) {
  return typeof s === 'number' && Number.isFinite(s) ? new Date(s * 1000).toISOString() : String(s);
}

function parseJsonPart(part, what) {
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(b64urlDecode(part));
  } catch {
    throw new Error(`token ${what}: expected base64url of UTF-8 JSON`);
  }
  let v;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error(`token ${what}: expected JSON`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new Error(`token ${what}: expected a JSON object`);
  }
  return v;
}

// Splits a compact JWS; throws with the reason when it is not one.
export function decodeJwt(token) {
  if (typeof token !== 'string') throw new Error('token: expected a string');
  const parts = token.split('.');
  if (parts.length !== 3) {
    throw new Error(`token: expected three base64url parts separated by '.', found ${parts.length}`);
  }
  const header = parseJsonPart(parts[0], 'header');
  const claims = parseJsonPart(parts[1], 'claims');
  let signature;
  try {
    signature = b64urlDecode(parts[2]);
  } catch {
    throw new Error('token signature: expected base64url');
  }
  const signingInput = new TextEncoder().encode(`${parts[0]}.${parts[1]}`);
  return { header, claims, signature, signingInput };
}

async function importJwk(subtle, jwk) {
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') {
    throw new Error(`key ${jwk.kid}: expected an EC P-256 JWK`);
  }
  return subtle.importKey('jwk', { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, ext: true },
    { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
}

function policyReason(claims) {
  const p = claims.policy;
  const id = p && typeof p.policy_id === 'string' ? p.policy_id : '(none)';
  const failed = p && Array.isArray(p.failed) ? p.failed : [];
  const list = failed.map((f) => `${f && f.name}: ${f && f.reason}`).join('; ');
  return `policy ${id} failed${list ? `: ${list}` : ''}`;
}

// Checks the claims once the signature holds; each entry {name, ok, reason}.
function claimChecks(claims, { issuer, nonce, nowS }) {
  const c = claims;
  const b = c.binding && typeof c.binding === 'object' ? c.binding : {};
  const checks = [];
  const add = (name, ok, reason) => checks.push({ name, ok, reason: ok ? 'ok' : reason });
  add('expiry', typeof c.exp === 'number' && nowS <= c.exp + SKEW_S,
    typeof c.exp === 'number' ? `token expired at ${isoTime(c.exp)} (now ${isoTime(nowS)})`
      : 'token: no exp claim');
  add('not before', typeof c.nbf === 'number' && nowS + SKEW_S >= c.nbf,
    typeof c.nbf === 'number' ? `token not valid before ${isoTime(c.nbf)} (now ${isoTime(nowS)})`
      : 'token: no nbf claim');
  add('issuer', c.iss === issuer, `token issuer: expected ${issuer}, found ${c.iss}`);
  add('nonce', b.nonce === nonce, `nonce: expected ${nonce}, found ${b.nonce}`);
  add('report data binding', b.report_data_ok === true,
    'report data: the verifier found it does not bind our nonce and the TLS key');
  add('quote verified', c.verified === true, 'quote: the verifier could not verify it');
  const policyOk = c.pass === true && c.policy && c.policy.pass === true;
  add('policy', policyOk, policyReason(c));
  add('tee', c.tee === 'tdx' || c.tee === 'tdx-sim', `tee: expected tdx or tdx-sim, found ${c.tee}`);
  return checks;
}

// True when a check's result no longer holds: it passed (green or amber)
// with a token that has expired since (or has no exp). A send then checks
// again first: the server, its key or the verifier may have changed.
export function stale(result, nowS) {
  if (!result || result.state === 'red') return false;
  const c = result.claims;
  return !(c && typeof c.exp === 'number' && nowS <= c.exp);
}

// True when the policy that passed pinned the code that serves: a passing
// binary_sha256 check, or RTMR3's value (which covers the whole runtime log).
// A policy that pins neither (a verifier's default) passes any genuine TD,
// whatever runs in it: that is not "confidential".
export function codePinned(claims) {
  const checks = claims && claims.policy && Array.isArray(claims.policy.checks) ? claims.policy.checks : [];
  return checks.some((k) => k && (k.name === 'binary_sha256' || k.name === 'rtmr3') && k.ok === true);
}

function verdict(checks, claims) {
  const bad = checks.find((k) => !k.ok);
  if (bad) return { state: 'red', reason: bad.reason };
  if (claims.tee === 'tdx-sim') return { state: 'amber', reason: 'simulated TEE — not confidential' };
  if (!codePinned(claims)) {
    return {
      state: 'amber', label: 'genuine TDX — code not pinned',
      reason: 'verified Intel TDX, but the policy pins no server binary (binary_sha256): the TD may run any code',
    };
  }
  return { state: 'green', reason: 'verified Intel TDX; the policy pins the server binary' };
}

// Verifies a token for our nonce. opts: {jwks, issuer, nonce, nowS,
// pinnedKid?, subtle?}. Never throws: a result {state, reason, checks,
// header?, claims?, kid?}.
export async function verifyToken(token, opts) {
  const subtle = opts.subtle || globalThis.crypto.subtle;
  const checks = [];
  const fail = (name, reason, extra = {}) => {
    checks.push({ name, ok: false, reason });
    return { state: 'red', reason, checks, ...extra };
  };
  let t;
  try {
    t = decodeJwt(token);
  } catch (e) {
    return fail('token format', e.message);
  }
  const { header, claims } = t;
  const base = { header, kid: header.kid };
  if (header.alg !== 'ES256') return fail('algorithm', `token header: expected alg ES256, found ${header.alg}`, base);
  checks.push({ name: 'algorithm', ok: true, reason: 'ok' });
  const keys = opts.jwks && Array.isArray(opts.jwks.keys) ? opts.jwks.keys : [];
  if (opts.pinnedKid && header.kid !== opts.pinnedKid) {
    return fail('key id', `token header: kid ${header.kid} is not the pinned kid ${opts.pinnedKid}`, base);
  }
  const jwk = keys.find((k) => k && typeof k.kid === 'string' && k.kid === header.kid);
  if (!jwk) return fail('key id', `token header: kid ${header.kid} is not in the verifier's JWKS`, base);
  checks.push({ name: 'key id', ok: true, reason: 'ok' });
  if (t.signature.length !== 64) {
    return fail('signature', `token signature: expected 64 bytes (r||s), found ${t.signature.length}`, base);
  }
  let good = false;
  try {
    const key = await importJwk(subtle, jwk);
    good = await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, t.signature, t.signingInput);
  } catch (e) {
    return fail('signature', `token signature: ${e.message}`, base);
  }
  if (!good) return fail('signature', `token signature: does not verify with key ${header.kid}`, base);
  checks.push({ name: 'signature', ok: true, reason: 'ok' });
  checks.push(...claimChecks(claims, opts));
  return { ...verdict(checks, claims), checks, header, claims, kid: header.kid };
}

// ---- the whole check ---------------------------------------------------------------

async function fetchJson(fetchFn, url, init, what) {
  let res;
  try {
    res = await fetchFn(url, init);
  } catch (e) {
    throw new Error(`${what}: ${url} unreachable (${e.message})`);
  }
  const text = await res.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  if (!res.ok) {
    const msg = body && typeof body.error === 'string' ? body.error : (body && body.error && body.error.message) || text.slice(0, 200);
    throw new Error(`${what}: ${url} answered ${res.status}: ${msg}`);
  }
  if (body === null || typeof body !== 'object') throw new Error(`${what}: ${url} answered something that is not JSON`);
  return { body, text };
}

export function trimUrl(u) {
  return String(u || '').trim().replace(/\/+$/, '');
}

// The whole check. opts: {base ('' for this origin), verifierUrl,
// pinnedKid?, fetch?, crypto?, nowS? (function)}. Never throws.
export async function attest(opts) {
  const fetchFn = opts.fetch || globalThis.fetch.bind(globalThis);
  const cryptoImpl = opts.crypto || globalThis.crypto;
  const now = opts.nowS || (() => Math.floor(Date.now() / 1000));
  const verifier = trimUrl(opts.verifierUrl);
  const out = { verifierUrl: verifier || null, nonce: null, evidence: null };
  const red = (name, reason) => ({ ...out, state: 'red', reason, checks: [{ name, ok: false, reason }] });
  if (!verifier) {
    return red('verifier', 'no verifier configured: the server names none (ccai serve --verifier URL) and none is set in settings');
  }
  const nonce = makeNonce(cryptoImpl);
  out.nonce = nonce;
  let ev;
  try {
    ev = await fetchJson(fetchFn, `${opts.base || ''}/api/attestation?nonce=${nonce}`, { cache: 'no-store' }, 'evidence');
  } catch (e) {
    return red('evidence', e.message);
  }
  out.evidence = ev.body;
  if (ev.body.nonce !== nonce) return red('evidence', `evidence: expected our nonce ${nonce}, found ${ev.body.nonce}`);
  let tok, disc, jwks;
  try {
    tok = await fetchJson(fetchFn, `${verifier}/v1/attestation`, {
      // The evidence byte for byte, wrapped: a bare object's "policy_ids" and
      // "strict" would choose the policy, and the server wrote the object.
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: `{"evidence":${ev.text}}`, cache: 'no-store',
    }, 'verifier');
    [disc, jwks] = await Promise.all([
      fetchJson(fetchFn, `${verifier}/.well-known/openid-configuration`, { cache: 'no-store' }, 'verifier discovery'),
      fetchJson(fetchFn, `${verifier}/jwks.json`, { cache: 'no-store' }, 'verifier JWKS'),
    ]);
  } catch (e) {
    return red('verifier', e.message);
  }
  if (typeof tok.body.token !== 'string') return red('verifier', 'verifier: expected {"token": "<JWT>"}');
  if (typeof disc.body.issuer !== 'string') return red('verifier', 'verifier discovery: no issuer');
  const r = await verifyToken(tok.body.token, {
    jwks: jwks.body, issuer: disc.body.issuer, nonce, nowS: now(), pinnedKid: opts.pinnedKid,
    subtle: cryptoImpl.subtle,
  });
  return { ...out, ...r, issuer: disc.body.issuer, token: tok.body.token };
}
