// data-poll: ask the server about long work (identity checks) until it is done, then show the result or go on.
export function initPoll(box) {
  const url = box.dataset.poll;
  const interval = Number(box.dataset.pollIntervalMs || 1500);
  const ask = async () => {
    let answer;
    try {
      const response = await fetch(url, { headers: { "X-Requested-With": "XMLHttpRequest" }, credentials: "same-origin" });
      answer = await response.json();
    } catch {
      setTimeout(ask, interval); // a lost connection: keep asking
      return;
    }
    if (answer.done && answer.next) {
      location.assign(answer.next);
      return;
    }
    if (answer.html) box.innerHTML = answer.html;
    if (!answer.done) setTimeout(ask, interval);
  };
  setTimeout(ask, interval);
}
