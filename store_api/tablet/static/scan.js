// Barcode scanning with the camera where the browser has BarcodeDetector; typed otherwise.
import { h } from "./h.js";
import { _ } from "./i18n.js";

export function canScan() {
  return "BarcodeDetector" in globalThis && !!navigator.mediaDevices?.getUserMedia;
}

// Opens a full-screen camera view; resolves with the code read, or null when cancelled.
export function scanBarcode() {
  return new Promise((resolve) => {
    let stream = null;
    let stopped = false;
    const video = h("video", { class: "scan-video", playsinline: true, muted: true });
    const cancel = h("button", { class: "btn secondary", type: "button" }, _("Cancel"));
    const layer = h("div", { class: "scan", role: "dialog", "aria-label": _("Scan a barcode") },
      video, h("p", {}, _("Point the camera at the barcode")), cancel);
    const stop = (code) => {
      if (stopped) return;
      stopped = true;
      stream?.getTracks().forEach((track) => track.stop());
      layer.remove();
      resolve(code);
    };
    cancel.addEventListener("click", () => stop(null));
    document.body.append(layer);
    const detector = new globalThis.BarcodeDetector({ formats: ["ean_13", "ean_8", "upc_a", "upc_e", "code_128"] });
    navigator.mediaDevices
      .getUserMedia({ video: { facingMode: "environment" } })
      .then(async (media) => {
        stream = media;
        video.srcObject = media;
        await video.play();
        while (!stopped) {
          const found = await detector.detect(video).catch(() => []);
          if (found.length) return stop(found[0].rawValue);
          await new Promise((r) => setTimeout(r, 150));
        }
      })
      .catch(() => stop(null));
  });
}

export function looksLikeBarcode(text) {
  return /^\d{8}$|^\d{12,14}$/.test(text.replace(/\s/g, ""));
}
