//! `teamlabel import` and `export` as an operator runs them: against a server started on a
//! temporary data dir, with files put in its local buckets (plain folders under
//! DATA_DIR/buckets), and with that server stopped, on its data dir. Standard error is not a
//! terminal here, so progress comes as plain lines. Checked: the exit status (0 nothing lost,
//! 2 something skipped or dropped, 1 a failure), the printed counts and issues, and the samples
//! as the API then lists them.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use teamlabel_client::{Auth, Client};

use crate::helpers::{serve, stop, Server, BIN};

/// The credentials a first start wrote.
fn credentials(data: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(data.join("initial-credentials.json")).unwrap()).unwrap()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn owner(s: &Server, creds: &Value) -> Client {
    Client::new(
        &s.base,
        creds["project_id"].as_str().unwrap(),
        Auth::Token(creds["token"].as_str().unwrap().to_string()),
    )
}

fn create_dataset(c: &Client, name: &str, dataset_type: i32, labels: Value) -> String {
    let body = json!({"dataset_name": name, "dataset_type": dataset_type, "labels": labels});
    let created: Value = block_on(c.create_dataset(&body)).unwrap();
    created["dataset_id"].as_str().unwrap().to_string()
}

fn sample_count(c: &Client, dataset: &str) -> u64 {
    let listed: Value = block_on(c.list_samples(dataset, &[("limit", "100")])).unwrap();
    listed["sample_count"].as_u64().unwrap()
}

