// The mouse and the keyboard: drawing, moving and resizing on the stage, zoom and pan, the
// buttons of the labeling view, and every shortcut (remappable, see keys.js).

import { $, SVG, colorOf, clone, isShape, setSaveState } from "./common.js";
import { editor } from "./editor.js";
import { keymap, keyName, fillHelp } from "./keys.js";
import { placeBox } from "./marks.js";

// ------------------------------------------------------------ the mouse on the stage

let drag = null;

$("stage").addEventListener("mousedown", (ev) => {
  if (!editor.copy || $("canvas").hidden || editor.judging) return;
  ev.preventDefault();
  $("stage").focus();
  const at = editor.toImage(ev);
  if (ev.altKey || ev.button === 1) {
    drag = { kind: "pan", x: ev.clientX, y: ev.clientY, pan: { ...editor.pan } };
    return;
  }
  const t = ev.target;
  if (editor.polygon) {
    editor.addVertex(at);
    return;
  }
  if (t.dataset && t.dataset.corner !== undefined) {
    const i = Number(t.dataset.index);
    editor.undoStack.push(clone(editor.labelsNow));
    editor.redoStack = [];
    drag = { kind: "resize", i, corner: Number(t.dataset.corner) };
  } else if (t.dataset && t.dataset.index !== undefined) {
    const i = Number(t.dataset.index);
    editor.selected = i;
    editor.undoStack.push(clone(editor.labelsNow));
    editor.redoStack = [];
    drag = { kind: "move", i, last: at, moved: false };
    editor.render();
  } else if (editor.current && editor.current.type === 1 && editor.tool === "polygon") {
    editor.addVertex(at);
  } else if (editor.current && editor.current.type === 1 && editor.tool === "point") {
    editor.change((ls) => {
      ls.push({ name: editor.current.name, type: 1, property: { "@modelarts:shape": "point", "@modelarts:feature": [[Math.round(at.x), Math.round(at.y)]] } });
    });
    editor.selected = editor.labelsNow.length - 1;
    editor.render();
  } else if (editor.current && editor.current.type === 1) {
    drag = { kind: "draw", from: at, to: at };
  } else {
    editor.selected = -1;
    editor.render();
  }
});

window.addEventListener("mousemove", (ev) => {
  if (!drag) return;
  const at = editor.toImage(ev);
  const img = $("picture");
  const clamp = (p) => ({ x: Math.max(0, Math.min(img.naturalWidth, p.x)), y: Math.max(0, Math.min(img.naturalHeight, p.y)) });
  if (drag.kind === "pan") {
    editor.pan = { x: drag.pan.x + ev.clientX - drag.x, y: drag.pan.y + ev.clientY - drag.y };
    editor.place();
  } else if (drag.kind === "draw") {
    drag.to = clamp(at);
    const kind = { circle: "circle", line: "line" }[editor.tool] || "rect";
    let ghost = $("shapes").querySelector(".ghost");
    if (!ghost) {
      ghost = document.createElementNS(SVG, kind);
      ghost.setAttribute("class", `ghost selected${kind === "line" ? " stroke-only" : ""}`);
      ghost.setAttribute("stroke", colorOf(editor.current));
      ghost.setAttribute("fill", colorOf(editor.current));
      $("shapes").append(ghost);
    }
    const { from, to } = drag;
    if (kind === "circle") {
      ghost.setAttribute("cx", from.x);
      ghost.setAttribute("cy", from.y);
      ghost.setAttribute("r", Math.hypot(to.x - from.x, to.y - from.y));
    } else if (kind === "line") {
      ghost.setAttribute("x1", from.x);
      ghost.setAttribute("y1", from.y);
      ghost.setAttribute("x2", to.x);
      ghost.setAttribute("y2", to.y);
    } else {
      placeBox(ghost, [[from.x, from.y], [to.x, to.y]]);
    }
  } else if (drag.kind === "move") {
    const dx = Math.round(at.x - drag.last.x);
    const dy = Math.round(at.y - drag.last.y);
    if (dx || dy) {
      editor.moveShape(editor.labelsNow, drag.i, dx, dy);
      drag.last = { x: drag.last.x + dx, y: drag.last.y + dy };
      drag.moved = true;
      editor.redrawBox(drag.i);
    }
  } else if (drag.kind === "resize") {
    const p = clamp(at);
    const f = editor.labelsNow[drag.i].property["@modelarts:feature"];
    const xi = drag.corner % 2 === 0 ? 0 : 1;
    const yi = drag.corner < 2 ? 0 : 1;
    f[xi][0] = Math.round(p.x);
    f[yi][1] = Math.round(p.y);
    editor.redrawBox(drag.i);
  }
});

