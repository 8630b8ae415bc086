//! Which network addresses the daemon may deliver webhooks to, and how a webhook URL is
//! shown in lists.
//!
//! A webhook is a request the daemon makes on a caller's behalf, so an address inside the
//! daemon's own networks (loopback, private ranges, link-local cloud metadata, CGNAT) would
//! let a caller reach services that trust the daemon's position. Those ranges are refused
//! unless the operator allows one; the check runs on every address a name resolves to, at
//! connect time, and on literal addresses when a channel is created.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The ranges refused unless allowed, with what they are (for error messages).
const DENIED_V4: &[(&str, Ipv4Addr, u8)] = &[
    ("a \"this network\" address", Ipv4Addr::new(0, 0, 0, 0), 8),
    ("a private address", Ipv4Addr::new(10, 0, 0, 0), 8),
    ("a shared (CGNAT) address", Ipv4Addr::new(100, 64, 0, 0), 10),
    ("a loopback address", Ipv4Addr::new(127, 0, 0, 0), 8),
    ("a link-local address", Ipv4Addr::new(169, 254, 0, 0), 16),
    ("a private address", Ipv4Addr::new(172, 16, 0, 0), 12),
    ("an IETF protocol address", Ipv4Addr::new(192, 0, 0, 0), 24),
    ("a documentation address", Ipv4Addr::new(192, 0, 2, 0), 24),
    ("a relay address", Ipv4Addr::new(192, 88, 99, 0), 24),
    ("a private address", Ipv4Addr::new(192, 168, 0, 0), 16),
    ("a benchmarking address", Ipv4Addr::new(198, 18, 0, 0), 15),
    (
        "a documentation address",
        Ipv4Addr::new(198, 51, 100, 0),
        24,
    ),
    ("a documentation address", Ipv4Addr::new(203, 0, 113, 0), 24),
    ("a multicast address", Ipv4Addr::new(224, 0, 0, 0), 4),
    ("a reserved address", Ipv4Addr::new(240, 0, 0, 0), 4),
];

/// IPv6 ranges refused unless allowed. IPv4-mapped (`::ffff:0:0/96`), NAT64
/// (`64:ff9b::/96`) and 6to4 (`2002::/16`) addresses are judged by the IPv4 address they
/// carry, before this list.
const DENIED_V6: &[(&str, [u16; 8], u8)] = &[
    ("an unspecified or IPv4-compatible address", [0; 8], 96),
    ("a discard address", [0x100, 0, 0, 0, 0, 0, 0, 0], 64),
    (
        "a local NAT64 address",
        [0x64, 0xff9b, 1, 0, 0, 0, 0, 0],
        48,
    ),
    (
        "an IETF protocol address",
        [0x2001, 0, 0, 0, 0, 0, 0, 0],
        23,
    ),
    (
        "a documentation address",
        [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0],
        32,
    ),
    ("a documentation address", [0x3fff, 0, 0, 0, 0, 0, 0, 0], 20),
    (
        "a unique local (private) address",
        [0xfc00, 0, 0, 0, 0, 0, 0, 0],
        7,
    ),
    ("a link-local address", [0xfe80, 0, 0, 0, 0, 0, 0, 0], 10),
    ("a site-local address", [0xfec0, 0, 0, 0, 0, 0, 0, 0], 10),
    ("a multicast address", [0xff00, 0, 0, 0, 0, 0, 0, 0], 8),
];

/// Why an address is refused: the range it falls in, and what that range is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeniedAddress {
    /// The address as judged (an IPv4-mapped address as its IPv4 form).
    pub address: IpAddr,
    /// The refused range it falls in.
    pub range: IpNet,
    /// What the range is, e.g. "a loopback address".
    pub what: &'static str,
}

impl std::fmt::Display for DeniedAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is {} ({}); recertd delivers there only if started with --webhook-allow-net covering it",
            self.address, self.what, self.range
        )
    }
}

/// The operator's exceptions to the refused ranges (`recertd --webhook-allow-net CIDR`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DestinationPolicy {
    allowed: Vec<IpNet>,
}

impl DestinationPolicy {
    /// A policy that refuses the internal ranges except those in `allowed`.
    pub fn new(allowed: Vec<IpNet>) -> Self {
        DestinationPolicy { allowed }
    }

    /// The allowed ranges.
    pub fn allowed(&self) -> &[IpNet] {
        &self.allowed
    }

    /// Whether the daemon may connect to `address`: any public address, and an internal one
    /// only inside an allowed range. An address carrying an IPv4 address (IPv4-mapped, NAT64,
    /// 6to4) is judged as that IPv4 address too, so `::ffff:127.0.0.1` is loopback.
    pub fn check(&self, address: IpAddr) -> Result<(), DeniedAddress> {
        let embedded = embedded_v4(address).map(IpAddr::V4);
        let forms = [Some(address), embedded];
        if forms
            .iter()
            .flatten()
            .any(|a| self.allowed.iter().any(|net| net.contains(a)))
        {
            return Ok(());
        }
        for form in forms.iter().flatten() {
            if let Some((what, range)) = denied_range(*form) {
                return Err(DeniedAddress {
                    address: *form,
                    range,
                    what,
                });
            }
        }
        Ok(())
    }
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) or
/// 6to4 (`2002:aabb:ccdd::`) IPv6 address.
fn embedded_v4(address: IpAddr) -> Option<Ipv4Addr> {
    let IpAddr::V6(v6) = address else {
        return None;
    };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = v6.segments();
    let tail = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(tail());
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    None
}

