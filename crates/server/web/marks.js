// What a copy's labels are drawn as and edited through, beyond the editor's core: text spans
// and triplet links (offsets in Unicode code points), and the shapes of a picture (tools,
// polygons, in-place redraw while dragging, moves). Methods of the editor (`this`).

import { $, SVG, colorOf, isSpan } from "./common.js";

/** Sets a box's rectangle from its feature `[[x1, y1], [x2, y2]]`, in either corner order. */
export function placeBox(el, f) {
  el.setAttribute("x", Math.min(f[0][0], f[1][0]));
  el.setAttribute("y", Math.min(f[0][1], f[1][1]));
  el.setAttribute("width", Math.abs(f[1][0] - f[0][0]));
  el.setAttribute("height", Math.abs(f[1][1] - f[0][1]));
}

/** A box's corners, in the order of its handles' `data-corner`. */
export function boxCorners(f) {
  return [[f[0][0], f[0][1]], [f[1][0], f[0][1]], [f[0][0], f[1][1]], [f[1][0], f[1][1]]];
}

/** The SVG element a shape label is drawn as (a point's radius follows `zoom`), or null for a
 * shape the page does not draw. */
export function shapeElement(property, zoom) {
  const f = property["@modelarts:feature"];
  const shape = property["@modelarts:shape"];
  let el;
  if (shape === "bndbox") {
    el = document.createElementNS(SVG, "rect");
    placeBox(el, f);
  } else if (shape === "polygon") {
    el = document.createElementNS(SVG, "polygon");
    el.setAttribute("points", f.map((p) => p.join(",")).join(" "));
  } else if (shape === "point") {
    el = document.createElementNS(SVG, "circle");
    el.setAttribute("class", "point");
    el.setAttribute("cx", f[0][0]);
    el.setAttribute("cy", f[0][1]);
    el.setAttribute("r", 4 / zoom);
  } else if (shape === "circle") {
    el = document.createElementNS(SVG, "circle");
    el.setAttribute("cx", f[0][0]);
    el.setAttribute("cy", f[0][1]);
    el.setAttribute("r", f[1][0]);
  } else if (["line", "dashed", "polyline"].includes(shape)) {
    el = document.createElementNS(SVG, "polyline");
    el.setAttribute("points", f.map((p) => p.join(",")).join(" "));
    el.setAttribute("class", `stroke-only${shape === "dashed" ? " dashed" : ""}`);
  } else {
    return null;
  }
  return el;
}

/** Text spans and links between them. */
export const textMarks = {
  /** A fresh instance id with `prefix` (`E3`, `R2`) among the copy's labels. */
  nextId(labels, prefix) {
    const taken = new Set(labels.map((l) => l.id));
    let n = 1;
    while (taken.has(`${prefix}${n}`)) n += 1;
    return `${prefix}${n}`;
  },

  /** Ends the relationship being drawn at the entity `i`. */
  linkTo(i) {
    const to = this.labelsNow[i];
    const link = this.link;
    this.link = null;
    if (!to || !to.id || to.id === link.from) { this.render(); return; }
    this.change((ls) => {
      ls.push({ id: this.nextId(ls, "R"), name: link.name, type: 102, property: { "@modelarts:from": link.from, "@modelarts:to": to.id } });
    });
    this.selected = this.labelsNow.length - 1;
    this.render();
  },

  /** The text with each entity as a coloured span (set as text, never as HTML). */
  renderText() {
    const cover = new Array(this.codePoints.length).fill(-1);
    this.labelsNow.forEach((l, i) => {
      if (!isSpan(l)) return;
      for (let k = l.property["@modelarts:start_index"]; k < l.property["@modelarts:end_index"] && k < cover.length; k++) cover[k] = i;
    });
    const body = $("text-body");
    body.replaceChildren();
    let from = 0;
    for (let k = 1; k <= cover.length; k++) {
      if (k < cover.length && cover[k] === cover[from]) continue;
      const piece = this.codePoints.slice(from, k).join("");
      const owner = cover[from];
      if (owner < 0) {
        body.append(document.createTextNode(piece));
      } else {
        const span = document.createElement("mark");
        span.textContent = piece;
        const def = this.labels.find((d) => d.name === this.labelsNow[owner].name);
        span.style.backgroundColor = `${colorOf(def)}55`;
        span.title = this.labelsNow[owner].name;
        span.dataset.index = String(owner);
        if (owner === this.selected) span.className = "selected";
        span.addEventListener("click", () => {
          if (this.link) { this.linkTo(owner); return; }
          this.selected = owner;
          this.render();
        });
        body.append(span);
      }
      from = k;
    }
  },

  /** The text node and offset of code point `cp` of the text as drawn. */
  domAt(cp) {
    const walker = document.createTreeWalker($("text-body"), NodeFilter.SHOW_TEXT);
    let left = cp;
    let node;
    let last = null;
    while ((node = walker.nextNode())) {
      const points = Array.from(node.textContent);
      if (left <= points.length) return [node, points.slice(0, left).join("").length];
      left -= points.length;
      last = node;
    }
    return last ? [last, last.textContent.length] : [$("text-body"), 0];
  },

  /** Extends the selection from the keyboard (a caret at the end of the last span when there is
   * none): by a character, or by a word with `word`. */
  extendSelection(forward, word) {
    const sel = window.getSelection();
    const body = $("text-body");
    if (!sel.rangeCount || !body.contains(sel.focusNode)) {
      const [node, offset] = this.domAt(this.caret || 0);
      sel.collapse(node, offset);
    }
    sel.modify("extend", forward ? "forward" : "backward", word ? "word" : "character");
    this.pendingSpan = this.spanOfSelection();
  },

  /** The selected text as code point offsets (as the API counts), or null. */
  spanOfSelection() {
    const sel = window.getSelection();
    const body = $("text-body");
    if (!sel.rangeCount || sel.isCollapsed || body.hidden || !body.contains(sel.anchorNode) || !body.contains(sel.focusNode)) return null;
    const range = sel.getRangeAt(0);
    const before = document.createRange();
    before.setStart(body, 0);
    before.setEnd(range.startContainer, range.startOffset);
    const startUnits = before.toString().length;
    const endUnits = startUnits + range.toString().length;
    const start = Array.from(this.text.slice(0, startUnits)).length;
    const end = Array.from(this.text.slice(0, endUnits)).length;
    return end > start ? { start, end } : null;
  }
};

