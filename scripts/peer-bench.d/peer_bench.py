#!/usr/bin/env python3
"""The Python half of scripts/peer-bench (standard library only).

  peer_bench.py free-port
      Prints a free TCP port on 127.0.0.1.
  peer_bench.py label-studio --base URL --token TOKEN [--tasks N] [--duration S] [--clients C] --out FILE
      Drives a running Label Studio through its public REST API (Authorization: Token ...) with
      the workload of teamlabel's `label` scenario and writes the figures as JSON to FILE.
  peer_bench.py report --dir DIR [--meta KEY=VALUE ...]
      Reads DIR/label-studio.json and DIR/teamlabel-b*-c*.json, prints the side-by-side table and
      writes DIR/result.json. Exits 1 when any workload counted failed requests.

The Label Studio workload, on a project whose labeling config has one Choices (cat/dog) and one
RectangleLabels (car/person) on an Image; every annotation is one choice and two rectangles:
  create_1, create_C   POST /api/tasks/{id}/annotations/ on unlabeled tasks, by 1 and by C clients;
                       each phase has its own half of the N tasks and ends after --duration seconds
                       or when its tasks are used up.
  update_1, update_C   PATCH /api/annotations/{id}/ of the annotations the create phases made, by 1
                       and by C clients, for --duration seconds, each client cycling over its own
                       share of them (no annotation is written by two clients at once).
  bulk                 a second project of N unlabeled tasks labeled along Label Studio's fastest
                       path for existing tasks: predictions imported in bulk
                       (POST /api/projects/{id}/import/predictions, 1000 per request, C requests in
                       flight), then turned into annotations by the data-manager action
                       predictions_to_annotations over all tasks; timed from the first import to
                       the end of the action. It runs to its end.
Request bodies are encoded before the clock starts. Each request opens its own connection, as
uWSGI's HTTP router closes every connection after its response. Latencies are per request.
"""
import argparse
import glob
import http.client
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.parse

LABEL_CONFIG = (
    '<View>'
    '<Image name="image" value="$image"/>'
    '<Choices name="class" toName="image"><Choice value="cat"/><Choice value="dog"/></Choices>'
    '<RectangleLabels name="box" toName="image"><Label value="car"/><Label value="person"/></RectangleLabels>'
    '</View>'
)
# The image size teamlabel's bench body declares; Label Studio keeps boxes in percent of it.
WIDTH, HEIGHT = 1920, 1080
IMPORT_CHUNK = 1000
TIMEOUT_S = 600


def percentile(sorted_ms, p):
    """The same nearest-rank percentile as teamlabel-bench."""
    if not sorted_ms:
        return 0.0
    return sorted_ms[round((len(sorted_ms) - 1) * p)]


def result_items(rnd, k=0):
    """One annotation's result: a class and a car and a person box, as teamlabel's bench body
    (`crates/bench/src/workloads.rs`), in Label Studio's percent coordinates."""
    cls = "cat" if rnd % 2 == 0 else "dog"
    x = (rnd * 37 + k * 11) % 1500

    def box(rid, label, x0, y0, x1, y1):
        return {
            "id": rid, "from_name": "box", "to_name": "image", "type": "rectanglelabels",
            "original_width": WIDTH, "original_height": HEIGHT, "image_rotation": 0,
            "value": {"x": 100 * x0 / WIDTH, "y": 100 * y0 / HEIGHT, "width": 100 * (x1 - x0) / WIDTH,
                      "height": 100 * (y1 - y0) / HEIGHT, "rotation": 0, "rectanglelabels": [label]},
        }

    return [
        {"id": "c1", "from_name": "class", "to_name": "image", "type": "choices", "value": {"choices": [cls]}},
        box("b1", "car", x, 100, x + 300, 400),
        box("b2", "person", x + 10, 500, x + 120, 900),
    ]


