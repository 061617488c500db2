// Browser tests of the web UI (docs/webui.md "Tests"): playwright-core
// drives Debian's chromium (headless, --no-sandbox as root) against a real
// `ccai serve --tee sim` with accounts on, started here on a free loopback
// port. The amber state comes from the real `ccai verifier
// --trust-simulated`; the red states from a verifier that lies
// (lib/lying-verifier.mjs). Screenshots of every state go to
// $CCAI_E2E_OUT (default ./e2e-screenshots) for review. The chat's own
// tests (Stop, Regenerate, Copy, history, theme, keyboard, details rows)
// are in chat-ui.mjs and run after these on the same page; the last test
// checks that no request left for an origin other than ours.
//
// Run through tests/e2e/run.sh, which skips (77) when chromium,
// web/node_modules, the ccai binary or the shared model is missing.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { startLyingVerifier } from './lib/lying-verifier.mjs';
import { startSlowProxy } from './lib/slow-proxy.mjs';
import { registerChatTests } from './chat-ui.mjs';

// playwright-core lives in web/node_modules (ES imports resolve from this
// file's folder, so it is required from there).
const webDir = fileURLToPath(new URL('../../web/', import.meta.url));
const { chromium } = createRequire(join(webDir, 'package.json'))('playwright-core');
const BIN = process.env.CCAI_BIN;
const SHARED = process.env.CCAI_SHARED_DIR;
const MODEL = join(SHARED || '', 'models/stories260K.gguf');
const OUT = process.env.CCAI_E2E_OUT || join(process.cwd(), 'e2e-screenshots');
const PASSWORD = 'e2e-Correct-Horse-42';
const B64U43 = '[A-Za-z0-9_-]{43}';

const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');
const procs = [];
const env = {};

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Starts a ccai subcommand and waits for its "listening on" line.
function startCcai(args, extraEnv = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(BIN, args, { env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'ignore', 'pipe'] });
    const entry = { p, name: args[0], log: '' };
    procs.push(entry);
    let log = '';
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not start:\n${log}`)), 20000);
    p.stderr.on('data', (d) => {
      log += d;
      entry.log = log.slice(-4000);
      if (/listening on/.test(log)) {
        clearTimeout(timer);
        resolve(p);
      }
    });
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      entry.code = code === null ? signal : code;
      reject(new Error(`${args[0]} exited with ${code}:\n${log}`));
    });
  });
}

let browser;
let page;

before(async () => {
  mkdirSync(OUT, { recursive: true });
  for (const f of readdirSync(OUT)) if (f.endsWith('.png')) rmSync(join(OUT, f)); // last run's
  env.dir = mkdtempSync(join(tmpdir(), 'ccai-e2e-'));
  env.port = await freePort();
  env.origin = `https://127.0.0.1:${env.port}`;
  env.liar = await startLyingVerifier({ dir: env.dir, origin: env.origin });
  // The real verifier; while a ccai without one is being tested, the lying
  // verifier's honest mode stands in (said loudly: the claims are then fake).
  env.real = spawnSync(BIN, ['verifier', '--help'], { stdio: 'ignore' }).status === 0;
  if (env.real) {
    env.vport = await freePort();
    env.verifier = `https://127.0.0.1:${env.vport}`;
    await startCcai(['verifier', '--listen', `127.0.0.1:${env.vport}`, '--state-dir', join(env.dir, 'verifier'),
      '--trust-simulated', '--cors-origin', env.origin]);
  } else {
    env.verifier = env.liar.url('honest');
    console.log('# NOTE: this ccai has no `verifier` command: the amber state uses the test verifier');
  }
  await startCcai(['serve', '--tee', 'sim', '--model', MODEL, '--listen', `127.0.0.1:${env.port}`,
    '--state-dir', join(env.dir, 'serve'), '--verifier', env.verifier], { CCAI_ADMIN_PASSWORD: PASSWORD });
  env.closed = await freePort(); // nothing listens there: the unreachable verifier
  env.proxy = await startSlowProxy({ dir: env.dir, target: env.origin });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1200, height: 850 } });
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: env.origin });
  // Every request any page of the context makes, as the page asked for it
  // (a request routed to the slow proxy is recorded with its own URL).
  env.requests = [];
  const entries = new Map();
  ctx.on('request', (r) => {
    const e = { method: r.method(), url: r.url() };
    entries.set(r, e);
    env.requests.push(e);
  });
  ctx.on('requestfailed', (r) => { if (entries.has(r)) entries.get(r).failure = r.failure().errorText; });
  page = await ctx.newPage();
  page.on('pageerror', (e) => { env.pageErrors = [...(env.pageErrors || []), e.message]; });
});

