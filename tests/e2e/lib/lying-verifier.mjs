// A test verifier that lies on request (tests/e2e; docs/webui.md "Tests").
// It speaks `ccai verifier`'s API -- POST /v1/attestation, GET /jwks.json,
// GET /.well-known/openid-configuration, CORS for one allowed origin -- but
// under a path prefix that picks its behaviour, so one server is several
// verifiers: https://127.0.0.1:PORT/<mode>. It appraises nothing: it reads
// the nonce, tee and SPKI hash out of the evidence and signs claims shaped
// like the real ones (lib/token.mjs).
//
//   honest         what an honest verifier trusting the simulated root says
//   bad-signature  the same token with a corrupted signature
//   wrong-nonce    binding.nonce is some other nonce
//   policy-fail    pass false, the policy names a failed check
//   expired        exp an hour ago
//   other-kid      signed by a key that is not in its JWKS
//   lie-tdx        claims real TDX for simulated evidence, under a policy that
//                  pins no binary (amber: "genuine TDX — code not pinned")
//   lie-tdx-pinned the same, and the policy checked a binary_sha256 (green)
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { b64u, makeKey, signJwt, simClaims } from './token.mjs';

export const MODES = ['honest', 'bad-signature', 'wrong-nonce', 'policy-fail', 'expired', 'other-kid', 'lie-tdx',
  'lie-tdx-pinned'];

// A self-signed P-256 certificate for 127.0.0.1 in dir (openssl CLI).
export function makeCert(dir) {
  const key = join(dir, 'verifier-key.pem');
  const cert = join(dir, 'verifier-cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
  { stdio: 'ignore' });
  return { key: readFileSync(key), cert: readFileSync(cert) };
}

function tokenFor(mode, key, strayKey, issuer, ev) {
  const now = Math.floor(Date.now() / 1000);
  const c = simClaims({ issuer, nonce: ev.nonce, spki: ev.tls_spki_sha256, now, tee: ev.tee });
  if (mode === 'wrong-nonce') c.binding.nonce = b64u(randomBytes(32));
  if (mode === 'policy-fail') {
    c.pass = false;
    c.policy.pass = false;
    c.policy.checks.push({ name: 'mr_td', expected: ['00'.repeat(48)], actual: c.mr_td, ok: false, reason: 'mr_td is not an allowed value' });
    c.policy.failed = [{ name: 'mr_td', reason: 'mr_td is not an allowed value' }];
  }
  if (mode === 'expired') {
    c.iat = now - 7200;
    c.nbf = now - 7200;
    c.exp = now - 3600;
  }
  if (mode === 'lie-tdx' || mode === 'lie-tdx-pinned') c.tee = 'tdx';
  if (mode === 'lie-tdx-pinned') {
    c.policy.checks.push({ name: 'binary_sha256', expected: ['ab'.repeat(32)], actual: 'ab'.repeat(32), ok: true, reason: 'ok' });
  }
  const t = signJwt(mode === 'other-kid' ? strayKey : key, c);
  if (mode !== 'bad-signature') return t;
  const [h, p, s] = t.split('.');
  const sig = Buffer.from(s, 'base64url');
  sig[10] ^= 0x01;
  return `${h}.${p}.${b64u(sig)}`;
}

// Starts the verifier on 127.0.0.1 (a free port); resolves {url(mode), port,
// kid, close()}. origin: the UI's origin allowed by CORS.
export async function startLyingVerifier({ dir, origin }) {
  const key = makeKey('lying-verifier-1');
  const strayKey = makeKey('not-in-jwks');
  const tls = makeCert(dir);
  let port = 0;
  const server = https.createServer(tls, (req, res) => {
    const cors = req.headers.origin === origin ? { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' } : {};
    const send = (status, body) => {
      res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...cors });
      res.end(JSON.stringify(body));
    };
    const m = /^\/([a-z-]+)(\/.*)$/.exec(new URL(req.url, 'https://x').pathname);
    if (!m || !MODES.includes(m[1])) return send(404, { error: 'no such mode' });
    const [, mode, path] = m;
    const issuer = `https://127.0.0.1:${port}/${mode}`;
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...cors, 'Access-Control-Allow-Methods': 'GET, POST', 'Access-Control-Allow-Headers': 'Content-Type', 'Access-Control-Max-Age': '60' });
      return res.end();
    }
    if (req.method === 'GET' && path === '/jwks.json') return send(200, { keys: [key.jwk] });
    if (req.method === 'GET' && path === '/.well-known/openid-configuration') {
      return send(200, { issuer, jwks_uri: `${issuer}/jwks.json`, id_token_signing_alg_values_supported: ['ES256'] });
    }
    if (req.method === 'POST' && path === '/v1/attestation') {
      const chunks = [];
      req.on('data', (d) => chunks.push(d));
      req.on('end', () => {
        let ev;
        try {
          ev = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          if (ev && typeof ev.evidence === 'object') ev = ev.evidence; /* the wrapped form */
        } catch {
          return send(400, { error: 'expected ccai-attest/1 evidence JSON' });
        }
        if (ev.version !== 'ccai-attest/1') return send(400, { error: `expected version ccai-attest/1, found ${ev.version}` });
        return send(200, { token: tokenFor(mode, key, strayKey, issuer, ev) });
      });
      return undefined;
    }
    return send(404, { error: 'not found' });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = server.address().port;
  return {
    port, kid: key.kid,
    url: (mode) => `https://127.0.0.1:${port}/${mode}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}
