// Test-side ES256 tokens, made with node:crypto (an implementation
// independent of the browser's WebCrypto path the UI verifies with): a P-256
// key with its JWK, a signer, and claims shaped like `ccai verifier`'s
// (blueprint "Attestation service API") for the simulated TD.
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';

export const b64u = (buf) => Buffer.from(buf).toString('base64url');

export function makeKey(kid = 'test-kid-1') {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  return { kid, privateKey, jwk: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, kid, alg: 'ES256', use: 'sig' } };
}

export function signJwt(key, claims, header = {}) {
  const h = b64u(JSON.stringify({ alg: 'ES256', kid: key.kid, typ: 'JWT', ...header }));
  const c = b64u(JSON.stringify(claims));
  const sig = sign('sha256', Buffer.from(`${h}.${c}`), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${h}.${c}.${b64u(sig)}`;
}

const hex = (n, byte) => byte.repeat(n);

// Claims for evidence {nonce, tls_spki_sha256, tee} as an honest verifier
// that trusts the simulated root would issue them.
export function simClaims({ issuer, nonce, spki = hex(32, 'ab'), now = Math.floor(Date.now() / 1000), tee = 'tdx-sim' }) {
  return {
    iss: issuer, iat: now, nbf: now, exp: now + 300, jti: b64u(randomBytes(16)), tee,
    mr_td: hex(48, '11'), rtmr_0: hex(48, '20'), rtmr_1: hex(48, '21'), rtmr_2: hex(48, '22'), rtmr_3: hex(48, '23'),
    mr_seam: hex(48, '33'), seam_attributes: hex(8, '00'), td_attributes: '0000001000000000',
    td_attributes_decoded: { debug: false, sept_ve_disable: true, pks: false, kl: false, perfmon: false },
    xfam: 'e702060000000000', report_data: hex(64, '44'), tcb_status: 'UpToDate', tcb_date: '2024-03-13T00:00:00Z',
    advisory_ids: [],
    events: { binary: [hex(32, '55')], config: { tee: 'sim' }, models: [{ name: 'stories260K:latest', sha256: hex(32, '66'), size: 1185376 }] },
    verified: true, pass: true,
    policy: { policy_id: 'test-sim', policy_sha256: hex(32, '77'), pass: true,
      checks: [{ name: 'tee', expected: ['tdx-sim'], actual: tee, ok: true, reason: 'ok' }], failed: [] },
    binding: { nonce, tls_spki_sha256: spki, e2e_key_sha256: hex(32, '00'), report_data_ok: true },
  };
}
