// The editor: one task's queue of copies (the member's own, or those waiting for review or
// acceptance), the copy on screen with its version, undo and redo, autosave through the team
// batch update with an X-Idempotency-Key, a draft in localStorage until the server has the
// labels, the conflict dialog, and verdicts. What the marks are drawn as is in marks.js.

import {
  $, SVG, TEXT_TYPES, SPAN_TYPES, SOUND_TYPES, CLASS_TYPES, clock, seconds, colorOf,
  clone, describe, isShape, isSpan, isSegment, isClass, setSaveState,
} from "./common.js";
import { ApiError, api, json, v2, session } from "./api.js";
import { show } from "./views.js";
import { textMarks, shapeMarks, shapeElement, boxCorners } from "./marks.js";

const AUTOSAVE_MS = 800;
const PREFETCH = 3;
const PAGE = 50;

export class Editor {
  constructor() {
    this.task = null;
  }

  /** Opens a task: `label` walks the member's own copies, `review` the copies waiting for review. */
  async open(workerTask, mode = "label") {
    this.close();
    this.task = workerTask;
    this.mode = mode;
    this.base = v2(`/datasets/${workerTask.dataset_id}/workforce-tasks/${workerTask.task_id}`);
    const full = await json("GET", `${this.base}?label_stats=true`);
    this.labels = (full.label_stats || []).filter((l) => l.name);
    this.current = this.labels.find((l) => l.type === 1) || this.labels[0] || null;
    this.queue = [];
    this.seen = new Set();
    this.states = { review: ["__UNREVIEWED__"], check: ["__WORKFORCE_SAMPLED_UNCHECK__"] }[mode] || ["__REJECTED__", "__NONE__"];
    this.judging = mode === "review" || mode === "check";
    this.pages = Object.fromEntries(this.states.map((st) => [st, 0]));
    this.done = Object.fromEntries(this.states.map((st) => [st, false]));
    $("review-bar").hidden = !this.judging;
    $("others-box").hidden = !this.judging;
    $("submit").hidden = this.judging;
    this.blobs = new Map();
    this.index = -1;
    this.tool = "box";
    this.polygon = null;
    this.zoom = 1;
    this.pan = { x: 0, y: 0 };
    $("task-title").textContent = `${workerTask.workforce_task_name}${{ review: " (review)", check: " (acceptance)" }[mode] || ""}`;
    show("label");
    this.renderLabelList();
    await this.go(0);
    $("stage").focus();
  }

  close() {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    if (this.blobs) for (const url of this.blobs.values()) url.then((u) => u && URL.revokeObjectURL(u)).catch(() => {});
    this.task = null;
    this.copy = null;
  }

  draftKey(copy = this.copy) {
    const s = session.get();
    return `teamlabel.draft:${s.projectId}:${this.task.task_id}:${copy.worker_id}:${copy.sample_id}`;
  }

  /** Loads more copies into the queue: rejected ones first (with their comments), then unlabeled. */
  async fill() {
    const id = (c) => `${c.sample_id}/${c.worker_id}`;
    for (const st of this.states) {
      while (!this.done[st]) {
        const body = await json("GET", `${this.base}/data-annotations/samples?limit=${PAGE}&offset=${this.pages[st]}&sample_state=${st}`);
        const fresh = body.samples.filter((c) => !this.seen.has(id(c)));
        if (body.samples.length < PAGE) this.done[st] = true;
        else if (fresh.length === 0) this.pages[st] += 1;
        for (const c of fresh) { this.seen.add(id(c)); this.queue.push(c); }
        if (fresh.length > 0) return true;
      }
    }
    return false;
  }

