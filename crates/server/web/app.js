// The labeling page: sign in, the member's tasks, a keyboard-first labeling view for image
// classification, boxes (drawn, moved, resized, nudged), text classification and named entities
// (spans counted in Unicode code points, as the API counts them), and a review view (pass with a
// score or reject with a comment, one key each, other labelers' copies beside). Everything goes
// through the public API with the token in the X-Auth-Token header, never in a URL. Labels are
// saved through the team batch update with the copy's version and an X-Idempotency-Key; a draft
// of unsaved work is kept in localStorage until the server has it. All text is set as text.

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const AUTOSAVE_MS = 800;
const PREFETCH = 3;
const PAGE = 50;

const session = {
  get() {
    try { return JSON.parse(sessionStorage.getItem("teamlabel.session") || "null"); } catch { return null; }
  },
  set(s) { sessionStorage.setItem("teamlabel.session", JSON.stringify(s)); },
  clear() { sessionStorage.removeItem("teamlabel.session"); },
};

// ---------------------------------------------------------------- the API

class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

async function api(method, path, body, extra = {}) {
  const s = session.get();
  const headers = { ...extra };
  if (s) headers["X-Auth-Token"] = s.token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401 && s) {
    signOut("Your session ended; sign in again.");
    throw new ApiError(401, "", "signed out");
  }
  if (!res.ok) {
    let e = {};
    try { e = await res.json(); } catch { /* not JSON */ }
    throw new ApiError(res.status, e.error_code || "", e.error_msg || (e.error && e.error.message) || res.statusText,
      res.headers.get("Retry-After"));
  }
  return res;
}

const json = async (method, path, body, extra) => (await api(method, path, body, extra)).json();
const v2 = (rest) => `/v2/${session.get().projectId}${rest}`;

// ---------------------------------------------------------------- views

function show(view) {
  for (const id of ["sign-in", "tasks", "owner", "label"]) $(id).hidden = id !== view;
  $("project").hidden = view !== "tasks" || !$("project-rows").children.length;
  const s = session.get();
  $("who").textContent = s ? s.email : "";
  $("sign-out").hidden = !s;
  $("help-button").hidden = view !== "label";
  if (view !== "label") setSaveState("");
}

function signOut(message) {
  session.clear();
  editor.close();
  show("sign-in");
  $("sign-in-error").textContent = message || "";
}

$("sign-in-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const email = String(f.get("email")).trim();
  const project = String(f.get("project")).trim();
  $("sign-in-error").textContent = "";
  const body = {
    auth: {
      identity: { methods: ["password"], password: { user: { name: email, password: String(f.get("password")) } } },
      scope: { project: { name: project } },
    },
  };
  try {
    const res = await fetch("/v3/auth/tokens", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const answer = await res.json().catch(() => ({}));
    if (!res.ok) {
      const msg = answer.error_msg || (answer.error && answer.error.message) || res.statusText;
      const wait = res.headers.get("Retry-After");
      $("sign-in-error").textContent = res.status === 429 && wait
        ? `${msg} Try again in ${Math.ceil(Number(wait) / 60)} minute(s), at ${new Date(Date.now() + Number(wait) * 1000).toLocaleTimeString()}.`
        : msg;
      return;
    }
    session.set({ token: res.headers.get("X-Subject-Token"), projectId: answer.token.project.id, email });
    ev.target.reset();
    await openTasks();
  } catch (e) {
    $("sign-in-error").textContent = `The server cannot be reached: ${e.message}`;
  }
});

$("sign-out").addEventListener("click", () => signOut(""));
$("back").addEventListener("click", () => {
  const back = editor.mode === "check" ? editor.task : null;
  editor.close();
  if (back) openOwner(back); else openTasks();
});
$("owner-back").addEventListener("click", () => openTasks());

const ROLES = { 0: "labeler", 1: "reviewer", 2: "manager" };
const TASK_STATUS = { 0: "starting", 1: "running", 2: "in acceptance", 3: "accepted", 4: "rejected", 6: "created" };

function cellRow(cells) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement("td");
    if (c instanceof Node) td.append(c); else td.textContent = String(c);
    tr.append(td);
  }
  return tr;
}

