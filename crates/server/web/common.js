// What every part of the page shares: the element lookup, the label kinds and colours, the
// speech clock, small table builders and the save indicator. No API calls, no state.

export const $ = (id) => document.getElementById(id);
export const SVG = "http://www.w3.org/2000/svg";

export const ROLES = { 0: "labeler", 1: "reviewer", 2: "manager" };
export const TASK_STATUS = { 0: "starting", 1: "running", 2: "in acceptance", 3: "accepted", 4: "rejected", 6: "created" };

export function cellRow(cells) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement("td");
    if (c instanceof Node) td.append(c); else td.textContent = String(c);
    tr.append(td);
  }
  return tr;
}

export function button(text, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.addEventListener("click", onClick);
  return b;
}

/** The project's tasks, for its owner (anyone else is refused the dataset list: none shown). */
export function setSaveState(state, detail) {
  const el = $("save-state");
  el.className = state;
  el.textContent = { saving: "saving…", saved: "saved", offline: "offline, retrying", error: `not saved: ${detail}`, "": "" }[state] ?? state;
}


export const TEXT_TYPES = new Set([100, 101, 102]);
export const SPAN_TYPES = new Set([101, 103]);
export const SOUND_TYPES = new Set([200, 201, 202]);

/** Seconds as `hh:mm:ss.SSS`, the API's speech times. */
export function clock(seconds) {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(Math.floor(ms / 3600000))}:${pad(Math.floor(ms / 60000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}.${pad(ms % 1000, 3)}`;
}

/** `hh:mm:ss.SSS` as seconds. */
export function seconds(clockText) {
  const [h, m, s] = String(clockText).split(":");
  return Number(h) * 3600 + Number(m) * 60 + Number(s);
}

export function colorOf(label) {
  const c = label && label.property && label.property["@modelarts:color"];
  return typeof c === "string" && /^#[0-9a-fA-F]{6}$/.test(c) ? c : "#f5a623";
}

export const clone = (v) => JSON.parse(JSON.stringify(v));

/** Labels one per line: the name, and the shape with its points. */
export function describe(labels) {
  if (!labels.length) return "(no labels)";
  return labels.map((l) => {
    const p = l.property || {};
    return p["@modelarts:shape"] ? `${l.name}: ${p["@modelarts:shape"]} ${JSON.stringify(p["@modelarts:feature"])}` : l.name;
  }).join("\n");
}
export const isShape = (l) => l.property && l.property["@modelarts:shape"];
export const isSpan = (l) => l.property && l.property["@modelarts:start_index"] !== undefined;
export const isSegment = (l) => l.property && l.property["@modelarts:start_time"] !== undefined;
export const isRelation = (l) => l.property && l.property["@modelarts:from"] !== undefined;
export const isClass = (l) => !isShape(l) && !isSpan(l) && !isSegment(l) && !isRelation(l);
/** Label types a sample carries or not, without a place: image, text and sound classification. */
export const CLASS_TYPES = new Set([0, 100, 200]);

/** The copy being labeled, its saved state and its history of changes. */