window.addEventListener("mouseup", () => {
  if (!drag) return;
  const d = drag;
  drag = null;
  if (d.kind === "draw" && (editor.tool === "circle" || editor.tool === "line")) {
    const from = [Math.round(d.from.x), Math.round(d.from.y)];
    const to = [Math.round(d.to.x), Math.round(d.to.y)];
    const length = Math.round(Math.hypot(to[0] - from[0], to[1] - from[1]));
    if (length < 2) { editor.render(); return; }
    const feature = editor.tool === "circle" ? [from, [length]] : [from, to];
    editor.change((ls) => {
      ls.push({ name: editor.current.name, type: 1, property: { "@modelarts:shape": editor.tool, "@modelarts:feature": feature } });
    });
    editor.selected = editor.labelsNow.length - 1;
    editor.render();
  } else if (d.kind === "draw") {
    const x1 = Math.round(Math.min(d.from.x, d.to.x));
    const y1 = Math.round(Math.min(d.from.y, d.to.y));
    const x2 = Math.round(Math.max(d.from.x, d.to.x));
    const y2 = Math.round(Math.max(d.from.y, d.to.y));
    if (x2 - x1 < 2 || y2 - y1 < 2) { editor.render(); return; }
    editor.change((ls) => {
      ls.push({ name: editor.current.name, type: 1, property: { "@modelarts:shape": "bndbox", "@modelarts:feature": [[x1, y1], [x2, y2]] } });
    });
    editor.selected = editor.labelsNow.length - 1;
    editor.render();
  } else if (d.kind === "resize") {
    const f = editor.labelsNow[d.i].property["@modelarts:feature"];
    editor.labelsNow[d.i].property["@modelarts:feature"] = [
      [Math.min(f[0][0], f[1][0]), Math.min(f[0][1], f[1][1])],
      [Math.max(f[0][0], f[1][0]), Math.max(f[0][1], f[1][1])],
    ];
    editor.touched();
  } else if (d.kind === "move") {
    if (d.moved) editor.touched();
    else editor.undoStack.pop();
  }
});

$("stage").addEventListener("wheel", (ev) => {
  if (!editor.copy || $("canvas").hidden) return;
  ev.preventDefault();
  const r = $("stage").getBoundingClientRect();
  const before = editor.toImage(ev);
  editor.zoom = Math.max(0.05, Math.min(40, editor.zoom * (ev.deltaY < 0 ? 1.15 : 1 / 1.15)));
  editor.pan = { x: ev.clientX - r.left - before.x * editor.zoom, y: ev.clientY - r.top - before.y * editor.zoom };
  editor.place();
  editor.render();
}, { passive: false });

// A segment's transcript: one undo step per visit of the field, saved as it is typed.
$("content").addEventListener("focus", () => {
  editor.undoStack.push(clone(editor.labelsNow));
  editor.redoStack = [];
});
$("content").addEventListener("input", (ev) => {
  const l = editor.labelsNow[editor.selected];
  if (!l || !l.property) return;
  if (ev.target.value) l.property["@modelarts:content"] = ev.target.value;
  else delete l.property["@modelarts:content"];
  editor.touched();
});

$("hard").addEventListener("change", (ev) => {
  const i = editor.selected;
  if (i < 0) return;
  editor.change((ls) => {
    if (ev.target.checked) ls[i].property["@modelarts:hard"] = true;
    else delete ls[i].property["@modelarts:hard"];
  });
});

document.addEventListener("selectionchange", () => {
  if (editor.copy && !$("text-body").hidden) editor.pendingSpan = editor.spanOfSelection();
});

$("prev").addEventListener("click", () => editor.go(editor.index - 1));
for (const b of document.querySelectorAll("#tools button")) b.addEventListener("click", () => editor.useTool(b.dataset.tool));
$("pass").addEventListener("click", () => editor.judge(true, "A"));
$("reject").addEventListener("click", () => rejectWithComment());

/** The key that picks a label: a digit by its key position (so Shift+1 is still 1), else the character. */
function labelKey(ev) {
  return /^Digit[1-9]$/.test(ev.code) ? ev.code.slice(5) : ev.key.toLowerCase();
}

/** Asks for the reason of a rejection, then sends it. */
function rejectWithComment() {
  const dialog = $("reject-dialog");
  $("reject-comment").value = "";
  dialog.showModal();
  $("reject-comment").focus();
}

$("reject-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const comment = $("reject-comment").value.trim();
  $("reject-dialog").close();
  editor.judge(false, null, comment || null);
});
$("next").addEventListener("click", () => editor.go(editor.index + 1));
$("submit").addEventListener("click", () => editor.submit());

// ------------------------------------------------------------ the keyboard

