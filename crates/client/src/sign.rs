//! The headers an AK/SK client adds to an outgoing request, as the official SDKs add them:
//! `X-Sdk-Date`, `X-Security-Token` for a temporary key, and the `SDK-HMAC-SHA256`
//! `Authorization` over `host`, `x-sdk-date`, the security token and whatever other headers the
//! caller signs (`content-type` when a body is sent). The signature itself is
//! `teamlabel_api::signing`'s; this module only decides what goes into it. No clock (the date is
//! passed in), no I/O.

use reqwest::Url;
use teamlabel_api::signing::{self, Received};

/// An access key pair, with the security token of a temporary one.
#[derive(Clone)]
pub struct AccessKey {
    pub ak: String,
    pub sk: String,
    pub security_token: Option<String>,
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("ak", &self.ak)
            .field("sk", &"…")
            .field("security_token", &self.security_token.as_ref().map(|_| "…"))
            .finish()
    }
}

/// The `Host` header a client sends for `url`: the host, and the port unless it is the
/// scheme's default.
pub fn host(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// The request-target a client sends for `url`: the path, then `?` and the query if any.
pub fn target(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

/// The headers to add to a request to `url` so that it is signed with `key` at `sdk_date`
/// (`YYYYMMDDTHHMMSSZ`): `X-Sdk-Date`, `X-Security-Token` if the key has one, and
/// `Authorization`. `headers` are the request's other headers to sign (for example
/// `Content-Type` when a body is sent); `host` and `x-sdk-date` are always signed.
pub fn signature_headers(
    method: &str,
    url: &Url,
    headers: &[(&str, &str)],
    body: &[u8],
    key: &AccessKey,
    sdk_date: &str,
) -> Vec<(&'static str, String)> {
    let mut signed: Vec<(String, Vec<u8>)> = headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.as_bytes().to_vec()))
        .collect();
    signed.push(("host".into(), host(url).into_bytes()));
    signed.push(("x-sdk-date".into(), sdk_date.as_bytes().to_vec()));
    if let Some(token) = &key.security_token {
        signed.push(("x-security-token".into(), token.as_bytes().to_vec()));
    }
    let target = target(url);
    let received = Received {
        method,
        target: &target,
        headers: &signed,
        body,
    };
    let authorization =
        signing::authorization(&received, &key.ak, key.sk.as_bytes()).expect("x-sdk-date is among the headers");
    let mut out = vec![("X-Sdk-Date", sdk_date.to_string())];
    if let Some(token) = &key.security_token {
        out.push(("X-Security-Token", token.clone()));
    }
    out.push(("Authorization", authorization));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Every case of the official SDK's vectors whose headers are the ones this client signs
    /// (the SDK also signs `User-Agent` and `X-Project-Id`, passed here as other headers) and
    /// whose query the SDK sent sorted as strings gets the SDK's exact `Authorization` value.
    #[test]
    fn the_headers_reproduce_the_official_sdk_authorization() {
        let text = include_str!("../../api/tests/data/signing-vectors.json");
        let doc: Value = serde_json::from_str(text).unwrap();
        let mut checked = 0;
        for case in doc["cases"].as_array().unwrap() {
            let req = &case["request"];
            let pairs: Vec<(String, String)> = req["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| (h[0].as_str().unwrap().to_string(), h[1].as_str().unwrap().to_string()))
                .collect();
            let named = |n: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(n))
                    .map(|(_, v)| v.clone())
            };
            let ours = ["x-sdk-date", "host", "authorization", "x-security-token"];
            let others = ["user-agent", "x-project-id", "content-type"];
            if case["algorithm"] != "SDK-HMAC-SHA256"
                || case["expected"]["string_sorted_query_matches"] != true
                || req.get("body_hex").is_some()
                || pairs.iter().any(|(k, _)| {
                    !ours.contains(&k.to_ascii_lowercase().as_str())
                        && !others.contains(&k.to_ascii_lowercase().as_str())
                })
            {
                continue;
            }
            let url = Url::parse(&format!(
                "https://{}{}",
                named("host").unwrap(),
                req["target"].as_str().unwrap()
            ))
            .unwrap();
            let extra: Vec<(&str, &str)> = pairs
                .iter()
                .filter(|(k, _)| others.contains(&k.to_ascii_lowercase().as_str()))
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let key = AccessKey {
                ak: case["credentials"]["ak"].as_str().unwrap().to_string(),
                sk: case["credentials"]["sk"].as_str().unwrap().to_string(),
                security_token: case["credentials"]["security_token"].as_str().map(str::to_string),
            };
            let date = named("x-sdk-date").unwrap();
            let body = req["body"].as_str().unwrap_or("");
            let out = signature_headers(
                req["method"].as_str().unwrap(),
                &url,
                &extra,
                body.as_bytes(),
                &key,
                &date,
            );
            let get = |n: &str| out.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone());
            let name = case["name"].as_str().unwrap();
            assert_eq!(get("Authorization"), named("authorization"), "{name}");
            assert_eq!(get("X-Sdk-Date"), Some(date), "{name}");
            assert_eq!(get("X-Security-Token"), named("x-security-token"), "{name}");
            checked += 1;
        }
        assert_eq!(checked, 8, "the vectors this client reproduces");
    }

    #[test]
    fn the_host_keeps_a_non_default_port_and_the_target_its_query() {
        let url = Url::parse("http://127.0.0.1:8080/v2/p/datasets?limit=1&offset=0").unwrap();
        assert_eq!(host(&url), "127.0.0.1:8080");
        assert_eq!(target(&url), "/v2/p/datasets?limit=1&offset=0");
        let url = Url::parse("https://example.com:443/v2/p").unwrap();
        assert_eq!(
            (host(&url), target(&url)),
            ("example.com".to_string(), "/v2/p".to_string())
        );
    }

    #[test]
    fn a_signed_request_verifies_with_the_server_side_check() {
        let url = Url::parse("http://127.0.0.1:9/v2/p/datasets?b=2&a=1").unwrap();
        let key = AccessKey {
            ak: "AK".into(),
            sk: "SK".into(),
            security_token: Some("tok".into()),
        };
        let out = signature_headers(
            "PUT",
            &url,
            &[("Content-Type", "application/json")],
            b"{}",
            &key,
            "20250102T030405Z",
        );
        let auth = signing::parse_authorization(&out[2].1).unwrap();
        assert_eq!(
            auth.signed_headers,
            ["content-type", "host", "x-sdk-date", "x-security-token"]
        );
        let headers: Vec<(String, Vec<u8>)> = [
            ("content-type", "application/json"),
            ("host", "127.0.0.1:9"),
            ("x-sdk-date", "20250102T030405Z"),
            ("x-security-token", "tok"),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
        .collect();
        let received = Received {
            method: "PUT",
            target: "/v2/p/datasets?b=2&a=1",
            headers: &headers,
            body: b"{}",
        };
        assert_eq!(signing::verify(&received, &auth, b"SK", 1_735_787_045), Ok(()));
    }
}
