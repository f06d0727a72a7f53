// The views outside the editor: sign-in, the member's tasks, the owner's project tasks and the
// owner's view of one task (members' progress, acceptance rounds).

import { $, ROLES, TASK_STATUS, cellRow, button, setSaveState } from "./common.js";
import { json, v2, session, hooks } from "./api.js";
import { editor } from "./editor.js";

export function show(view) {
  for (const id of ["sign-in", "tasks", "owner", "label"]) $(id).hidden = id !== view;
  $("project").hidden = view !== "tasks" || !$("project-rows").children.length;
  const s = session.get();
  $("who").textContent = s ? s.email : "";
  $("sign-out").hidden = !s;
  $("help-button").hidden = view !== "label";
  if (view !== "label") setSaveState("");
}

export function signOut(message) {
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
export async function openOwner(task) {
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

export async function openTasks() {
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

hooks.signedOut = signOut;