window.addEventListener("keydown", (ev) => {
  if ($("label").hidden || !editor.task) return;
  if (document.querySelector("dialog[open]") && ev.key !== "Escape") return;
  if (ev.target instanceof HTMLInputElement && keyName(ev) !== keymap.save) return;
  const key = keyName(ev);
  const is = (action) => keymap[action] === key;
  const sel = editor.selected;
  const shape = sel >= 0 && editor.labelsNow && isShape(editor.labelsNow[sel]);
  let handled = true;
  const sound = !$("sound").hidden;
  if (sound && key === " ") { const pl = $("player"); if (pl.paused) pl.play().catch(() => {}); else pl.pause(); }
  else if (sound && key === "[") { editor.mark = { start: $("player").currentTime }; editor.render(); }
  else if (sound && key === "]" && editor.mark) {
    const t = $("player").currentTime;
    editor.mark = t > editor.mark.start ? { start: editor.mark.start, end: t } : { start: t, end: editor.mark.start };
    editor.render();
  }
  else if (!$("text-body").hidden && /^(ctrl\+)?shift\+Arrow(Left|Right)$/.test(key)) {
    editor.extendSelection(key.endsWith("Right"), key.startsWith("ctrl"));
  }
  else if (editor.polygon && key === "Enter") editor.closePolygon();
  else if (editor.polygon && key === "Backspace") { editor.polygon.pop(); if (!editor.polygon.length) editor.polygon = null; editor.render(); }
  else if (editor.polygon && key === "Escape") { editor.polygon = null; editor.render(); }
  else if (editor.link && key === "Escape") { editor.link = null; setSaveState(""); editor.render(); }
  else if (is("help")) { fillHelp(); $("help").showModal(); }
  else if (is("box")) editor.useTool("box");
  else if (is("polygonTool")) editor.useTool("polygon");
  else if (is("pointTool")) editor.useTool("point");
  else if (is("circleTool")) editor.useTool("circle");
  else if (is("lineTool")) editor.useTool("line");
  else if (is("save")) editor.save();
  else if (is("undo")) editor.undo();
  else if (is("redo") || key === "ctrl+y") editor.redo();
  else if (is("submit")) editor.submit();
  else if (is("next")) editor.go(editor.index + 1);
  else if (is("prev")) editor.go(editor.index - 1);
  else if (is("deselect")) { editor.selected = -1; editor.render(); }
  else if (is("fit")) { editor.fit(); editor.render(); }
  else if (editor.judging && /^[1-4]$/.test(key)) editor.judge(true, "ABCD"[Number(key) - 1]);
  else if (editor.judging && is("reject")) rejectWithComment();
  else if (is("zoomIn") || is("zoomOut")) {
    editor.zoom *= is("zoomIn") ? 1.25 : 0.8;
    editor.place();
    editor.render();
  } else if (is("cycle")) {
    const shapes = editor.labelsNow.map((l, i) => (isShape(l) ? i : -1)).filter((i) => i >= 0);
    if (shapes.length) editor.selected = shapes[(shapes.indexOf(sel) + 1) % shapes.length];
    editor.render();
  } else if ((is("remove") || key === "Backspace") && sel >= 0 && editor.labelsNow[sel] && (shape || editor.labelsNow[sel].property)) {
    editor.change((ls) => {
      const [gone] = ls.splice(sel, 1);
      if (gone.id) {
        for (let k = ls.length - 1; k >= 0; k--) {
          const p = ls[k].property || {};
          if (p["@modelarts:from"] === gone.id || p["@modelarts:to"] === gone.id) ls.splice(k, 1);
        }
      }
    });
    editor.selected = -1;
    editor.render();
  } else if (is("hide") && shape) {
    if (editor.hidden.has(sel)) editor.hidden.delete(sel); else editor.hidden.add(sel);
    editor.render();
  } else if (ev.key.startsWith("Arrow") && shape) {
    const step = ev.shiftKey ? 10 : 1;
    const [dx, dy] = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[ev.key];
    editor.change((ls) => editor.moveShape(ls, sel, dx, dy));
  } else if (ev.key === "ArrowRight" || ev.key === "ArrowDown") editor.go(editor.index + 1);
  else if (ev.key === "ArrowLeft" || ev.key === "ArrowUp") editor.go(editor.index - 1);
  else if (!ev.ctrlKey && !ev.metaKey && editor.labelForKey(labelKey(ev))) editor.pick(editor.labelForKey(labelKey(ev)), !ev.shiftKey);
  else handled = false;
  if (handled) ev.preventDefault();
});

window.addEventListener("beforeunload", (ev) => {
  if (editor.copy && editor.dirty) ev.preventDefault();
});
