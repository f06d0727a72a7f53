//! AK/SK request signatures (`SDK-HMAC-SHA256`) as the official Huawei Cloud SDKs make them:
//! the canonical request built from a request's method, target, headers and body, the string to
//! sign, the HMAC, the `Authorization` value a client sends, and the server's verification with
//! the ±15-minute window and a constant-time comparison (the SDK's own outputs are pinned in
//! `crates/api/tests/data/signing-vectors.json`).
//!
//! Pure functions of their inputs, shared by the server's verifier and the Rust client: no clock
//! (callers pass the time), no key lookup, no HTTP.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The signing scheme named in the `Authorization` header.
pub const SCHEME: &str = "SDK-HMAC-SHA256";

/// SHA-256 of the empty body.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// How far `X-Sdk-Date` may be from the server's clock, either way, in seconds.
pub const WINDOW_SECONDS: i64 = 15 * 60;

/// Why a signature was refused; each has its own message, all are answered with 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// The Authorization header is not `SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…`.
    Malformed(String),
    /// `SignedHeaders` lacks `x-sdk-date` or `host`.
    UnsignedRequired(&'static str),
    /// A header named in `SignedHeaders` is not in the request.
    MissingHeader(String),
    /// `X-Sdk-Date` is missing or not `YYYYMMDDTHHMMSSZ`.
    BadDate,
    /// `X-Sdk-Date` is more than 15 minutes from the server's clock; `skew` is the server's
    /// time minus the date, in seconds (positive: the date is in the past).
    OutsideWindow { skew: i64 },
    /// The signature does not match; `canonical_request` is what the server signed, so the
    /// client can compare it with its own.
    Mismatch { canonical_request: String },
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureError::Malformed(why) => write!(f, "malformed Authorization header: {why}"),
            SignatureError::UnsignedRequired(h) => write!(f, "SignedHeaders must include {h}"),
            SignatureError::MissingHeader(h) => write!(f, "signed header {h} is not in the request"),
            SignatureError::BadDate => write!(f, "X-Sdk-Date is missing or not of the form YYYYMMDDTHHMMSSZ"),
            SignatureError::OutsideWindow { skew } if *skew > 0 => write!(
                f,
                "X-Sdk-Date is {skew} s behind the server's clock, more than the {WINDOW_SECONDS} s allowed (a stale request, or a slow client clock)"
            ),
            SignatureError::OutsideWindow { skew } => write!(
                f,
                "X-Sdk-Date is {} s ahead of the server's clock, more than the {WINDOW_SECONDS} s allowed (a fast client clock)",
                -skew
            ),
            SignatureError::Mismatch { canonical_request } => write!(
                f,
                "the signature does not match the request (a wrong secret key, or the request changed after signing); the server signed the canonical request {canonical_request:?}"
            ),
        }
    }
}

/// A parsed `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access_key: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// Parses `SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex` (or `Credential=` in
/// place of `Access=`, the older form).
pub fn parse_authorization(header: &str) -> Result<Authorization, SignatureError> {
    let (scheme, rest) = header
        .trim()
        .split_once(' ')
        .ok_or_else(|| SignatureError::Malformed("no scheme".into()))?;
    if scheme != "SDK-HMAC-SHA256" {
        return Err(SignatureError::Malformed(format!(
            "scheme {scheme:?} is not SDK-HMAC-SHA256"
        )));
    }
    let (mut access, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        match k {
            "Access" | "Credential" => access = Some(v.split('/').next().unwrap_or(v).to_string()),
            "SignedHeaders" => signed = Some(v.to_string()),
            "Signature" => signature = Some(v.to_string()),
            _ => {}
        }
    }
    let access_key = access
        .filter(|a| !a.is_empty())
        .ok_or_else(|| SignatureError::Malformed("no Access".into()))?;
    let signed = signed
        .filter(|s| !s.is_empty())
        .ok_or_else(|| SignatureError::Malformed("no SignedHeaders".into()))?;
    let signature = signature
        .filter(|s| !s.is_empty())
        .ok_or_else(|| SignatureError::Malformed("no Signature".into()))?;
    Ok(Authorization {
        access_key,
        signed_headers: signed.split(';').map(str::to_string).collect(),
        signature,
    })
}

/// Keeps RFC 3986 unreserved bytes, encodes every other byte as upper-case `%XY`.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes every `%XY`; `+` is not special.
fn decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|c| (*c as char).to_digit(16)),
                b.get(i + 2).and_then(|c| (*c as char).to_digit(16)),
            ) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// The canonical URI of a raw path: decoded, split on `/`, each segment encoded, with exactly
/// one trailing `/`.
pub fn canonical_uri(raw_path: &str) -> String {
    let decoded = String::from_utf8_lossy(&decode(raw_path)).into_owned();
    let mut uri = decoded
        .split('/')
        .map(|seg| encode(seg.as_bytes()))
        .collect::<Vec<_>>()
        .join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// The query pairs of a raw query string, decoded, in received order.
fn query_pairs(raw_query: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), Vec::new()),
        })
        .collect()
}