class Api:
    def __init__(self, base, token):
        u = urllib.parse.urlsplit(base)
        if u.scheme != "http" or not u.hostname:
            raise SystemExit(f"--base must be an http:// URL, not {base}")
        self.host, self.port = u.hostname, u.port or 80
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def send(self, method, path, body=None):
        """One request on a connection of its own; returns (status, body bytes)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT_S)
        try:
            conn.request(method, path, body=body, headers=self.headers)
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def call(self, method, path, body=None):
        """A setup request: JSON in and out; anything but 2xx stops the run."""
        status, data = self.send(method, path, None if body is None else json.dumps(body).encode())
        if not 200 <= status < 300:
            raise SystemExit(f"peer-bench: {method} {path}: {status} {data[:500].decode(errors='replace')}")
        return json.loads(data or b"null")


class Tally:
    """Latencies (ms) and failures of one phase, shared by its clients."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ms = []
        self.errors = 0
        self.first_error = None

    def record(self, sent, ok, what=None):
        ms = (time.perf_counter() - sent) * 1000
        with self.lock:
            self.ms.append(ms)
            if not ok:
                self.errors += 1
                if self.first_error is None:
                    self.first_error = what

    def figures(self, elapsed, cpu, per_request=1):
        self.ms.sort()
        ok = len(self.ms) - self.errors
        out = {
            "clients": None,
            "requests": len(self.ms),
            "errors": self.errors,
            "duration_s": round(elapsed, 2),
            "requests_per_s": round(len(self.ms) / elapsed, 1) if elapsed else 0.0,
            "annotations_per_s": round(ok * per_request / elapsed, 1) if elapsed else 0.0,
            "p50_ms": round(percentile(self.ms, 0.50), 2),
            "p95_ms": round(percentile(self.ms, 0.95), 2),
            "p99_ms": round(percentile(self.ms, 0.99), 2),
            "max_ms": round(percentile(self.ms, 1.0), 2),
            # The driver's own CPU use over the phase, in percent of one core: a check that the
            # load generator is not what limits the figure.
            "driver_cpu_pct": round(100 * cpu / elapsed, 1) if elapsed else 0.0,
        }
        if self.first_error:
            out["first_error"] = self.first_error
        return out


def run_clients(clients, worker):
    """Runs worker(i) on `clients` threads; returns (elapsed wall seconds, driver CPU seconds)."""
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    cpu0, t0 = time.process_time(), time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, time.process_time() - cpu0


def import_tasks(api, project, n, offset):
    """Imports n image tasks (URLs only, never fetched) and returns their ids."""
    ids = []
    for start in range(0, n, IMPORT_CHUNK):
        tasks = [{"data": {"image": f"http://127.0.0.1:9/peer-bench/{offset + j}.jpg"}}
                 for j in range(start, min(n, start + IMPORT_CHUNK))]
        ids += api.call("POST", f"/api/projects/{project}/import?return_task_ids=true", tasks)["task_ids"]
    if len(ids) != n:
        raise SystemExit(f"peer-bench: imported {len(ids)} tasks into project {project}, expected {n}")
    return ids


def create_phase(api, task_ids, clients, duration, bodies):
    """POST one annotation per task from the shared pool until the deadline or the pool's end."""
    tally, made, lock = Tally(), [], threading.Lock()
    pool = iter(task_ids)
    deadline = time.perf_counter() + duration

    def worker(i):
        rnd = i
        while time.perf_counter() < deadline:
            with lock:
                task = next(pool, None)
            if task is None:
                return
            sent = time.perf_counter()
            try:
                status, data = api.send("POST", f"/api/tasks/{task}/annotations/", bodies[rnd % len(bodies)])
                ok = status == 201
                what = f"POST /api/tasks/{task}/annotations/: {status} {data[:300].decode(errors='replace')}"
                if ok:
                    with lock:
                        made.append(json.loads(data)["id"])
            except (OSError, http.client.HTTPException, ValueError) as e:
                ok, what = False, f"POST /api/tasks/{task}/annotations/: {e!r}"
            tally.record(sent, ok, what)
            rnd += clients

    elapsed, cpu = run_clients(clients, worker)
    out = tally.figures(elapsed, cpu)
    out["clients"] = clients
    out["tasks_left"] = sum(1 for _ in pool)
    return out, made


def update_phase(api, annotation_ids, clients, duration, bodies):
    """PATCH annotations for --duration seconds; client i cycles over annotation_ids[i::clients]."""
    tally = Tally()
    deadline = time.perf_counter() + duration

    def worker(i):
        own = annotation_ids[i::clients]
        k = 0
        while time.perf_counter() < deadline:
            ann = own[k % len(own)]
            sent = time.perf_counter()
            try:
                status, data = api.send("PATCH", f"/api/annotations/{ann}/", bodies[(k * clients + i) % len(bodies)])
                ok = status == 200
                what = f"PATCH /api/annotations/{ann}/: {status} {data[:300].decode(errors='replace')}"
            except (OSError, http.client.HTTPException) as e:
                ok, what = False, f"PATCH /api/annotations/{ann}/: {e!r}"
            tally.record(sent, ok, what)
            k += 1

    elapsed, cpu = run_clients(clients, worker)
    out = tally.figures(elapsed, cpu)
    out["clients"] = clients
    out["annotations"] = len(annotation_ids)
    return out