after(async () => {
  if (browser) await browser.close();
  if (env.liar) await env.liar.close();
  if (env.proxy) await env.proxy.close();
  // SIGTERM is a graceful stop: each must exit 0 (under ASan, also no leak).
  const exited = procs.map(({ p }) => (p.exitCode === null && p.signalCode === null ? new Promise((r) => p.on('exit', r)) : null));
  for (const { p } of procs) p.kill('SIGTERM');
  await Promise.all(exited);
  if (env.dir) rmSync(env.dir, { recursive: true, force: true });
  for (const e of procs) assert.equal(e.code, 0, `ccai ${e.name} exited with ${e.code}:\n${e.log}`);
});

const shot = (name) => page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
const shieldState = () => page.getAttribute('#shield', 'data-state');
async function settled() {
  await page.waitForFunction(() => document.getElementById('shield').dataset.state !== 'checking');
  return shieldState();
}
async function useVerifier(url) {
  await page.click('#open-settings');
  await page.fill('#verifier-url', url);
  await page.click('#save-settings');
  await page.waitForFunction(() => document.getElementById('settings-msg').textContent === 'Saved; checking again.');
  await page.click('#close-settings');
  return settled();
}
const field = (name) => page.textContent(`#details-fields dd[data-field="${name}"]`);

test('login: a wrong password is refused inline, the right one opens the app', async () => {
  await page.goto(`${env.origin}/`);
  await page.waitForSelector('#login:not([hidden])');
  await page.fill('#username', 'admin');
  await page.fill('#password', 'wrong');
  await page.click('#login-submit');
  await page.waitForFunction(() => document.getElementById('login-error').textContent !== '');
  assert.equal(await page.textContent('#login-error'), 'invalid user name or password');
  await shot('01-login-error');
  await page.fill('#password', PASSWORD);
  await page.click('#login-submit');
  await page.waitForSelector('#app:not([hidden])');
  assert.deepEqual(await page.$$eval('#model option', (os) => os.map((o) => o.value)), ['stories260K:latest']);
});

test('the shield is amber with the simulated TD and shows the claims', async () => {
  assert.equal(await settled(), 'amber');
  assert.equal(await page.textContent('#shield-label'), 'simulated TEE — not confidential');
  assert.equal(await page.isHidden('#blocked'), true);
  await page.click('#shield');
  await page.waitForSelector('#details[open]');
  assert.equal(await page.textContent('#details-state'), 'Valid token, but a simulated TEE: not confidential.');
  assert.equal(await field('tee'), 'tdx-sim');
  assert.equal(await field('verifier'), env.verifier);
  assert.equal(await field('issuer'), env.verifier);
  for (const f of ['mr_td', 'rtmr_0', 'rtmr_1', 'rtmr_2', 'rtmr_3', 'mr_seam']) assert.match(await field(f), /^[0-9a-f]{96}$/, f);
  assert.match(await field('jti'), /^\S+$/);
  assert.match(await field('exp'), /^\d{4}-\d\d-\d\dT.*Z \(\d+\)$/);
  assert.match(await field('td_attributes (decoded)'), /debug: false/);
  assert.match(await field('key id (kid)'), /^\S+$/);
  assert.match(await field('nonce'), new RegExp(`^${B64U43}$`));
  assert.match(await field('tls_spki_sha256'), /^[0-9a-f]{64}$/);
  if (env.real) {
    assert.equal(await field('model'), `stories260K:latest sha256:${sha256(MODEL)}`);
    assert.equal(await field('binary sha256'), sha256(BIN));
  }
  const checks = await page.$$eval('#details-checks li', (ls) => ls.map((l) => l.textContent));
  for (const name of ['algorithm', 'key id', 'signature', 'expiry', 'issuer', 'nonce', 'report data binding', 'policy', 'tee']) {
    assert.ok(checks.includes(`✓ ${name}`), `${name} in ${checks.join(' | ')}`);
  }
  await shot('02-amber-details');
  await page.click('#close-details');
});