  async go(index) {
    if (this.copy && this.dirty) await this.save();
    while (index >= this.queue.length && await this.fill()) { /* more */ }
    if (index < 0 || index >= this.queue.length) {
      if (this.queue.length === 0 || index >= this.queue.length) this.showEmpty("Nothing left to label in this task.");
      return;
    }
    const started = performance.now();
    this.index = index;
    const listed = this.queue[index];
    // Read the copy again: another tab or a reviewer may have moved it since it was listed.
    const copy = await json("GET", `${this.base}/data-annotations/samples/${listed.sample_id}?worker_id=${listed.worker_id}`);
    this.queue[index] = copy;
    this.copy = copy;
    this.version = copy.version;
    this.stored = clone(copy.labels || []);
    this.labelsNow = clone(copy.labels || []);
    this.undoStack = [];
    this.redoStack = [];
    this.selected = -1;
    this.polygon = null;
    this.others = [];
    this.hidden = new Set();
    this.dirty = false;
    this.saveKey = null;
    const draft = JSON.parse(localStorage.getItem(this.draftKey()) || "null");
    if (draft && draft.version === copy.version) {
      this.labelsNow = draft.labels;
      this.dirty = true;
      this.scheduleSave();
    } else if (draft) {
      localStorage.removeItem(this.draftKey());
    }
    const comment = copy.review_accept === false ? copy.review_comment : copy.check_accept === false ? copy.check_comment : null;
    $("comment").hidden = !comment;
    $("comment").textContent = comment ? `Rejected: ${comment}` : "";
    $("position").textContent = `${index + 1} of ${this.queue.length}${this.states.every((st) => this.done[st]) ? "" : "+"}`;
    if (this.judging) await this.showOthers(copy);
    $("empty").hidden = true;
    const text = TEXT_TYPES.has(this.task.dataset_type) || copy.sample_type === 1;
    const sound = !text && (SOUND_TYPES.has(this.task.dataset_type) || copy.sample_type === 2);
    this.mark = null;
    $("canvas").hidden = text || sound;
    $("text-body").hidden = !text;
    $("sound").hidden = !sound;
    $("hard-row").hidden = text || sound;
    $("tools").hidden = text || sound || this.judging;
    this.pendingSpan = null;
    this.caret = 0;
    if (text) {
      this.text = copy.sample_data ? copy.sample_data[0] : await (await this.file(copy)).text();
      this.codePoints = Array.from(this.text);
    } else if (sound) {
      const player = $("player");
      player.src = (await this.imageUrl(copy)) || "";
      await new Promise((resolve) => {
        player.onloadedmetadata = resolve;
        player.onerror = resolve;
      });
    } else {
      const url = await this.imageUrl(copy);
      await new Promise((resolve) => {
        const img = $("picture");
        img.onload = resolve;
        img.onerror = resolve;
        img.src = url || "";
      });
      this.fit();
    }
    window.__teamlabel = { ...(window.__teamlabel || {}), lastSwitchMs: performance.now() - started, copy: this.copy };
    this.render();
    this.prefetch();
  }

  showEmpty(message) {
    this.copy = null;
    $("canvas").hidden = true;
    $("text-body").hidden = true;
    $("empty").hidden = false;
    $("empty").textContent = message;
    $("comment").hidden = true;
    $("position").textContent = "";
  }

  file(copy) {
    return api("GET", `${this.base}/data-annotations/samples/${copy.sample_id}/file`);
  }

  /** The picture of a copy as an object URL, fetched once (with the token header). */
  imageUrl(copy) {
    if (!this.blobs.has(copy.sample_id)) {
      this.blobs.set(copy.sample_id, this.file(copy).then((r) => r.blob()).then((b) => URL.createObjectURL(b)).catch(() => null));
    }
    return this.blobs.get(copy.sample_id);
  }

  prefetch() {
    if (this.queue.length - this.index <= PREFETCH) this.fill().catch(() => {});
    for (let i = this.index + 1; i <= this.index + PREFETCH && i < this.queue.length; i++) {
      if (this.queue[i].sample_type !== 1) this.imageUrl(this.queue[i]);
    }
  }

