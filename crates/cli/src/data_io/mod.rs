//! `import` and `export`: start a dataset import or export, follow it to its end with a progress
//! display, print what it did, and tell by the exit status whether anything was lost (0 nothing,
//! 2 completed with samples skipped or labels dropped, 1 failed). They run against a running
//! server (`--server`) or, with the server stopped, on its data (`--data-dir`).

mod show;
mod target;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::parser::ValueSource;
use clap::ArgMatches;
use teamlabel_api::data_io::{CreateExportTaskRequest, CreateImportTaskRequest, LabelRef};

use crate::config::StoreArgs;
use crate::objects::ObjectsArgs;
use show::{Progress, Unit};
use target::{Target, Zip};

/// How often a running task is read.
const POLL: Duration = Duration::from_millis(500);

/// How long waiting rides out a server that cannot be reached (a restart) before giving up.
const UNREACHABLE_FOR: Duration = Duration::from_secs(30);

pub const IMPORT_HELP: &str = "Import files from the object storage into a dataset and wait for the import to end.

Runs through a running server (--server, with --token or --ak/--sk) or, with the server stopped, in this process on its data (--data-dir, acting as the user --email names). Progress goes to standard error: a bar on a terminal, otherwise a line every 2 seconds and one at the end. The summary goes to standard output: the counts, then the first issues, each with its file, line and reason.

Exit status: 0 when the task completed and lost nothing; 2 when it completed but skipped samples (a line or file that could not be read, a sample already in the dataset, one left out by --included-label) or dropped labels, or with --strict converted some; 1 when it failed, the server refused the request (its error code and message are printed) or could not be reached.

Example:
  export TEAMLABEL_SERVER=http://127.0.0.1:8080 TEAMLABEL_PROJECT_ID=$P TEAMLABEL_TOKEN=$T
  teamlabel import --dataset-id $D obs://my-images/animals/
  teamlabel import --dataset-id $D /my-bucket/labels/train.manifest";

pub const EXPORT_HELP: &str = "Export a dataset's samples and labels into the object storage, wait for the export to end, and optionally download the files as one zip.

Runs through a running server (--server, with --token or --ak/--sk) or, with the server stopped, in this process on its data (--data-dir, acting as the user --email names). Progress goes to standard error: a bar on a terminal, otherwise a line every 2 seconds and one at the end. The summary goes to standard output: the counts, where the report of every dropped or converted label is, and the first issues.

Exit status: 0 when the task completed and lost nothing; 2 when it completed but dropped labels the format cannot hold (a line or a point in YOLO) or left samples out, or with --strict converted labels to fit (a polygon written as its box in YOLO); 1 when it failed, the server refused the request (its error code and message are printed), could not be reached, or the download failed.

Example:
  export TEAMLABEL_SERVER=http://127.0.0.1:8080 TEAMLABEL_PROJECT_ID=$P TEAMLABEL_TOKEN=$T
  teamlabel export --dataset-id $D --path obs://my-bucket/out/ --format COCO --download out.zip";

/// Where the task runs and as whom.
#[derive(clap::Args)]
pub struct Connection {
    /// Base URL of a running server, e.g. http://127.0.0.1:8080. A flag wins over an
    /// environment variable; given both ways, the server wins over --data-dir
    #[arg(long, env = "TEAMLABEL_SERVER", value_name = "URL")]
    pub server: Option<String>,

    /// The project (32 hex characters)
    #[arg(long, env = "TEAMLABEL_PROJECT_ID")]
    pub project_id: String,

    /// A token of the server (`init`, `token create` or initial-credentials.json print one).
    /// Prefer the environment variable: a flag shows in the process list
    #[arg(long, env = "TEAMLABEL_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// Access key of an AK/SK pair (requests are signed as the official SDKs sign them)
    #[arg(long, env = "TEAMLABEL_AK", requires = "sk")]
    pub ak: Option<String>,

    /// Secret key of the pair. Prefer the environment variable: a flag shows in the process list
    #[arg(long, env = "TEAMLABEL_SK", hide_env_values = true, requires = "ak")]
    pub sk: Option<String>,

    /// With --data-dir: the email of the project's user to act as (the owner a first start
    /// creates is owner@teamlabel.local)
    #[arg(long, help_heading = "With the server stopped")]
    pub email: Option<String>,

    #[command(flatten, next_help_heading = "With the server stopped")]
    pub store: StoreArgs,

    #[command(flatten, next_help_heading = "With the server stopped")]
    pub objects: ObjectsArgs,

    /// How --server and the store settings were given (filled from the parsed arguments).
    #[arg(skip)]
    pub given: (Given, Given),
}

/// How a setting was given; a flag outranks the environment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Given {
    #[default]
    No,
    Env,
    Flag,
}

