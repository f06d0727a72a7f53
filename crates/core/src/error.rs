//! The one error type of teamlabel's domain: a ModelArts error code, a message that names the
//! field or rule, and a kind that the HTTP layer maps to a status. Owns no HTTP and no SQL.

use std::fmt;

/// How an error is to be answered; the server maps each kind to one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: the request is wrong.
    BadRequest,
    /// 401: missing, unknown or expired credentials.
    Unauthorized,
    /// 403: authenticated, but not allowed here.
    Forbidden,
    /// 404: no such resource inside the caller's project.
    NotFound,
    /// 409: the request conflicts with the stored state.
    Conflict,
    /// 408: the request's body did not arrive in time.
    RequestTimeout,
    /// 413: the body is larger than the limit.
    PayloadTooLarge,
    /// 429: too many attempts; try again later.
    TooManyRequests,
    /// 500: a fault of the server; the message is logged, never sent.
    Internal,
    /// 503: a dependency (the database) is not reachable.
    Unavailable,
}

/// A domain error: `code` is a `ModelArts.xxxx` code, `message` is safe to show the caller
/// (except for `Internal`, whose message is logged and replaced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
    /// Seconds after which a refused request may be tried again (answered as `Retry-After`).
    pub retry_after: Option<u64>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

impl Error {
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// 400 `ModelArts.0101`: a parameter or field has a bad value; the message names it.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, codes::INVALID_ARGUMENT, message)
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, code, message)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, code, message)
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, code, message)
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthorized, code, message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, code, message)
    }

    /// A fault of the server. The message goes to the log only.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, codes::INTERNAL, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, codes::INTERNAL, message)
    }

    pub fn dataset_not_found(id: &str) -> Self {
        Self::not_found(codes::DATASET_NOT_FOUND, format!("Dataset does not exist: {id}"))
    }

    pub fn sample_not_found(id: &str) -> Self {
        Self::not_found(codes::SAMPLE_NOT_FOUND, format!("Sample not found: {id}"))
    }

    pub fn label_not_found(name: &str) -> Self {
        Self::not_found(codes::LABEL_NOT_FOUND, format!("Label not found: {name}"))
    }
}

