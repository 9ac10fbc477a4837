// IndexedDB: the key and settings (kv), the queue of taps (queue), last known answers (cache).
// Used by the page and by the service worker alike.
const NAME = "comptoir-tablet";
let opening = null;

function open() {
  opening ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(NAME, 1);
    request.onupgradeneeded = () => {
      const db = request.result;
      db.createObjectStore("kv");
      const taps = db.createObjectStore("queue", { keyPath: "id", autoIncrement: true });
      taps.createIndex("state", "state");
      db.createObjectStore("cache");
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => {
      opening = null;
      reject(request.error);
    };
  });
  return opening;
}

async function run(store, mode, work) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(store, mode);
    let result;
    const request = work(tx.objectStore(store));
    if (request) request.onsuccess = () => (result = request.result);
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

function storeOf(name) {
  return {
    get: (key) => run(name, "readonly", (s) => s.get(key)),
    set: (key, value) => run(name, "readwrite", (s) => s.put(value, key)),
    delete: (key) => run(name, "readwrite", (s) => s.delete(key)),
  };
}

export const kv = storeOf("kv");
export const cache = storeOf("cache");

export const queue = {
  all: () => run("queue", "readonly", (s) => s.getAll()),
  // Only the taps still waiting (the index keeps a replay from reading the day's history).
  pending: () => run("queue", "readonly", (s) => s.index("state").getAll("pending")),
  add: (item) => run("queue", "readwrite", (s) => s.add(item)),
  put: (item) => run("queue", "readwrite", (s) => s.put(item)),
  get: (id) => run("queue", "readonly", (s) => s.get(id)),
  delete: (id) => run("queue", "readwrite", (s) => s.delete(id)),
};