impl Connection {
    /// Notes whether the server and the store settings came from flags or the environment:
    /// an operator's shell may carry TEAMLABEL_DATA_DIR for `serve` and still mean the server
    /// given on the command line, or the reverse.
    pub fn note_sources(&mut self, m: &ArgMatches) {
        let given = |id: &str| match m.value_source(id) {
            Some(ValueSource::CommandLine) => Given::Flag,
            Some(ValueSource::EnvVariable) => Given::Env,
            _ => Given::No,
        };
        let store = ["data_dir", "database", "config"]
            .map(given)
            .into_iter()
            .max()
            .unwrap_or_default();
        self.given = (given("server"), store);
    }

    async fn open(&self) -> anyhow::Result<Target> {
        match pick(self.given)? {
            Where::Server => Target::server(self.server.as_deref().unwrap_or_default(), self),
            Where::Local => Target::local(self).await,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Where {
    Server,
    Local,
}

fn pick((server, store): (Given, Given)) -> anyhow::Result<Where> {
    match (server, store) {
        (Given::No, Given::No) => anyhow::bail!(
            "where should the task run? Give --server URL (TEAMLABEL_SERVER) of a running server, \
             or --data-dir DIR of a stopped one"
        ),
        (Given::Flag, Given::Flag) => {
            anyhow::bail!("give --server or the data dir (--data-dir, --database, --config), not both")
        }
        (s, d) if s >= d => Ok(Where::Server),
        _ => Ok(Where::Local),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportType {
    Dir,
    Manifest,
    Coco,
}

#[derive(clap::Args)]
pub struct ImportArgs {
    /// The dataset to import into
    #[arg(long, visible_alias = "dataset", value_name = "ID")]
    pub dataset_id: String,

    /// What to import, in the object storage: a folder (`/bucket/dir/`, `obs://bucket/dir/`) or
    /// one file (`/bucket/train.manifest`, `obs://bucket/coco.json`). With the default local
    /// storage a bucket is a folder under DATA_DIR/buckets
    #[arg(value_name = "PATH")]
    pub path: String,

    /// `dir` (the folder layouts of the ModelArts guide), `manifest` (one manifest file) or
    /// `coco` (one COCO JSON file) [default: manifest for a .manifest file, coco for a .json
    /// file, dir otherwise]
    #[arg(long = "type", value_enum, value_name = "TYPE")]
    pub import_type: Option<ImportType>,

    /// Import the samples without their labels
    #[arg(long)]
    pub no_annotations: bool,

    /// Import only samples that carry this label (repeat for several: any of them)
    #[arg(long = "included-label", value_name = "LABEL")]
    pub included_labels: Vec<String>,

    /// Skip samples that carry this label (repeat for several)
    #[arg(long = "excluded-label", value_name = "LABEL")]
    pub excluded_labels: Vec<String>,

    /// Exit with status 2 also when labels were converted to fit (a polygon written as its
    /// bounding box), not only when something was left out
    #[arg(long)]
    pub strict: bool,

    #[command(flatten)]
    pub wait: Wait,

    // Last: its store settings open a help heading of their own.
    #[command(flatten)]
    pub conn: Connection,
}

#[derive(clap::Args)]
pub struct Wait {
    /// Print the task id and return at once; the server goes on with the task
    #[arg(long, overrides_with = "wait")]
    pub no_wait: bool,

    /// Wait for the task to end (the default)
    #[arg(long, overrides_with = "no_wait")]
    pub wait: bool,
}

#[derive(clap::Args)]
pub struct ExportArgs {
    /// The dataset to export
    #[arg(long, visible_alias = "dataset", value_name = "ID")]
    pub dataset_id: String,

    /// The output folder in the object storage (`/bucket/dir/`, `obs://bucket/dir/`); it must
    /// be empty or missing
    #[arg(long, value_name = "PATH")]
    pub path: String,

    /// MANIFEST, VOC, COCO, YOLO, CLASSIFICATION, TSV, CONLL or JSONL (which fit depends on
    /// the dataset type) [default: the dataset type's usual format]
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,

    /// Which samples: 0 labeled, 1 unlabeled, 2 all [default: 2]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(0..=2))]
    pub export_type: Option<i32>,

    /// Image and sound classification layouts: 1 a folder per label, 2 a .txt beside each file
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(1..=2))]
    pub export_format: Option<i32>,

    /// Export this version of the dataset instead of its current samples and labels
    #[arg(long = "version", value_name = "VERSION_ID")]
    pub version_id: Option<String>,

    /// Once the export succeeded, download its files as one zip into FILE (written as
    /// FILE.part, then renamed, so FILE is never half-written)
    #[arg(long, value_name = "FILE")]
    pub download: Option<PathBuf>,

    /// Exit with status 2 also when labels were converted to fit (a polygon written as its
    /// bounding box), not only when something was left out
    #[arg(long)]
    pub strict: bool,

    #[command(flatten)]
    pub wait: Wait,

    // Last: its store settings open a help heading of their own.
    #[command(flatten)]
    pub conn: Connection,
}

/// Whether a task that ended lost something; `Err` is a failure (exit status 1).
pub enum Outcome {
    Clean,
    Lossy(String),
}

/// Exits with status 2 after a lossy task, saying why on standard error.
pub fn finish(outcome: Outcome) {
    if let Outcome::Lossy(why) = outcome {
        eprintln!("teamlabel: completed, but {why} (exit status 2): see the issues above");
        std::process::exit(2);
    }
}

pub async fn import(args: ImportArgs) -> anyhow::Result<Outcome> {
    let target = args.conn.open().await?;
    check_wait(&target, &args.wait)?;
    let import_type = args.import_type.unwrap_or_else(|| infer_type(&args.path));
    let labels = |names: &[String]| (!names.is_empty()).then(|| names.iter().cloned().map(LabelRef::Name).collect());
    let req = CreateImportTaskRequest {
        import_path: args.path.clone(),
        import_type: Some(format!("{import_type:?}").to_lowercase()),
        import_annotations: args.no_annotations.then_some(false),
        included_labels: labels(&args.included_labels),
        excluded_labels: labels(&args.excluded_labels),
        ..Default::default()
    };
    let dataset = &args.dataset_id;
    let task_id = target.create_import(dataset, &req).await?;
    if args.wait.no_wait {
        println!("{task_id}");
        return Ok(Outcome::Clean);
    }
    eprintln!(
        "import {task_id} of {} into dataset {dataset} started {}",
        args.path,
        target.describe()
    );
    let mut progress = Progress::new("import", Unit::SamplesSoFar);
    let mut unreachable = None;
    let task = loop {
        let Some(t) = poll(target.import_task(dataset, &task_id).await, &mut unreachable, &target).await? else {
            continue;
        };
        progress.update(
            t.processed_sample_count,
            t.total_sample_count,
            &format!(
                "{} imported, {} skipped",
                t.imported_sample_count, t.skipped_sample_count
            ),
            || show::import_line(&t),
        );
        if matches!(t.status.as_str(), "COMPLETED" | "FAILED") {
            break t;
        }
        tokio::time::sleep(POLL).await;
    };
    progress.finish(&show::import_line(&task));
    print!("{}", show::import_summary(&task));
    if task.status == "FAILED" {
        anyhow::bail!(
            "import {task_id} failed: {} {}",
            task.error_code.as_deref().unwrap_or("(no error code)"),
            task.error_msg.as_deref().unwrap_or_default()
        );
    }
    Ok(show::import_losses(&task, args.strict).map_or(Outcome::Clean, Outcome::Lossy))
}

pub async fn export(args: ExportArgs) -> anyhow::Result<Outcome> {
    let target = args.conn.open().await?;
    check_wait(&target, &args.wait)?;
    anyhow::ensure!(
        !(args.wait.no_wait && args.download.is_some()),
        "--download needs the export to end: leave out --no-wait"
    );
    let req = CreateExportTaskRequest {
        path: args.path.clone(),
        annotation_format: args.format.as_ref().map(|f| f.to_uppercase()),
        export_type: args.export_type,
        export_format: args.export_format,
        version_id: args.version_id.clone(),
        ..Default::default()
    };
    let dataset = &args.dataset_id;
    let task_id = target.create_export(dataset, &req).await?;
    if args.wait.no_wait {
        println!("{task_id}");
        return Ok(Outcome::Clean);
    }
    eprintln!(
        "export {task_id} of dataset {dataset} to {} started {}",
        args.path,
        target.describe()
    );
    let mut progress = Progress::new("export", Unit::Samples);
    let mut unreachable = None;
    let task = loop {
        let Some(t) = poll(target.export_task(dataset, &task_id).await, &mut unreachable, &target).await? else {
            continue;
        };
        progress.update(
            t.finished_sample_count,
            t.total_sample_count,
            &format!(
                "{} dropped, {} converted",
                t.dropped_label_count, t.converted_label_count
            ),
            || show::export_line(&t),
        );
        if matches!(t.status.as_str(), "SUCCESSED" | "FAILED") {
            break t;
        }
        tokio::time::sleep(POLL).await;
    };
    progress.finish(&show::export_line(&task));
    print!("{}", show::export_summary(&task));
    if task.status == "FAILED" {
        anyhow::bail!(
            "export {task_id} failed: {} {}",
            task.error_code.as_deref().unwrap_or("(no error code)"),
            task.error_msg.as_deref().unwrap_or_default()
        );
    }
    if let Some(file) = &args.download {
        let zip = target.download(dataset, &task_id).await?;
        let bytes = save(zip, file).await?;
        println!("downloaded {} ({bytes} bytes)", file.display());
    }
    Ok(show::export_losses(&task, args.strict).map_or(Outcome::Clean, Outcome::Lossy))
}

/// `--no-wait` leaves the task to whoever runs it: refused when that is this process.
fn check_wait(target: &Target, wait: &Wait) -> anyhow::Result<()> {
    anyhow::ensure!(
        !wait.no_wait || target.outlives_us(),
        "--no-wait needs --server: with --data-dir the task runs in this process and would stop with it"
    );
    Ok(())
}

/// One read of a running task: the task, or `None` after a transient failure (after a pause),
/// or the failure once the server has been out of reach for [`UNREACHABLE_FOR`].
async fn poll<T>(
    read: Result<T, target::Failure>,
    since: &mut Option<Instant>,
    target: &Target,
) -> anyhow::Result<Option<T>> {
    match read {
        Ok(t) => {
            *since = None;
            Ok(Some(t))
        }
        Err(e) if e.transient && since.get_or_insert_with(Instant::now).elapsed() < UNREACHABLE_FOR => {
            tokio::time::sleep(POLL).await;
            Ok(None)
        }
        Err(e) if target.outlives_us() => Err(anyhow::Error::new(e)
            .context("lost the server while waiting; the task may still be running there, read it again later")),
        Err(e) => Err(e.into()),
    }
}

/// The import type a path suggests: a manifest or COCO file by its extension, else a folder.
fn infer_type(path: &str) -> ImportType {
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".manifest") {
        ImportType::Manifest
    } else if lower.ends_with(".json") {
        ImportType::Coco
    } else {
        ImportType::Dir
    }
}

/// Streams a download into `file`: written to `FILE.part`, synced, then renamed, so `file` is
/// either whole or untouched; a failed download removes the part.
async fn save(mut zip: Zip<'_>, file: &Path) -> anyhow::Result<u64> {
    use tokio::io::AsyncWriteExt;
    let part = part_path(file);
    let written = async {
        let mut out = tokio::fs::File::create(&part)
            .await
            .with_context(|| format!("cannot create {}", part.display()))?;
        let total = zip.expected_len().unwrap_or(0);
        let mut progress = Progress::new("download", Unit::Bytes { total: total > 0 });
        let mut done = 0u64;
        let mut tail = Vec::with_capacity(2 * EOCD_LEN);
        while let Some(chunk) = zip.chunk().await.context("the download was cut short")? {
            out.write_all(&chunk)
                .await
                .with_context(|| format!("cannot write {}", part.display()))?;
            done += chunk.len() as u64;
            tail.extend_from_slice(&chunk[chunk.len().saturating_sub(EOCD_LEN)..]);
            tail.drain(..tail.len().saturating_sub(EOCD_LEN));
            progress.update(done, total, "", || format!("download: {done} bytes"));
        }
        progress.finish(&format!("download: {done} bytes"));
        // A server whose zipping fails midway can only end the body early; a body that ends
        // cleanly but without the end record is such an archive, not a whole one.
        anyhow::ensure!(
            tail.len() == EOCD_LEN && tail.starts_with(b"PK\x05\x06"),
            "the download ended before the archive did ({done} bytes, no end of central directory): \
             the server stopped making it; its log says why"
        );
        out.sync_all()
            .await
            .with_context(|| format!("cannot write {}", part.display()))?;
        anyhow::Ok(done)
    }
    .await;
    match written {
        Ok(done) => {
            tokio::fs::rename(&part, file)
                .await
                .with_context(|| format!("cannot rename {} to {}", part.display(), file.display()))?;
            Ok(done)
        }
        Err(e) => {
            let _ = tokio::fs::remove_file(&part).await;
            Err(e)
        }
    }
}

/// Length of a zip's end of central directory record without a comment: the last bytes of
/// every archive the server makes.
const EOCD_LEN: usize = 22;

/// `FILE.part` beside `FILE`.
fn part_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".part");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_outranks_the_environment_and_the_server_wins_a_tie() {
        use Given::*;
        assert_eq!(pick((Flag, Env)).unwrap(), Where::Server);
        assert_eq!(pick((Env, Flag)).unwrap(), Where::Local);
        assert_eq!(pick((Env, Env)).unwrap(), Where::Server);
        assert_eq!(pick((No, Env)).unwrap(), Where::Local);
        assert!(pick((Flag, Flag)).is_err());
        assert!(pick((No, No)).is_err());
    }

    #[test]
    fn the_import_type_follows_the_path() {
        assert_eq!(infer_type("obs://b/x/train.MANIFEST"), ImportType::Manifest);
        assert_eq!(infer_type("/b/coco/instances.json"), ImportType::Coco);
        assert_eq!(infer_type("/b/images/"), ImportType::Dir);
        assert_eq!(part_path(Path::new("out/a.zip")), PathBuf::from("out/a.zip.part"));
    }
}
