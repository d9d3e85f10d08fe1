// data-qr-scanner: read the QR code of a hand-off link with the vendored jsQR; follow only this site's /h/ links.
import { loadScript, msg, openCamera, preview, showAlert, stopStream } from "./common.js";

const SCAN_EVERY_MS = 150;

/** The link's URL when it is one of ours, else null. */
function ourLink(text) {
  try {
    const url = new URL(text, location.href);
    return url.origin === location.origin && url.pathname.startsWith("/h/") ? url : null;
  } catch {
    return null;
  }
}

async function scan(box) {
  const video = box.querySelector("video");
  const stream = await openCamera({ video: { facingMode: "environment" }, audio: false });
  if (!stream) {
    showAlert(box, msg(box, "camera-denied"));
    return;
  }
  await loadScript(document.body.dataset.vendorJsqr);
  video.hidden = false;
  await preview(video, stream);
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const look = () => {
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    context.drawImage(video, 0, 0);
    const picture = context.getImageData(0, 0, canvas.width, canvas.height);
    const code = window.jsQR(picture.data, picture.width, picture.height, { inversionAttempts: "dontInvert" });
    if (code && code.data) {
      const url = ourLink(code.data);
      if (url) {
        stopStream(stream);
        location.assign(url.href);
        return;
      }
      showAlert(box, msg(box, "not-ours"));
    }
    setTimeout(look, SCAN_EVERY_MS);
  };
  look();
}

export function initQrScanner(box) {
  const trigger = box.querySelector("[data-qr-start]");
  if (!trigger) {
    scan(box);
    return;
  }
  trigger.addEventListener("click", () => {
    trigger.disabled = true;
    scan(box);
  });
}