function button(text, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.addEventListener("click", onClick);
  return b;
}

/** The project's tasks, for its owner (anyone else is refused the dataset list: none shown). */
async function projectTasks() {
  const rows = $("project-rows");
  rows.replaceChildren();
  let datasets;
  try {
    datasets = (await json("GET", v2("/datasets?limit=100"))).datasets;
  } catch {
    return;
  }
  for (const d of datasets) {
    const tasks = await json("GET", v2(`/datasets/${d.dataset_id}/workforce-tasks?limit=100`));
    for (const t of tasks.tasks) {
      const task = { task_id: t.task_id, dataset_id: d.dataset_id, workforce_task_name: t.task_name, dataset_type: d.dataset_type };
      const s = t.sample_stats;
      rows.append(cellRow([d.dataset_name, t.task_name, TASK_STATUS[t.status] || t.status,
        `${s.total_sample_count - s.unannotated_sample_count} labeled of ${s.total_sample_count}`,
        button("Manage", () => openOwner(task))]));
    }
  }
}

/** The owner's view of a task: progress per member and state, and its acceptance round. */
async function openOwner(task) {
  show("owner");
  $("owner-message").textContent = "";
  const base = v2(`/datasets/${task.dataset_id}/workforce-tasks/${task.task_id}`);
  const full = await json("GET", `${base}?worker_stats=true`);
  $("owner-title").textContent = full.task_name;
  $("owner-status").textContent = TASK_STATUS[full.status] || String(full.status);
  const rows = $("member-rows");
  rows.replaceChildren();
  for (const w of full.worker_stats || []) {
    const s = w.sample_stats;
    rows.append(cellRow([w.email, ROLES[w.role] || w.role, s.total_sample_count, s.unannotated_sample_count,
      s.unreviewed_sample_count, s.uncheck_sample_count + s.sampled_sample_count, s.accepted_sample_count, s.rejected_sample_count]));
  }
  const open = full.status === 2;
  $("round-open").hidden = !open;
  $("round-closed").hidden = open;
  // The report names its round; a round opened from this browser is remembered.
  const roundKey = `teamlabel.round:${session.get().projectId}:${task.task_id}`;
  const round = localStorage.getItem(roundKey);
  $("round-report").textContent = "";
  if (open && round) {
    try {
      const r = (await json("GET", `${base}/acceptance/report?checking_task_id=${encodeURIComponent(round)}`)).checking_stats;
      $("round-report").textContent = `Drawn ${r.sampled_sample_count} of ${r.total_sample_count}; judged ${r.checked_sample_count} (passed ${r.accepted_sample_count}, rejected ${r.rejected_sample_count})`;
    } catch { /* a round of another browser */ }
  }
  if (open && !$("round-report").textContent) $("round-report").textContent = "A round is open.";
  $("start-round").onclick = async () => {
    try {
      const started = await json("POST", `${base}/acceptance`, { sampling_rate: Number($("sampling-rate").value) / 100 });
      localStorage.setItem(roundKey, started.task_id);
      await openOwner(task);
    } catch (e) { $("owner-message").textContent = e.message; }
  };
  $("check-round").onclick = () => editor.open(task, "check");
  $("close-round").onclick = async () => {
    try {
      const answer = await json("PUT", `${base}/acceptance/status`, { action: Number($("close-action").value) });
      await openOwner(task);
      $("owner-message").textContent = (answer.result && answer.result.message) || "The round is closed.";
    } catch (e) { $("owner-message").textContent = e.message; }
  };
}

