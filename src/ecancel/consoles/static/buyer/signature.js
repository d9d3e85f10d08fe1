// data-signature: draw with the finger on the vendored signature_pad; the PNG goes in the hidden field.
import { loadScript, msg, showAlert } from "./common.js";

export async function initSignature(form) {
  await loadScript(document.body.dataset.vendorSignaturePad);
  const canvas = form.querySelector("[data-signature-pad]");
  const field = form.querySelector("input[name=signature]");
  const pad = new window.SignaturePad(canvas, { minWidth: 1, maxWidth: 3, penColor: "#000" });
  // Draw at the screen's pixel density so the strokes stay sharp; resizing clears the canvas, so keep the strokes.
  const fit = () => {
    const strokes = pad.toData();
    const ratio = Math.max(window.devicePixelRatio || 1, 1);
    canvas.width = canvas.offsetWidth * ratio;
    canvas.height = canvas.offsetHeight * ratio;
    canvas.getContext("2d").scale(ratio, ratio);
    pad.clear();
    pad.fromData(strokes);
  };
  fit();
  window.addEventListener("resize", fit);
  form.querySelector("[data-signature-clear]")?.addEventListener("click", () => pad.clear());
  form.querySelector("[data-signature-undo]")?.addEventListener("click", () => {
    const strokes = pad.toData();
    strokes.pop();
    pad.fromData(strokes);
  });
  form.addEventListener("submit", (event) => {
    if (pad.isEmpty()) {
      event.preventDefault();
      showAlert(form, msg(form, "empty"));
      return;
    }
    field.value = pad.toDataURL("image/png");
  });
}
