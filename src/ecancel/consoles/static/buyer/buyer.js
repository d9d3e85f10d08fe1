// Entry point of the buyer pages: enhance each hook found on the page (see docs/architecture.md, buyer pages).
import { initCameraCapture } from "./camera.js";
import { initPoll } from "./poll.js";
import { initReadAll } from "./readall.js";
import { initVideoRecorder } from "./recorder.js";
import { initQrScanner } from "./scanner.js";
import { initSignature } from "./signature.js";
import { initUpload } from "./upload.js";

const HOOKS = [
  ["form[data-upload]", initUpload],
  ["form[data-signature]", initSignature],
  ["form[data-camera-capture]", initCameraCapture],
  ["form[data-video-recorder]", initVideoRecorder],
  ["[data-qr-scanner]", initQrScanner],
  ["form[data-read-all]", initReadAll],
  ["[data-poll]", initPoll],
];

const started = HOOKS.flatMap(([selector, init]) => [...document.querySelectorAll(selector)].map((element) => init(element)));
// Marks the page as enhanced once every hook is set up (the browser tests wait for it).
Promise.allSettled(started).then(() => (document.documentElement.dataset.scriptsReady = "true"));
