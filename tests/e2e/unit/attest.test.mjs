// Unit tests of the UI's token/nonce checking module (web/src/attest.js)
// under node's test runner: every check fails closed with its exact reason.
// Tokens are signed with node:crypto (lib/token.mjs); the module verifies
// them with WebCrypto, the path the browser takes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attest, b64urlDecode, b64urlEncode, codePinned, decodeJwt, makeNonce, stale, verifyToken } from '../../../web/src/attest.js';
import { b64u, makeKey, signJwt, simClaims } from '../lib/token.mjs';

const ISS = 'https://127.0.0.1:9/honest';
const NOW = 1_800_000_000;
const key = makeKey('kid-a');
const other = makeKey('kid-b');
const nonce = b64u(Buffer.alloc(32, 7));
const jwks = { keys: [key.jwk] };
const claims = (over = {}) => ({ ...simClaims({ issuer: ISS, nonce, now: NOW }), ...over });
const check = (token, opts = {}) => verifyToken(token, { jwks, issuer: ISS, nonce, nowS: NOW, ...opts });

test('an honest token for the simulated TD is amber', async () => {
  const r = await check(signJwt(key, claims()));
  assert.equal(r.state, 'amber');
  assert.equal(r.reason, 'simulated TEE — not confidential');
  assert.equal(r.kid, 'kid-a');
  assert.equal(r.claims.mr_td, '11'.repeat(48));
  assert.ok(r.checks.every((c) => c.ok));
  assert.deepEqual(r.checks.map((c) => c.name), ['algorithm', 'key id', 'signature', 'expiry', 'not before',
    'issuer', 'nonce', 'report data binding', 'quote verified', 'policy', 'tee']);
});

// A passing policy check that pins the code (binary_sha256 or rtmr3).
const pinned = (name = 'binary_sha256', ok = true) => {
  const c = claims({ tee: 'tdx' });
  c.policy = { ...c.policy, checks: [...c.policy.checks, { name, expected: ['ab'], actual: 'ab', ok, reason: 'ok' }] };
  return c;
};

test('real TDX with everything passing and the binary pinned is green', async () => {
  const r = await check(signJwt(key, pinned()));
  assert.equal(r.state, 'green');
  assert.equal(r.reason, 'verified Intel TDX; the policy pins the server binary');
  assert.equal((await check(signJwt(key, pinned('rtmr3')))).state, 'green');
});

test('real TDX under a policy that pins no binary is amber, not confidential', async () => {
  for (const c of [claims({ tee: 'tdx' }), pinned('mr_td'), pinned('binary_sha256', false)]) {
    const r = c.policy.checks.some((k) => k.ok === false)
      ? null : await check(signJwt(key, c));
    if (!r) continue; /* a failed check is red anyway */
    assert.equal(r.state, 'amber');
    assert.equal(r.label, 'genuine TDX — code not pinned');
    assert.equal(r.reason, 'verified Intel TDX, but the policy pins no server binary (binary_sha256): the TD may run any code');
  }
  assert.equal(codePinned(pinned('binary_sha256', false)), false);
  assert.equal(codePinned({}), false);
  assert.equal(codePinned(pinned()), true);
});

test('a corrupted signature is red', async () => {
  const [h, p, s] = signJwt(key, claims({ tee: 'tdx' })).split('.');
  const sig = Buffer.from(s, 'base64url');
  sig[0] ^= 1;
  const r = await check(`${h}.${p}.${b64u(sig)}`);
  assert.equal(r.state, 'red');
  assert.equal(r.reason, 'token signature: does not verify with key kid-a');
  assert.equal(r.claims, undefined); // nothing unverified is handed on
});

test('claims changed after signing are red', async () => {
  const [h, , s] = signJwt(key, claims()).split('.');
  const r = await check(`${h}.${b64u(JSON.stringify(claims({ tee: 'tdx' })))}.${s}`);
  assert.equal(r.reason, 'token signature: does not verify with key kid-a');
});

test('a signature of the wrong length is red', async () => {
  const [h, p] = signJwt(key, claims()).split('.');
  const r = await check(`${h}.${p}.${b64u(Buffer.alloc(70))}`);
  assert.equal(r.reason, 'token signature: expected 64 bytes (r||s), found 70');
});

test('the algorithm is never taken from the token', async () => {
  for (const alg of ['none', 'HS256', 'ES384', 'RS256', undefined]) {
    const r = await check(signJwt(key, claims(), { alg }));
    assert.equal(r.state, 'red');
    assert.equal(r.reason, `token header: expected alg ES256, found ${alg}`);
  }
});

test('a key id outside the JWKS is red', async () => {
  const r = await check(signJwt(other, claims()));
  assert.equal(r.reason, "token header: kid kid-b is not in the verifier's JWKS");
});