async function openTasks() {
  await projectTasks();
  show("tasks");
  const body = await json("GET", v2("/workforces/worker-tasks?limit=100"));
  const rows = $("task-rows");
  rows.replaceChildren();
  $("tasks-empty").hidden = body.worker_tasks.length > 0 || $("project-rows").children.length > 0;
  for (const t of body.worker_tasks) {
    const s = t.sample_stats;
    const done = s.total_sample_count - s.unannotated_sample_count - s.rejected_sample_count;
    const tr = document.createElement("tr");
    const cells = [t.workforce_task_name, ROLES[t.role] || String(t.role), `${done} / ${s.total_sample_count}`,
      s.unannotated_sample_count, s.unreviewed_sample_count, s.rejected_sample_count];
    for (const c of cells) {
      const td = document.createElement("td");
      td.textContent = String(c);
      tr.append(td);
    }
    const td = document.createElement("td");
    const mode = t.role === 0 ? "label" : t.role === 1 ? "review" : null;
    if (mode) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = mode === "label" ? "Label" : "Review";
      b.dataset.task = t.task_id;
      b.addEventListener("click", () => editor.open(t, mode));
      td.append(b);
    } else {
      td.textContent = "manage in the API";
    }
    tr.append(td);
    rows.append(tr);
  }
}

function setSaveState(state, detail) {
  const el = $("save-state");
  el.className = state;
  el.textContent = { saving: "saving…", saved: "saved", offline: "offline, retrying", error: `not saved: ${detail}`, "": "" }[state] ?? state;
}

// ---------------------------------------------------------------- shortcuts

const ACTIONS = {
  next: ["n", "Next sample"], prev: ["p", "Previous sample"], submit: ["Enter", "Save and go to the next sample"],
  save: ["ctrl+s", "Save now"], undo: ["ctrl+z", "Undo"], redo: ["ctrl+shift+z", "Redo"],
  remove: ["Delete", "Remove the selected shape"],
  box: ["b", "Draw boxes"], polygonTool: ["g", "Draw polygons: click each vertex, Enter closes, Backspace drops the last"],
  pointTool: ["o", "Place points"], hide: ["h", "Hide or show the selected shape"],
  cycle: ["Tab", "Select the next shape"], deselect: ["Escape", "Select nothing"],
  zoomIn: ["+", "Zoom in"], zoomOut: ["-", "Zoom out"], fit: ["0", "Fit the picture"],
  reject: ["r", "Review: reject the copy, with a comment (1 … 4 pass it with score A … D)"],
  help: ["?", "This list"],
};
const keymap = (() => {
  const saved = JSON.parse(localStorage.getItem("teamlabel.keys") || "{}");
  return Object.fromEntries(Object.entries(ACTIONS).map(([a, [k]]) => [a, saved[a] || k]));
})();

function keyName(ev) {
  const parts = [];
  if (ev.ctrlKey || ev.metaKey) parts.push("ctrl");
  if (ev.shiftKey && ev.key.length > 1 && ev.key !== "Shift") parts.push("shift");
  else if (ev.shiftKey && (ev.ctrlKey || ev.metaKey)) parts.push("shift");
  parts.push(ev.key.length === 1 ? ev.key.toLowerCase() : ev.key);
  return parts.join("+");
}