test('a message streams a story back', async () => {
  await page.fill('#prompt', 'Once upon a time');
  await page.press('#prompt', 'Enter');
  await page.waitForSelector('#messages .msg.assistant .msg-actions');
  const text = await page.textContent('#messages .msg.assistant .md');
  assert.ok(text.split(/\s+/).length > 10, text);
  assert.equal(await page.textContent('#messages .msg.user .user-text'), 'Once upon a time');
  // The answer came as a stream of NDJSON lines, each taken as it came (the
  // tiny model is too fast to catch a half-drawn answer reliably).
  const chunks = Number(await page.getAttribute('#messages .msg.assistant', 'data-chunks'));
  assert.ok(chunks > 10, `streamed chunks: ${chunks}`);
  assert.equal(await page.$$eval('.msg-warning', (w) => w.length), 0);
  await shot('03-streamed-story');
});

const RED = [
  ['unreachable', () => `https://127.0.0.1:${env.closed}`,
    () => new RegExp(`^verifier: https://127\\.0\\.0\\.1:${env.closed}/v1/attestation unreachable \\(Failed to fetch\\)$`)],
  ['policy-fail', () => env.liar.url('policy-fail'), () => /^policy test-sim failed: mr_td: mr_td is not an allowed value$/],
  ['bad-signature', () => env.liar.url('bad-signature'), () => /^token signature: does not verify with key lying-verifier-1$/],
  ['wrong-nonce', () => env.liar.url('wrong-nonce'), () => new RegExp(`^nonce: expected ${B64U43}, found ${B64U43}$`)],
  ['expired', () => env.liar.url('expired'), () => /^token expired at \S+Z \(now \S+Z\)$/],
  ['other-kid', () => env.liar.url('other-kid'), () => /^token header: kid not-in-jwks is not in the verifier's JWKS$/],
];

for (const [i, [mode, url, reason]] of RED.entries()) {
  test(`red and sending blocked: ${mode}`, async () => {
    assert.equal(await useVerifier(url()), 'red');
    assert.equal(await page.textContent('#shield-label'), 'not verified');
    assert.equal(await page.isVisible('#blocked'), true);
    assert.match(await page.textContent('#blocked-reason'), reason());
    assert.equal(await page.isDisabled('#send'), true);
    const before = await page.$$eval('#messages .msg', (m) => m.length);
    await page.fill('#prompt', 'this must not be sent');
    await page.press('#prompt', 'Enter');
    await page.waitForTimeout(200);
    assert.equal(await page.$$eval('#messages .msg', (m) => m.length), before);
    assert.equal(await page.inputValue('#prompt'), 'this must not be sent');
    await page.click('#shield');
    await page.waitForSelector('#details[open]');
    assert.match(await page.textContent('#details-state'), /^Not verified: /);
    assert.ok((await page.$$eval('#details-checks li.bad', (l) => l.length)) >= 1);
    await shot(`${String(i + 4).padStart(2, '0')}-red-${mode}`);
    await page.click('#close-details');
  });
}

test('send anyway works in this chat only, and warns on every message', async () => {
  assert.equal(await shieldState(), 'red'); // the last lying verifier
  await page.click('#new-chat');
  assert.equal(await settled(), 'red');
  await page.click('#send-anyway');
  assert.equal(await page.isVisible('#chat-warning'), true);
  assert.match(await page.textContent('#chat-warning'), /^Sending anyway: this chat goes to a server whose attestation failed/);
  assert.equal(await page.isDisabled('#send'), false);
  await page.fill('#prompt', 'Once upon a time');
  await page.click('#send');
  await page.waitForSelector('#messages .msg.assistant .msg-actions');
  const warnings = await page.$$eval('#messages .msg .msg-warning', (w) => w.map((x) => x.textContent));
  assert.equal(warnings.length, 2);
  for (const w of warnings) assert.match(w, /^⚠ sent although attestation failed: token header: kid not-in-jwks/);
  await shot('10-override-warning');
  // The consent was to that failure: a check failing for another reason
  // blocks this chat again; the same failure again is still consented to.
  const kidReason = await page.textContent('#blocked-reason');
  assert.equal(await useVerifier(env.liar.url('policy-fail')), 'red');
  assert.equal(await page.isVisible('#blocked'), true);
  assert.equal(await page.isDisabled('#send'), true);
  assert.equal(await page.isHidden('#chat-warning'), true);
  assert.notEqual(await page.textContent('#blocked-reason'), kidReason);
  assert.equal(await useVerifier(env.liar.url('other-kid')), 'red');
  assert.equal(await page.isVisible('#chat-warning'), true);
  assert.equal(await page.isDisabled('#send'), false);
  await page.click('#new-chat'); // a new chat starts blocked again
  assert.equal(await settled(), 'red');
  assert.equal(await page.isVisible('#blocked'), true);
  assert.equal(await page.isDisabled('#send'), true);
  assert.equal(await page.isHidden('#chat-warning'), true);
  // The override is consent for this page only: the chat, reopened after a
  // reload, is blocked again (its messages keep their warnings).
  await page.reload();
  await page.waitForSelector('#app:not([hidden])');
  assert.equal(await settled(), 'red');
  await page.click('#chat-list li:first-child button');
  await page.waitForFunction(() => document.querySelectorAll('#messages .msg .msg-warning').length === 2);
  assert.equal(await page.isVisible('#blocked'), true);
  assert.equal(await page.isDisabled('#send'), true);
  assert.equal(await page.isHidden('#chat-warning'), true);
  await page.fill('#prompt', 'this must not be sent');
  await page.press('#prompt', 'Enter');
  await page.waitForTimeout(200);
  assert.equal(await page.$$eval('#messages .msg', (m) => m.length), 2);
  await page.fill('#prompt', '');
});

test('real TDX under a policy that pins no binary is amber, not confidential', async () => {
  assert.equal(await useVerifier(env.liar.url('lie-tdx')), 'amber');
  assert.equal(await page.textContent('#shield-label'), 'genuine TDX — code not pinned');
  assert.equal(await page.isDisabled('#send'), false);
  assert.match(await page.getAttribute('#shield', 'title'), /^verified Intel TDX, but the policy pins no server binary \(binary_sha256\)/);
});

test('green is what a verifier vouching for real TDX and a pinned binary gives (here one that lies)', async () => {
  assert.equal(await useVerifier(env.liar.url('lie-tdx-pinned')), 'green');
  assert.equal(await page.textContent('#shield-label'), 'confidential');
  assert.equal(await page.isHidden('#blocked'), true);
  await page.click('#new-chat');
  assert.equal(await settled(), 'green');
  assert.equal(await page.isDisabled('#send'), false);
  await shot('11-green-from-a-lying-verifier');
});

test('pinning: the pinned verifier and its key id are shown and used', async () => {
  assert.equal(await useVerifier(env.liar.url('honest')), 'amber');
  await page.click('#open-settings');
  await page.click('#pin');
  await page.waitForFunction(() => document.getElementById('settings-msg').textContent === 'Pinned.');
  assert.equal(await page.textContent('#pinned'),
    `Pinned: ${env.liar.url('honest')} with key id lying-verifier-1. Tokens from another key are refused.`);
  await shot('12-pinned');
  await page.click('#close-settings');
  assert.equal(await field('pinned'), `${env.liar.url('honest')} kid lying-verifier-1`);
  await page.click('#open-settings');
  await page.click('#unpin');
  await page.waitForFunction(() => document.getElementById('settings-msg').textContent === 'Unpinned; checking again.');
  await page.click('#close-settings');
  assert.equal(await useVerifier(''), 'amber'); // back to the server's verifier
  assert.equal(await field('verifier'), env.verifier);
});

test('markdown, code highlighting, the Thinking block, and hostile markup made harmless', async () => {
  // A scripted answer (stories260K writes neither code nor reasoning).
  const lines = [
    { message: { role: 'assistant', content: '', thinking: 'The user wants C.' }, done: false },
    { message: { role: 'assistant', content: '**Here**:\n\n```c\nint main(void) { return 0; }\n```\n' }, done: false },
    { message: { role: 'assistant', content: '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>' }, done: false },
    { message: { role: 'assistant', content: '[x](javascript:window.pwned=3)' }, done: true, done_reason: 'stop' },
  ];
  await page.route('**/api/chat', (r) => r.fulfill({ status: 200, contentType: 'application/x-ndjson',
    body: lines.map((l) => JSON.stringify(l)).join('\n') }));
  await page.click('#new-chat');
  assert.equal(await settled(), 'amber');
  await page.fill('#prompt', 'Write C');
  await page.press('#prompt', 'Enter');
  await page.waitForSelector('#messages .msg.assistant .msg-actions');
  await page.unroute('**/api/chat');
  assert.equal(await page.textContent('#messages .msg.assistant details.thinking summary'), 'Thinking');
  assert.equal(await page.textContent('#messages .msg.assistant .thinking-text'), 'The user wants C.');
  assert.equal(await page.textContent('#messages .msg.assistant .md strong'), 'Here');
  assert.ok((await page.$$eval('#messages .msg.assistant pre code.language-c span[class^="hljs-"]', (s) => s.length)) > 0);
  assert.equal(await page.$$eval('#messages .msg.assistant .md img, #messages .msg.assistant .md script', (e) => e.length), 0);
  await page.click('#messages .msg.assistant .md a').catch(() => {});
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  assert.equal(await page.getAttribute('#messages .msg.assistant .md a', 'href'), null);
  await shot('13-markdown-thinking');
});

test('<think> written inline by a reasoning model goes to the Thinking block', async () => {
  const body = [{ message: { role: 'assistant', content: '<think>\nLet me think.\n</think>\n\nThe answer.' }, done: true }]
    .map((l) => JSON.stringify(l)).join('\n');
  await page.route('**/api/chat', (r) => r.fulfill({ status: 200, contentType: 'application/x-ndjson', body }));
  await page.click('#messages .msg.assistant .regenerate');
  await page.waitForFunction(() => document.querySelector('#messages .msg.assistant .thinking-text')?.textContent === 'Let me think.');
  await page.unroute('**/api/chat');
  assert.equal(await page.textContent('#messages .msg.assistant .md'), 'The answer.\n');
  assert.equal(await page.$$eval('#messages .msg.assistant', (m) => m.length), 1); // regenerated, not added
});

test('an error from the server shows inline', async () => {
  await page.route('**/api/chat', (r) => r.fulfill({ status: 503, contentType: 'application/json',
    body: JSON.stringify({ error: 'server busy: 1 requests running and 16 queued' }) }));
  await page.fill('#prompt', 'Again');
  await page.press('#prompt', 'Enter');
  await page.waitForSelector('#messages .msg.assistant:last-child .error');
  await page.unroute('**/api/chat');
  assert.equal(await page.textContent('#messages .msg.assistant:last-child .error'), 'Error: server busy: 1 requests running and 16 queued');
});

test('the UI is served with a strict CSP and security headers, and the CSP holds', async () => {
  const types = { '/': 'text/html; charset=utf-8', '/app.js': 'text/javascript; charset=utf-8', '/app.css': 'text/css; charset=utf-8' };
  for (const [path, type] of Object.entries(types)) {
    const r = await page.request.get(`${env.origin}${path}`);
    assert.equal(r.status(), 200);
    const h = r.headers();
    assert.equal(h['content-type'], type);
    assert.match(h['content-security-policy'], /^default-src 'none'; script-src 'self'; style-src 'self'; /);
    assert.match(h['content-security-policy'], /; frame-ancestors 'none'$/);
    assert.equal(h['x-content-type-options'], 'nosniff');
    assert.equal(h['referrer-policy'], 'no-referrer');
    assert.equal(h['x-frame-options'], 'DENY');
    assert.equal(h['cache-control'], 'no-store');
  }
  const html = await (await page.request.get(`${env.origin}/`)).text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc="\/app\.js")/); // no inline script
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//);
  // Injected markup can neither run inline script nor load from elsewhere
  // (a closed loopback port stands for "elsewhere").
  const r = await page.evaluate(async (img) => {
    const seen = [];
    document.addEventListener('securitypolicyviolation', (e) => seen.push(e.effectiveDirective));
    const s = document.createElement('script');
    s.textContent = 'window.inlineRan = true';
    document.body.append(s);
    const i = document.createElement('img');
    i.src = img;
    document.body.append(i);
    await new Promise((res) => { setTimeout(res, 300); });
    i.remove();
    return { inline: window.inlineRan === true, seen: seen.sort() };
  }, `http://127.0.0.1:${env.closed}/x.png`);
  assert.deepEqual(r, { inline: false, seen: ['img-src', 'script-src-elem'] });
});

