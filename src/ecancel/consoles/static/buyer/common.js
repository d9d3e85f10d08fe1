// Shared helpers of the buyer page scripts. Every text shown comes from data-msg-* attributes of the page.

/** The text of data-msg-<name> on the element, e.g. msg(form, "network"). */
export function msg(element, name) {
  const key = "msg" + name.split("-").map((part) => part[0].toUpperCase() + part.slice(1)).join("");
  return element.dataset[key] || "";
}

/** The alert paragraph of a hook: the page's own, or one added at the end of the element. */
export function alertOf(element, selector = "[data-upload-error]") {
  let alert = element.querySelector(selector);
  if (!alert) {
    alert = document.createElement("p");
    alert.setAttribute("role", "alert");
    alert.dataset.uploadError = "";
    alert.hidden = true;
    element.append(alert);
  }
  return alert;
}

export function showAlert(element, text) {
  const alert = alertOf(element);
  alert.textContent = text;
  alert.hidden = !text;
}

/** Load a vendored script once (its URL is given by the page in a data-vendor-* attribute of <body>). */
const loading = new Map();
export function loadScript(src) {
  if (!loading.has(src)) {
    loading.set(
      src,
      new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = src;
        script.onload = resolve;
        script.onerror = reject;
        document.head.append(script);
      }),
    );
  }
  return loading.get(src);
}

/** Post form data with XHR and report upload progress; resolves with the JSON answer, rejects on a lost connection. */
export function post(form, data, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || location.href);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    const token = form.querySelector("[name=csrfmiddlewaretoken]");
    if (token) xhr.setRequestHeader("X-CSRFToken", token.value);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    };
    xhr.onload = () => {
      try {
        resolve(JSON.parse(xhr.responseText));
      } catch {
        reject(new Error("answer is not JSON"));
      }
    };
    xhr.onerror = () => reject(new Error("network"));
    xhr.ontimeout = xhr.onerror;
    xhr.send(data);
  });
}

/**
 * Send a form's data the data-upload way: progress bar, navigate on {ok, next}, show the message on
 * {ok: false}, show the data-msg-network text on a lost connection. The submit buttons stay usable to retry.
 */
export async function send(form, data) {
  const progress = form.querySelector("[data-upload-progress]");
  const buttons = form.querySelectorAll("button");
  showAlert(form, "");
  buttons.forEach((button) => (button.disabled = true));
  if (progress) {
    progress.removeAttribute("value");
    progress.hidden = false;
  }
  try {
    const answer = await post(form, data, (loaded, total) => {
      if (progress) {
        progress.max = total;
        progress.value = loaded;
      }
    });
    if (answer.ok && answer.next) {
      location.assign(answer.next);
      return true;
    }
    showAlert(form, answer.message || msg(form, "network"));
  } catch {
    showAlert(form, msg(form, "network"));
  } finally {
    buttons.forEach((button) => (button.disabled = false));
    if (progress) progress.hidden = true;
  }
  return false;
}

/** Open a camera stream, or null when the browser has none or the user refused. */
export async function openCamera(constraints) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return null;
  try {
    return await navigator.mediaDevices.getUserMedia(constraints);
  } catch {
    return null;
  }
}

/** Show a stream in a <video> and wait until it has a picture. */
export async function preview(video, stream) {
  video.muted = true;
  video.srcObject = stream;
  await video.play().catch(() => {});
  if (video.readyState < 2) await new Promise((resolve) => video.addEventListener("loadeddata", resolve, { once: true }));
}

export function stopStream(stream) {
  if (stream) stream.getTracks().forEach((track) => track.stop());
}

/** The label (or the input itself) holding a fallback file input, to hide or reveal it. */
export function fileBox(input) {
  return input.closest("label") || input;
}