fn join_query(pairs: &[(Vec<u8>, Vec<u8>)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The canonical query: pairs sorted by key then value bytes, each encoded.
pub fn canonical_query(raw_query: &str) -> String {
    let mut pairs = query_pairs(raw_query);
    pairs.sort();
    join_query(&pairs)
}

/// What the verifier needs of a received request.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    pub method: &'a str,
    /// The request-target exactly as received: path, then `?` and the query if any.
    pub target: &'a str,
    /// Header names and raw values.
    pub headers: &'a [(String, Vec<u8>)],
    pub body: &'a [u8],
}

impl Received<'_> {
    fn header_values(&self, name: &str) -> Vec<&[u8]> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
            .collect()
    }
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v.iter().position(|b| *b != b' ' && *b != b'\t').unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| *b != b' ' && *b != b'\t')
        .map_or(start, |e| e + 1);
    &v[start..end]
}

/// The canonical request (S9) for the given signed headers, canonical query text and payload
/// hash.
pub fn canonical_request(
    req: &Received<'_>,
    signed: &[String],
    query: &str,
    payload_hash: &str,
) -> Result<Vec<u8>, SignatureError> {
    let path = req.target.split('?').next().unwrap_or("");
    let mut out = Vec::new();
    out.extend_from_slice(req.method.to_ascii_uppercase().as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_uri(path).as_bytes());
    out.push(b'\n');
    out.extend_from_slice(query.as_bytes());
    out.push(b'\n');
    for name in signed {
        let mut values = req.header_values(name);
        if values.is_empty() {
            return Err(SignatureError::MissingHeader(name.clone()));
        }
        values.sort();
        for v in values {
            out.extend_from_slice(name.as_bytes());
            out.push(b':');
            out.extend_from_slice(trim(v));
            out.push(b'\n');
        }
    }
    out.push(b'\n');
    out.extend_from_slice(signed.join(";").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload_hash.as_bytes());
    Ok(out)
}

/// The string to sign (S10).
pub fn string_to_sign(sdk_date: &str, canonical_request: &[u8]) -> String {
    format!(
        "SDK-HMAC-SHA256\n{sdk_date}\n{}",
        hex::encode(Sha256::digest(canonical_request))
    )
}

/// HEX(HMAC-SHA256(SK, string to sign)) (S11).
pub fn sign(secret_key: &[u8], string_to_sign: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_key).expect("HMAC takes keys of any length");
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Formats seconds since the Unix epoch as `YYYYMMDDTHHMMSSZ` (the inverse of `parse_sdk_date`).
pub fn format_sdk_date(secs: i64) -> String {
    let t = crate::time::civil(secs);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// `X-Sdk-Date` for the system clock's current time.
pub fn sdk_date_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    format_sdk_date(secs)
}

/// The `Authorization` value a client sends for a request, signing every header it carries (as
/// the SDKs do) with the date of its `x-sdk-date` header: what `verify` accepts. For load
/// generators and tests that sign requests of their own.
pub fn authorization(req: &Received<'_>, access_key: &str, secret_key: &[u8]) -> Result<String, SignatureError> {
    let mut signed: Vec<String> = req.headers.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
    signed.sort();
    signed.dedup();
    let date = req
        .header_values("x-sdk-date")
        .first()
        .and_then(|v| std::str::from_utf8(trim(v)).ok())
        .ok_or(SignatureError::BadDate)?
        .to_string();
    let query = canonical_query(req.target.split_once('?').map_or("", |(_, q)| q));
    let canonical = canonical_request(req, &signed, &query, &hex::encode(Sha256::digest(req.body)))?;
    let signature = sign(secret_key, &string_to_sign(&date, &canonical));
    Ok(format!(
        "{SCHEME} Access={access_key}, SignedHeaders={}, Signature={signature}",
        signed.join(";")
    ))
}

/// Parses `YYYYMMDDTHHMMSSZ` into seconds since the Unix epoch.
pub fn parse_sdk_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (y, mo, d, h, mi, se) = (
        num(0..4)?,
        num(4..6)?,
        num(6..8)?,
        num(9..11)?,
        num(11..13)?,
        num(13..15)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y2, m2) = if mo <= 2 { (y - 1, mo + 9) } else { (y, mo - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se)
}

