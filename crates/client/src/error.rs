//! The one error type of the client: an API error decoded from the ModelArts error body, a
//! transport failure, an answer that does not decode, or a request that could not be built.
//! It owns no retry policy: whether to retry is the caller's decision.

/// What can go wrong with a call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a status other than 2xx. `error_code` and `error_msg` come from
    /// the ModelArts error body `{"error_code": "...", "error_msg": "..."}`; when the body is not
    /// such an object, `error_code` is empty and `error_msg` holds the body's text.
    #[error("HTTP {status}: {error_code} {error_msg}")]
    Http {
        status: u16,
        error_code: String,
        error_msg: String,
    },
    /// The request did not reach the server or the answer did not arrive (connection refused,
    /// reset, timeout).
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
    /// A 2xx answer whose body is not the JSON the caller asked for.
    #[error("decoding the answer: {0}")]
    Decode(#[from] serde_json::Error),
    /// The request could not be built: a base URL that does not parse, a query or body that
    /// does not serialize, a header value that is not visible ASCII.
    #[error("building the request: {0}")]
    Request(String),
}

impl ClientError {
    /// The API error code (`ModelArts.4xxx`, `APIGW.0301`, ...) of an HTTP error, else `None`.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Http { error_code, .. } => Some(error_code),
            _ => None,
        }
    }

    /// The HTTP status of an HTTP error, else `None`.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The error of a non-2xx answer, decoded from its body.
    pub(crate) fn from_answer(status: u16, body: &[u8]) -> ClientError {
        #[derive(serde::Deserialize)]
        struct ErrorBody {
            error_code: String,
            #[serde(default)]
            error_msg: String,
        }
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(e) => ClientError::Http {
                status,
                error_code: e.error_code,
                error_msg: e.error_msg,
            },
            Err(_) => {
                let text = String::from_utf8_lossy(body);
                let text: String = text.chars().take(1000).collect();
                ClientError::Http {
                    status,
                    error_code: String::new(),
                    error_msg: text,
                }
            }
        }
    }
}

/// The result of a call.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_modelarts_error_body_decodes_and_other_bodies_keep_their_text() {
        let e = ClientError::from_answer(
            404,
            br#"{"error_code":"ModelArts.4352","error_msg":"Dataset not found"}"#,
        );
        assert_eq!((e.status(), e.code()), (Some(404), Some("ModelArts.4352")));
        assert_eq!(e.to_string(), "HTTP 404: ModelArts.4352 Dataset not found");
        let e = ClientError::from_answer(502, b"bad gateway");
        match e {
            ClientError::Http {
                status,
                error_code,
                error_msg,
            } => assert_eq!(
                (status, error_code.as_str(), error_msg.as_str()),
                (502, "", "bad gateway")
            ),
            other => panic!("{other:?}"),
        }
    }
}
