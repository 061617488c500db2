// Browser tests of the chat itself (docs/webui.md "What it does"), run by
// browser.test.mjs after its attestation tests, on the same page, servers
// and browser: Stop and Escape in the middle of a real streamed answer
// (slowed down by lib/slow-proxy.mjs), Regenerate, Copy, the history in
// IndexedDB (reload, Export, Delete, Delete all), the theme toggle, use by
// keyboard alone, and the details dialog's rows checked against what the
// real `ccai verifier` says about the simulated TD.
//
// h: {env, page (getter), shot(name), settled(), field(name)}.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

// The chats in the page's IndexedDB, read directly (not through the UI),
// in key order: the logged-in user's database (store.js).
function dbChats(page) {
  return page.evaluate(async () => {
    const me = await (await fetch('/api/me')).json();
    return new Promise((resolve, reject) => {
      const r = indexedDB.open(`ccai-u${me.user.id}`, 1);
      r.onerror = () => reject(r.error);
      r.onsuccess = () => {
        const db = r.result;
        const q = db.transaction('chats').objectStore('chats').getAll();
        q.onsuccess = () => { db.close(); resolve(q.result); };
        q.onerror = () => reject(q.error);
      };
    });
  });
}

const ndjson = (lines) => lines.map((l) => JSON.stringify(l)).join('\n');
const say = (content, done = false) => ({ message: { role: 'assistant', content }, done, ...(done ? { done_reason: 'stop' } : {}) });
const active = (page) => page.evaluate(() => document.activeElement && document.activeElement.id);

