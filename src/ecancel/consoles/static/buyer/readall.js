// data-read-all: the agree box stays disabled until every document was opened (the server enforces it too).
export function initReadAll(form) {
  const agree = form.querySelector("[data-agree]");
  const links = [...form.querySelectorAll("a[data-doc-open]")];
  if (!agree || agree.hasAttribute("data-all-opened")) return;
  const opened = new Set(links.filter((link) => link.parentElement.querySelector("[data-opened]")));
  const update = () => {
    agree.disabled = opened.size < links.length;
  };
  links.forEach((link) =>
    link.addEventListener("click", () => {
      opened.add(link);
      update();
    }),
  );
  update();
}
