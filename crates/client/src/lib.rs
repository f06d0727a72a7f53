//! teamlabel-client: an async Rust client of the teamlabel API (the ModelArts Data Management v2
//! REST API and the IAM token and credential endpoints), for load generators, tests and
//! commands that talk to a running server.
//!
//! It owns the HTTP side of a call: building the URL under `/v2/{project_id}`, authenticating
//! with a token (`X-Auth-Token`) or an AK/SK pair (`SDK-HMAC-SHA256`, signed per request as the
//! official SDKs sign, with `teamlabel_api::signing`), and decoding answers and ModelArts error
//! bodies into [`ClientError`]. It must not hold domain rules or depend on the server's crates:
//! what a request means is the server's business.
//!
//! ```no_run
//! use serde_json::{json, Value};
//! use teamlabel_client::{Auth, Client, UpdateOptions};
//!
//! # async fn example() -> teamlabel_client::Result<()> {
//! let owner = Client::new("http://127.0.0.1:8080", "0123456789abcdef0123456789abcdef", Auth::Token("tl_...".into()));
//! let dataset: Value = owner
//!     .create_dataset(&json!({"dataset_name": "cats", "dataset_type": 900, "labels": [{"name": "cat", "type": 0}]}))
//!     .await?;
//! let dataset_id = dataset["dataset_id"].as_str().unwrap();
//! let _: Value = owner
//!     .add_samples(dataset_id, &json!({"samples": [{"source": "http://example.com/1.jpg"}]}))
//!     .await?;
//!
//! // A labeler signs with an access key pair instead.
//! let labeler = owner.with_auth(Auth::AkSk { ak: "AK...".into(), sk: "SK...".into(), security_token: None });
//! let answer: Value = labeler
//!     .update_team_samples(dataset_id, "task id", &json!({"samples": []}), &UpdateOptions::default())
//!     .await?;
//! # let _ = answer;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

mod endpoints;
mod error;
pub mod sign;

use std::sync::Arc;

use reqwest::header::{HeaderName, HeaderValue};
use reqwest::Url;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use bytes::Bytes;
pub use endpoints::{IssuedToken, UpdateOptions};
pub use error::{ClientError, Result};
pub use reqwest::header::HeaderMap;
pub use reqwest::{Method, StatusCode};
pub use sign::AccessKey;

/// How requests authenticate. Its `Debug` form hides the token, the secret key and the
/// security token.
#[derive(Clone)]
pub enum Auth {
    /// No credentials: the token endpoint and the health check need none.
    None,
    /// An IAM-style token, sent as `X-Auth-Token`.
    Token(String),
    /// An access key pair: every request is signed with `SDK-HMAC-SHA256`; a temporary pair
    /// also sends its `X-Security-Token`.
    AkSk {
        ak: String,
        sk: String,
        security_token: Option<String>,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Token(_) => f.write_str("Token(…)"),
            Auth::AkSk { ak, security_token, .. } => f
                .debug_struct("AkSk")
                .field("ak", ak)
                .field("sk", &"…")
                .field("security_token", &security_token.as_ref().map(|_| "…"))
                .finish(),
        }
    }
}

/// A client of one server and project. Cheap to clone; clones share the connection pool.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: Arc<str>,
    project_id: Arc<str>,
    auth: Arc<Auth>,
}

impl Client {
    /// A client of the server at `base_url` (e.g. `http://127.0.0.1:8080`) acting in
    /// `project_id`.
    pub fn new(base_url: impl AsRef<str>, project_id: impl AsRef<str>, auth: Auth) -> Client {
        Client::with_http(reqwest::Client::new(), base_url, project_id, auth)
    }

    /// As [`Client::new`], over a `reqwest::Client` the caller configured (pool size, timeouts).
    pub fn with_http(
        http: reqwest::Client,
        base_url: impl AsRef<str>,
        project_id: impl AsRef<str>,
        auth: Auth,
    ) -> Client {
        Client {
            http,
            base: base_url.as_ref().trim_end_matches('/').into(),
            project_id: project_id.as_ref().into(),
            auth: Arc::new(auth),
        }
    }

    /// The same server, project and connection pool with other credentials.
    pub fn with_auth(&self, auth: Auth) -> Client {
        Client {
            auth: Arc::new(auth),
            ..self.clone()
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// A request to `path` below `/v2/{project_id}` (e.g. `/datasets`); see
    /// [`Client::request_root`] for a query string in the path.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder<'_> {
        self.request_root(method, &format!("/v2/{}{path}", self.project_id))
    }

    /// A request to `path` from the server's root (e.g. `/v3/auth/tokens`, or any path at all,
    /// such as one the server should refuse). The path may end in a query string
    /// (`/v2/p/datasets?limit=5&search_content=a%20b`), sent as written; [`RequestBuilder::query`]
    /// appends to it. The path is not otherwise touched beyond what parsing a URL does to any
    /// request (dot segments resolve, characters a URL cannot hold are percent-encoded).
    pub fn request_root(&self, method: Method, path: &str) -> RequestBuilder<'_> {
        RequestBuilder {
            client: self,
            method,
            path: path.to_string(),
            query: String::new(),
            body: None,
            json: false,
            headers: Vec::new(),
            error: None,
        }
    }

