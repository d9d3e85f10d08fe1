// data-camera-capture: take still frames from the front camera (a liveness action needs several) and post them.
import { fileBox, msg, openCamera, preview, send, showAlert } from "./common.js";

function frame(video, canvas) {
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
}

export async function initCameraCapture(form) {
  const video = form.querySelector("[data-camera-preview]");
  const shoot = form.querySelector("[data-camera-shoot]");
  const fileInputs = [...form.querySelectorAll("input[type=file]")];
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(form, new FormData(form));
  });
  const stream = await openCamera({ video: { facingMode: "user" }, audio: false });
  if (!stream) {
    showAlert(form, msg(form, "camera-denied"));
    if (video) video.hidden = true;
    if (shoot) shoot.hidden = true;
    fileInputs.forEach((input) => (fileBox(input).hidden = false));
    return;
  }
  fileInputs.forEach((input) => (fileBox(input).hidden = true));
  await preview(video, stream);
  const count = Number(form.dataset.frames || 1);
  const interval = Number(form.dataset.frameIntervalMs || 0);
  const field = form.dataset.field || "photo";
  shoot.addEventListener("click", async () => {
    shoot.disabled = true;
    const canvas = document.createElement("canvas");
    const data = new FormData(form);
    fileInputs.forEach((input) => data.delete(input.name));
    for (let index = 0; index < count; index += 1) {
      if (index) await new Promise((resolve) => setTimeout(resolve, interval));
      data.append(field, await frame(video, canvas), `frame-${index + 1}.jpg`);
    }
    await send(form, data);
    shoot.disabled = false;
  });
}
