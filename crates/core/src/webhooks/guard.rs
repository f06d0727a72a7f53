//! Where a delivery may go: an `http` or `https` URL whose host, once resolved, is a public
//! address. Loopback, private, link-local (cloud metadata services among them), shared
//! (carrier-grade NAT), unspecified, multicast, broadcast, documentation and reserved addresses
//! are refused unless the allow-list (`webhooks.allow` in the server's config) names them.
//! Pure rules: the sender applies them to each address a name resolves to and to every
//! redirect; this module resolves nothing.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A network: an address and a prefix length (`10.0.0.0/8`, `::1/128`); a bare address is the
/// network of that one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Net {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not an IP address or network (such as 127.0.0.1, 10.0.0.0/8 or ::1)");
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Net {
            addr: canonical(addr),
            prefix,
        })
    }
}

impl fmt::Display for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// An IPv4 address written as IPv6 (`::ffff:a.b.c.d`) is judged as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Whether an address is on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0                                   // "this network"
        || a == 10                              // private
        || a == 127                             // loopback
        || (a == 100 && (64..128).contains(&b)) // shared (CGNAT; some clouds' metadata)
        || (a == 169 && b == 254)               // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b))  // private
        || (a == 192 && b == 0 && c == 0)       // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)       // documentation
        || (a == 192 && b == 168)               // private
        || (a == 198 && (b == 18 || b == 19))   // benchmarking
        || (a == 198 && b == 51 && c == 100)    // documentation
        || (a == 203 && b == 0 && c == 113)     // documentation
        || a >= 224) // multicast, reserved, broadcast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || (first & 0xfe00) == 0xfc00 // unique local (fd00:ec2::254 among them)
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xff00) == 0xff00 // multicast
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || first == 0x0064 && ip.segments()[1] == 0xff9b // NAT64: an IPv4 address in disguise
        || ip.segments()[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated)
}

/// The allow-list: addresses that would be refused, let through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    pub allow: Vec<Net>,
}

impl AddressPolicy {
    pub fn new(allow: Vec<Net>) -> Self {
        Self { allow }
    }

    pub fn permits(&self, ip: IpAddr) -> bool {
        is_public(ip) || self.allow.iter().any(|n| n.contains(ip))
    }

    /// Why an address is refused, or None when it may be reached.
    pub fn refusal(&self, host: &str, ip: IpAddr) -> Option<String> {
        if self.permits(ip) {
            return None;
        }
        Some(format!(
            "refused: {host} is {ip}, a loopback, private, link-local or reserved address; name it in webhooks.allow to let deliveries go there"
        ))
    }
}

/// The parts of a delivery URL this server checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    /// The host as written, without the brackets of an IPv6 address.
    pub host: String,
    /// Set when the host is an address rather than a name.
    pub ip: Option<IpAddr>,
    pub port: u16,
}

/// Longest delivery URL.
pub const MAX_URL_LEN: usize = 2048;

/// Checks the shape of a delivery URL: `http` or `https`, a host, an optional port, no user
/// name or password, no spaces or control characters, at most `MAX_URL_LEN` characters.
pub fn parse_url(url: &str) -> Result<Target, String> {
    if url.len() > MAX_URL_LEN {
        return Err(format!(
            "url is {} characters; at most {MAX_URL_LEN} are allowed",
            url.len()
        ));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("url must not hold spaces or control characters".into());
    }
    let lower = url.to_ascii_lowercase();
    let (https, rest) = if lower.starts_with("https://") {
        (true, &url[8..])
    } else if lower.starts_with("http://") {
        (false, &url[7..])
    } else {
        return Err(format!("url must start with http:// or https://, got {url:?}"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err("url must not hold a user name or password".into());
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or("url has an unclosed [ in its host")?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(format!("url has no host: {url:?}"));
    }
    let port = match port {
        None => {
            if https {
                443
            } else {
                80
            }
        }
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("url has a bad port: {p:?}"))?,
    };
    let ip = host.parse::<IpAddr>().ok();
    if ip.is_none()
        && !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    {
        return Err(format!("url has a bad host: {host:?}"));
    }
    Ok(Target {
        https,
        host: host.to_string(),
        ip,
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_loopback_link_local_and_metadata_addresses_are_not_public() {
        for s in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "fc00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "::127.0.0.1",
        ] {
            assert!(!is_public(ip(s)), "{s} must not be public");
        }
        for s in [
            "8.8.8.8",
            "172.32.0.1",
            "100.63.0.1",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip(s)), "{s} is public");
        }
    }

    #[test]
    fn the_allow_list_lets_named_networks_through_and_nothing_else() {
        let policy = AddressPolicy::new(vec!["127.0.0.1".parse().unwrap(), "10.0.0.0/8".parse().unwrap()]);
        assert!(policy.permits(ip("127.0.0.1")));
        assert!(policy.permits(ip("::ffff:127.0.0.1")));
        assert!(policy.permits(ip("10.200.1.1")));
        assert!(!policy.permits(ip("127.0.0.2")));
        assert!(!policy.permits(ip("::1")));
        assert!(!policy.permits(ip("169.254.169.254")));
        assert!(policy
            .refusal("metadata", ip("169.254.169.254"))
            .unwrap()
            .contains("webhooks.allow"));
        let all_v6: Net = "::/0".parse().unwrap();
        assert!(all_v6.contains(ip("fe80::1")) && !all_v6.contains(ip("10.0.0.1")));
    }

    #[test]
    fn networks_are_parsed_strictly() {
        assert_eq!("10.0.0.0/8".parse::<Net>().unwrap().to_string(), "10.0.0.0/8");
        assert_eq!("::1".parse::<Net>().unwrap().to_string(), "::1/128");
        for bad in ["10.0.0.0/33", "::/129", "localhost", "10.0.0/8", "", "1.2.3.4/"] {
            assert!(bad.parse::<Net>().is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn urls_are_checked_for_scheme_host_port_and_credentials() {
        let t = parse_url("https://hooks.example.com/in?x=1").unwrap();
        assert_eq!(
            (t.https, t.host.as_str(), t.port, t.ip),
            (true, "hooks.example.com", 443, None)
        );
        let t = parse_url("http://[::1]:9000/hook").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.ip), ("::1", 9000, Some(ip("::1"))));
        let t = parse_url("HTTP://127.0.0.1:8080").unwrap();
        assert_eq!((t.https, t.port, t.ip), (false, 8080, Some(ip("127.0.0.1"))));
        for bad in [
            "ftp://example.com/",
            "example.com",
            "http://",
            "http://user:pw@example.com/",
            "http://example.com:0/",
            "http://example.com:99999/",
            "http://exa mple.com/",
            "http://[::1/",
            "http://bad$host/",
        ] {
            assert!(parse_url(bad).is_err(), "{bad:?} must be refused");
        }
        assert!(parse_url(&format!("https://example.com/{}", "a".repeat(MAX_URL_LEN))).is_err());
    }
}