    /// Sends `method` to `path` below `/v2/{project_id}` with `query` (any value that serializes
    /// as a URL query: `&[("limit", "10")]`, a struct, `&()` for none) and an optional JSON body,
    /// and answers whatever the server answered, error statuses included.
    pub async fn send<Q, B>(&self, method: Method, path: &str, query: &Q, body: Option<&B>) -> Result<Response>
    where
        Q: Serialize + ?Sized,
        B: Serialize + ?Sized,
    {
        let mut req = self.request(method, path).query(query);
        if let Some(body) = body {
            req = req.json(body);
        }
        req.send().await
    }
}

/// A request being built; [`RequestBuilder::send`] authenticates and sends it.
#[must_use]
pub struct RequestBuilder<'a> {
    client: &'a Client,
    method: Method,
    path: String,
    query: String,
    body: Option<Bytes>,
    /// Whether the body is JSON: then it goes with `Content-Type: application/json`, signed.
    json: bool,
    headers: Vec<(HeaderName, HeaderValue)>,
    error: Option<ClientError>,
}

impl RequestBuilder<'_> {
    /// Appends query parameters (any value that serializes as a URL query).
    pub fn query<Q: Serialize + ?Sized>(mut self, query: &Q) -> Self {
        match serde_urlencoded::to_string(query) {
            Ok(q) if q.is_empty() => {}
            Ok(q) => {
                if !self.query.is_empty() {
                    self.query.push('&');
                }
                self.query.push_str(&q);
            }
            Err(e) => self.fail(format!("the query does not serialize: {e}")),
        }
        self
    }

    /// A JSON body.
    pub fn json<B: Serialize + ?Sized>(mut self, body: &B) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => {
                self.body = Some(bytes.into());
                self.json = true;
            }
            Err(e) => self.fail(format!("the body does not serialize: {e}")),
        }
        self
    }

    /// A body of JSON text already serialized (sent as `application/json`).
    pub fn json_bytes(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self.json = true;
        self
    }

    /// A body sent exactly as given with no `Content-Type` added: the caller sends one of its
    /// choosing with [`RequestBuilder::header`], or none (e.g. bytes that are not JSON, or JSON
    /// under a wrong content type). With AK/SK the body is signed; the caller's headers,
    /// a content type among them, are not.
    pub fn body_bytes(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self.json = false;
        self
    }

    /// A header of the caller's (e.g. `X-Idempotency-Key`); it is not signed.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(n), Ok(v)) => self.headers.push((n, v)),
            _ => self.fail(format!("invalid header {name}: {value:?}")),
        }
        self
    }

    fn fail(&mut self, why: String) {
        self.error.get_or_insert(ClientError::Request(why));
    }

    /// The URL the request goes to: the base, the path as given, the path's own query string
    /// if any, then the parameters of [`RequestBuilder::query`].
    fn url(&self) -> Result<Url> {
        let mut url = Url::parse(&format!("{}{}", self.client.base, self.path))
            .map_err(|e| ClientError::Request(format!("{}{}: {e}", self.client.base, self.path)))?;
        if !self.query.is_empty() {
            let query = match url.query() {
                Some(q) if !q.is_empty() => format!("{q}&{}", self.query),
                _ => self.query.clone(),
            };
            url.set_query(Some(&query));
        }
        Ok(url)
    }

    /// Authenticates and sends the request; any status is an `Ok` answer.
    pub async fn send(self) -> Result<Response> {
        let res = self.dispatch().await?;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.bytes().await?;
        Ok(Response { status, headers, bytes })
    }

    /// Authenticates and sends the request, and answers a 2xx answer with its body still to be
    /// read, a chunk at a time: a large file (an export's zip) never has to fit in memory. A
    /// non-2xx answer is read whole (error bodies are small) and comes back as its error.
    pub async fn send_streaming(self) -> Result<Download> {
        let res = self.dispatch().await?;
        if !res.status().is_success() {
            let status = res.status().as_u16();
            let bytes = res.bytes().await?;
            return Err(ClientError::from_answer(status, &bytes));
        }
        Ok(Download { res })
    }

    async fn dispatch(self) -> Result<reqwest::Response> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let url = self.url()?;
        let mut headers = HeaderMap::new();
        for (n, v) in self.headers {
            headers.append(n, v);
        }
        const JSON: &str = "application/json";
        if self.json {
            headers.insert(reqwest::header::CONTENT_TYPE, HeaderValue::from_static(JSON));
        }
        match &*self.client.auth {
            Auth::None => {}
            Auth::Token(token) => {
                let v = HeaderValue::try_from(token.as_str())
                    .map_err(|_| ClientError::Request("the token is not visible ASCII".into()))?;
                headers.insert("x-auth-token", v);
            }
            Auth::AkSk { ak, sk, security_token } => {
                let key = AccessKey {
                    ak: ak.clone(),
                    sk: sk.clone(),
                    security_token: security_token.clone(),
                };
                let signed: &[(&str, &str)] = if self.json { &[("content-type", JSON)] } else { &[] };
                let body = self.body.as_deref().unwrap_or_default();
                let date = teamlabel_api::signing::sdk_date_now();
                for (n, v) in sign::signature_headers(self.method.as_str(), &url, signed, body, &key, &date) {
                    let v = HeaderValue::try_from(v)
                        .map_err(|_| ClientError::Request(format!("{n} is not visible ASCII")))?;
                    headers.insert(n, v);
                }
            }
        }
        let mut req = self.client.http.request(self.method, url).headers(headers);
        if let Some(body) = self.body {
            req = req.body(body);
        }
        Ok(req.send().await?)
    }
}

