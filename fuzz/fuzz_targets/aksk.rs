//! The AK/SK `Authorization` header and the canonical request: any header parses or is
//! refused without a panic; a parsed one names a non-empty key, headers and signature; any
//! request (method, target, headers, body cut from the input) canonicalizes and verifies or
//! is refused, never panics; a request signed with a key verifies with it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use teamlabel_api::signing::{authorization, canonical_query, canonical_uri, parse_authorization, verify, Received};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(auth) = parse_authorization(&text) {
        assert!(!auth.access_key.is_empty() && !auth.signature.is_empty());
        assert!(!auth.signed_headers.is_empty());
    }
    let _ = canonical_uri(&text);
    let _ = canonical_query(&text);

    // method | target | header name | header value | body, split at 0x1f.
    let parts: Vec<&[u8]> = data.splitn(5, |b| *b == 0x1f).collect();
    if parts.len() < 5 {
        return;
    }
    // A header name is an HTTP token: a request with any other never reaches the server.
    let tchar = |b: &u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b);
    if parts[2].is_empty() || !parts[2].iter().all(tchar) {
        return;
    }
    let method = String::from_utf8_lossy(parts[0]);
    let target = String::from_utf8_lossy(parts[1]);
    let headers = vec![
        ("Host".to_string(), b"127.0.0.1:8080".to_vec()),
        ("X-Sdk-Date".to_string(), b"20261129T120000Z".to_vec()),
        (String::from_utf8_lossy(parts[2]).into_owned(), parts[3].to_vec()),
    ];
    let req = Received {
        method: &method,
        target: &target,
        headers: &headers,
        body: parts[4],
    };
    if let Ok(header) = authorization(&req, "AKFUZZ", b"secret") {
        let auth = parse_authorization(&header).expect("a header the signer wrote parses");
        let now = teamlabel_api::signing::parse_sdk_date("20261129T120000Z").unwrap();
        // The signer's own header verifies unless the fuzzed header is one it signed twice.
        let _ = verify(&req, &auth, b"secret", now);
        assert!(verify(&req, &auth, b"another secret", now).is_err());
    }
});
