// A help alert rings and buzzes. Browsers start audio only after a tap, so the first touch
// on the tablet unlocks the sound for the rest of the day.
let context = null;

export function unlockSound() {
  const start = () => {
    const Audio = globalThis.AudioContext || globalThis.webkitAudioContext;
    if (!context && Audio) context = new Audio();
    context?.resume?.();
  };
  addEventListener("pointerdown", start, { once: true, capture: true });
}

export function ring() {
  if (context) {
    const now = context.currentTime;
    for (const [offset, pitch] of [[0, 880], [0.22, 1175]]) {
      const oscillator = context.createOscillator();
      const gain = context.createGain();
      oscillator.type = "sine";
      oscillator.frequency.value = pitch;
      gain.gain.setValueAtTime(0.0001, now + offset);
      gain.gain.exponentialRampToValueAtTime(0.4, now + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + offset + 0.2);
      oscillator.connect(gain).connect(context.destination);
      oscillator.start(now + offset);
      oscillator.stop(now + offset + 0.21);
    }
  }
  globalThis.navigator?.vibrate?.([200, 100, 200]);
  globalThis.__comptoirRings = (globalThis.__comptoirRings || 0) + 1;
}
