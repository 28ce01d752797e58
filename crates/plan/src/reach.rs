//! Which managers to try, in what order, when the CLI looks for a way into
//! a cluster's swarm itself (DOCKER_HOST unset): from what the managers
//! published in SSM (`manager-addresses`) and the managers' running
//! instances, under `cluster.ssh.address`. Pure: the AWS provider looks the
//! facts up, the binary connects.

use std::collections::BTreeSet;

use swarmkeeper_model::config::SshAddress;

/// A running instance of the managers' group, as EC2 describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ManagerInstance {
    pub id: String,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
    pub launched_unix: Option<u64>,
}

/// One address to try over ssh, and why it is on the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub host: String,
    /// The instance behind it, when known.
    pub instance: Option<String>,
    pub source: CandidateSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandidateSource {
    /// Published by a manager of the swarm (`<prefix>/manager-addresses`).
    Published,
    /// A running manager instance that has published nothing (yet).
    Instance,
}

/// The hosts of a `manager-addresses` value (`ip:2377,ip:2377`, an IPv6
/// address in brackets), in the order written, once each.
pub fn published_hosts(value: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    value
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| {
            if let Some(rest) = a.strip_prefix('[') {
                rest.split_once(']').map_or(rest, |(h, _)| h).to_owned()
            } else {
                a.rsplit_once(':').map_or(a, |(h, _)| h).to_owned()
            }
        })
        .filter(|h| seen.insert(h.clone()))
        .collect()
}

/// The candidates, best first.
///
/// - `private`: the published addresses first (those managers were in the
///   swarm when they wrote them), in their order; then the private
///   addresses of running manager instances not among them, oldest first
///   (a manager still booting is the least likely to answer).
/// - `public`: the public IPs of running manager instances: those whose
///   private address was published first, in the published order, then
///   the rest oldest first. A manager without a public IP is not a
///   candidate.
pub fn candidates(address: SshAddress, published: Option<&str>, managers: &[ManagerInstance]) -> Vec<Candidate> {
    let published = published.map(published_hosts).unwrap_or_default();
    let mut by_age: Vec<&ManagerInstance> = managers.iter().collect();
    by_age.sort_by(|a, b| {
        (a.launched_unix.unwrap_or(u64::MAX), &a.id).cmp(&(b.launched_unix.unwrap_or(u64::MAX), &b.id))
    });
    let rank = |m: &ManagerInstance| {
        m.private_ip
            .as_ref()
            .and_then(|ip| published.iter().position(|p| p == ip))
    };
    let mut out: Vec<Candidate> = Vec::new();
    match address {
        SshAddress::Private => {
            for host in &published {
                let instance = managers
                    .iter()
                    .find(|m| m.private_ip.as_deref() == Some(host))
                    .map(|m| m.id.clone());
                out.push(Candidate {
                    host: host.clone(),
                    instance,
                    source: CandidateSource::Published,
                });
            }
            for m in by_age.iter().filter(|m| rank(m).is_none()) {
                if let Some(ip) = &m.private_ip {
                    out.push(Candidate {
                        host: ip.clone(),
                        instance: Some(m.id.clone()),
                        source: CandidateSource::Instance,
                    });
                }
            }
        }
        SshAddress::Public => {
            let mut ordered: Vec<(Option<usize>, &ManagerInstance)> = by_age.iter().map(|m| (rank(m), *m)).collect();
            // Published first, in their order; the rest keep their age
            // order (the sort is stable).
            ordered.sort_by_key(|(r, _)| (r.is_none(), r.unwrap_or(0)));
            for (r, m) in ordered {
                if let Some(ip) = &m.public_ip {
                    out.push(Candidate {
                        host: ip.clone(),
                        instance: Some(m.id.clone()),
                        source: if r.is_some() {
                            CandidateSource::Published
                        } else {
                            CandidateSource::Instance
                        },
                    });
                }
            }
        }
    }
    let mut seen = BTreeSet::new();
    out.retain(|c| seen.insert(c.host.clone()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str, private: &str, public: Option<&str>, launched: u64) -> ManagerInstance {
        ManagerInstance {
            id: id.to_owned(),
            private_ip: Some(private.to_owned()),
            public_ip: public.map(str::to_owned),
            launched_unix: Some(launched),
        }
    }

    fn hosts(c: &[Candidate]) -> Vec<&str> {
        c.iter().map(|c| c.host.as_str()).collect()
    }

    #[test]
    fn published_addresses_lose_their_port_and_repeats() {
        assert_eq!(
            published_hosts("10.0.0.5:2377, 10.0.0.6:2377,,10.0.0.5:2377,[2001:db8::1]:2377"),
            ["10.0.0.5", "10.0.0.6", "2001:db8::1"]
        );
        assert!(published_hosts("").is_empty());
    }

    #[test]
    fn candidates_follow_the_address_kind_and_put_published_managers_first() {
        let managers = [
            m("i-new", "10.0.0.9", Some("203.0.113.9"), 300),
            m("i-b", "10.0.0.6", Some("203.0.113.6"), 200),
            m("i-a", "10.0.0.5", None, 100),
            m("i-old", "10.0.0.4", Some("203.0.113.4"), 50),
        ];
        let published = Some("10.0.0.6:2377,10.0.0.5:2377");

        let private = candidates(SshAddress::Private, published, &managers);
        assert_eq!(hosts(&private), ["10.0.0.6", "10.0.0.5", "10.0.0.4", "10.0.0.9"]);
        assert_eq!(private[0].instance.as_deref(), Some("i-b"));
        assert_eq!(private[0].source, CandidateSource::Published);
        assert_eq!(private[2].source, CandidateSource::Instance);

        // i-a has no public IP: not a candidate; unpublished ones oldest first.
        let public = candidates(SshAddress::Public, published, &managers);
        assert_eq!(hosts(&public), ["203.0.113.6", "203.0.113.4", "203.0.113.9"]);
        assert_eq!(public[0].source, CandidateSource::Published);

        // Nothing published yet (a swarm still forming): instances only.
        let none = candidates(SshAddress::Private, None, &managers);
        assert_eq!(hosts(&none), ["10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.9"]);
        // No instances: the published addresses alone, for private.
        assert_eq!(
            hosts(&candidates(SshAddress::Private, published, &[])),
            ["10.0.0.6", "10.0.0.5"]
        );
        assert!(candidates(SshAddress::Public, published, &[]).is_empty());
        assert!(candidates(SshAddress::Private, None, &[]).is_empty());
    }
}
