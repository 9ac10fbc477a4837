// Module-wide events: the stream, the queue and the screens talk through these.
const target = new EventTarget();

export function on(name, listener) {
  const wrapped = (event) => listener(event.detail);
  target.addEventListener(name, wrapped);
  return () => target.removeEventListener(name, wrapped);
}

export function emit(name, detail) {
  target.dispatchEvent(new CustomEvent(name, { detail }));
}
