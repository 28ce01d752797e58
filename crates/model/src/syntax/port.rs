//! Compose's short port syntax: `80`, `8080:80`, `8080:80/udp`,
//! `127.0.0.1:8080:80`, `[::1]:8080:80`, `8000-8001:80-81`.

use crate::compose::{Port, Protocol, PublishMode};

/// The ports a short port string publishes. Ranges expand to one port
/// each, as docker does; a host IP is dropped (swarm publishes on every
/// node). The reason says what is wrong.
pub fn parse_short_port(text: &str) -> Result<Vec<Port>, String> {
    let (spec, proto) = match text.rsplit_once('/') {
        Some((s, p)) => (s, Protocol::parse(p).ok_or_else(|| format!("unknown protocol `{p}`"))?),
        None => (text, Protocol::Tcp),
    };
    // Drop a host IP: everything before the last two colon-separated parts.
    let parts: Vec<&str> = if spec.starts_with('[') {
        let close = spec.find(']').ok_or("an IPv6 address is not closed with `]`")?;
        spec[close + 1..].trim_start_matches(':').split(':').collect()
    } else {
        spec.split(':').collect()
    };
    let (published, target) = match parts.as_slice() {
        [t] => (None, *t),
        [p, t] => (Some(*p), *t),
        [_ip, p, t] => (if p.is_empty() { None } else { Some(*p) }, *t),
        _ => return Err("too many `:`".into()),
    };
    let range = |s: &str| -> Result<(u16, u16), String> {
        let (a, b) = s.split_once('-').unwrap_or((s, s));
        let a: u16 = a.parse().map_err(|_| format!("`{a}` is not a port number"))?;
        let b: u16 = b.parse().map_err(|_| format!("`{b}` is not a port number"))?;
        if a == 0 || b < a {
            return Err(format!("`{s}` is not a valid port range"));
        }
        Ok((a, b))
    };
    let (t0, t1) = range(target)?;
    let published = published.map(range).transpose()?;
    if let Some((p0, p1)) = published
        && p1 - p0 != t1 - t0
        && p0 != p1
    {
        return Err("the published and target ranges differ in size".into());
    }
    Ok((0..=(t1 - t0))
        .map(|i| Port {
            target: t0 + i,
            published: published.map(|(p0, p1)| if p0 == p1 { p0 } else { p0 + i }),
            protocol: proto,
            mode: PublishMode::Ingress,
            declared_at: None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ports() {
        let p = |s: &str| {
            parse_short_port(s).map(|v| {
                v.iter()
                    .map(|p| (p.published, p.target, p.protocol))
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(p("80"), Ok(vec![(None, 80, Protocol::Tcp)]));
        assert_eq!(p("8080:80"), Ok(vec![(Some(8080), 80, Protocol::Tcp)]));
        assert_eq!(p("53:53/udp"), Ok(vec![(Some(53), 53, Protocol::Udp)]));
        assert_eq!(p("127.0.0.1:8080:80"), Ok(vec![(Some(8080), 80, Protocol::Tcp)]));
        assert_eq!(
            p("8000-8001:90-91"),
            Ok(vec![(Some(8000), 90, Protocol::Tcp), (Some(8001), 91, Protocol::Tcp)])
        );
        assert!(p("80/xyz").is_err());
        assert!(p("abc").is_err());
        assert!(p("1:2:3:4").is_err());
    }
}
