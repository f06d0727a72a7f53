// The shortcuts: the actions with their default keys, the user's remapping (kept in the
// browser), the key name of a keyboard event, and the list the ? key shows.

import { $ } from "./common.js";

export const ACTIONS = {
  next: ["n", "Next sample"], prev: ["p", "Previous sample"], submit: ["Enter", "Save and go to the next sample"],
  save: ["ctrl+s", "Save now"], undo: ["ctrl+z", "Undo"], redo: ["ctrl+shift+z", "Redo"],
  remove: ["Delete", "Remove the selected shape"],
  box: ["b", "Draw boxes"], polygonTool: ["g", "Draw polygons: click each vertex, Enter closes, Backspace drops the last"],
  pointTool: ["o", "Place points"], circleTool: ["c", "Draw circles: drag from the centre"],
  lineTool: ["l", "Draw lines: drag from one end to the other"], hide: ["h", "Hide or show the selected shape"],
  cycle: ["Tab", "Select the next shape"], deselect: ["Escape", "Select nothing"],
  zoomIn: ["+", "Zoom in"], zoomOut: ["-", "Zoom out"], fit: ["0", "Fit the picture"],
  reject: ["r", "Review: reject the copy, with a comment (1 … 4 pass it with score A … D)"],
  help: ["?", "This list"],
};
export const keymap = (() => {
  const saved = JSON.parse(localStorage.getItem("teamlabel.keys") || "{}");
  return Object.fromEntries(Object.entries(ACTIONS).map(([a, [k]]) => [a, saved[a] || k]));
})();

export function keyName(ev) {
  const parts = [];
  if (ev.ctrlKey || ev.metaKey) parts.push("ctrl");
  if (ev.shiftKey && ev.key.length > 1 && ev.key !== "Shift") parts.push("shift");
  else if (ev.shiftKey && (ev.ctrlKey || ev.metaKey)) parts.push("shift");
  parts.push(ev.key.length === 1 ? ev.key.toLowerCase() : ev.key);
  return parts.join("+");
}

export function fillHelp() {
  const body = $("help-table").tBodies[0];
  body.replaceChildren();
  const row = (key, what, action) => {
    const tr = document.createElement("tr");
    const k = document.createElement("td");
    const kbd = document.createElement("kbd");
    kbd.textContent = key;
    k.append(kbd);
    const w = document.createElement("td");
    w.textContent = what;
    tr.append(k, w);
    if (action) k.addEventListener("click", () => remap(action, kbd));
    body.append(tr);
  };
  for (const [a, [, what]] of Object.entries(ACTIONS)) row(keymap[a], what, a);
  row("1 … 9 or a label's shortcut", "Pick that label (for the selected shape or text, or the next box drawn); a classification label becomes the sample's only one");
  row("Shift with a label's key", "Add or remove that classification label (several per sample)");
  row("Mouse selection, or Shift+← / → (Ctrl: by word), in a text", "Marks a span; a digit then gives it its entity type");
  row("Relationship's digit on a selected entity, then a click", "Links the entity to the one clicked (triplets)");
  row("[ and ] (audio)", "Mark a segment's start and end at the playing time; a digit gives it its label; Space plays");
  row("Arrow keys (Shift: 10 px)", "Nudge the selected shape; without one, previous / next sample");
  row("Drag", "Draw a box with the picked label; drag a box to move it, a corner to resize it");
  row("Wheel / Alt+drag", "Zoom / pan");
}

function remap(action, kbd) {
  kbd.textContent = "press a key…";
  const once = (ev) => {
    ev.preventDefault();
    ev.stopPropagation();
    if (ev.key === "Shift" || ev.key === "Control" || ev.key === "Meta" || ev.key === "Alt") return;
    window.removeEventListener("keydown", once, true);
    keymap[action] = keyName(ev);
    localStorage.setItem("teamlabel.keys", JSON.stringify(keymap));
    fillHelp();
  };
  window.addEventListener("keydown", once, true);
}

$("help-button").addEventListener("click", () => { fillHelp(); $("help").showModal(); });
$("help-close").addEventListener("click", () => $("help").close());