/// The refused range `address` falls in, if any.
fn denied_range(address: IpAddr) -> Option<(&'static str, IpNet)> {
    match address {
        IpAddr::V4(v4) => DENIED_V4.iter().find_map(|&(what, base, len)| {
            let net = Ipv4Net::new(base, len).expect("the prefix lengths above are valid");
            net.contains(&v4).then_some((what, IpNet::V4(net)))
        }),
        IpAddr::V6(v6) => {
            if v6 == Ipv6Addr::LOCALHOST {
                let net = Ipv6Net::new(v6, 128).expect("128 is a valid prefix");
                return Some(("a loopback address", IpNet::V6(net)));
            }
            DENIED_V6.iter().find_map(|&(what, segments, len)| {
                let base = Ipv6Addr::from(segments);
                let net = Ipv6Net::new(base, len).expect("the prefix lengths above are valid");
                net.contains(&v6).then_some((what, IpNet::V6(net)))
            })
        }
    }
}

/// The literal address a webhook URL names as its host, if it names one. Hosts are read as
/// a browser reads them, so `http://0x7f000001/`, `http://2130706433/` and `http://127.1/`
/// are all 127.0.0.1.
pub fn literal_host(url: &str) -> Option<IpAddr> {
    match url::Url::parse(url).ok()?.host()? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    }
}

/// A channel's target as lists show it: a webhook URL cut to `scheme://host[:port]/…`
/// (paths and queries often carry tokens); an e-mail address as it is. The one place that
/// decides; once callers have roles, an admin's listing will show the whole target instead.
pub fn listed_target(kind: super::ChannelKind, target: &str) -> String {
    if kind != super::ChannelKind::Webhook {
        return target.to_string();
    }
    let Ok(url) = url::Url::parse(target) else {
        return "<unparsable URL>".into();
    };
    let host = match url.host() {
        Some(url::Host::Ipv6(v6)) => format!("[{v6}]"),
        Some(host) => host.to_string(),
        None => String::new(),
    };
    match url.port() {
        Some(port) => format!("{}://{host}:{port}/…", url.scheme()),
        None => format!("{}://{host}/…", url.scheme()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ChannelKind;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn internal_ranges_are_refused_and_public_ones_pass() {
        let policy = DestinationPolicy::default();
        for denied in [
            "127.0.0.1",
            "127.255.255.254",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.251",
            "255.255.255.255",
            "192.0.2.10",
            "198.18.0.1",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:a00:1::",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
        ] {
            assert!(
                policy.check(ip(denied)).is_err(),
                "{denied} should be refused"
            );
        }
        for public in [
            "93.184.215.14",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "2002:808:808::",
        ] {
            assert_eq!(policy.check(ip(public)), Ok(()), "{public} should pass");
        }
    }

    #[test]
    fn an_allowed_range_lets_its_addresses_through_in_every_spelling() {
        let policy = DestinationPolicy::new(vec![
            "127.0.0.0/8".parse().unwrap(),
            "::1/128".parse().unwrap(),
        ]);
        for allowed in ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"] {
            assert_eq!(policy.check(ip(allowed)), Ok(()), "{allowed}");
        }
        let refused = policy.check(ip("10.0.0.1")).unwrap_err();
        assert_eq!(refused.what, "a private address");
        assert_eq!(refused.range, "10.0.0.0/8".parse::<IpNet>().unwrap());
        let message = refused.to_string();
        assert!(
            message.contains("10.0.0.1") && message.contains("--webhook-allow-net"),
            "{message}"
        );
    }

    #[test]
    fn literal_hosts_are_read_as_a_browser_reads_them() {
        for (url, expected) in [
            ("http://127.0.0.1:8080/x", Some("127.0.0.1")),
            ("http://0x7f000001/", Some("127.0.0.1")),
            ("http://2130706433:8500/v1", Some("127.0.0.1")),
            ("http://127.1:6379/", Some("127.0.0.1")),
            ("http://0177.0.0.1/", Some("127.0.0.1")),
            ("http://[::1]:22/", Some("::1")),
            ("http://[::ffff:a9fe:a9fe]/", Some("::ffff:169.254.169.254")),
            ("https://hooks.example.org/x", None),
            ("not a url", None),
        ] {
            assert_eq!(literal_host(url), expected.map(ip), "{url}");
        }
    }

    #[test]
    fn listed_webhook_targets_keep_only_scheme_host_and_port() {
        assert_eq!(
            listed_target(
                ChannelKind::Webhook,
                "https://hooks.example.com/T000/B000/XXXXSECRETPATH?token=abc123"
            ),
            "https://hooks.example.com/…"
        );
        assert_eq!(
            listed_target(ChannelKind::Webhook, "http://127.0.0.1:8080/hook#x"),
            "http://127.0.0.1:8080/…"
        );
        assert_eq!(
            listed_target(ChannelKind::Webhook, "http://[::1]:9/a"),
            "http://[::1]:9/…"
        );
        assert_eq!(
            listed_target(ChannelKind::Email, "ana@example.org"),
            "ana@example.org"
        );
    }
}
