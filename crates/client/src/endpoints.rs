//! Typed methods for the endpoints load generators and tests drive: datasets and samples, teams
//! and workers, team tasks, a task's samples (list, get, batch update), review and acceptance,
//! import and export tasks (with the export's zip streamed), password tokens and access keys. Each is a thin wrapper over [`Client::send`]: the request and answer types are
//! the caller's (`T: Serialize`, `R: DeserializeOwned`, `serde_json::Value` works), so the
//! wire types of `teamlabel-api` drop in as type annotations. No rules are checked here.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use teamlabel_api::signing::encode;

use crate::{Client, Method, Result};

/// One path segment, percent-encoded.
fn seg(id: &str) -> String {
    encode(id.as_bytes())
}

/// Options of a batch update of samples.
#[derive(Debug, Clone, Default)]
pub struct UpdateOptions {
    /// `?atomic=true`: nothing is written if any item fails (then answered with 400, which
    /// comes back as [`crate::ClientError::Http`]).
    pub atomic: bool,
    /// `X-Idempotency-Key`: a retry with the same key and body answers the first response.
    pub idempotency_key: Option<String>,
}

/// A token issued by `POST /v3/auth/tokens` and the body that came with it.
#[derive(Debug, Clone)]
pub struct IssuedToken<R = Value> {
    /// The `X-Subject-Token` header.
    pub token: String,
    pub body: R,
}

