// rtnb entry keys: the console's text box sends its words with the message itself.
// ipywidgets' Text syncs its value as state (held back while an earlier sync is unanswered) and
// reports Enter and the Send click as separate messages that can overtake it: the kernel then
// read a half-typed question. This invisible view takes Enter in the box and the Send click of
// its own row (capture phase, before the ipywidgets views) and sends {type: "send", text}; the
// box is emptied in the page (and that empty value synced as usual).

function render({ model, el }) {
  el.classList.add("rtnb-entry-keys");
  const mine = (node) => {
    const row = node?.closest?.(".rtnb-entry-row");
    return row && row.contains(el) ? row : null;
  };
  const submit = (input) => {
    if (!input || input.disabled || !input.value.trim()) return;
    model.send({ type: "send", text: input.value });
    input.value = "";
    input.dispatchEvent(new Event("input", { bubbles: true }));
  };
  const onKey = (event) => {
    const plain = !(event.shiftKey || event.ctrlKey || event.altKey || event.metaKey);
    if (event.key !== "Enter" || !plain || event.isComposing) return;
    if (!(event.target instanceof HTMLInputElement) || !mine(event.target)) return;
    event.stopPropagation();
    event.preventDefault();
    submit(event.target);
  };
  const onClick = (event) => {
    const button = event.target.closest?.("button.rtnb-send");
    const row = mine(button);
    if (!row || button.disabled) return;
    event.stopPropagation();
    event.preventDefault();
    submit(row.querySelector(".rtnb-text input"));
  };
  document.addEventListener("keydown", onKey, true);
  document.addEventListener("click", onClick, true);
  return () => {
    document.removeEventListener("keydown", onKey, true);
    document.removeEventListener("click", onClick, true);
  };
}

export default { render };
