//! The S3-compatible server of the tests: its settings from `TEST_S3_ENDPOINT` (keys from
//! `TEST_S3_ACCESS_KEY_ID` and `TEST_S3_SECRET_ACCESS_KEY`, any for a server that does not
//! check them), and a bucket made with a signed `PUT Bucket` (AWS Signature V4), which
//! `object_store` cannot send. Shared with the CLI tests, which include this file.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use teamlabel_store::objects::S3Config;

/// The test server's settings, when `TEST_S3_ENDPOINT` is set.
pub fn s3_config() -> Option<S3Config> {
    let endpoint = std::env::var("TEST_S3_ENDPOINT").ok().filter(|e| !e.is_empty())?;
    let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_string());
    Some(S3Config {
        endpoint: endpoint.trim_end_matches('/').to_string(),
        region: "us-east-1".into(),
        access_key_id: var("TEST_S3_ACCESS_KEY_ID", "teamlabel-test"),
        secret_access_key: var("TEST_S3_SECRET_ACCESS_KEY", "teamlabel-test-secret"),
        session_token: None,
    })
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Creates a bucket (in us-east-1, which needs no body) with a SigV4-signed request.
pub async fn create_bucket(config: &S3Config, bucket: &str) {
    let url = reqwest::Url::parse(&format!("{}/{bucket}", config.endpoint)).unwrap();
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap()),
        None => url.host_str().unwrap().to_string(),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let t = teamlabel_api::time::civil(now);
    let date = format!("{:04}{:02}{:02}", t.year, t.month, t.day);
    let stamp = format!("{date}T{:02}{:02}{:02}Z", t.hour, t.minute, t.second);
    let empty = hex::encode(Sha256::digest(b""));
    let signed = "host;x-amz-content-sha256;x-amz-date";
    let canonical =
        format!("PUT\n/{bucket}\n\nhost:{host}\nx-amz-content-sha256:{empty}\nx-amz-date:{stamp}\n\n{signed}\n{empty}");
    let scope = format!("{date}/{}/s3/aws4_request", config.region);
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{}", config.secret_access_key).as_bytes(), &date);
    for part in [config.region.as_str(), "s3", "aws4_request"] {
        key = hmac(&key, part);
    }
    let signature = hex::encode(hmac(&key, &to_sign));
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
        config.access_key_id
    );
    let answer = reqwest::Client::new()
        .put(url)
        .header("x-amz-date", &stamp)
        .header("x-amz-content-sha256", &empty)
        .header("authorization", authorization)
        .send()
        .await
        .unwrap_or_else(|e| panic!("TEST_S3_ENDPOINT {} must be reachable: {e}", config.endpoint));
    let status = answer.status();
    assert!(
        status.is_success(),
        "creating bucket {bucket}: {status} {}",
        answer.text().await.unwrap_or_default()
    );
}