  fit() {
    const img = $("picture");
    const stage = $("stage");
    if (!img.naturalWidth) return;
    this.zoom = Math.min(stage.clientWidth / img.naturalWidth, stage.clientHeight / img.naturalHeight, 4);
    this.pan = { x: (stage.clientWidth - img.naturalWidth * this.zoom) / 2, y: (stage.clientHeight - img.naturalHeight * this.zoom) / 2 };
    const svg = $("shapes");
    svg.setAttribute("width", img.naturalWidth);
    svg.setAttribute("height", img.naturalHeight);
    svg.setAttribute("viewBox", `0 0 ${img.naturalWidth} ${img.naturalHeight}`);
    this.place();
  }

  place() {
    $("canvas").style.transform = `translate(${this.pan.x}px, ${this.pan.y}px) scale(${this.zoom})`;
  }

  /** A stage position in picture pixels. */
  toImage(ev) {
    const r = $("stage").getBoundingClientRect();
    return { x: (ev.clientX - r.left - this.pan.x) / this.zoom, y: (ev.clientY - r.top - this.pan.y) / this.zoom };
  }

  // ------------------------------------------------------------ changes

  change(mutate) {
    if (this.judging) return;
    this.undoStack.push(clone(this.labelsNow));
    this.redoStack = [];
    mutate(this.labelsNow);
    this.touched();
  }

  touched() {
    this.dirty = true;
    this.saveKey = null;
    localStorage.setItem(this.draftKey(), JSON.stringify({ version: this.version, labels: this.labelsNow }));
    this.render();
    this.scheduleSave();
  }

  undo() {
    if (!this.undoStack.length) return;
    this.redoStack.push(clone(this.labelsNow));
    this.labelsNow = this.undoStack.pop();
    this.selected = Math.min(this.selected, this.labelsNow.length - 1);
    this.touched();
  }

  redo() {
    if (!this.redoStack.length) return;
    this.undoStack.push(clone(this.labelsNow));
    this.labelsNow = this.redoStack.pop();
    this.touched();
  }

