// The ccai web UI (docs/webui.md): login, model picker, chats kept in
// IndexedDB, streaming answers, and the attestation shield that gates
// sending. The shield is checked on page load and at every New chat; while
// it is red the Send button is disabled and the reason shown, unless this
// chat was explicitly switched to "send anyway", after which every message
// of the chat carries a visible warning. Nothing here downgrades silently.
import * as api from './api.js';
import * as store from './store.js';
import { attest, stale, trimUrl } from './attest.js';
import { renderMarkdown, splitThink } from './markdown.js';
import { renderDetails } from './details.js';

const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

const SETTINGS_KEY = 'ccai.settings';
const state = {
  config: null,       // /api/attestation/config
  attest: null,       // the last attest() result
  checking: null,     // the attestation in flight (a promise)
  chat: null,         // the open chat
  busy: null,         // AbortController of the answer streaming now
  // "Send anyway" given in this page, chat id -> the reason shown then. Kept
  // here, never stored with the chat: an override is consent to the failure
  // seen now, so a chat reopened after a reload starts blocked again.
  overrides: new Map(),
  settings: loadSettings(),
};

// An override is consent to one failure: a check that fails for another
// reason blocks the chat again until that one is consented to.
const overrideOf = (chat) => {
  if (!chat || !state.overrides.has(chat.id)) return null;
  const r = state.overrides.get(chat.id);
  return state.attest && state.attest.reason === r ? r : null;
};

function loadSettings() {
  try {
    const s = JSON.parse(localStorage.getItem(SETTINGS_KEY) || '{}');
    return { verifierUrl: s.verifierUrl || '', pinned: s.pinned || null, theme: s.theme || '' };
  } catch {
    return { verifierUrl: '', pinned: null, theme: '' };
  }
}
const saveSettings = () => localStorage.setItem(SETTINGS_KEY, JSON.stringify(state.settings));

// The verifier to use: a pinned one wins, then the settings, then the server's.
function verifierUrl() {
  if (state.settings.pinned) return state.settings.pinned.url;
  return trimUrl(state.settings.verifierUrl) || trimUrl(state.config && state.config.verifier_url);
}

// ---- the shield --------------------------------------------------------------------

const LABELS = { checking: 'checking…', green: 'confidential', amber: 'simulated TEE — not confidential', red: 'not verified' };

function showShield() {
  const a = state.attest;
  const s = state.checking ? 'checking' : a ? a.state : 'checking';
  const shield = $('shield');
  shield.dataset.state = s;
  const label = (s !== 'checking' && a && a.label) || LABELS[s];
  $('shield-label').textContent = label;
  shield.setAttribute('aria-label', `Attestation: ${label}${a && s === 'red' ? ` (${a.reason})` : ''}`);
  shield.title = a && !state.checking ? a.reason : 'checking the server…';
  renderDetails(a, { checking: !!state.checking, verifier: verifierUrl(), pinned: state.settings.pinned });
  updateComposer();
}

async function checkAttestation() {
  const run = (async () => {
    try {
      if (!state.config) state.config = await api.attestConfig();
    } catch (e) {
      return { state: 'red', reason: `attestation config: ${e.message}`, checks: [{ name: 'config', ok: false, reason: e.message }] };
    }
    return attest({ verifierUrl: verifierUrl(), pinnedKid: state.settings.pinned && state.settings.pinned.kid });
  })();
  state.checking = run;
  showShield();
  const r = await run;
  if (state.checking === run) {
    state.checking = null;
    state.attest = r;
    showShield();
  }
  return r;
}

// ---- composing ------------------------------------------------------------------------

function blockedReason() {
  if (state.checking) return 'checking the server…';
  const a = state.attest;
  if (!a || a.state === 'red') return a ? a.reason : 'not checked';
  return null;
}

