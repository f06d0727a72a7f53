//! The sender of webhook deliveries: an HTTP client that reaches only the addresses the
//! settings permit. A name is resolved here and only its permitted addresses are dialled (a
//! name that resolves to nothing permitted is refused), every redirect is checked the same way
//! (an address in the redirect's URL before it is followed, a name when it is resolved), at
//! most `MAX_REDIRECTS` are followed, and no proxy is used (a proxy would dial for us).
//! Must not decide the rules (`teamlabel_core::webhooks::guard`) or the retries.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use async_trait::async_trait;
use teamlabel_core::webhooks::dispatch::Transport;
use teamlabel_core::webhooks::guard::AddressPolicy;
use teamlabel_core::webhooks::WebhookSettings;

/// Redirects followed for one delivery.
pub const MAX_REDIRECTS: usize = 5;

pub struct HttpTransport {
    client: reqwest::Client,
}

impl HttpTransport {
    pub fn new(settings: &WebhookSettings) -> Result<Self, String> {
        let policy = Arc::new(settings.policy.clone());
        let redirects = policy.clone();
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(settings.timeout)
            .dns_resolver(Arc::new(GuardedResolver { policy }))
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS {
                    return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
                }
                let url = attempt.url();
                if !matches!(url.scheme(), "http" | "https") {
                    let refused = format!("a redirect to a {} URL is not followed", url.scheme());
                    return attempt.error(refused);
                }
                let host = url
                    .host_str()
                    .unwrap_or("")
                    .trim_start_matches('[')
                    .trim_end_matches(']');
                if let Ok(ip) = host.parse::<IpAddr>() {
                    if let Some(why) = redirects.refusal(host, ip) {
                        return attempt.error(format!("redirect {why}"));
                    }
                }
                attempt.follow()
            }))
            .build()
            .map_err(|e| format!("the webhook client cannot be made: {e}"))?;
        Ok(Self { client })
    }
}

/// An error with its causes, `outer: inner: innermost`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

#[async_trait]
impl Transport for HttpTransport {
    async fn post(&self, url: &str, headers: &[(&'static str, String)], body: Vec<u8>) -> Result<u16, String> {
        let mut request = self.client.post(url).body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        match request.send().await {
            Ok(answer) => Ok(answer.status().as_u16()),
            Err(e) => Err(chain(&e)),
        }
    }
}

/// Resolves names with the system's resolver and keeps only the permitted addresses.
struct GuardedResolver {
    policy: Arc<AddressPolicy>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let permitted: Vec<SocketAddr> = found.iter().copied().filter(|a| policy.permits(a.ip())).collect();
            if permitted.is_empty() {
                let why = match found.first() {
                    Some(a) => policy.refusal(&host, a.ip()).unwrap_or_default(),
                    None => format!("{host} has no address"),
                };
                return Err(why.into());
            }
            Ok(Box::new(permitted.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::dns::Resolve;

    #[tokio::test]
    async fn a_name_that_resolves_only_to_loopback_is_refused_unless_allowed() {
        let name = || "localhost".parse::<reqwest::dns::Name>().unwrap();
        let refused = GuardedResolver {
            policy: Arc::new(AddressPolicy::default()),
        };
        let e = match refused.resolve(name()).await {
            Ok(_) => panic!("localhost must be refused"),
            Err(e) => e.to_string(),
        };
        assert!(
            e.contains("refused: localhost is") && e.contains("webhooks.allow"),
            "{e}"
        );
        let allowed = GuardedResolver {
            policy: Arc::new(AddressPolicy::new(vec![
                "127.0.0.0/8".parse().unwrap(),
                "::1".parse().unwrap(),
            ])),
        };
        let addrs: Vec<SocketAddr> = allowed
            .resolve(name())
            .await
            .map_err(|e| e.to_string())
            .unwrap()
            .collect();
        assert!(
            !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()),
            "{addrs:?}"
        );
    }

    #[tokio::test]
    async fn an_address_that_is_not_permitted_is_never_dialled_through_a_redirect() {
        // A redirect to the metadata address is refused before any connection to it.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = vec![0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://169.254.169.254/latest/meta-data/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .await;
            }
        });
        let settings = WebhookSettings {
            policy: AddressPolicy::new(vec!["127.0.0.1".parse().unwrap()]),
            ..WebhookSettings::default()
        };
        let t = HttpTransport::new(&settings).unwrap();
        let e = t
            .post(&format!("http://127.0.0.1:{port}/hook"), &[], b"{}".to_vec())
            .await
            .unwrap_err();
        assert!(e.contains("redirect refused: 169.254.169.254"), "{e}");
    }
}