  scheduleSave() {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => this.save(), AUTOSAVE_MS);
  }

  /** Saves the copy through the team batch update; retried while the server cannot be reached. */
  async save() {
    if (this.saveTimer) { clearTimeout(this.saveTimer); this.saveTimer = null; }
    if (!this.copy || !this.dirty) return true;
    if (this.saving) return this.saving;
    this.saving = this.saveOnce().finally(() => { this.saving = null; });
    return this.saving;
  }

  async saveOnce() {
    const copy = this.copy;
    const sent = clone(this.labelsNow);
    this.saveKey = this.saveKey || crypto.randomUUID();
    const body = { samples: [{ sample_id: copy.sample_id, worker_id: copy.worker_id, labels: sent, version: this.version }] };
    setSaveState("saving");
    for (let wait = 1000; ; wait = Math.min(wait * 2, 15000)) {
      try {
        const answer = await json("PUT", `${this.base}/data-annotations/samples`, body, { "X-Idempotency-Key": this.saveKey });
        const item = answer.results[0];
        if (item.success) {
          if (copy !== this.copy) return true;
          this.version += 1;
          this.stored = sent;
          this.saveKey = null;
          if (JSON.stringify(sent) === JSON.stringify(this.labelsNow)) {
            this.dirty = false;
            localStorage.removeItem(this.draftKey(copy));
          } else {
            localStorage.setItem(this.draftKey(copy), JSON.stringify({ version: this.version, labels: this.labelsNow }));
            this.scheduleSave();
          }
          setSaveState("saved");
          return true;
        }
        if (item.error_code === "ModelArts.4690") return this.conflict(copy);
        setSaveState("error", item.error_msg);
        return false;
      } catch (e) {
        if (e instanceof ApiError) {
          if (e.code === "ModelArts.4692") { this.saveKey = crypto.randomUUID(); continue; }
          if (e.status === 401) return false;
          if (e.status < 500) { setSaveState("error", e.message); return false; }
        }
        setSaveState("offline");
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /** The copy moved on elsewhere: show both label sets and let the labeler choose. */
  async conflict(copy) {
    const stored = await json("GET", `${this.base}/data-annotations/samples/${copy.sample_id}`);
    $("conflict-mine").textContent = describe(this.labelsNow);
    $("conflict-stored").textContent = describe(stored.labels || []);
    setSaveState("error", "conflict");
    const choice = await new Promise((resolve) => {
      $("keep-mine").onclick = () => resolve("mine");
      $("take-stored").onclick = () => resolve("stored");
      $("conflict").showModal();
    });
    $("conflict").close();
    this.version = stored.version;
    if (choice === "stored") {
      this.labelsNow = clone(stored.labels || []);
      this.stored = clone(this.labelsNow);
      this.dirty = false;
      localStorage.removeItem(this.draftKey(copy));
      this.render();
      setSaveState("saved");
      return true;
    }
    this.saveKey = null;
    localStorage.setItem(this.draftKey(copy), JSON.stringify({ version: this.version, labels: this.labelsNow }));
    return this.saveOnce();
  }

  async submit() {
    if (await this.save()) await this.go(this.index + 1);
  }

  // ------------------------------------------------------------ labels

  /** Applies a label: to the selected mark, to the span or segment marked, as the tool's label,
   * or as a classification label: `only` makes it the sample's one label (a key alone), else it
   * is added or removed (Shift with the key, or a click in the list). */
  pick(label, only = false) {
    if (!label || this.judging) return;
    const chosen = this.labelsNow[this.selected];
    if (label.type === 202 && this.mark && this.mark.end !== undefined) {
      const { start, end } = this.mark;
      this.mark = null;
      this.change((ls) => {
        ls.push({ name: label.name, type: 202, property: { "@modelarts:start_time": clock(start), "@modelarts:end_time": clock(end) } });
      });
      this.selected = this.labelsNow.length - 1;
      this.render();
    } else if (label.type === 102 && chosen && isSpan(chosen) && chosen.id) {
      // A relationship starts at the selected entity; a click on another entity ends it.
      this.link = { name: label.name, from: chosen.id };
      this.render();
      return;
    } else if (SPAN_TYPES.has(label.type) && (this.spanOfSelection() || this.pendingSpan)) {
      // The selection as it is now: a `selectionchange` for its last change may not have come.
      const { start, end } = this.spanOfSelection() || this.pendingSpan;
      this.pendingSpan = null;
      this.caret = end;
      window.getSelection().removeAllRanges();
      this.change((ls) => {
        const entity = { name: label.name, type: label.type, property: { "@modelarts:start_index": start, "@modelarts:end_index": end } };
        if (label.type === 103) entity.id = this.nextId(ls, "E");
        ls.push(entity);
      });
      this.selected = this.labelsNow.length - 1;
      this.render();
    } else if (chosen && (isShape(chosen) || isSpan(chosen) || isSegment(chosen)) && label.type === chosen.type) {
      this.change((ls) => { ls[this.selected].name = label.name; });
    } else if (label.type === 1) {
      this.current = label;
    } else if (CLASS_TYPES.has(label.type) && only) {
      // One label per sample: this one replaces the others (or goes, when it is the only one).
      const alone = this.labelsNow.filter(isClass).length === 1 && this.labelsNow.some((l) => isClass(l) && l.name === label.name);
      this.change((ls) => {
        for (let k = ls.length - 1; k >= 0; k--) if (isClass(ls[k])) ls.splice(k, 1);
        if (!alone) ls.push({ name: label.name, type: label.type });
      });
    } else if (CLASS_TYPES.has(label.type)) {
      const at = this.labelsNow.findIndex((l) => isClass(l) && l.name === label.name);
      this.change((ls) => { if (at >= 0) ls.splice(at, 1); else ls.push({ name: label.name, type: label.type }); });
    }
    if (label.type === 1) this.current = label;
    this.renderLabelList();
  }

  labelForKey(key) {
    const byShortcut = this.labels.find((l) => l.property && l.property["@modelarts:shortcut"] &&
      String(l.property["@modelarts:shortcut"]).toLowerCase() === key);
    if (byShortcut) return byShortcut;
    if (/^[1-9]$/.test(key)) return this.labels[Number(key) - 1];
    return null;
  }

  renderLabelList() {
    const list = $("label-list");
    list.replaceChildren();
    const on = new Set(this.labelsNow ? this.labelsNow.filter(isClass).map((l) => l.name) : []);
    this.labels.forEach((l, i) => {
      const li = document.createElement("li");
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = colorOf(l);
      const k = document.createElement("kbd");
      const sc = l.property && l.property["@modelarts:shortcut"];
      k.textContent = sc ? String(sc) : i < 9 ? String(i + 1) : "";
      const name = document.createElement("span");
      name.textContent = l.name;
      li.append(sw, k, name);
      li.dataset.label = l.name;
      if ((l.type === 1 && this.current === l) || on.has(l.name)) li.className = "on";
      li.addEventListener("click", () => this.pick(l));
      list.append(li);
    });
  }

  render() {
    const started = performance.now();
    this.renderShapes();
    const took = performance.now() - started;
    const m = (window.__teamlabel = window.__teamlabel || {});
    m.renders = (m.renders || 0) + 1;
    m.maxRenderMs = Math.max(m.maxRenderMs || 0, took);
  }

  renderShapes() {
    this.renderLabelList();
    const svg = $("shapes");
    svg.replaceChildren();
    const list = $("shape-list");
    list.replaceChildren();
    if (!this.labelsNow) return;
    if (!$("text-body").hidden) this.renderText();
    if (this.link) setSaveState(`${this.link.name}: click the other entity (Esc cancels)`);
    if (!$("sound").hidden) {
      $("marks").textContent = !this.mark ? "[ marks a start, ] an end, then a digit gives the segment its label; Space plays"
        : this.mark.end === undefined ? `From ${clock(this.mark.start)}: ] marks the end`
          : `${clock(this.mark.start)} – ${clock(this.mark.end)}: a digit gives it its label`;
    }
    this.labelsNow.forEach((l, i) => {
      if (isSegment(l)) {
        const li = document.createElement("li");
        li.textContent = `${l.name}: ${l.property["@modelarts:start_time"]} – ${l.property["@modelarts:end_time"]}`;
        if (i === this.selected) li.classList.add("on");
        li.addEventListener("click", () => {
          this.selected = i;
          $("player").currentTime = seconds(l.property["@modelarts:start_time"]);
          this.render();
        });
        list.append(li);
        return;
      }
      if (l.type === 102 && l.property && l.property["@modelarts:from"]) {
        const words = (id) => {
          const e = this.labelsNow.find((x) => x.id === id && isSpan(x));
          return e ? this.codePoints.slice(e.property["@modelarts:start_index"], e.property["@modelarts:end_index"]).join("") : id;
        };
        const li = document.createElement("li");
        li.textContent = `${l.name}: ${words(l.property["@modelarts:from"])} → ${words(l.property["@modelarts:to"])}`;
        if (i === this.selected) li.classList.add("on");
        li.addEventListener("click", () => { this.selected = i; this.render(); });
        list.append(li);
        return;
      }
      if (isSpan(l)) {
        const li = document.createElement("li");
        const p = l.property;
        li.textContent = `${l.name}: ${this.codePoints.slice(p["@modelarts:start_index"], p["@modelarts:end_index"]).join("")}`;
        if (i === this.selected) li.classList.add("on");
        li.addEventListener("click", () => { this.selected = i; this.render(); });
        list.append(li);
        return;
      }
      if (!isShape(l)) return;
      const def = this.labels.find((d) => d.name === l.name);
      const color = colorOf(def);
      const li = document.createElement("li");
      li.textContent = `${l.name} (${l.property["@modelarts:shape"]})`;
      if (i === this.selected) li.classList.add("on");
      if (this.hidden.has(i)) li.classList.add("hidden-shape");
      li.addEventListener("click", () => { this.selected = i; this.render(); });
      list.append(li);
      if (this.hidden.has(i)) return;
      const f = l.property["@modelarts:feature"];
      const el = shapeElement(l.property, this.zoom);
      if (!el) return;
      el.setAttribute("stroke", color);
      el.setAttribute("fill", color);
      el.dataset.index = String(i);
      if (i === this.selected) el.classList.add("selected");
      svg.append(el);
      if (i === this.selected && l.property["@modelarts:shape"] === "bndbox") {
        boxCorners(f).forEach(([x, y], c) => {
          const h = document.createElementNS(SVG, "rect");
          const s = 8 / this.zoom;
          h.setAttribute("class", "handle");
          h.setAttribute("x", x - s / 2);
          h.setAttribute("y", y - s / 2);
          h.setAttribute("width", s);
          h.setAttribute("height", s);
          h.dataset.index = String(i);
          h.dataset.corner = String(c);
          svg.append(h);
        });
      }
    });
    // Other labelers' shapes of the same sample, dashed under nothing: for comparing while judging.
    for (const other of this.judging ? this.others || [] : []) {
      for (const l of other.labels || []) {
        const f = l.property && l.property["@modelarts:feature"];
        if (!f) continue;
        if (!["bndbox", "polygon"].includes(l.property["@modelarts:shape"])) continue;
        const el = shapeElement(l.property, this.zoom);
        el.setAttribute("class", "other");
        el.setAttribute("stroke", colorOf(this.labels.find((d) => d.name === l.name)));
        svg.append(el);
      }
    }
    if (this.polygon) {
      const line = document.createElementNS(SVG, "polyline");
      line.setAttribute("class", "drawing");
      line.setAttribute("points", this.polygon.map((p) => p.join(",")).join(" "));
      line.setAttribute("stroke", colorOf(this.current));
      svg.append(line);
    }
    const sel = this.labelsNow[this.selected];
    const segment = Boolean(sel && isSegment(sel)) && !this.judging;
    $("content-row").hidden = !segment;
    if (segment && document.activeElement !== $("content")) $("content").value = sel.property["@modelarts:content"] || "";
    $("hard").checked = Boolean(sel && sel.property && sel.property["@modelarts:hard"]);
    $("hard").disabled = !(sel && isShape(sel));
  }

  // ------------------------------------------------------------ review

  /** The other labelers' copies of the sample, beside the one under review. */
  async showOthers(copy) {
    const list = $("others");
    list.replaceChildren();
    this.others = [];
    for (const l of copy.labelers || []) {
      if (l.worker_id === copy.worker_id || l.role !== 0) continue;
      const other = await json("GET", `${this.base}/data-annotations/samples/${copy.sample_id}?worker_id=${l.worker_id}`).catch(() => null);
      if (!other) continue;
      this.others.push(other);
      const li = document.createElement("li");
      li.textContent = `${l.email} (${other.sample_status}, dashed on the picture): ${describe(other.labels || [])}`;
      list.append(li);
    }
    const who = (copy.labelers || []).find((l) => l.worker_id === copy.worker_id);
    $("review-who").textContent = who ? `Copy by ${who.email}` : "";
  }

  /** Passes the copy with a score, or rejects it with a comment, then shows the next one. */
  async judge(accept, score, comment) {
    if (!this.copy) return;
    const verdict = { sample_id: this.copy.sample_id, worker_id: this.copy.worker_id, accept };
    if (score) verdict.score = score;
    if (comment) verdict.comment = comment;
    try {
      const path = this.mode === "check" ? "acceptance/batch-comment" : "data-annotations/review";
      const answer = await json("POST", `${this.base}/${path}`, { comments: [verdict] });
      const item = answer.results[0];
      if (!item.success) { setSaveState("error", item.error_msg); return; }
      setSaveState("saved");
      await this.go(this.index + 1);
    } catch (e) {
      setSaveState("error", e.message);
    }
  }
}

Object.assign(Editor.prototype, textMarks, shapeMarks);

export const editor = new Editor();