/** Picture shapes. */
export const shapeMarks = {
  /** Picks the drawing tool: `box`, `polygon` or `point`. */
  useTool(tool) {
    this.tool = tool;
    this.polygon = null;
    for (const b of document.querySelectorAll("#tools button")) b.classList.toggle("on", b.dataset.tool === tool);
    this.render();
  },

  /** A vertex of the polygon being drawn (Enter closes it, Backspace drops the last vertex). */
  addVertex(at) {
    const img = $("picture");
    const p = [Math.max(0, Math.min(img.naturalWidth, Math.round(at.x))), Math.max(0, Math.min(img.naturalHeight, Math.round(at.y)))];
    this.polygon = [...(this.polygon || []), p];
    this.render();
  },

  closePolygon() {
    const points = this.polygon;
    this.polygon = null;
    if (!points || points.length < 3) { this.render(); return; }
    this.change((ls) => {
      ls.push({ name: this.current.name, type: 1, property: { "@modelarts:shape": "polygon", "@modelarts:feature": points } });
    });
    this.selected = this.labelsNow.length - 1;
    this.render();
  },

  /** Redraws one box in place while it is dragged; the other shapes are left as they are. */
  redrawBox(i) {
    const started = performance.now();
    const f = this.labelsNow[i].property["@modelarts:feature"];
    const el = $("shapes").querySelector(`rect[data-index="${i}"]:not(.handle)`);
    if (!el || this.labelsNow[i].property["@modelarts:shape"] !== "bndbox") { this.render(); return; }
    placeBox(el, f);
    const corners = boxCorners(f);
    const s = 8 / this.zoom;
    for (const h of $("shapes").querySelectorAll(`rect.handle[data-index="${i}"]`)) {
      const [x, y] = corners[Number(h.dataset.corner)];
      h.setAttribute("x", x - s / 2);
      h.setAttribute("y", y - s / 2);
    }
    const m = (window.__teamlabel = window.__teamlabel || {});
    m.moves = (m.moves || 0) + 1;
    m.maxMoveMs = Math.max(m.maxMoveMs || 0, performance.now() - started);
  },

  /** Moves every point of a shape by (dx, dy), inside the picture. */
  moveShape(ls, i, dx, dy) {
    const p = ls[i].property;
    const img = $("picture");
    const clamp = (v, max) => Math.max(0, Math.min(max, Math.round(v)));
    const shift = (pt) => [clamp(pt[0] + dx, img.naturalWidth), clamp(pt[1] + dy, img.naturalHeight)];
    const f = p["@modelarts:feature"];
    // A circle is [[x, y], [radius]]: only its centre moves.
    p["@modelarts:feature"] = p["@modelarts:shape"] === "circle" ? [shift(f[0]), f[1]] : f.map(shift);
  },
};
