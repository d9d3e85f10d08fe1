// data-video-recorder: record the buyer reading the text aloud with MediaRecorder, for data-seconds seconds.
import { fileBox, msg, openCamera, preview, send, showAlert, stopStream } from "./common.js";

const TYPES = ["video/webm;codecs=vp8,opus", "video/webm", "video/mp4"];

export async function initVideoRecorder(form) {
  const video = form.querySelector("[data-recorder-preview]");
  const countdown = form.querySelector("[data-recorder-countdown]");
  const [start, stop, submit, again] = ["start", "stop", "submit", "again"].map((name) =>
    form.querySelector(`[data-recorder-${name}]`),
  );
  const fileInput = form.querySelector("input[type=file][name=video]");
  const seconds = Number(form.dataset.seconds || 15);
  let recording = null; // {blob, type} once a take is finished and long enough
  let recorder = null;

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    if (recording) {
      data.set("video", recording.blob, `recording.${recording.type.includes("mp4") ? "mp4" : "webm"}`);
    } else if (!fileInput || !fileInput.files.length) {
      return;
    }
    if (await send(form, data)) stopStream(stream);
  });
  let stream = null;
  const show = (...visible) => [start, stop, submit, again].forEach((b) => b && (b.hidden = !visible.includes(b)));

  stream = await openCamera({ video: { facingMode: "user" }, audio: true });
  if (!stream || !window.MediaRecorder) {
    showAlert(form, msg(form, "camera-denied"));
    if (video) video.hidden = true;
    show(submit);
    return; // the file input and a plain submit remain
  }
  if (fileInput) fileBox(fileInput).hidden = true;
  await preview(video, stream);
  show(start);

  start.addEventListener("click", () => {
    showAlert(form, "");
    recording = null;
    const type = TYPES.find((candidate) => MediaRecorder.isTypeSupported(candidate)) || "";
    recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
    const chunks = [];
    const began = performance.now();
    let left = seconds;
    countdown.textContent = String(left);
    const tick = setInterval(() => {
      left -= 1;
      countdown.textContent = String(Math.max(left, 0));
    }, 1000);
    const end = setTimeout(() => recorder.state === "recording" && recorder.stop(), seconds * 1000);
    recorder.ondataavailable = (event) => event.data.size && chunks.push(event.data);
    recorder.onstop = () => {
      clearInterval(tick);
      clearTimeout(end);
      countdown.textContent = "";
      const length = (performance.now() - began) / 1000;
      if (length < seconds - 1) {
        showAlert(form, msg(form, "too-short"));
        show(again);
        return;
      }
      recording = { blob: new Blob(chunks, { type: recorder.mimeType || type }), type: recorder.mimeType || type };
      show(submit, again);
    };
    recorder.start(1000);
    show(stop);
  });
  stop.addEventListener("click", () => recorder && recorder.state === "recording" && recorder.stop());
  again.addEventListener("click", () => {
    recording = null;
    showAlert(form, "");
    show(start);
  });
}