def bulk_phase(api, project, task_ids, clients):
    """Predictions imported in bulk, then converted to annotations by the data-manager action."""
    chunks = []
    for start in range(0, len(task_ids), IMPORT_CHUNK):
        preds = [{"task": t, "result": result_items(start + j), "score": 0.9, "model_version": "peer-bench"}
                 for j, t in enumerate(task_ids[start:start + IMPORT_CHUNK])]
        chunks.append((len(preds), json.dumps(preds).encode()))
    action = json.dumps({"selectedItems": {"all": True, "excluded": []}}).encode()
    tally, lock = Tally(), threading.Lock()
    pool = iter(chunks)
    imported = [0]

    def worker(_):
        while True:
            with lock:
                chunk = next(pool, None)
            if chunk is None:
                return
            n, body = chunk
            sent = time.perf_counter()
            path = f"/api/projects/{project}/import/predictions"
            try:
                status, data = api.send("POST", path, body)
                ok = status == 201 and json.loads(data).get("created") == n
                what = f"POST {path}: {status} {data[:300].decode(errors='replace')}"
                if ok:
                    with lock:
                        imported[0] += n
            except (OSError, http.client.HTTPException, ValueError) as e:
                ok, what = False, f"POST {path}: {e!r}"
            tally.record(sent, ok, what)

    cpu0, t0 = time.process_time(), time.perf_counter()
    import_s, _ = run_clients(min(clients, len(chunks)), worker)
    path = f"/api/dm/actions?id=predictions_to_annotations&project={project}"
    sent = time.perf_counter()
    converted = 0
    try:
        status, data = api.send("POST", path, action)
        m = re.search(r"Created (\d+) annotations", data.decode(errors="replace"))
        converted = int(m[1]) if status == 200 and m else 0
        tally.record(sent, status == 200 and m is not None,
                     f"POST {path}: {status} {data[:300].decode(errors='replace')}")
    except (OSError, http.client.HTTPException) as e:
        tally.record(sent, False, f"POST {path}: {e!r}")
    convert_s = time.perf_counter() - sent
    total_s, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    if converted != len(task_ids):
        tally.errors += 1
        tally.first_error = tally.first_error or f"converted {converted} predictions, expected {len(task_ids)}"
    return {
        "clients": clients,
        "tasks": len(task_ids),
        "predictions_imported": imported[0],
        "annotations": converted,
        "requests": len(tally.ms),
        "errors": tally.errors,
        "import_s": round(import_s, 2),
        "convert_s": round(convert_s, 2),
        "duration_s": round(total_s, 2),
        "annotations_per_s": round(converted / total_s, 1) if total_s else 0.0,
        "import_request_p99_ms": round(percentile(sorted(tally.ms[:-1]), 0.99), 2) if len(tally.ms) > 1 else None,
        "driver_cpu_pct": round(100 * cpu / total_s, 1) if total_s else 0.0,
        **({"first_error": tally.first_error} if tally.first_error else {}),
    }


def check_count(api, project, expected, out, key):
    """Compares the project's annotation count with what the phases reported made."""
    got = api.call("GET", f"/api/projects/{project}/")["total_annotations_number"]
    out[key] = {"expected": expected, "found": got}
    if got != expected:
        print(f"peer-bench: project {project} holds {got} annotations, expected {expected}", file=sys.stderr)
        return 1
    return 0