function updateComposer() {
  const reason = blockedReason();
  const override = overrideOf(state.chat) !== null;
  const red = state.attest && state.attest.state === 'red' && !state.checking;
  $('blocked').hidden = !(red && !override);
  $('blocked-reason').textContent = red ? state.attest.reason : '';
  const warn = $('chat-warning');
  warn.hidden = !(override && red);
  warn.textContent = override && red ? `Sending anyway: this chat goes to a server whose attestation failed (${overrideOf(state.chat)}).` : '';
  $('send').disabled = !!state.busy || (reason !== null && !(red && override)) || !$('model').value;
  $('send').title = reason && !(red && override) ? `Blocked: ${reason}` : 'Send (Enter)';
  // Send and Stop take turns; when the one that has the focus goes away, a
  // keyboard user's focus must not fall to <body>: it goes to the input.
  const focused = document.activeElement;
  $('stop').hidden = !state.busy;
  $('send').hidden = !!state.busy;
  if ((focused === $('stop') || focused === $('send')) && focused.hidden) $('prompt').focus();
}

// ---- messages ---------------------------------------------------------------------------

function messageView(m, i) {
  const li = el('li', `msg ${m.role}`);
  li.dataset.index = String(i);
  if (m.chunks) li.dataset.chunks = String(m.chunks); // streamed pieces: shows (and tests) streaming
  if (m.warning) li.append(el('p', 'msg-warning', `⚠ ${m.warning}`));
  if (m.role === 'assistant') {
    const { thinking, content } = splitThink(m.content);
    const think = [m.thinking, thinking].filter(Boolean).join('\n');
    if (think) {
      const d = el('details', 'thinking');
      d.append(el('summary', '', 'Thinking'), el('div', 'thinking-text', think));
      li.append(d);
    }
    const body = el('div', 'md');
    body.innerHTML = renderMarkdown(content); // sanitized by DOMPurify
    li.append(body);
    if (m.error) li.append(el('p', 'error', `Error: ${m.error}`));
    if (!m.streaming) {
      const bar = el('div', 'msg-actions');
      const copy = el('button', 'copy', 'Copy');
      copy.addEventListener('click', () => copyText(content, copy));
      bar.append(copy);
      if (i === state.chat.messages.length - 1) {
        const regen = el('button', 'regenerate', 'Regenerate');
        regen.addEventListener('click', regenerate);
        regen.disabled = $('send').disabled && !state.busy;
        bar.append(regen);
      }
      li.append(bar);
    }
  } else {
    li.append(el('div', 'user-text', m.content));
  }
  return li;
}

function renderMessages() {
  const ol = $('messages');
  ol.replaceChildren(...(state.chat ? state.chat.messages.map(messageView) : []));
  ol.scrollTop = ol.scrollHeight;
}

function renderLast() {
  const ol = $('messages');
  const i = state.chat.messages.length - 1;
  const view = messageView(state.chat.messages[i], i);
  if (ol.lastElementChild && ol.lastElementChild.dataset.index === String(i)) ol.lastElementChild.replaceWith(view);
  else ol.append(view);
  ol.scrollTop = ol.scrollHeight;
}

async function copyText(text, btn) {
  try {
    await navigator.clipboard.writeText(text);
    btn.textContent = 'Copied';
  } catch {
    btn.textContent = 'Copy failed';
  }
  setTimeout(() => { btn.textContent = 'Copy'; }, 1500);
}

// The warning a message sent under "send anyway" keeps for good.
function overrideWarning() {
  return overrideOf(state.chat) !== null && state.attest && state.attest.state === 'red'
    ? `sent although attestation failed: ${state.attest.reason}` : null;
}