function fillHelp() {
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
  row("1 … 9 or a label's shortcut", "Pick that label (for the selected shape or text, or the next box drawn)");
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

// ---------------------------------------------------------------- the labeling view

const TEXT_TYPES = new Set([100, 101, 102]);
const SPAN_TYPES = new Set([101, 103]);
const SOUND_TYPES = new Set([200, 201, 202]);

/** Seconds as `hh:mm:ss.SSS`, the API's speech times. */
function clock(seconds) {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(Math.floor(ms / 3600000))}:${pad(Math.floor(ms / 60000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}.${pad(ms % 1000, 3)}`;
}

/** `hh:mm:ss.SSS` as seconds. */
function seconds(clockText) {
  const [h, m, s] = String(clockText).split(":");
  return Number(h) * 3600 + Number(m) * 60 + Number(s);
}

function colorOf(label) {
  const c = label && label.property && label.property["@modelarts:color"];
  return typeof c === "string" && /^#[0-9a-fA-F]{6}$/.test(c) ? c : "#f5a623";
}

const clone = (v) => JSON.parse(JSON.stringify(v));

/** Labels one per line: the name, and the shape with its points. */
function describe(labels) {
  if (!labels.length) return "(no labels)";
  return labels.map((l) => {
    const p = l.property || {};
    return p["@modelarts:shape"] ? `${l.name}: ${p["@modelarts:shape"]} ${JSON.stringify(p["@modelarts:feature"])}` : l.name;
  }).join("\n");
}
const isShape = (l) => l.property && l.property["@modelarts:shape"];
const isSpan = (l) => l.property && l.property["@modelarts:start_index"] !== undefined;
const isSegment = (l) => l.property && l.property["@modelarts:start_time"] !== undefined;
const isRelation = (l) => l.property && l.property["@modelarts:from"] !== undefined;
const isClass = (l) => !isShape(l) && !isSpan(l) && !isSegment(l) && !isRelation(l);
/** Label types a sample carries or not, without a place: image, text and sound classification. */
const CLASS_TYPES = new Set([0, 100, 200]);

/** The copy being labeled, its saved state and its history of changes. */
class Editor {
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

  pick(label) {
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
    } else if (SPAN_TYPES.has(label.type) && this.pendingSpan) {
      const { start, end } = this.pendingSpan;
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
      let el;
      if (l.property["@modelarts:shape"] === "bndbox") {
        el = document.createElementNS(SVG, "rect");
        el.setAttribute("x", Math.min(f[0][0], f[1][0]));
        el.setAttribute("y", Math.min(f[0][1], f[1][1]));
        el.setAttribute("width", Math.abs(f[1][0] - f[0][0]));
        el.setAttribute("height", Math.abs(f[1][1] - f[0][1]));
      } else if (l.property["@modelarts:shape"] === "polygon") {
        el = document.createElementNS(SVG, "polygon");
        el.setAttribute("points", f.map((p) => p.join(",")).join(" "));
      } else if (l.property["@modelarts:shape"] === "point") {
        el = document.createElementNS(SVG, "circle");
        el.setAttribute("class", "point");
        el.setAttribute("cx", f[0][0]);
        el.setAttribute("cy", f[0][1]);
        el.setAttribute("r", 4 / this.zoom);
      } else {
        return;
      }
      el.setAttribute("stroke", color);
      el.setAttribute("fill", color);
      el.dataset.index = String(i);
      if (i === this.selected) el.classList.add("selected");
      svg.append(el);
      if (i === this.selected && l.property["@modelarts:shape"] === "bndbox") {
        const corners = [[f[0][0], f[0][1]], [f[1][0], f[0][1]], [f[0][0], f[1][1]], [f[1][0], f[1][1]]];
        corners.forEach(([x, y], c) => {
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
    if (this.polygon) {
      const line = document.createElementNS(SVG, "polyline");
      line.setAttribute("class", "drawing");
      line.setAttribute("points", this.polygon.map((p) => p.join(",")).join(" "));
      line.setAttribute("stroke", colorOf(this.current));
      svg.append(line);
    }
    const sel = this.labelsNow[this.selected];
    $("hard").checked = Boolean(sel && sel.property && sel.property["@modelarts:hard"]);
    $("hard").disabled = !(sel && isShape(sel));
  }

  /** A fresh instance id with `prefix` (`E3`, `R2`) among the copy's labels. */
  nextId(labels, prefix) {
    const taken = new Set(labels.map((l) => l.id));
    let n = 1;
    while (taken.has(`${prefix}${n}`)) n += 1;
    return `${prefix}${n}`;
  }

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
  }

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
  }

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
  }

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
  }

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

  // ------------------------------------------------------------ review

  /** The other labelers' copies of the sample, beside the one under review. */
  async showOthers(copy) {
    const list = $("others");
    list.replaceChildren();
    for (const l of copy.labelers || []) {
      if (l.worker_id === copy.worker_id || l.role !== 0) continue;
      const other = await json("GET", `${this.base}/data-annotations/samples/${copy.sample_id}?worker_id=${l.worker_id}`).catch(() => null);
      if (!other) continue;
      const li = document.createElement("li");
      li.textContent = `${l.email} (${other.sample_status}): ${describe(other.labels || [])}`;
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

  /** Picks the drawing tool: `box`, `polygon` or `point`. */
  useTool(tool) {
    this.tool = tool;
    this.polygon = null;
    for (const b of document.querySelectorAll("#tools button")) b.classList.toggle("on", b.dataset.tool === tool);
    this.render();
  }

  /** A vertex of the polygon being drawn (Enter closes it, Backspace drops the last vertex). */
  addVertex(at) {
    const img = $("picture");
    const p = [Math.max(0, Math.min(img.naturalWidth, Math.round(at.x))), Math.max(0, Math.min(img.naturalHeight, Math.round(at.y)))];
    this.polygon = [...(this.polygon || []), p];
    this.render();
  }

  closePolygon() {
    const points = this.polygon;
    this.polygon = null;
    if (!points || points.length < 3) { this.render(); return; }
    this.change((ls) => {
      ls.push({ name: this.current.name, type: 1, property: { "@modelarts:shape": "polygon", "@modelarts:feature": points } });
    });
    this.selected = this.labelsNow.length - 1;
    this.render();
  }

  /** Redraws one box in place while it is dragged; the other shapes are left as they are. */
  redrawBox(i) {
    const started = performance.now();
    const f = this.labelsNow[i].property["@modelarts:feature"];
    const el = $("shapes").querySelector(`rect[data-index="${i}"]:not(.handle)`);
    if (!el || this.labelsNow[i].property["@modelarts:shape"] !== "bndbox") { this.render(); return; }
    el.setAttribute("x", Math.min(f[0][0], f[1][0]));
    el.setAttribute("y", Math.min(f[0][1], f[1][1]));
    el.setAttribute("width", Math.abs(f[1][0] - f[0][0]));
    el.setAttribute("height", Math.abs(f[1][1] - f[0][1]));
    const corners = [[f[0][0], f[0][1]], [f[1][0], f[0][1]], [f[0][0], f[1][1]], [f[1][0], f[1][1]]];
    const s = 8 / this.zoom;
    for (const h of $("shapes").querySelectorAll(`rect.handle[data-index="${i}"]`)) {
      const [x, y] = corners[Number(h.dataset.corner)];
      h.setAttribute("x", x - s / 2);
      h.setAttribute("y", y - s / 2);
    }
    const m = (window.__teamlabel = window.__teamlabel || {});
    m.moves = (m.moves || 0) + 1;
    m.maxMoveMs = Math.max(m.maxMoveMs || 0, performance.now() - started);
  }

  /** Moves every point of a shape by (dx, dy), inside the picture. */
  moveShape(ls, i, dx, dy) {
    const p = ls[i].property;
    const img = $("picture");
    const clamp = (v, max) => Math.max(0, Math.min(max, Math.round(v)));
    const shift = (pt) => [clamp(pt[0] + dx, img.naturalWidth), clamp(pt[1] + dy, img.naturalHeight)];
    p["@modelarts:feature"] = p["@modelarts:feature"].map(shift);
  }
}

const editor = new Editor();

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
    let ghost = $("shapes").querySelector(".ghost");
    if (!ghost) {
      ghost = document.createElementNS(SVG, "rect");
      ghost.setAttribute("class", "ghost selected");
      ghost.setAttribute("stroke", colorOf(editor.current));
      ghost.setAttribute("fill", colorOf(editor.current));
      $("shapes").append(ghost);
    }
    ghost.setAttribute("x", Math.min(drag.from.x, drag.to.x));
    ghost.setAttribute("y", Math.min(drag.from.y, drag.to.y));
    ghost.setAttribute("width", Math.abs(drag.to.x - drag.from.x));
    ghost.setAttribute("height", Math.abs(drag.to.y - drag.from.y));
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
  if (d.kind === "draw") {
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
  if (ev.target instanceof HTMLInputElement) return;
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
  else if (!ev.ctrlKey && !ev.metaKey && editor.labelForKey(ev.key.toLowerCase())) editor.pick(editor.labelForKey(ev.key.toLowerCase()));
  else handled = false;
  if (handled) ev.preventDefault();
});

window.addEventListener("beforeunload", (ev) => {
  if (editor.copy && editor.dirty) ev.preventDefault();
});

// ------------------------------------------------------------ start

if (session.get()) openTasks().catch(() => signOut("")); else show("sign-in");