test('a key from the JWKS that is not the pinned one is red', async () => {
  const both = { keys: [key.jwk, other.jwk] };
  const r = await check(signJwt(other, claims()), { jwks: both, pinnedKid: 'kid-a' });
  assert.equal(r.reason, 'token header: kid kid-b is not the pinned kid kid-a');
  const ok = await check(signJwt(key, claims()), { jwks: both, pinnedKid: 'kid-a' });
  assert.equal(ok.state, 'amber');
});

test('a JWK that is not EC P-256 is red', async () => {
  const r = await check(signJwt(key, claims()), { jwks: { keys: [{ ...key.jwk, crv: 'P-384' }] } });
  assert.equal(r.reason, 'token signature: key kid-a: expected an EC P-256 JWK');
});

test('expiry and not-before allow 60 s of skew and no more', async () => {
  const t = signJwt(key, claims({ exp: NOW - 60 }));
  assert.equal((await check(t)).state, 'amber');
  const late = await check(signJwt(key, claims({ exp: NOW - 61 })));
  assert.equal(late.reason, 'token expired at 2027-01-15T07:58:59.000Z (now 2027-01-15T08:00:00.000Z)');
  const early = await check(signJwt(key, claims({ nbf: NOW + 61 })));
  assert.equal(early.reason, 'token not valid before 2027-01-15T08:01:01.000Z (now 2027-01-15T08:00:00.000Z)');
  const none = await check(signJwt(key, claims({ exp: undefined })));
  assert.equal(none.reason, 'token: no exp claim');
});

test('another issuer is red', async () => {
  const r = await check(signJwt(key, claims({ iss: 'https://evil.example' })));
  assert.equal(r.reason, `token issuer: expected ${ISS}, found https://evil.example`);
});

test('a token for another nonce is red', async () => {
  const c = claims();
  c.binding = { ...c.binding, nonce: b64u(Buffer.alloc(32, 8)) };
  const r = await check(signJwt(key, c));
  assert.equal(r.reason, `nonce: expected ${nonce}, found ${c.binding.nonce}`);
  const missing = claims();
  delete missing.binding;
  assert.equal((await check(signJwt(key, missing))).reason, `nonce: expected ${nonce}, found undefined`);
});

test('report data the verifier could not bind is red', async () => {
  const c = claims();
  c.binding = { ...c.binding, report_data_ok: false };
  assert.equal((await check(signJwt(key, c))).reason,
    'report data: the verifier found it does not bind our nonce and the TLS key');
});

test('an unverified quote is red', async () => {
  assert.equal((await check(signJwt(key, claims({ verified: false })))).reason, 'quote: the verifier could not verify it');
});

test('a failed policy is red and names each failed check', async () => {
  const c = claims({ pass: false });
  c.policy = { ...c.policy, pass: false, failed: [{ name: 'mr_td', reason: 'not allowed' }, { name: 'tcb_status', reason: 'OutOfDate' }] };
  assert.equal((await check(signJwt(key, c))).reason, 'policy test-sim failed: mr_td: not allowed; tcb_status: OutOfDate');
  // pass true at the top but false in the policy (or the reverse) is still a failure
  const d = claims();
  d.policy = { ...d.policy, pass: false };
  assert.equal((await check(signJwt(key, d))).reason, 'policy test-sim failed');
  assert.equal((await check(signJwt(key, claims({ pass: false })))).reason, 'policy test-sim failed');
});

test('an unknown tee is red', async () => {
  assert.equal((await check(signJwt(key, claims({ tee: 'sev-snp' })))).reason, 'tee: expected tdx or tdx-sim, found sev-snp');
});

test('malformed tokens are red with the reason', async () => {
  const cases = [
    ['a.b', "token: expected three base64url parts separated by '.', found 2"],
    ['!!!.e30.AA', 'token header: expected base64url of UTF-8 JSON'],
    [`${b64u('not json')}.e30.AA`, 'token header: expected JSON'],
    [`${b64u('[1]')}.e30.AA`, 'token header: expected a JSON object'],
    [`${b64u('{"alg":"ES256"}')}.${b64u('null')}.AA`, 'token claims: expected a JSON object'],
    [`${b64u('{"alg":"ES256"}')}.e30.a=b`, 'token signature: expected base64url'],
  ];
  for (const [t, why] of cases) {
    const r = await check(t);
    assert.equal(r.state, 'red');
    assert.equal(r.reason, why);
  }
  assert.equal((await check(undefined)).reason, 'token: expected a string');
});

test('nonces are 32 fresh random bytes in base64url', () => {
  const a = makeNonce();
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(b64urlDecode(a).length, 32);
  assert.notEqual(a, makeNonce());
  assert.equal(b64urlEncode(new Uint8Array([251, 255])), '-_8');
  assert.throws(() => b64urlDecode('ab+c'), /not base64url/);
  assert.throws(() => b64urlDecode('abcde'), /not base64url/);
  assert.equal(decodeJwt(signJwt(key, { a: 1 })).header.kid, 'kid-a');
});

// ---- the whole check with a fake network ---------------------------------------------