def label_studio(a):
    api = Api(a.base, a.token)
    c = a.clients
    if a.tasks < 4 * c:
        raise SystemExit(f"peer-bench: --tasks must be at least 4 x clients ({4 * c})")
    log = lambda msg: print(f"scripts/peer-bench: {msg}", file=sys.stderr, flush=True)
    out = {"tasks": a.tasks, "duration_s": a.duration, "clients": c}

    # Setup, untimed: the labeling project with its tasks (the first C only warm the workers up)
    # and the bulk project with its own N tasks.
    project = api.call("POST", "/api/projects/", {"title": "peer-bench label", "label_config": LABEL_CONFIG})["id"]
    bulk_project = api.call("POST", "/api/projects/", {"title": "peer-bench bulk", "label_config": LABEL_CONFIG})["id"]
    t0 = time.perf_counter()
    ids = import_tasks(api, project, a.tasks + c, 0)
    bulk_ids = import_tasks(api, bulk_project, a.tasks, a.tasks + c)
    out["setup_import_tasks_per_s"] = round((2 * a.tasks + c) / (time.perf_counter() - t0), 1)
    log(f"Label Studio: imported {a.tasks + c} + {a.tasks} tasks in {time.perf_counter() - t0:.1f} s")
    bodies = [json.dumps({"result": result_items(r), "lead_time": 1.0}).encode() for r in range(64)]
    patches = [json.dumps({"result": result_items(r + 1)}).encode() for r in range(64)]

    warm, ids = ids[:c], ids[c:]
    # Warm-up, untimed: every client creates one annotation and updates it for a second, so each
    # worker process has served both kinds of request before the clock starts.
    warm_out, warm_made = create_phase(api, warm, c, 60, bodies)
    if warm_out["errors"] or len(warm_made) < c:
        raise SystemExit(f"peer-bench: the warm-up failed: {warm_out.get('first_error')}")
    warm_out = update_phase(api, warm_made, c, 1.0, patches)
    if warm_out["errors"]:
        raise SystemExit(f"peer-bench: the warm-up failed: {warm_out.get('first_error')}")

    half = len(ids) // 2
    made = []
    for name, clients, pool in (("create_1", 1, ids[:half]), (f"create_{c}", c, ids[half:])):
        log(f"Label Studio: {name} ({clients} client{'s' if clients > 1 else ''}, up to {len(pool)} tasks, {a.duration} s)")
        out[name], m = create_phase(api, pool, clients, a.duration, bodies)
        made += m
        log(f"  {out[name]['annotations_per_s']} annotations/s, p99 {out[name]['p99_ms']} ms, {out[name]['errors']} errors")
    failed = check_count(api, project, len(warm_made) + len(made), out, "check_annotations_created")
    if len(made) < c:
        raise SystemExit(f"peer-bench: the create phases made {len(made)} annotations, fewer than {c} clients")
    for name, clients in (("update_1", 1), (f"update_{c}", c)):
        log(f"Label Studio: {name} ({clients} client{'s' if clients > 1 else ''}, {len(made)} annotations, {a.duration} s)")
        out[name] = update_phase(api, made, clients, a.duration, patches)
        log(f"  {out[name]['annotations_per_s']} annotations/s, p99 {out[name]['p99_ms']} ms, {out[name]['errors']} errors")
    failed += check_count(api, project, len(warm_made) + len(made), out, "check_annotations_after_updates")

    log(f"Label Studio: bulk (predictions import + predictions_to_annotations over {len(bulk_ids)} tasks)")
    out["bulk"] = bulk_phase(api, bulk_project, bulk_ids, c)
    log(f"  {out['bulk']['annotations_per_s']} annotations/s ({out['bulk']['import_s']} s import, "
        f"{out['bulk']['convert_s']} s conversion), {out['bulk']['errors']} errors")
    failed += check_count(api, bulk_project, len(bulk_ids), out, "check_annotations_bulk")
    out["check_errors"] = failed
    with open(a.out, "w") as f:
        json.dump(out, f, indent=2)


def fmt(x, digits=1):
    return "-" if x is None else f"{x:,.{digits}f}"