async function generate() {
  const chat = state.chat;
  const warning = overrideWarning();
  const history = chat.messages.filter((m) => !m.error).map((m) => ({ role: m.role, content: m.content }));
  const msg = { role: 'assistant', content: '', thinking: '', streaming: true };
  if (warning) msg.warning = warning;
  chat.messages.push(msg);
  state.busy = new AbortController();
  updateComposer();
  renderLast();
  let frame = 0;
  try {
    await api.chat({
      model: chat.model, messages: history, signal: state.busy.signal,
      onChunk: ({ content, thinking }) => {
        msg.content += content;
        msg.thinking += thinking;
        msg.chunks = (msg.chunks || 0) + 1;
        if (!frame) frame = requestAnimationFrame(() => { frame = 0; renderLast(); });
      },
    });
  } catch (e) {
    msg.error = e.name === 'AbortError' ? 'stopped' : e.message;
  } finally {
    if (frame) cancelAnimationFrame(frame);
    delete msg.streaming;
    state.busy = null;
    chat.updated = Date.now();
    await store.putChat(chat);
    updateComposer();
    renderMessages();
    renderHistory();
  }
}

// Before a send: a passed check whose token has expired is done again, and
// the send goes ahead only if the composer still allows it. False: stop.
async function freshEnough() {
  if (!stale(state.attest, Date.now() / 1000)) return true;
  await checkAttestation();
  updateComposer();
  return !$('send').disabled;
}

async function send() {
  const text = $('prompt').value.trim();
  if (!text || $('send').disabled || !(await freshEnough())) return;
  const chat = state.chat;
  chat.model = $('model').value;
  const m = { role: 'user', content: text };
  const w = overrideWarning();
  if (w) m.warning = w;
  chat.messages.push(m);
  if (chat.title === 'New chat') chat.title = text.slice(0, 60);
  $('prompt').value = '';
  renderMessages();
  await generate();
}

async function regenerate() {
  const msgs = state.chat.messages;
  if (state.busy || $('send').disabled || !msgs.length || msgs[msgs.length - 1].role !== 'assistant') return;
  if (!(await freshEnough())) return;
  msgs.pop();
  renderMessages();
  await generate();
}

// ---- chats -------------------------------------------------------------------------------

async function renderHistory() {
  const ul = $('chat-list');
  const chats = await store.listChats();
  ul.replaceChildren(...chats.map((c) => {
    const li = el('li');
    const b = el('button', c.id === (state.chat && state.chat.id) ? 'current' : '', c.title);
    b.addEventListener('click', () => openChat(c));
    li.append(b);
    return li;
  }));
}

function openChat(c) {
  if (state.busy) state.busy.abort();
  state.chat = c;
  if (c.model && [...$('model').options].some((o) => o.value === c.model)) $('model').value = c.model;
  renderMessages();
  renderHistory();
  updateComposer();
}

async function newChat() {
  openChat(store.newChat($('model').value));
  $('prompt').focus();
  await checkAttestation();
}

function exportChats() {
  store.listChats().then((chats) => {
    const blob = new Blob([JSON.stringify({ format: 'ccai-chats/1', chats }, null, 2)], { type: 'application/json' });
    const a = el('a');
    a.href = URL.createObjectURL(blob);
    a.download = `ccai-chats-${new Date().toISOString().slice(0, 10)}.json`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  });
}

// ---- settings ------------------------------------------------------------------------------

function renderSettings() {
  $('server-verifier').textContent = (state.config && state.config.verifier_url) || '(none)';
  $('verifier-url').value = state.settings.verifierUrl;
  const p = state.settings.pinned;
  $('pinned').textContent = p ? `Pinned: ${p.url} with key id ${p.kid}. Tokens from another key are refused.` : 'No verifier pinned.';
  $('unpin').disabled = !p;
  $('verifier-url').disabled = !!p;
}

function settingsMsg(t) { $('settings-msg').textContent = t; }