/// The `ModelArts.xxxx` codes teamlabel answers with. Codes marked
/// "teamlabel" are additions for situations the provider's table has no code for.
pub mod codes {
    pub const INVALID_ARGUMENT: &str = "ModelArts.0101";
    pub const INVALID_PROJECT: &str = "ModelArts.0210";
    pub const TOKEN_MISSING: &str = "ModelArts.0201";
    pub const TOKEN_EXPIRED: &str = "ModelArts.0202";
    pub const TOKEN_INVALID: &str = "ModelArts.0203";
    pub const NOT_AUTHORIZED: &str = "ModelArts.0108";
    pub const INTERNAL: &str = "ModelArts.0010";
    pub const BODY_TOO_LARGE: &str = "ModelArts.4104";
    pub const BAD_JSON: &str = "ModelArts.4105";
    pub const INVALID_REQUEST: &str = "ModelArts.4200";
    pub const EMPTY_REQUEST: &str = "ModelArts.4202";
    /// An API path that does not exist.
    pub const NO_SUCH_API: &str = "ModelArts.4204";
    pub const DATASET_EXISTS: &str = "ModelArts.4351";
    pub const DATASET_NOT_FOUND: &str = "ModelArts.4352";
    pub const VERSION_NOT_FOUND: &str = "ModelArts.4353";
    pub const VERSION_EXISTS: &str = "ModelArts.4371";
    /// A version is being published (or was created meanwhile).
    pub const VERSION_PUBLISHING: &str = "ModelArts.4343";
    pub const VERSION_PUBLISH_FAILED: &str = "ModelArts.4712";
    pub const VERSION_DELETE_FAILED: &str = "ModelArts.4827";
    pub const IMPORT_RUNNING: &str = "ModelArts.4356";
    /// A sync of the dataset with its data source is running.
    pub const SYNC_RUNNING: &str = "ModelArts.4355";
    /// A sync of the dataset with its data source failed.
    pub const SYNC_FAILED: &str = "ModelArts.4360";
    pub const IMPORT_NOTHING: &str = "ModelArts.4340";
    pub const IMPORT_FAILED: &str = "ModelArts.4921";
    pub const IMPORT_BAD_PARAMETER: &str = "ModelArts.4396";
    pub const IMPORT_INVALID_PATH: &str = "ModelArts.4374";
    pub const IMPORT_LIST_FAILED: &str = "ModelArts.4347";
    pub const EXPORT_BAD_PATH: &str = "ModelArts.4358";
    pub const EXPORT_NOT_FOUND: &str = "ModelArts.4359";
    pub const EXPORT_BAD_PARAMETER: &str = "ModelArts.4384";
    pub const EXPORT_FAILED: &str = "ModelArts.4401";
    pub const SUBDIRECTORY_REQUIRED: &str = "ModelArts.4205";
    pub const WORK_PATH_TOO_LONG: &str = "ModelArts.4350";
    pub const INVALID_PATH: &str = "ModelArts.4313";
    /// Object storage refused the request: access denied, or a path that would leave the
    /// local store's root (a symlink on the way). HTTP 403.
    pub const STORAGE_FORBIDDEN: &str = "ModelArts.4310";
    /// The bucket a storage path names does not exist.
    pub const BUCKET_NOT_FOUND: &str = "ModelArts.4311";
    /// Object storage failed; the message gives the reason.
    pub const STORAGE_ERROR: &str = "ModelArts.4314";
    /// No object at a storage path.
    pub const FILE_NOT_FOUND: &str = "ModelArts.4345";
    /// An object is larger than the operation reading it accepts.
    pub const FILE_TOO_LARGE: &str = "ModelArts.4419";
    pub const UNSUPPORTED_OPERATION: &str = "ModelArts.4383";
    pub const LABEL_NOT_FOUND: &str = "ModelArts.4410";
    pub const LABEL_EXISTS: &str = "ModelArts.4411";
    pub const SHORTCUT_EXISTS: &str = "ModelArts.4412";
    pub const LABEL_RULE: &str = "ModelArts.4413";
    pub const TRIPLET_ENTITY_MISSING: &str = "ModelArts.4414";
    pub const ENTITY_IN_USE: &str = "ModelArts.4415";
    pub const SAMPLE_LABELS_FAILED: &str = "ModelArts.4417";
    pub const SAMPLE_NOT_FOUND: &str = "ModelArts.4420";
    pub const UPLOAD_FAILED: &str = "ModelArts.4421";
    pub const SAMPLE_EXISTS: &str = "ModelArts.4422";
    pub const SIZE_UNKNOWN: &str = "ModelArts.4423";
    pub const SAMPLE_TOO_LARGE: &str = "ModelArts.4656";
    pub const WORKFORCE_NOT_FOUND: &str = "ModelArts.4601";
    pub const WORKFORCE_EXISTS: &str = "ModelArts.4602";
    pub const WORKER_NOT_FOUND: &str = "ModelArts.4604";
    pub const WORKER_EXISTS: &str = "ModelArts.4605";
    pub const ONE_MANAGER: &str = "ModelArts.4617";
    pub const DELETE_YOURSELF: &str = "ModelArts.4618";
    pub const TASK_NOT_FOUND: &str = "ModelArts.4619";
    pub const TASK_EXISTS: &str = "ModelArts.4620";
    pub const TASK_START_FAILED: &str = "ModelArts.4621";
    pub const WORKER_HAS_TASK: &str = "ModelArts.4628";
    pub const WORKER_ACTION_FORBIDDEN: &str = "ModelArts.4600";
    pub const LABELS_NOT_SET: &str = "ModelArts.4365";
    pub const TOO_FEW_LABELERS: &str = "ModelArts.4822";
    /// teamlabel: the stored labels changed since they were read (a newer version exists).
    pub const VERSION_CONFLICT: &str = "ModelArts.4690";
    /// teamlabel: an `X-Idempotency-Key` was used before with a different request.
    pub const IDEMPOTENCY_MISMATCH: &str = "ModelArts.4691";
    /// teamlabel: an `X-Idempotency-Key` is being used by a request in flight or just finished.
    pub const IDEMPOTENCY_TAKEN: &str = "ModelArts.4692";
    /// teamlabel: a request's body did not arrive within the server's body timeout (408).
    pub const REQUEST_TIMEOUT: &str = "ModelArts.4693";
    /// The provider's "sample has been reviewed" code, used for writes to an accepted sample.
    pub const SAMPLE_ACCEPTED: &str = "ModelArts.4606";
    /// An acceptance round is open (or was opened or closed meanwhile); also a write to a
    /// copy drawn into the open round.
    pub const TASK_CHECKING: &str = "ModelArts.4623";
    /// No such acceptance round (the provider's generic "Task not found").
    pub const ACCEPTANCE_NOT_FOUND: &str = "ModelArts.4612";
    /// An acceptance round found nothing to check.
    pub const NOTHING_TO_CHECK: &str = "ModelArts.4625";
    /// The `locale` is not `en-us` or `zh-cn`.
    pub const BAD_LOCALE: &str = "ModelArts.4398";
    /// The `Authorization` header is missing its parts or names another scheme.
    pub const AUTH_HEADER_INVALID: &str = "ModelArts.0205";
    /// An AK/SK signature failed a check (unknown key, date window, security token, mismatch).
    pub const SIGNATURE_INVALID: &str = "ModelArts.0206";
    /// teamlabel: a user is locked after too many wrong passwords (HTTP 429).
    pub const USER_LOCKED: &str = "ModelArts.4693";
    /// teamlabel: no such access key in the caller's project.
    pub const CREDENTIAL_NOT_FOUND: &str = "ModelArts.4694";
    /// teamlabel: the user holds the most access keys allowed.
    pub const CREDENTIAL_LIMIT: &str = "ModelArts.4695";
    /// teamlabel: no such user in the project.
    pub const USER_NOT_FOUND: &str = "ModelArts.4696";
    /// teamlabel: the user name, password or project of a token request is wrong.
    pub const SIGN_IN_FAILED: &str = "ModelArts.4697";
    /// teamlabel: no such webhook in the caller's project.
    pub const WEBHOOK_NOT_FOUND: &str = "ModelArts.4698";
    /// teamlabel: the project holds the most webhooks allowed.
    pub const WEBHOOK_LIMIT: &str = "ModelArts.4699";
    /// teamlabel: no such delivery of the webhook.
    pub const DELIVERY_NOT_FOUND: &str = "ModelArts.4700";
}
