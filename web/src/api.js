// Calls to this ccai server (docs/api.md, docs/accounts.md): the session
// (login, logout, who am I), the model list and the streaming chat. Every
// call is same-origin with the session cookie; an answer that is not 2xx
// becomes an Error carrying the server's own message and the status.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function errorOf(res) {
  const text = await res.text();
  try {
    const j = JSON.parse(text);
    if (j && typeof j.error === 'string') return new ApiError(res.status, j.error);
  } catch {
    /* not JSON: fall through */
  }
  return new ApiError(res.status, `${res.status} ${res.statusText}${text ? `: ${text.slice(0, 200)}` : ''}`);
}

async function call(path, init = {}) {
  const res = await fetch(path, { credentials: 'same-origin', cache: 'no-store', ...init });
  if (!res.ok) throw await errorOf(res);
  return res.json();
}

const post = (path, body) => call(path, {
  method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
});

export const me = () => call('/api/me');
export const login = (username, password) => post('/api/login', { username, password });
export const logout = () => post('/api/logout', {});
export const tags = () => call('/api/tags');
export const attestConfig = () => call('/api/attestation/config');

// Streams /api/chat (NDJSON). onChunk({content, thinking}) per line; resolves
// with the final line; rejects with the server's error (a 4xx/5xx answer or
// an {"error"} line inside the stream) or an AbortError from signal.
export async function chat({ model, messages, signal, onChunk }) {
  const res = await fetch('/api/chat', {
    method: 'POST', credentials: 'same-origin', signal,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model, messages, stream: true }),
  });
  if (!res.ok) throw await errorOf(res);
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  let last = null;
  const line = (l) => {
    if (!l.trim()) return;
    const j = JSON.parse(l);
    if (j.error) throw new ApiError(res.status, j.error);
    const m = j.message || {};
    onChunk({ content: m.content || '', thinking: m.thinking || '' });
    if (j.done) last = j;
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      line(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  }
  line(buf + dec.decode());
  if (!last) throw new ApiError(0, 'the answer ended before it was done');
  return last;
}