function wireSettings() {
  $('open-settings').addEventListener('click', () => { renderSettings(); settingsMsg(''); $('settings').showModal(); });
  $('close-settings').addEventListener('click', () => $('settings').close());
  $('save-settings').addEventListener('click', async () => {
    const v = trimUrl($('verifier-url').value);
    if (v && !/^https?:\/\/[^/]+/.test(v)) { settingsMsg('expected an http(s) URL'); return; }
    state.settings.verifierUrl = v;
    saveSettings();
    settingsMsg('Saved; checking again.');
    await checkAttestation();
  });
  $('pin').addEventListener('click', async () => {
    const r = await checkAttestation();
    if (r.state === 'red' || !r.kid) { settingsMsg(`Not pinned: the verifier did not check out (${r.reason}).`); return; }
    state.settings.pinned = { url: r.verifierUrl, kid: r.kid };
    saveSettings();
    renderSettings();
    settingsMsg('Pinned.');
    showShield();
  });
  $('unpin').addEventListener('click', async () => {
    state.settings.pinned = null;
    saveSettings();
    renderSettings();
    settingsMsg('Unpinned; checking again.');
    await checkAttestation();
  });
}

function applyTheme() {
  document.documentElement.dataset.theme = state.settings.theme;
}

// ---- start ---------------------------------------------------------------------------------

function wire() {
  $('composer').addEventListener('submit', (e) => { e.preventDefault(); send(); });
  $('prompt').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
  $('stop').addEventListener('click', () => state.busy && state.busy.abort());
  $('new-chat').addEventListener('click', newChat);
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey && e.shiftKey && e.key.toLowerCase() === 'o') { e.preventDefault(); newChat(); }
    if (e.key === 'Escape' && state.busy) state.busy.abort();
  });
  $('model').addEventListener('change', () => { if (state.chat) state.chat.model = $('model').value; updateComposer(); });
  $('shield').addEventListener('click', () => $('details').showModal());
  $('close-details').addEventListener('click', () => $('details').close());
  $('recheck').addEventListener('click', checkAttestation);
  $('send-anyway').addEventListener('click', () => {
    state.overrides.set(state.chat.id, state.attest ? state.attest.reason : 'not verified');
    updateComposer();
    $('prompt').focus();
  });
  $('export-chats').addEventListener('click', exportChats);
  $('delete-chat').addEventListener('click', async () => {
    if (!state.chat || !confirm('Delete this chat from this browser?')) return;
    await store.deleteChat(state.chat.id);
    openChat(store.newChat($('model').value));
  });
  $('delete-all').addEventListener('click', async () => {
    if (!confirm('Delete every chat from this browser?')) return;
    await store.deleteAll();
    openChat(store.newChat($('model').value));
  });
  $('toggle-history').addEventListener('click', () => {
    const open = document.body.classList.toggle('history-open');
    $('toggle-history').setAttribute('aria-expanded', String(open));
  });
  $('theme').addEventListener('click', () => {
    const dark = state.settings.theme ? state.settings.theme === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
    state.settings.theme = dark ? 'light' : 'dark';
    saveSettings();
    applyTheme();
  });
  $('logout').addEventListener('click', async () => {
    try { await api.logout(); } finally { location.reload(); }
  });
  wireSettings();
}

async function startApp(user) {
  store.useUser(user.id);
  $('login').hidden = true;
  $('app').hidden = false;
  const sel = $('model');
  try {
    const t = await api.tags();
    sel.replaceChildren(...(t.models || []).map((m) => el('option', '', m.name)));
    for (const o of sel.options) o.value = o.textContent;
  } catch (e) {
    $('messages').replaceChildren(el('li', 'msg error', `Cannot list models: ${e.message}`));
  }
  openChat(store.newChat(sel.value));
  await checkAttestation();
}

function showLogin() {
  $('app').hidden = true;
  $('login').hidden = false;
  $('username').focus();
  $('login').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('login-error').textContent = '';
    try {
      const r = await api.login($('username').value, $('password').value);
      $('password').value = '';
      await startApp(r.user);
    } catch (err) {
      $('login-error').textContent = err.message;
    }
  });
}

async function main() {
  applyTheme();
  wire();
  let me;
  try {
    me = await api.me();
  } catch (e) {
    if (e.status === 401) return showLogin();
    document.body.textContent = `Cannot reach the server: ${e.message}`;
    return undefined;
  }
  return startApp(me.user);
}

main();