export function registerChatTests(h) {
  const TITLE = 'Tell me a story about a cat';
  const last = '#messages .msg.assistant:last-child';

  // Routes /api/chat through the slow proxy, sends or regenerates, and waits
  // until the page has drawn at least `n` streamed pieces.
  async function slowAnswer(start, n = 3) {
    const { page, env } = h;
    await page.route('**/api/chat', (r) => r.continue({ url: `${env.proxy.url}/api/chat` }));
    await start();
    await page.waitForFunction((want) => {
      const m = document.querySelector('#messages .msg.assistant:last-child');
      return m && Number(m.dataset.chunks || 0) >= want;
    }, n);
    assert.equal(await page.isVisible('#stop'), true);
    assert.equal(await page.isHidden('#send'), true);
    assert.equal(await page.$$eval(`${last} .msg-actions`, (a) => a.length), 0); // no Copy/Regenerate while streaming
  }

  // After a stop: the partial answer stays, marked, and is what was streamed.
  async function assertStopped() {
    const { page, env } = h;
    await page.waitForSelector(`${last} .error`);
    await page.unroute('**/api/chat');
    assert.equal(await page.textContent(`${last} .error`), 'Error: stopped');
    const chunks = Number(await page.getAttribute(last, 'data-chunks'));
    const text = await page.textContent(`${last} .md`);
    await page.waitForTimeout(300); // nothing more arrives after the stop
    assert.equal(Number(await page.getAttribute(last, 'data-chunks')), chunks);
    assert.equal(await page.textContent(`${last} .md`), text);
    const sent = env.proxy.last;
    assert.equal(sent.clientClosed, true, 'the browser dropped the connection');
    assert.ok(chunks >= 2 && chunks <= sent.lines.length, `drawn ${chunks}, sent ${sent.lines.length}`);
    const lines = sent.lines.map((l) => JSON.parse(l));
    assert.ok(lines.every((l) => !l.done), 'stopped before the last line');
    const chat = (await dbChats(page)).find((c) => c.title === TITLE);
    const stored = chat.messages[chat.messages.length - 1];
    assert.deepEqual(stored, { role: 'assistant', content: lines.slice(0, chunks).map((l) => l.message.content).join(''),
      thinking: '', chunks, error: 'stopped' });
    assert.ok(stored.content.length > 0);
    assert.equal(text.replace(/\s+/g, ' ').trim(), stored.content.replace(/\s+/g, ' ').trim());
    assert.equal(await page.isVisible('#send'), true);
    assert.equal(await page.isDisabled('#send'), false);
    assert.equal(await page.isHidden('#stop'), true);
  }

  test('chat: Stop ends a streaming answer, which stays, marked stopped (keyboard: Tab to Stop, Enter)', async () => {
    const { page } = h;
    await page.setViewportSize({ width: 1200, height: 850 });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.click('#new-chat');
    assert.equal(await h.settled(), 'amber');
    await page.fill('#prompt', TITLE);
    await slowAnswer(() => page.press('#prompt', 'Enter'));
    assert.equal(await active(page), 'prompt'); // Enter leaves the focus in the input
    await page.keyboard.press('Tab');
    assert.equal(await active(page), 'stop'); // Send is hidden, Stop is next
    await page.keyboard.press('Enter');
    await assertStopped();
    assert.equal(await active(page), 'prompt', 'the focus went back to the input, not to <body>');
    assert.equal(await page.textContent('#messages .msg.user .user-text'), TITLE);
    await h.shot('15-stopped');
  });

  test('chat: Regenerate replaces the stopped answer, and Escape stops that one too', async () => {
    const { page } = h;
    await slowAnswer(() => page.click(`${last} .regenerate`), 2);
    assert.equal(await page.$$eval('#messages .msg', (m) => m.length), 2); // the stopped answer was replaced
    await page.keyboard.press('Escape');
    await assertStopped();
    assert.equal(await page.$$eval('#messages .msg', (m) => m.length), 2);
  });

  test('chat: Regenerate replaces the last answer and asks without it', async () => {
    const { page } = h;
    const asked = [];
    await page.route('**/api/chat', (r) => {
      asked.push(r.request().postDataJSON());
      return r.fulfill({ status: 200, contentType: 'application/x-ndjson', body: ndjson([say('Regenerated '), say('**answer**', true)]) });
    });
    await page.click(`${last} .regenerate`);
    await page.waitForFunction(() => document.querySelector('#messages .msg.assistant:last-child .md')?.textContent === 'Regenerated answer\n');
    await page.unroute('**/api/chat');
    assert.deepEqual(asked, [{ model: 'stories260K:latest', messages: [{ role: 'user', content: TITLE }], stream: true }]);
    assert.equal(await page.$$eval('#messages .msg', (m) => m.length), 2);
    assert.equal(await page.$$eval(`${last} .error`, (e) => e.length), 0);
    const chat = (await dbChats(page)).find((c) => c.title === TITLE);
    assert.deepEqual(chat.messages, [{ role: 'user', content: TITLE },
      { role: 'assistant', content: 'Regenerated **answer**', thinking: '', chunks: 2 }]);
  });

  test('chat: Copy puts the answer\'s markdown source on the clipboard', async () => {
    const { page } = h;
    const source = 'Use **bold** and `code`:\n\n```c\nint x = 1;\n```\n\n- one\n- two\n';
    await page.route('**/api/chat', (r) => r.fulfill({ status: 200, contentType: 'application/x-ndjson',
      body: ndjson([say('<think>\nPlan it.\n</think>\n\n'), say(source, true)]) }));
    await page.fill('#prompt', 'Show code');
    await page.press('#prompt', 'Enter');
    await page.waitForSelector('#messages .msg:nth-child(4) .msg-actions');
    await page.unroute('**/api/chat');
    await page.evaluate(() => navigator.clipboard.writeText('before'));
    await page.click(`${last} .copy`);
    await page.waitForFunction(() => document.querySelector('#messages .msg.assistant:last-child .copy').textContent !== 'Copy');
    assert.equal(await page.textContent(`${last} .copy`), 'Copied'); // not 'Copy failed'
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), source);
    // The earlier answer's button copies that answer.
    await page.click('#messages .msg:nth-child(2) .copy');
    await page.waitForFunction(() => document.querySelector('#messages .msg:nth-child(2) .copy').textContent === 'Copied');
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), 'Regenerated **answer**');
    await h.shot('16-copied');
  });

  test('history: chats survive a reload; Export all downloads them as JSON', async () => {
    const { page } = h;
    const before = await dbChats(page);
    assert.ok(before.length >= 2, `chats: ${before.length}`);
    await page.reload();
    await page.waitForSelector('#app:not([hidden])');
    assert.equal(await h.settled(), 'amber');
    assert.equal(await page.$$eval('#messages .msg', (m) => m.length), 0); // a new, empty chat
    const byUpdated = [...before].sort((a, b) => b.updated - a.updated);
    assert.deepEqual(await page.$$eval('#chat-list li button', (bs) => bs.map((b) => b.textContent)), byUpdated.map((c) => c.title));
    assert.equal(byUpdated[0].title, TITLE);
    await page.click('#chat-list li:first-child button');
    await page.waitForFunction(() => document.querySelectorAll('#messages .msg').length === 4);
    assert.deepEqual(await page.$$eval('#messages .msg.user .user-text', (u) => u.map((x) => x.textContent)), [TITLE, 'Show code']);
    assert.equal(await page.textContent('#messages .msg:nth-child(2) .md'), 'Regenerated answer\n');
    assert.equal(await page.textContent('#messages .msg:nth-child(4) .thinking-text'), 'Plan it.');
    assert.equal(await page.getAttribute('#chat-list li:first-child button', 'class'), 'current');
    const day = new Date().toISOString().slice(0, 10);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-chats')]);
    assert.equal(download.suggestedFilename(), `ccai-chats-${day}.json`);
    const exported = JSON.parse(readFileSync(await download.path(), 'utf8'));
    assert.deepEqual(Object.keys(exported), ['format', 'chats']);
    assert.equal(exported.format, 'ccai-chats/1');
    assert.deepEqual(exported.chats, byUpdated);
    assert.deepEqual(exported.chats[0].messages.map((m) => m.content),
      [TITLE, 'Regenerated **answer**', 'Show code', '<think>\nPlan it.\n</think>\n\nUse **bold** and `code`:\n\n```c\nint x = 1;\n```\n\n- one\n- two\n']);
  });

  test('history: Delete this chat (only when confirmed) and Delete all, also after a reload', async () => {
    const { page } = h;
    const before = await dbChats(page);
    const id = (await dbChats(page)).find((c) => c.title === TITLE).id;
    const dialogs = [];
    page.once('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
    await page.click('#delete-chat');
    await page.waitForTimeout(100);
    assert.equal((await dbChats(page)).length, before.length, 'dismissed: nothing deleted');
    assert.equal(await page.$$eval('#messages .msg', (m) => m.length), 4);
    page.once('dialog', (d) => { dialogs.push(d.message()); d.accept(); });
    await page.click('#delete-chat');
    await page.waitForFunction(() => document.querySelectorAll('#messages .msg').length === 0);
    assert.deepEqual(dialogs, ['Delete this chat from this browser?', 'Delete this chat from this browser?']);
    const left = await dbChats(page);
    assert.deepEqual(left.map((c) => c.id).sort(), before.filter((c) => c.id !== id).map((c) => c.id).sort());
    await page.reload();
    await page.waitForSelector('#app:not([hidden])');
    await page.waitForFunction((n) => document.querySelectorAll('#chat-list li').length === n, left.length);
    assert.equal(await page.$$eval('#chat-list li button', (bs) => bs.some((b) => b.textContent === 'Tell me a story about a cat')), false);
    page.once('dialog', (d) => { dialogs.push(d.message()); d.accept(); });
    await page.click('#delete-all');
    await page.waitForFunction(() => document.querySelectorAll('#chat-list li').length === 0);
    assert.equal(dialogs[2], 'Delete every chat from this browser?');
    assert.deepEqual(await dbChats(page), []);
    await page.reload();
    await page.waitForSelector('#app:not([hidden])');
    assert.equal(await h.settled(), 'amber');
    assert.deepEqual(await dbChats(page), []);
    assert.equal(await page.$$eval('#chat-list li', (l) => l.length), 0);
    await h.shot('17-all-deleted');
  });

  test('theme: the toggle switches the document between light and dark, and is remembered', async () => {
    const { page } = h;
    const look = () => page.evaluate(() => ({ theme: document.documentElement.dataset.theme,
      bg: getComputedStyle(document.body).backgroundColor, scheme: getComputedStyle(document.documentElement).colorScheme }));
    assert.deepEqual(await look(), { theme: '', bg: 'rgb(255, 255, 255)', scheme: 'light' }); // the system's (light)
    await page.click('#theme');
    assert.deepEqual(await look(), { theme: 'dark', bg: 'rgb(22, 24, 28)', scheme: 'dark' });
    await h.shot('18-dark');
    await page.reload();
    await page.waitForSelector('#app:not([hidden])');
    assert.deepEqual(await look(), { theme: 'dark', bg: 'rgb(22, 24, 28)', scheme: 'dark' });
    // An explicit light wins over a dark system.
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.click('#theme');
    assert.deepEqual(await look(), { theme: 'light', bg: 'rgb(255, 255, 255)', scheme: 'light' });
    assert.equal(JSON.parse(await page.evaluate(() => localStorage.getItem('ccai.settings'))).theme, 'light');
    await page.emulateMedia({ colorScheme: 'light' });
    assert.equal(await h.settled(), 'amber');
  });

  test('keyboard: the New chat shortcut, Shift+Enter, Enter, Tab order, the details dialog and Escape', async () => {
    const { page } = h;
    await page.focus('#prompt');
    await page.keyboard.press('Control+Shift+O');
    assert.equal(await h.settled(), 'amber');
    assert.equal(await active(page), 'prompt');
    await page.keyboard.type('line one');
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.type('line two');
    assert.equal(await page.inputValue('#prompt'), 'line one\nline two');
    assert.equal(await page.$$eval('#messages .msg', (m) => m.length), 0);
    await page.route('**/api/chat', (r) => r.fulfill({ status: 200, contentType: 'application/x-ndjson', body: ndjson([say('Two lines.', true)]) }));
    await page.keyboard.press('Enter');
    await page.waitForSelector(`${last} .msg-actions`);
    await page.unroute('**/api/chat');
    assert.equal(await page.textContent('#messages .msg.user .user-text'), 'line one\nline two');
    assert.equal(await page.inputValue('#prompt'), '');
    assert.equal(await active(page), 'prompt');
    await page.keyboard.press('Enter'); // nothing to send
    assert.equal(await page.$$eval('#messages .msg', (m) => m.length), 2);
    await page.keyboard.press('Tab');
    assert.equal(await active(page), 'send');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    assert.equal(await active(page), 'shield');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#details[open]');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#details:not([open])', { state: 'attached' });
    assert.equal(await active(page), 'shield', 'the focus went back to the shield');
    // The shortcut again: the chat that was open is kept in the list.
    await page.keyboard.press('Control+Shift+O');
    assert.equal(await h.settled(), 'amber');
    assert.equal(await page.$$eval('#messages .msg', (m) => m.length), 0);
    assert.deepEqual(await page.$$eval('#chat-list li button', (bs) => bs.map((b) => b.textContent)), ['line one\nline two']);
  });

  test('details: TCB status and date, xfam, seam_attributes, td_attributes decoded, verifier and key id', async () => {
    const { page, env } = h;
    const jwks = await (await page.request.get(`${env.verifier}/jwks.json`)).json();
    await page.click('#shield');
    await page.waitForSelector('#details[open]');
    assert.equal(await h.field('verifier'), env.verifier);
    assert.equal(await h.field('key id (kid)'), jwks.keys[0].kid);
    assert.equal(await h.field('pinned'), 'no');
    if (env.real) { // the simulated TD's values, docs/tee-sim.md
      assert.equal(await h.field('TCB status'), 'UpToDate');
      assert.equal(await h.field('TCB date'), '2025-01-01T00:00:00Z');
      assert.equal(await h.field('xfam'), '00000000000602e7');
      assert.equal(await h.field('seam_attributes'), '0000000000000000');
      assert.equal(await h.field('td_attributes'), '0000000010000000');
      assert.equal(await h.field('td_attributes (decoded)'), 'debug: false, sept_ve_disable: true, pks: false, kl: false, perfmon: false');
      assert.equal(await h.field('advisory IDs'), '—');
    }
    await page.locator('#details-fields dd[data-field="seam_attributes"]').scrollIntoViewIfNeeded(); // the rows above, in the shot
    await h.shot('19-details-rows');
    await page.click('#close-details');
  });
}
