// Chat history in this browser's IndexedDB, never on the server
// (docs/webui.md "History"). One object store "chats", keyed by id; a chat
// is {id, title, model, created, updated, messages: [{role, content,
// thinking, warning, error}]}. A "send anyway" is not stored (main.js
// keeps it for the page's life only); the warnings it put on messages are.

const DB = 'ccai';
const STORE = 'chats';

function open() {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, 1);
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