/// Verifies a signed request against the secret key of its access key, at `now` (seconds since
/// the epoch). The caller parsed `auth` and looked the key up.
pub fn verify(req: &Received<'_>, auth: &Authorization, secret_key: &[u8], now: i64) -> Result<(), SignatureError> {
    for required in ["x-sdk-date", "host"] {
        if !auth.signed_headers.iter().any(|h| h == required) {
            return Err(SignatureError::UnsignedRequired(required));
        }
    }
    let date_values = req.header_values("x-sdk-date");
    let date = date_values
        .first()
        .and_then(|v| std::str::from_utf8(trim(v)).ok())
        .ok_or(SignatureError::BadDate)?;
    let at = parse_sdk_date(date).ok_or(SignatureError::BadDate)?;
    if (now - at).abs() > WINDOW_SECONDS {
        return Err(SignatureError::OutsideWindow { skew: now - at });
    }
    let raw_query = req.target.split_once('?').map_or("", |(_, q)| q);
    let sorted = canonical_query(raw_query);
    let received_order = join_query(&query_pairs(raw_query));
    let declared = req
        .header_values("x-sdk-content-sha256")
        .first()
        .map(|v| String::from_utf8_lossy(trim(v)).into_owned());
    let mut hashes = Vec::new();
    if req.body.is_empty() {
        hashes.push(EMPTY_SHA256.to_string());
        hashes.extend(declared);
    } else {
        hashes.push(declared.unwrap_or_else(|| hex::encode(Sha256::digest(req.body))));
    }
    let given = auth.signature.to_ascii_lowercase();
    let mut queries = vec![sorted];
    if received_order != queries[0] {
        queries.push(received_order);
    }
    let mut first = None;
    for query in &queries {
        for hash in &hashes {
            let canonical = canonical_request(req, &auth.signed_headers, query, hash)?;
            let expected = sign(secret_key, &string_to_sign(date, &canonical));
            if bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
                return Ok(());
            }
            first.get_or_insert(canonical);
        }
    }
    Err(SignatureError::Mismatch {
        canonical_request: String::from_utf8_lossy(&first.unwrap_or_default()).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_uris_are_decoded_re_encoded_and_end_in_one_slash() {
        assert_eq!(canonical_uri("/v2/p/datasets"), "/v2/p/datasets/");
        assert_eq!(canonical_uri("/v2/p/datasets/"), "/v2/p/datasets/");
        assert_eq!(canonical_uri("/a%2Fb/c%20d+e"), "/a/b/c%20d%2Be/");
        assert_eq!(canonical_uri("/%e8%8d%89"), "/%E8%8D%89/");
    }

    #[test]
    fn canonical_queries_sort_decoded_pairs_before_encoding() {
        assert_eq!(canonical_query("b=2&a=1&a=0&c"), "a=0&a=1&b=2&c=");
        assert_eq!(canonical_query("a%3A=x&a9=y"), "a9=y&a%3A=x");
        assert_eq!(canonical_query(""), "");
    }

    #[test]
    fn a_request_signed_here_verifies_and_its_date_round_trips() {
        assert_eq!(format_sdk_date(1_735_787_045), "20250102T030405Z");
        assert_eq!(format_sdk_date(0), "19700101T000000Z");
        assert_eq!(format_sdk_date(951_782_400), "20000229T000000Z");
        assert_eq!(parse_sdk_date(&format_sdk_date(1_735_787_045)), Some(1_735_787_045));
        let headers = [
            ("Host".to_string(), b"127.0.0.1:8080".to_vec()),
            ("x-sdk-date".to_string(), b"20250102T030405Z".to_vec()),
        ];
        let req = Received {
            method: "PUT",
            target: "/v2/p/datasets?b=2&a=1",
            headers: &headers,
            body: b"{}",
        };
        let value = authorization(&req, "AK", b"SK").unwrap();
        assert!(value.starts_with("SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature="));
        let auth = parse_authorization(&value).unwrap();
        assert_eq!(verify(&req, &auth, b"SK", 1_735_787_045), Ok(()));
        assert!(verify(&req, &auth, b"other", 1_735_787_045).is_err());
    }

    #[test]
    fn sdk_dates_parse_to_epoch_seconds() {
        assert_eq!(parse_sdk_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_sdk_date("20250102T030405Z"), Some(1_735_787_045));
        assert_eq!(parse_sdk_date("20250102T030405"), None);
        assert_eq!(parse_sdk_date("2025-01-02T03:04"), None);
    }

    #[test]
    fn both_authorization_forms_parse() {
        let a = parse_authorization("SDK-HMAC-SHA256 Access=AK1, SignedHeaders=host;x-sdk-date, Signature=ab").unwrap();
        assert_eq!(
            (a.access_key.as_str(), a.signed_headers.len(), a.signature.as_str()),
            ("AK1", 2, "ab")
        );
        let c = parse_authorization(
            "SDK-HMAC-SHA256 Credential=AK2/20150907//ec2/sdk_request, SignedHeaders=host;x-sdk-date, Signature=cd",
        )
        .unwrap();
        assert_eq!(c.access_key, "AK2");
        assert!(parse_authorization("AWS4-HMAC-SHA256 Access=x, SignedHeaders=host, Signature=y").is_err());
        assert!(parse_authorization("SDK-HMAC-SHA256 Access=x, Signature=y").is_err());
    }
}