def report(a):
    meta = dict(kv.split("=", 1) for kv in a.meta)
    ls = None
    if os.path.exists(os.path.join(a.dir, "label-studio.json")):
        ls = json.load(open(os.path.join(a.dir, "label-studio.json")))
    tl = {}
    for path in sorted(glob.glob(os.path.join(a.dir, "teamlabel-b*-c*.json"))):
        m = re.search(r"teamlabel-b(\d+)-c(\d+)\.json$", path)
        tl[(int(m[1]), int(m[2]))] = json.load(open(path))
    c = int(meta.get("clients", 8))

    # Each Label Studio workload beside the teamlabel run that does the same labeling: one
    # sample's class and two boxes per request (-b 1) at the same client count, and the bulk
    # path beside batches of 100 samples at C clients.
    rows = [
        ("annotation create, 1 client", "create_1", (1, 1)),
        ("annotation update, 1 client", "update_1", (1, 1)),
        (f"annotation create, {c} clients", f"create_{c}", (1, c)),
        (f"annotation update, {c} clients", f"update_{c}", (1, c)),
        ("bulk labeling of existing tasks", "bulk", (100, c)),
    ]
    table = []
    for title, ls_key, tl_key in rows:
        l = (ls or {}).get(ls_key)
        t = tl.get(tl_key)
        ls_rate = l["annotations_per_s"] if l else None
        tl_rate = t["samples_per_s"] if t else None
        table.append({
            "workload": title,
            "label_studio": ls_key if l else None,
            "teamlabel": f"label -b {tl_key[0]} -c {tl_key[1]}" if t else None,
            "label_studio_annotations_per_s": ls_rate,
            "label_studio_p99_ms": (l or {}).get("p99_ms"),
            "label_studio_errors": (l or {}).get("errors"),
            "teamlabel_samples_per_s": tl_rate,
            "teamlabel_p99_ms": (t or {}).get("p99_ms"),
            "teamlabel_errors": (t or {}).get("errors"),
            "ratio": round(tl_rate / ls_rate, 1) if ls_rate and tl_rate is not None else None,
        })

    print()
    print(f"Label Studio {meta.get('label_studio_version', '-')} ({meta.get('label_studio_setup', '-')})")
    print(f"teamlabel {meta.get('teamlabel_commit', '-')} (binaries in {meta.get('teamlabel_binaries', '-')}, "
          f"backend {meta.get('teamlabel_backend', '-')}, {meta.get('teamlabel_samples', '-')} samples)")
    print(f"Python {meta.get('python', '-')}, PostgreSQL {meta.get('postgresql', '-')}, {meta.get('cores', '-')} cores; "
          f"{meta.get('tasks', '-')} tasks per Label Studio project, {meta.get('duration', '-')} s per timed phase")
    print()
    head = ("workload", "LS ann/s", "LS p99 ms", "teamlabel samples/s", "tl p99 ms", "ratio tl/LS", "failed LS/tl")
    lines = [head] + [(r["workload"], fmt(r["label_studio_annotations_per_s"]), fmt(r["label_studio_p99_ms"]),
                       fmt(r["teamlabel_samples_per_s"], 0), fmt(r["teamlabel_p99_ms"]),
                       "-" if r["ratio"] is None else f"{r['ratio']:,.1f}x",
                       f"{fmt(r['label_studio_errors'], 0)}/{fmt(r['teamlabel_errors'], 0)}") for r in table]
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for n, line in enumerate(lines):
        print("  ".join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(line)))
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print()
    print("Annotations (Label Studio) and labeled samples (teamlabel) per second; each one class and two boxes.")
    print("teamlabel: the `label` scenario, labelers updating the labels of samples assigned to them;")
    print("its -b 1 runs send one sample per request, its -b 100 run 100 per request (p99 is per request).")
    if ls and "bulk" in ls:
        b = ls["bulk"]
        print(f"Label Studio bulk: {b['annotations']} tasks in one pass, {b['import_s']} s prediction import "
              f"+ {b['convert_s']} s predictions_to_annotations (no per-annotation latency; p99 not applicable).")

    errors = []
    for r in table:
        for side in ("label_studio", "teamlabel"):
            if r[f"{side}_errors"]:
                errors.append(f"{r['workload']}: {side} counted {r[f'{side}_errors']} failed requests")
    if ls and ls.get("check_errors"):
        errors.append(f"Label Studio: {ls['check_errors']} annotation count checks failed")
    result = {"meta": meta, "table": table, "label_studio": ls,
              "teamlabel": {f"b{b}-c{cl}": v for (b, cl), v in sorted(tl.items())}, "errors": errors}
    with open(os.path.join(a.dir, "result.json"), "w") as f:
        json.dump(result, f, indent=2)
    print(f"written: {os.path.join(a.dir, 'result.json')}")
    for e in errors:
        print(f"scripts/peer-bench: FAILED REQUESTS: {e}", file=sys.stderr)
    return 1 if errors else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("free-port")
    p = sub.add_parser("label-studio")
    p.add_argument("--base", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--tasks", type=int, default=10000)
    p.add_argument("--duration", type=float, default=30)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--out", required=True)
    r = sub.add_parser("report")
    r.add_argument("--dir", required=True)
    r.add_argument("--meta", action="append", default=[], help="KEY=VALUE shown in the header and result.json")
    a = ap.parse_args()
    if a.cmd == "free-port":
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])
        s.close()
    elif a.cmd == "label-studio":
        label_studio(a)
    else:
        sys.exit(report(a))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
