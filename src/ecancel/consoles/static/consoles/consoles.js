// Console pages: honest feedback on long actions, no lost input, a copy button that says what happened.
// Every page works without this file; it only adds feedback.
(function () {
  "use strict";

  // A form marked data-busy-form (or the draft form) is sent once: its buttons are disabled and show progress.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    if (!form.hasAttribute("data-busy-form") && !form.hasAttribute("data-keep-input")) return;
    if (form.dataset.busy === "1") {
      event.preventDefault();
      return;
    }
    form.dataset.busy = "1";
    form.dataset.dirty = "";
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      button.setAttribute("aria-disabled", "true");
      button.classList.add("is-busy");
      if (button.dataset.busyLabel) button.textContent = button.dataset.busyLabel;
      // Disabled after this event, so the browser still sends the form.
      window.setTimeout(function () { button.disabled = true; }, 0);
    });
  });

  // Unsaved changes in a form marked data-keep-input: the browser asks before the page is left.
  document.addEventListener("input", markDirty);
  document.addEventListener("change", markDirty);
  function markDirty(event) {
    var form = event.target && event.target.form;
    if (form && form.hasAttribute("data-keep-input")) form.dataset.dirty = "1";
  }
  window.addEventListener("beforeunload", function (event) {
    var dirty = document.querySelector("form[data-keep-input][data-dirty='1']");
    if (!dirty) return;
    event.preventDefault();
    event.returnValue = dirty.getAttribute("data-leave-warning") || "";
  });

  // 复制链接: the Clipboard API where the page is a secure context, else the selection and execCommand,
  // else the link stays selected with a message saying how to copy it.
  function showCopyButtons() {
    document.querySelectorAll("[data-copy-button]").forEach(function (button) { button.hidden = false; });
  }
  // A notice about a move ("pushed, waiting for the office") is true only while the status it was about holds.
  function dropStaleNotices() {
    var badge = document.getElementById("application-status");
    if (!badge) return;
    document.querySelectorAll("[data-while-status]").forEach(function (notice) {
      if (notice.dataset.whileStatus !== badge.dataset.status) notice.remove();
    });
    document.querySelectorAll(".messages").forEach(function (list) {
      if (!list.children.length) list.parentNode.remove();
    });
  }
  document.addEventListener("htmx:afterSwap", dropStaleNotices);
  document.addEventListener("DOMContentLoaded", showCopyButtons);
  document.addEventListener("htmx:afterSwap", showCopyButtons);
  // 打印 buttons: the policy allows no inline handlers, so the page marks them and this prints.
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) window.print();
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy-button]");
    if (!button) return;
    var box = button.closest("[data-copy]");
    var input = box.querySelector("input");
    var result = box.querySelector(".copy-link__result");
    function say(ok) {
      result.textContent = ok ? result.dataset.copied : result.dataset.copyFailed;
      result.classList.toggle("is-failed", !ok);
      if (!ok) { input.focus(); input.select(); }
    }
    function fallback() {
      input.focus();
      input.select();
      var copied = false;
      try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
      say(copied);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(function () { say(true); }, fallback);
    } else {
      fallback();
    }
  });
})();