/// Writes a file into the local object storage of the server on `data`.
fn put(data: &Path, key: &str, text: &str) {
    let path = data.join("buckets").join(key.trim_start_matches('/'));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A manifest of image-classification samples, one line each.
fn manifest(bucket_dir: &str, names: &[&str]) -> String {
    names
        .iter()
        .map(|n| {
            format!(
                r#"{{"source":"obs://{bucket_dir}/{n}.jpg","annotation":[{{"type":"modelarts/image_classification","name":"cat"}}]}}"#
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `teamlabel` with `args` and no TEAMLABEL_* settings but `env`.
fn teamlabel(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("TEAMLABEL_") {
            cmd.env_remove(k);
        }
    }
    cmd.args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = teamlabel(args, env);
    Run {
        code: out.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

#[test]
fn an_import_exits_0_when_whole_2_when_lines_were_skipped_and_1_when_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = serve(&data, None, &[]);
    let creds = credentials(&data);
    let c = owner(&server, &creds);
    let project = creds["project_id"].as_str().unwrap();
    let token = creds["token"].as_str().unwrap();
    let d = create_dataset(&c, "pets", 0, json!([{"name": "cat"}]));
    let base = server.base.clone();
    let with_token = [
        ("TEAMLABEL_SERVER", base.as_str()),
        ("TEAMLABEL_PROJECT_ID", project),
        ("TEAMLABEL_TOKEN", token),
    ];

    put(&data, "in-bkt/m/good.manifest", &manifest("in-bkt/img", &["1", "2"]));
    let good = run(&["import", "--dataset-id", &d, "/in-bkt/m/good.manifest"], &with_token);
    assert_eq!(good.code, 0, "{good}");
    assert!(good.stdout.contains("COMPLETED"), "{good}");
    assert!(
        good.stdout.contains("2/2 samples processed, 2 imported, 0 skipped"),
        "{good}"
    );
    assert!(good.stdout.contains("2 samples with labels, 2 labels placed"), "{good}");
    // Not a terminal: plain progress lines, the last with the final counts.
    let last = good.stderr.lines().last().unwrap();
    assert!(
        last.starts_with("import ") && last.contains("COMPLETED, 2/2 samples processed"),
        "{good}"
    );
    assert_eq!(sample_count(&c, &d), 2);

    // One broken line among three: the other two come in, the line is named with its reason.
    let bad = [
        manifest("in-bkt/img", &["3"]),
        r#"{"source":"obs://in-bkt/img/4.jpg","annotation":["#.to_string(),
        manifest("in-bkt/img", &["5"]),
    ]
    .join("\n");
    put(&data, "in-bkt/m/bad.manifest", &bad);
    // Signed with the AK/SK pair this time, given as flags.
    let signed = run(
        &[
            "import",
            "--server",
            &server.base,
            "--project-id",
            project,
            "--ak",
            creds["access_key"].as_str().unwrap(),
            "--sk",
            creds["secret_key"].as_str().unwrap(),
            "--dataset",
            &d,
            "obs://in-bkt/m/bad.manifest",
        ],
        &[],
    );
    assert_eq!(signed.code, 2, "{signed}");
    assert!(signed.stdout.contains("2 imported, 1 skipped"), "{signed}");
    let issue = signed
        .stdout
        .lines()
        .find(|l| l.contains("/in-bkt/m/bad.manifest:2: skipped: "))
        .unwrap_or_else(|| panic!("the broken line is named: {signed}"));
    assert!(
        issue.len() > "/in-bkt/m/bad.manifest:2: skipped: ".len() + 2,
        "with a reason: {signed}"
    );
    assert!(
        signed.stderr.contains("1 sample was skipped (exit status 2)"),
        "{signed}"
    );
    assert_eq!(sample_count(&c, &d), 4);

    // --no-wait prints the task id alone; the server goes on with it.
    put(&data, "in-bkt/m/later.manifest", &manifest("in-bkt/img", &["6"]));
    let queued = run(
        &["import", "--no-wait", "--dataset-id", &d, "/in-bkt/m/later.manifest"],
        &with_token,
    );
    assert_eq!(queued.code, 0, "{queued}");
    assert_eq!(queued.stdout.trim().len(), 19, "a task id: {queued}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while sample_count(&c, &d) < 5 {
        assert!(Instant::now() < deadline, "the import queued with --no-wait ran");
        std::thread::sleep(Duration::from_millis(100));
    }

    let missing = run(
        &["import", "--dataset-id", "no-such-dataset", "/in-bkt/m/good.manifest"],
        &with_token,
    );
    assert_eq!(missing.code, 1, "{missing}");
    assert!(missing.stderr.contains("ModelArts.4352"), "the error code: {missing}");

    let nothing = run(&["import", "--dataset-id", &d, "/in-bkt/none/"], &with_token);
    assert_eq!(nothing.code, 1, "{nothing}");
    assert!(nothing.stdout.contains("FAILED"), "{nothing}");
    assert!(
        nothing.stderr.contains("ModelArts.4340"),
        "the task's error code: {nothing}"
    );

    let bad_token = run(
        &["import", "--dataset-id", &d, "/in-bkt/m/good.manifest"],
        &[with_token[0], with_token[1], ("TEAMLABEL_TOKEN", "tl_not-a-token")],
    );
    assert_eq!(bad_token.code, 1, "{bad_token}");
    assert!(bad_token.stderr.contains("HTTP 401"), "{bad_token}");

    stop(server);
    let down = run(&["import", "--dataset-id", &d, "/in-bkt/m/good.manifest"], &with_token);
    assert_eq!(down.code, 1, "{down}");
    assert!(down.stderr.contains("cannot reach the server at"), "{down}");
}

#[test]
fn an_import_runs_on_the_data_dir_of_a_stopped_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = serve(&data, None, &[]);
    let creds = credentials(&data);
    let project = creds["project_id"].as_str().unwrap().to_string();
    let d = create_dataset(&owner(&server, &creds), "offline", 0, json!([{"name": "cat"}]));
    stop(server);

    put(&data, "in-bkt/m/a.manifest", &manifest("in-bkt/img", &["1", "2", "3"]));
    let data_dir = data.to_str().unwrap();
    let local = [
        "import",
        "--project-id",
        &project,
        "--dataset-id",
        &d,
        "/in-bkt/m/a.manifest",
    ];
    let no_email = run(&[&local[..], &["--data-dir", data_dir]].concat(), &[]);
    assert_eq!(no_email.code, 1, "{no_email}");
    assert!(no_email.stderr.contains("--email"), "{no_email}");
    let no_dir = run(
        &[
            &local[..],
            &[
                "--data-dir",
                dir.path().join("nowhere").to_str().unwrap(),
                "--email",
                "owner@teamlabel.local",
            ],
        ]
        .concat(),
        &[],
    );
    assert_eq!(no_dir.code, 1, "{no_dir}");
    assert!(no_dir.stderr.contains("does not exist"), "{no_dir}");
    assert!(!dir.path().join("nowhere").exists(), "no empty store is created");

    // The data dir from the environment; a flag for the server would win over it.
    let offline = run(
        &[&local[..], &["--email", "owner@teamlabel.local"]].concat(),
        &[("TEAMLABEL_DATA_DIR", data_dir)],
    );
    assert_eq!(offline.code, 0, "{offline}");
    assert!(
        offline.stderr.contains("in this process, as owner@teamlabel.local"),
        "{offline}"
    );
    assert!(offline.stdout.contains("3 imported, 0 skipped"), "{offline}");

    let server = serve(&data, None, &[]);
    assert_eq!(
        sample_count(&owner(&server, &creds), &d),
        3,
        "the server sees what came in"
    );
    stop(server);
}

/// A 2x2 PNG.
const PNG_B64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAADklEQVR4nGNoAAMGCAUAKg4GARWeQtcAAAAASUVORK5CYII=";

fn shape(name: &str, shape: &str, feature: Value) -> Value {
    json!({"name": name, "type": 1, "property": {"@modelarts:shape": shape, "@modelarts:feature": feature}})
}

/// A detection dataset of 2x2 images: `a.png` with a box and a polygon, `b.png` with a box.
fn detection(c: &Client, name: &str) -> String {
    let d = create_dataset(
        c,
        name,
        1,
        json!([{"name": "car", "type": 1}, {"name": "road", "type": 1}]),
    );
    let samples = json!({"samples": [
        {"name": "a.png", "data": PNG_B64, "labels": [
            shape("car", "bndbox", json!([[0, 0], [1, 1]])),
            shape("car", "polygon", json!([[0, 0], [2, 0], [2, 2], [0, 2]]))]},
        {"name": "b.png", "data": PNG_B64, "labels": [shape("car", "bndbox", json!([[0, 0], [2, 2]]))]},
    ]});
    let added: Value = block_on(c.add_samples(&d, &samples)).unwrap();
    assert_eq!(added["success"], true, "{added}");
    d
}

/// The names in a zip file, sorted.
fn zip_names(path: &Path) -> Vec<String> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut names: Vec<String> = zip.file_names().map(str::to_string).collect();
    names.sort();
    for i in 0..zip.len() {
        // Reading every entry checks its CRC: the archive is whole, not only listed.
        std::io::copy(&mut zip.by_index(i).unwrap(), &mut std::io::sink()).unwrap();
    }
    names
}

#[test]
fn an_export_downloads_its_zip_and_exits_2_when_the_format_drops_a_label() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = serve(&data, None, &[]);
    let creds = credentials(&data);
    let c = owner(&server, &creds);
    let base = server.base.clone();
    let env = [
        ("TEAMLABEL_SERVER", base.as_str()),
        ("TEAMLABEL_PROJECT_ID", creds["project_id"].as_str().unwrap()),
        ("TEAMLABEL_TOKEN", creds["token"].as_str().unwrap()),
    ];
    // Exports write into buckets that exist; a local bucket is a folder.
    put(&data, "exports/README", "exports land here");
    let d = detection(&c, "cars");

    let file = dir.path().join("cars-coco.zip");
    let coco = run(
        &[
            "export",
            "--dataset-id",
            &d,
            "--path",
            "/exports/coco/",
            "--format",
            "coco",
            "--download",
            file.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(coco.code, 0, "{coco}");
    assert!(
        coco.stdout
            .contains("SUCCESSED: 2/2 samples written; labels: 0 dropped, 0 converted"),
        "{coco}"
    );
    assert!(
        coco.stdout
            .contains(&format!("dataset {d} as COCO to obs://exports/coco/")),
        "{coco}"
    );
    assert!(
        coco.stdout.contains("report (every dropped or converted label): "),
        "{coco}"
    );
    assert!(
        coco.stdout.contains(&format!("downloaded {}", file.display())),
        "{coco}"
    );
    assert_eq!(
        zip_names(&file),
        [
            "annotations.json",
            "export-report.jsonl",
            "images/a.png",
            "images/b.png"
        ],
        "{coco}"
    );
    assert!(
        !dir.path().join("cars-coco.zip.part").exists(),
        "the part file is renamed"
    );

    // YOLO holds boxes: the polygon is written as its box. Converted, not lost, unless --strict.
    let yolo = run(
        &[
            "export",
            "--dataset-id",
            &d,
            "--path",
            "/exports/yolo/",
            "--format",
            "YOLO",
        ],
        &env,
    );
    assert_eq!(yolo.code, 0, "{yolo}");
    assert!(yolo.stdout.contains("labels: 0 dropped, 1 converted"), "{yolo}");
    assert!(
        yolo.stdout
            .contains("label \"car\"): converted: polygon written as its bounding box"),
        "{yolo}"
    );
    let strict = run(
        &[
            "export",
            "--strict",
            "--dataset-id",
            &d,
            "--path",
            "/exports/yolo-strict/",
            "--format",
            "YOLO",
        ],
        &env,
    );
    assert_eq!(strict.code, 2, "{strict}");
    assert!(
        strict.stderr.contains("1 label was converted (exit status 2)"),
        "{strict}"
    );

    // A line has no YOLO form at all: dropped, named, and the exit status says so.
    let lines = create_dataset(&c, "roads", 1, json!([{"name": "road", "type": 1}]));
    let samples = json!({"samples": [{"name": "r.png", "data": PNG_B64, "labels": [
        shape("road", "line", json!([[0, 0], [2, 2]]))]}]});
    let added: Value = block_on(c.add_samples(&lines, &samples)).unwrap();
    assert_eq!(added["success"], true, "{added}");
    let dropped = run(
        &[
            "export",
            "--dataset-id",
            &lines,
            "--path",
            "/exports/roads/",
            "--format",
            "YOLO",
        ],
        &env,
    );
    assert_eq!(dropped.code, 2, "{dropped}");
    assert!(dropped.stdout.contains("labels: 1 dropped"), "{dropped}");
    assert!(dropped.stdout.contains("label \"road\"): dropped: "), "{dropped}");
    assert!(
        dropped.stdout.contains("export-report.jsonl"),
        "where the report is: {dropped}"
    );
    assert!(
        dropped.stderr.contains("1 label was dropped (exit status 2)"),
        "{dropped}"
    );

    // The output folder must be empty: the server's refusal, with its code.
    let taken = run(&["export", "--dataset-id", &d, "--path", "/exports/coco/"], &env);
    assert_eq!(taken.code, 1, "{taken}");
    assert!(taken.stderr.contains("ModelArts.4358"), "{taken}");

    // With the server stopped, the same export runs on its data dir.
    stop(server);
    let offline = dir.path().join("offline.zip");
    let local = run(
        &[
            "export",
            "--project-id",
            creds["project_id"].as_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--email",
            "owner@teamlabel.local",
            "--dataset-id",
            &d,
            "--path",
            "obs://exports/offline/",
            "--format",
            "COCO",
            "--download",
            offline.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(local.code, 0, "{local}");
    assert_eq!(
        zip_names(&offline),
        [
            "annotations.json",
            "export-report.jsonl",
            "images/a.png",
            "images/b.png"
        ],
        "{local}"
    );
}

#[test]
fn help_tells_what_the_exit_statuses_mean() {
    for command in ["import", "export"] {
        let help = run(&[command, "--help"], &[]);
        assert_eq!(help.code, 0);
        for needle in [
            "Exit status: 0",
            "2 when it completed but",
            "Example:",
            "TEAMLABEL_SERVER",
        ] {
            assert!(
                help.stdout.contains(needle),
                "{command} --help lacks {needle:?}: {help}"
            );
        }
    }
}
