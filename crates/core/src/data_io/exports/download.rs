//! The download of a finished export (an addition): every file under its directory, the
//! report included, as one zip archive streamed while it is made. Objects are read one at a
//! time and sent on in chunks, so neither the archive nor a file is held whole; text files are
//! deflated, images and audio stored as they are. A failure while streaming ends the body
//! early, which a client sees as a broken archive (the central directory is missing), never as
//! a whole one.

use std::pin::Pin;
use std::task::{Context, Poll};

use teamlabel_formats::zip::{should_compress, ZipStream, MAX_ENTRY_SIZE};
use tokio::sync::mpsc;

use crate::app::App;
use crate::clock::now_ms;
use crate::data_io::exports::ExportPlan;
use crate::error::{codes, Error, Result};
use crate::iam::auth::Principal;
use crate::iam::policy::{self, Op, Standing};
use crate::objects::{ByteStream, ObjectPath};

/// Objects listed per call while zipping.
const LIST_PAGE: usize = 1000;

/// A finished export as a zip stream.
pub struct ExportDownload {
    /// `{dataset}-{task}.zip`.
    pub file_name: String,
    pub body: ByteStream,
}

struct Receiving(mpsc::Receiver<Result<bytes::Bytes>>);

impl futures_core::Stream for Receiving {
    type Item = Result<bytes::Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

impl App {
    pub async fn download_export(&self, p: &Principal, dataset_id: &str, task_id: &str) -> Result<ExportDownload> {
        policy::authorize(p, Op::DownloadExport, &Standing::project(p))?;
        let d = self.store.get_dataset(&p.project_id, dataset_id).await?;
        let task = self.export_task(dataset_id, task_id).await?;
        if task.status != "SUCCESSED" {
            return Err(Error::bad_request(
                codes::EXPORT_BAD_PARAMETER,
                format!(
                    "export task {task_id} is {}; only a finished (SUCCESSED) export can be downloaded",
                    task.status
                ),
            ));
        }
        let plan: ExportPlan =
            serde_json::from_value(task.request.clone()).map_err(|e| Error::internal(e.to_string()))?;
        let dir = ObjectPath::parse("path", &plan.path)?.as_dir();
        let (tx, rx) = mpsc::channel(8);
        let app = self.clone();
        tokio::spawn(async move {
            if let Err(e) = app.zip_dir(&dir, &tx).await {
                tracing::warn!(dir = %dir, error = %e, "an export download stopped");
                let _ = tx.send(Err(e)).await;
            }
        });
        Ok(ExportDownload {
            file_name: format!("{}-{}.zip", d.name, task.id),
            body: Box::pin(Receiving(rx)),
        })
    }

    async fn zip_dir(&self, dir: &ObjectPath, tx: &mpsc::Sender<Result<bytes::Bytes>>) -> Result<()> {
        let zip_err = |e: teamlabel_formats::zip::ZipError| Error::internal(format!("zip: {e}"));
        let send = |b: Vec<u8>| async move {
            if b.is_empty() {
                return Ok(());
            }
            tx.send(Ok(bytes::Bytes::from(b)))
                .await
                .map_err(|_| Error::internal("the client went away"))
        };
        let mut zip = ZipStream::new();
        let secs = now_ms() / 1000;
        let mut after: Option<String> = None;
        loop {
            let page = self.objects.list(dir, after.as_deref(), LIST_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.path.key().to_string());
            for meta in &page {
                let name = meta.path.relative_to(dir).unwrap_or(meta.path.key()).to_string();
                if meta.size > MAX_ENTRY_SIZE {
                    return Err(Error::bad_request(
                        codes::EXPORT_FAILED,
                        format!(
                            "{name} is {} bytes, more than a zip entry holds here; read it from the storage",
                            meta.size
                        ),
                    ));
                }
                send(zip.start_entry(&name, secs, should_compress(&name)).map_err(zip_err)?).await?;
                let mut stream = self.objects.read(&meta.path).await?;
                while let Some(chunk) = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
                    send(zip.write(&chunk?).map_err(zip_err)?).await?;
                }
                send(zip.end_entry().map_err(zip_err)?).await?;
            }
            if page.len() < LIST_PAGE {
                break;
            }
        }
        send(zip.finish().map_err(zip_err)?).await
    }
}