test('phone width and dark mode', async () => {
  await page.setViewportSize({ width: 390, height: 800 });
  await page.emulateMedia({ colorScheme: 'dark' });
  assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= 390), true);
  assert.equal(await page.isVisible('#shield'), true);
  assert.equal(await page.isVisible('#send'), true);
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(22, 24, 28)');
  await shot('14-phone-dark');
  assert.deepEqual(env.pageErrors || [], []);
});

registerChatTests({ env, get page() { return page; }, shot, settled, field });

test('another user of this browser sees none of the first one\'s chats', async () => {
  const chats = () => page.$$eval('#chat-list li', (l) => l.length);
  const login = async (name, pw) => {
    await page.waitForSelector('#login:not([hidden])');
    await page.fill('#username', name);
    await page.fill('#password', pw);
    await page.click('#login-submit');
    await page.waitForSelector('#app:not([hidden])');
    await settled();
  };
  const mine = await chats();
  assert.ok(mine > 0);
  const made = await page.evaluate(async () => (await fetch('/api/admin/users', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'bob', password: 'bob password 123' }),
  })).status);
  assert.equal(made, 201);
  await page.click('#logout');
  await login('bob', 'bob password 123');
  assert.equal(await chats(), 0);
  await page.click('#logout');
  await login('admin', PASSWORD);
  assert.equal(await chats(), mine);
});