impl Client {
    async fn call<Q, B, R>(&self, method: Method, path: &str, query: &Q, body: Option<&B>) -> Result<R>
    where
        Q: Serialize + ?Sized,
        B: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        self.send(method, path, query, body).await?.json()
    }

    /// `POST /v2/{project_id}/datasets`.
    pub async fn create_dataset<T: Serialize + ?Sized, R: DeserializeOwned>(&self, body: &T) -> Result<R> {
        self.call(Method::POST, "/datasets", &(), Some(body)).await
    }

    /// `POST /v2/{project_id}/datasets/{dataset_id}/data-annotations/samples`.
    pub async fn add_samples<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        dataset_id: &str,
        body: &T,
    ) -> Result<R> {
        let path = format!("/datasets/{}/data-annotations/samples", seg(dataset_id));
        self.call(Method::POST, &path, &(), Some(body)).await
    }

    /// `GET /v2/{project_id}/datasets/{dataset_id}/data-annotations/samples` with `query`
    /// (`limit`, `offset`, filters).
    pub async fn list_samples<Q: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        dataset_id: &str,
        query: &Q,
    ) -> Result<R> {
        let path = format!("/datasets/{}/data-annotations/samples", seg(dataset_id));
        self.call(Method::GET, &path, query, None::<&()>).await
    }

    /// `POST /v2/{project_id}/workforces`.
    pub async fn create_workforce<T: Serialize + ?Sized, R: DeserializeOwned>(&self, body: &T) -> Result<R> {
        self.call(Method::POST, "/workforces", &(), Some(body)).await
    }

    /// `POST /v2/{project_id}/workforces/{workforce_id}/workers`.
    pub async fn add_workers<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        workforce_id: &str,
        body: &T,
    ) -> Result<R> {
        let path = format!("/workforces/{}/workers", seg(workforce_id));
        self.call(Method::POST, &path, &(), Some(body)).await
    }

    /// `GET /v2/{project_id}/workforces/{workforce_id}/workers` with `query`.
    pub async fn list_workers<Q: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        workforce_id: &str,
        query: &Q,
    ) -> Result<R> {
        let path = format!("/workforces/{}/workers", seg(workforce_id));
        self.call(Method::GET, &path, query, None::<&()>).await
    }

    /// `POST /v2/{project_id}/datasets/{dataset_id}/workforce-tasks`.
    pub async fn create_task<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        dataset_id: &str,
        body: &T,
    ) -> Result<R> {
        let path = format!("/datasets/{}/workforce-tasks", seg(dataset_id));
        self.call(Method::POST, &path, &(), Some(body)).await
    }

    /// `POST /v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{task_id}`: starts the task.
    pub async fn start_task<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        dataset_id: &str,
        task_id: &str,
        body: &T,
    ) -> Result<R> {
        let path = format!("/datasets/{}/workforce-tasks/{}", seg(dataset_id), seg(task_id));
        self.call(Method::POST, &path, &(), Some(body)).await
    }

    /// `GET /v2/{project_id}/datasets/{dataset_id}/workforce-tasks/{task_id}`.
    pub async fn get_task<R: DeserializeOwned>(&self, dataset_id: &str, task_id: &str) -> Result<R> {
        let path = format!("/datasets/{}/workforce-tasks/{}", seg(dataset_id), seg(task_id));
        self.call(Method::GET, &path, &(), None::<&()>).await
    }

    fn team_samples_path(dataset_id: &str, task_id: &str) -> String {
        format!(
            "/datasets/{}/workforce-tasks/{}/data-annotations/samples",
            seg(dataset_id),
            seg(task_id)
        )
    }

    /// `GET .../workforce-tasks/{task_id}/data-annotations/samples` with `query` (`limit`,
    /// `offset`, `worker_id`, filters): a labeler sees their own copies.
    pub async fn list_team_samples<Q: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        dataset_id: &str,
        task_id: &str,
        query: &Q,
    ) -> Result<R> {
        let path = Client::team_samples_path(dataset_id, task_id);
        self.call(Method::GET, &path, query, None::<&()>).await
    }

    /// `GET .../workforce-tasks/{task_id}/data-annotations/samples/{sample_id}` with `query`.
    pub async fn get_team_sample<Q: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        dataset_id: &str,
        task_id: &str,
        sample_id: &str,
        query: &Q,
    ) -> Result<R> {
        let path = format!("{}/{}", Client::team_samples_path(dataset_id, task_id), seg(sample_id));
        self.call(Method::GET, &path, query, None::<&()>).await
    }

    /// `PUT .../workforce-tasks/{task_id}/data-annotations/samples`: the batch update of a
    /// task's samples, with `?atomic=true` and `X-Idempotency-Key` as `options` say. A batch
    /// whose items partly failed is a 200 with per-item results; a failed atomic batch is a
    /// [`crate::ClientError::Http`] 400 (use [`Client::request`] and
    /// [`crate::Response::decode`] to read its per-item results).
    pub async fn update_team_samples<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        dataset_id: &str,
        task_id: &str,
        body: &T,
        options: &UpdateOptions,
    ) -> Result<R> {
        let path = Client::team_samples_path(dataset_id, task_id);
        let mut req = self.request(Method::PUT, &path).json(body);
        if options.atomic {
            req = req.query(&[("atomic", "true")]);
        }
        if let Some(key) = &options.idempotency_key {
            req = req.header("X-Idempotency-Key", key);
        }
        req.send().await?.json()
    }

    fn task_path(dataset_id: &str, task_id: &str, rest: &str) -> String {
        format!("/datasets/{}/workforce-tasks/{}/{rest}", seg(dataset_id), seg(task_id))
    }

    /// `POST .../workforce-tasks/{task_id}/data-annotations/review`: reviewer verdicts
    /// (`{"comments": [...]}`), answered with per-item results.
    pub async fn review_samples<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        dataset_id: &str,
        task_id: &str,
        body: &T,
    ) -> Result<R> {
        let path = Client::task_path(dataset_id, task_id, "data-annotations/review");
        self.call(Method::POST, &path, &(), Some(body)).await
    }

    /// `POST .../workforce-tasks/{task_id}/acceptance`: opens an acceptance round.
    pub async fn start_acceptance<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        dataset_id: &str,
        task_id: &str,
        body: &T,
    ) -> Result<R> {
        let path = Client::task_path(dataset_id, task_id, "acceptance");
        self.call(Method::POST, &path, &(), Some(body)).await
    }

    /// `GET .../workforce-tasks/{task_id}/acceptance/report?checking_task_id=`.
    pub async fn acceptance_report<R: DeserializeOwned>(
        &self,
        dataset_id: &str,
        task_id: &str,
        round_id: &str,
    ) -> Result<R> {
        let path = Client::task_path(dataset_id, task_id, "acceptance/report");
        self.call(Method::GET, &path, &[("checking_task_id", round_id)], None::<&()>)
            .await
    }

    /// `POST .../workforce-tasks/{task_id}/acceptance/batch-comment`: the owner's verdicts.
    pub async fn accept_samples<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        dataset_id: &str,
        task_id: &str,
        body: &T,
    ) -> Result<R> {
        let path = Client::task_path(dataset_id, task_id, "acceptance/batch-comment");
        self.call(Method::POST, &path, &(), Some(body)).await
    }

    /// `PUT .../workforce-tasks/{task_id}/acceptance/status?locale=`: closes the open round.
    pub async fn update_acceptance<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        dataset_id: &str,
        task_id: &str,
        locale: Option<&str>,
        body: &T,
    ) -> Result<R> {
        let path = Client::task_path(dataset_id, task_id, "acceptance/status");
        let query: Vec<(&str, &str)> = locale.map(|l| ("locale", l)).into_iter().collect();
        self.call(Method::PUT, &path, &query, Some(body)).await
    }

    /// `GET .../workforce-tasks/{task_id}/agreement`.
    pub async fn task_agreement<R: DeserializeOwned>(&self, dataset_id: &str, task_id: &str) -> Result<R> {
        let path = Client::task_path(dataset_id, task_id, "agreement");
        self.call(Method::GET, &path, &(), None::<&()>).await
    }

    /// `POST /v2/{project_id}/datasets/{dataset_id}/import-tasks`: starts an import of files in
    /// the object store; answers `{"task_id"}` while the import runs in the background.
    pub async fn create_import_task<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        dataset_id: &str,
        body: &T,
    ) -> Result<R> {
        let path = format!("/datasets/{}/import-tasks", seg(dataset_id));
        self.call(Method::POST, &path, &(), Some(body)).await
    }

    /// `GET .../import-tasks/{task_id}`: its status, counts and issues.
    pub async fn get_import_task<R: DeserializeOwned>(&self, dataset_id: &str, task_id: &str) -> Result<R> {
        let path = format!("/datasets/{}/import-tasks/{}", seg(dataset_id), seg(task_id));
        self.call(Method::GET, &path, &(), None::<&()>).await
    }

    /// `POST /v2/{project_id}/datasets/{dataset_id}/export-tasks`: starts an export into the
    /// object store; answers `{"task_id"}` while the export runs in the background.
    pub async fn create_export_task<T: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        dataset_id: &str,
        body: &T,
    ) -> Result<R> {
        let path = format!("/datasets/{}/export-tasks", seg(dataset_id));
        self.call(Method::POST, &path, &(), Some(body)).await
    }

    /// `GET .../export-tasks/{task_id}`: its status, progress, counts and issues.
    pub async fn get_export_task<R: DeserializeOwned>(&self, dataset_id: &str, task_id: &str) -> Result<R> {
        let path = format!("/datasets/{}/export-tasks/{}", seg(dataset_id), seg(task_id));
        self.call(Method::GET, &path, &(), None::<&()>).await
    }

    /// `POST .../sync-data`: starts a sync of the dataset with its data source; answers its
    /// state.
    pub async fn sync_data<R: DeserializeOwned>(&self, dataset_id: &str) -> Result<R> {
        let path = format!("/datasets/{}/sync-data", seg(dataset_id));
        self.call(Method::POST, &path, &(), Some(&serde_json::json!({}))).await
    }

    /// `GET .../sync-data/status`: the state of the dataset's latest sync.
    pub async fn get_sync_status<R: DeserializeOwned>(&self, dataset_id: &str) -> Result<R> {
        let path = format!("/datasets/{}/sync-data/status", seg(dataset_id));
        self.call(Method::GET, &path, &(), None::<&()>).await
    }

    /// `GET .../export-tasks/{task_id}/download`: the exported files as one zip, to be read a
    /// chunk at a time with [`crate::Download::chunk`].
    pub async fn download_export_task(&self, dataset_id: &str, task_id: &str) -> Result<crate::Download> {
        let path = format!("/datasets/{}/export-tasks/{}/download", seg(dataset_id), seg(task_id));
        self.request(Method::GET, &path).send_streaming().await
    }

    /// `POST /v3/auth/tokens`: signs in with a password (the body is the IAM
    /// `{"auth": {"identity": ..., "scope": ...}}`); answers the `X-Subject-Token` and the
    /// body. Sent without this client's credentials.
    pub async fn password_token<T: Serialize + ?Sized, R: DeserializeOwned>(&self, body: &T) -> Result<IssuedToken<R>> {
        let anonymous = self.with_auth(crate::Auth::None);
        let res = anonymous
            .request_root(Method::POST, "/v3/auth/tokens")
            .json(body)
            .send()
            .await?
            .error_for_status()?;
        let token = res
            .header("x-subject-token")
            .ok_or_else(|| crate::ClientError::Request("the answer has no X-Subject-Token".into()))?
            .to_string();
        Ok(IssuedToken {
            token,
            body: res.json()?,
        })
    }

    /// `POST /v3.0/OS-CREDENTIAL/credentials`: a permanent access key pair.
    pub async fn create_credential<T: Serialize + ?Sized, R: DeserializeOwned>(&self, body: &T) -> Result<R> {
        self.request_root(Method::POST, "/v3.0/OS-CREDENTIAL/credentials")
            .json(body)
            .send()
            .await?
            .json()
    }

    /// `POST /v3.0/OS-CREDENTIAL/securitytokens`: a temporary pair with its security token.
    pub async fn create_security_token<T: Serialize + ?Sized, R: DeserializeOwned>(&self, body: &T) -> Result<R> {
        self.request_root(Method::POST, "/v3.0/OS-CREDENTIAL/securitytokens")
            .json(body)
            .send()
            .await?
            .json()
    }
}
