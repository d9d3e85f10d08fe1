// data-upload: send the chosen files with XHR so the buyer sees the progress and can retry.
import { send } from "./common.js";

export function initUpload(form) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(form, new FormData(form));
  });
}