// Last: what the page fetched in all the tests above went to this server
// and to the verifiers the tests chose (the unreachable one included), and
// to a verifier only its three endpoints. Nothing else: no CDN, font or
// analytics, whatever the page showed.
test('no request ever left for another origin than the server and the verifiers', async () => {
  const liar = `https://127.0.0.1:${env.liar.port}`;
  const verifiers = new Set([new URL(env.verifier).origin, liar, `https://127.0.0.1:${env.closed}`]);
  const endpoints = /^(\/[a-z-]+)?\/(v1\/attestation|jwks\.json|\.well-known\/openid-configuration)$/;
  const seen = new Map();
  for (const r of env.requests) {
    const { method, url } = r;
    const u = new URL(url);
    const where = u.protocol === 'blob:' ? new URL(u.pathname).origin : u.origin;
    if (url === 'data:,') continue; // the empty favicon, <link rel=icon href="data:,">: no fetch at all
    if (url === `http://127.0.0.1:${env.closed}/x.png`) { // the CSP test's own probe, stopped by the CSP
      assert.equal(r.failure, 'csp'); // chromium's reason: blocked by the Content-Security-Policy
      continue;
    }
    assert.ok(where === env.origin || verifiers.has(where), `${method} ${url}`);
    if (verifiers.has(where)) assert.match(u.pathname, endpoints, `${method} ${url}`);
    seen.set(where, (seen.get(where) || 0) + 1);
  }
  // The recorder saw the traffic: the server and every verifier used.
  for (const o of [env.origin, ...verifiers]) assert.ok(seen.get(o) > 0, `no request to ${o}: ${[...seen.keys()]}`);
  assert.ok(env.requests.some((r) => r.method === 'POST' && r.url === `${env.origin}/api/chat`));
  assert.deepEqual(env.pageErrors || [], []);
});