function fakeNet({ token, evidenceNonce, verifier = 'https://v.test', down = false, status = 200, extra = {} }) {
  const seen = [];
  const reply = (code, body) => ({ ok: code < 300, status: code, text: async () => (typeof body === 'string' ? body : JSON.stringify(body)) });
  const fetchFn = async (url, init = {}) => {
    seen.push({ url, init });
    if (url.startsWith('/api/attestation?nonce=')) {
      const n = url.split('=')[1];
      return reply(200, { version: 'ccai-attest/1', tee: 'tdx-sim', nonce: evidenceNonce || n, quote: 'AA==', ...extra });
    }
    if (down) throw new TypeError('Failed to fetch');
    if (url === `${verifier}/v1/attestation`) {
      return status === 200 ? reply(200, { token: token(JSON.parse(init.body).evidence.nonce) }) : reply(status, { error: 'policy not found' });
    }
    if (url === `${verifier}/.well-known/openid-configuration`) return reply(200, { issuer: ISS, jwks_uri: `${verifier}/jwks.json` });
    if (url === `${verifier}/jwks.json`) return reply(200, jwks);
    return reply(404, { error: 'not found' });
  };
  return { fetchFn, seen };
}

const tokenFor = (n) => signJwt(key, { ...simClaims({ issuer: ISS, nonce: n, now: NOW }) });

test('attest: the evidence goes to the verifier byte for byte, wrapped, and the result is amber', async () => {
  const net = fakeNet({ token: tokenFor });
  const r = await attest({ verifierUrl: 'https://v.test/', fetch: net.fetchFn, nowS: () => NOW });
  assert.equal(r.state, 'amber');
  assert.equal(r.verifierUrl, 'https://v.test');
  assert.equal(r.issuer, ISS);
  assert.match(net.seen[0].url, /^\/api\/attestation\?nonce=[A-Za-z0-9_-]{43}$/);
  const post = net.seen.find((s) => s.init.method === 'POST');
  const ev = JSON.stringify({ version: 'ccai-attest/1', tee: 'tdx-sim', nonce: r.nonce, quote: 'AA==' });
  assert.equal(post.init.body, `{"evidence":${ev}}`);
});

test('attest: policy ids the server puts in its evidence choose nothing', async () => {
  const net = fakeNet({ token: tokenFor, extra: { policy_ids: ['dev'], strict: false } });
  await attest({ verifierUrl: 'https://v.test', fetch: net.fetchFn, nowS: () => NOW });
  const body = JSON.parse(net.seen.find((s) => s.init.method === 'POST').init.body);
  assert.deepEqual(Object.keys(body), ['evidence']);
  assert.deepEqual(body.evidence.policy_ids, ['dev']); /* inside, where the verifier ignores it */
});

test('attest: an unreachable verifier is red', async () => {
  const r = await attest({ verifierUrl: 'https://v.test', fetch: fakeNet({ token: tokenFor, down: true }).fetchFn });
  assert.equal(r.state, 'red');
  assert.equal(r.reason, 'verifier: https://v.test/v1/attestation unreachable (Failed to fetch)');
});

test('attest: a verifier error is red with its message', async () => {
  const r = await attest({ verifierUrl: 'https://v.test', fetch: fakeNet({ token: tokenFor, status: 400 }).fetchFn });
  assert.equal(r.reason, 'verifier: https://v.test/v1/attestation answered 400: policy not found');
});

test('attest: evidence for another nonce is red', async () => {
  const other = b64u(Buffer.alloc(32, 9));
  const r = await attest({ verifierUrl: 'https://v.test', fetch: fakeNet({ token: tokenFor, evidenceNonce: other }).fetchFn });
  assert.equal(r.reason, `evidence: expected our nonce ${r.nonce}, found ${other}`);
});

test('attest: no verifier configured is red', async () => {
  const r = await attest({ verifierUrl: '', fetch: fakeNet({ token: tokenFor }).fetchFn });
  assert.equal(r.reason, 'no verifier configured: the server names none (ccai serve --verifier URL) and none is set in settings');
});

test('attest: a token replayed from an earlier nonce is red', async () => {
  const old = b64u(Buffer.alloc(32, 1));
  const r = await attest({ verifierUrl: 'https://v.test', fetch: fakeNet({ token: () => tokenFor(old) }).fetchFn, nowS: () => NOW });
  assert.equal(r.reason, `nonce: expected ${r.nonce}, found ${old}`);
});

test('stale: a passed check holds until its token expires', () => {
  const passed = (exp) => ({ state: 'amber', claims: { exp } });
  assert.equal(stale(passed(NOW + 10), NOW), false);
  assert.equal(stale(passed(NOW), NOW), false);
  assert.equal(stale(passed(NOW - 1), NOW), true);
  assert.equal(stale({ state: 'green', claims: {} }, NOW), true); /* no exp: check again */
  assert.equal(stale({ state: 'green' }, NOW), true);
  assert.equal(stale({ state: 'red', reason: 'x' }, NOW), false); /* blocked anyway */
  assert.equal(stale(null, NOW), false);
});
