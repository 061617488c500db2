// Chat history in this browser's IndexedDB, never on the server
// (docs/webui.md "History"), one database per user of the server
// ("ccai-u<id>"): people who share a browser profile do not see each
// other's chats. One object store "chats", keyed by id; a chat
// is {id, title, model, created, updated, messages: [{role, content,
// thinking, warning, error}]}. A "send anyway" is not stored (main.js
// keeps it for the page's life only); the warnings it put on messages are.

const STORE = 'chats';
let db = null; // the logged-in user's database name (useUser)

// The user whose history this page shows: call once logged in.
export function useUser(id) {
  if (!Number.isInteger(id) || id < 0) throw new Error(`store: expected a user id, found ${id}`);
  db = `ccai-u${id}`;
}

function open() {
  return new Promise((resolve, reject) => {
    if (!db) { reject(new Error('store: no user yet')); return; }
    const r = indexedDB.open(db, 1);
    r.onupgradeneeded = () => r.result.createObjectStore(STORE, { keyPath: 'id' });
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

async function tx(mode, fn) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const t = db.transaction(STORE, mode);
      const out = fn(t.objectStore(STORE));
      t.oncomplete = () => resolve(out && 'result' in out ? out.result : undefined);
      t.onerror = () => reject(t.error);
    });
  } finally {
    db.close();
  }
}

export const listChats = async () => {
  const all = (await tx('readonly', (s) => s.getAll())) || [];
  return all.sort((a, b) => b.updated - a.updated);
};
export const putChat = (chat) => tx('readwrite', (s) => { s.put(chat); });
export const deleteChat = (id) => tx('readwrite', (s) => { s.delete(id); });
export const deleteAll = () => tx('readwrite', (s) => { s.clear(); });

export function newChat(model) {
  const now = Date.now();
  const id = `${now.toString(36)}-${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`;
  return { id, title: 'New chat', model, created: now, updated: now, messages: [] };
}