/// A 2xx answer whose body is read a chunk at a time (see [`RequestBuilder::send_streaming`]).
#[derive(Debug)]
pub struct Download {
    res: reqwest::Response,
}

impl Download {
    pub fn status(&self) -> u16 {
        self.res.status().as_u16()
    }

    pub fn headers(&self) -> &HeaderMap {
        self.res.headers()
    }

    /// The body's length when the server sent a `Content-Length`.
    pub fn content_length(&self) -> Option<u64> {
        self.res.content_length()
    }

    /// The next piece of the body; `None` at its end. A connection cut short is an error, not
    /// an early end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>> {
        Ok(self.res.chunk().await?)
    }
}

/// An answer: status, headers and body bytes.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub bytes: Bytes,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The error of a non-2xx answer, decoded from the ModelArts error body; `None` on 2xx.
    pub fn error(&self) -> Option<ClientError> {
        (!self.is_success()).then(|| ClientError::from_answer(self.status, &self.bytes))
    }

    /// The answer itself on 2xx, else its error.
    pub fn error_for_status(self) -> Result<Response> {
        match self.error() {
            Some(e) => Err(e),
            None => Ok(self),
        }
    }

    /// The body of a 2xx answer decoded as `T`; a non-2xx answer is its [`ClientError::Http`].
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        if let Some(e) = self.error() {
            return Err(e);
        }
        self.decode()
    }

    /// The body decoded as `T` whatever the status (e.g. the per-item results of a failed
    /// all-or-nothing batch, answered with 400).
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T> {
        Ok(serde_json::from_slice(&self.bytes)?)
    }

    /// A header's value as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_secrets() {
        let auth = Auth::AkSk {
            ak: "AK1".into(),
            sk: "very-secret".into(),
            security_token: Some("st-secret".into()),
        };
        let text = format!("{:?}", Client::new("http://127.0.0.1:1/", "p", auth));
        assert!(text.contains("AK1") && !text.contains("secret"), "{text}");
        assert_eq!(format!("{:?}", Auth::Token("tl_secret".into())), "Token(…)");
    }

    #[test]
    fn queries_append_and_paths_sit_below_the_project() {
        let c = Client::new("http://127.0.0.1:1/", "p1", Auth::None);
        assert_eq!(c.base_url(), "http://127.0.0.1:1");
        let req = c
            .request(Method::GET, "/datasets")
            .query(&[("limit", "10")])
            .query(&())
            .query(&[("name", "a b&c")]);
        assert_eq!(req.path, "/v2/p1/datasets");
        assert_eq!(req.query, "limit=10&name=a+b%26c");
        assert!(req.error.is_none());
        let bad = c.request(Method::GET, "/").header("X-Bad", "line\nbreak");
        assert!(matches!(bad.error, Some(ClientError::Request(_))));
    }

    #[test]
    fn a_query_string_in_the_path_is_sent_as_written_and_query_appends_to_it() {
        let c = Client::new("http://127.0.0.1:1", "p1", Auth::None);
        let url = |r: RequestBuilder<'_>| r.url().unwrap().to_string();
        assert_eq!(
            url(c.request(Method::GET, "/datasets?limit=5&search_content=a%20b+c")),
            "http://127.0.0.1:1/v2/p1/datasets?limit=5&search_content=a%20b+c"
        );
        assert_eq!(
            url(c.request(Method::GET, "/datasets?limit=5").query(&[("offset", "1")])),
            "http://127.0.0.1:1/v2/p1/datasets?limit=5&offset=1"
        );
        assert_eq!(
            url(c.request_root(Method::GET, "/v2/not-a-project/datasets/")),
            "http://127.0.0.1:1/v2/not-a-project/datasets/"
        );
    }

    #[test]
    fn a_raw_body_keeps_its_bytes_and_adds_no_content_type() {
        let c = Client::new("http://127.0.0.1:1", "p1", Auth::None);
        let raw = c
            .request(Method::POST, "/datasets")
            .header("Content-Type", "text/plain")
            .body_bytes(&b"{\"not\": json"[..]);
        assert_eq!(raw.body.as_deref(), Some(&b"{\"not\": json"[..]));
        assert!(!raw.json, "no JSON content type is added or signed");
        assert_eq!(raw.headers.len(), 1);
        assert!(c.request(Method::POST, "/datasets").json_bytes("{}").json);
        assert!(c.request(Method::POST, "/datasets").json(&[1]).json);
    }
}
