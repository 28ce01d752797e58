//! Syntax rules for names and identifiers: cluster, stack and volume names,
//! AWS regions, instance types, resource ids, host names, CIDR blocks.
//!
//! Hand-written matchers (no regex engine): each rule says in words what it
//! expects, and that sentence is the error's help text.

use crate::decode::Decoder;
use crate::source::Span;

pub struct NameRule {
    pub expected: &'static str,
    matcher: fn(&str) -> bool,
}

impl NameRule {
    pub fn matches(&self, s: &str) -> bool {
        (self.matcher)(s)
    }
}

/// Record an error unless `value` follows `rule`; returns whether it does.
pub fn check(d: &mut Decoder, span: Span, what: &str, value: &str, rule: &NameRule) -> bool {
    if rule.matches(value) {
        return true;
    }
    d.diags.error_help(
        "invalid-name",
        Some(span),
        format!("{what} `{value}` is not valid"),
        format!("expected {}", rule.expected),
    );
    false
}

fn lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

pub const CLUSTER_NAME: NameRule = NameRule {
    expected: "1 to 31 characters: a lowercase letter, then lowercase letters, digits or `-`",
    matcher: |s| {
        (1..=31).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars().all(|c| lower_alnum(c) || c == '-')
    },
};

/// A login name on the managers (`cluster.ssh.user`): what `useradd`
/// accepts by default, and never something `ssh` could read as an option.
pub const SSH_USER: NameRule = NameRule {
    expected: "1 to 32 characters: a lowercase letter or `_`, then lowercase letters, digits, `_` or `-`",
    matcher: |s| {
        (1..=32).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && s.chars().all(|c| lower_alnum(c) || c == '_' || c == '-')
    },
};

/// Stack names become the prefix of service, network, config and secret
/// names (`<stack>_<name>`), as with `docker stack deploy`.
pub const STACK_NAME: NameRule = NameRule {
    expected: "1 to 40 characters: lowercase letters, digits, `-` or `_`, starting with a letter or digit",
    matcher: |s| {
        (1..=40).contains(&s.len())
            && s.starts_with(lower_alnum)
            && s.chars().all(|c| lower_alnum(c) || c == '-' || c == '_')
    },
};

pub const VOLUME_NAME: NameRule = NameRule {
    expected: "1 to 64 characters: lowercase letters, digits, `-`, `_` or `.`, starting with a letter or digit",
    matcher: |s| {
        (1..=64).contains(&s.len())
            && s.starts_with(lower_alnum)
            && s.chars().all(|c| lower_alnum(c) || matches!(c, '-' | '_' | '.'))
    },
};

/// Compose service names (docker: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`).
pub const SERVICE_NAME: NameRule = NameRule {
    expected: "letters, digits, `-`, `_` or `.`, starting with a letter or digit",
    matcher: |s| {
        !s.is_empty()
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    },
};

pub const REGION: NameRule = NameRule {
    expected: "an AWS region such as eu-west-1, us-east-2 or ap-southeast-1",
    matcher: |s| {
        let parts: Vec<&str> = s.split('-').collect();
        parts.len() >= 3
            && parts[0].len() == 2
            && parts[0].chars().all(|c| c.is_ascii_lowercase())
            && parts[1..parts.len() - 1]
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
            && parts
                .last()
                .is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    },
};

/// An IAM instance profile name (IAM's own character set).
pub const INSTANCE_PROFILE: NameRule = NameRule {
    expected: "an IAM instance profile name such as swarmkeeper-managers (1-128 letters, digits or `+=,.@_-`)",
    matcher: |s| (1..=128).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)),
};

pub const INSTANCE_TYPE: NameRule = NameRule {
    expected: "an EC2 instance type such as t2.micro, t3.small or m6i.xlarge",
    matcher: |s| match s.split_once('.') {
        Some((family, size)) => {
            !family.is_empty()
                && family.starts_with(|c: char| c.is_ascii_lowercase())
                && family.chars().all(|c| lower_alnum(c) || c == '-')
                && !size.is_empty()
                && size.chars().all(|c| lower_alnum(c) || c == '-')
        }
        None => false,
    },
};

fn aws_id(s: &str, prefix: &str, lens: &[usize]) -> bool {
    s.strip_prefix(prefix).is_some_and(|hex| {
        (lens.is_empty() || lens.contains(&hex.len()))
            && !hex.is_empty()
            && hex.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    })
}

pub const AMI_ID: NameRule = NameRule {
    expected: "an AMI id: `ami-` and 8 or 17 hex digits",
    matcher: |s| aws_id(s, "ami-", &[8, 17]),
};

pub const VPC_ID: NameRule = NameRule {
    expected: "a VPC id: `vpc-` and hex digits",
    matcher: |s| aws_id(s, "vpc-", &[]),
};

pub const SUBNET_ID: NameRule = NameRule {
    expected: "a subnet id: `subnet-` and hex digits",
    matcher: |s| aws_id(s, "subnet-", &[]),
};

pub const HOST_NAME: NameRule = NameRule {
    expected: "a DNS host name such as cloud.example.com (a leading `*.` wildcard is allowed)",
    matcher: |s| {
        let s = s.strip_prefix("*.").unwrap_or(s);
        !s.is_empty()
            && s.len() <= 253
            && s.split('.').all(|label| {
                (1..=63).contains(&label.len())
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
    },
};

pub const TIME_OF_DAY: NameRule = NameRule {
    expected: "a UTC time of day as HH:MM, e.g. 01:42",
    matcher: |s| match s.split_once(':') {
        Some((h, m)) => {
            h.len() == 2
                && m.len() == 2
                && h.parse::<u8>().is_ok_and(|h| h < 24)
                && m.parse::<u8>().is_ok_and(|m| m < 60)
        }
        None => false,
    },
};

pub const LOG_GROUP: NameRule = NameRule {
    expected: "1 to 512 characters: letters, digits, `_`, `-`, `/`, `.` or `#`",
    matcher: |s| {
        (1..=512).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | '.' | '#'))
    },
};

/// Characters that mean nothing to a shell or to YAML, the only ones the
/// controller's values may hold: they are written into the managers' user
/// data unquoted-safe, so nothing in them can run or reshape the script.
fn plain(c: char, extra: &[char]) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/') || extra.contains(&c)
}

/// A container image reference: `[registry/]repository[:tag][@digest]`.
pub const IMAGE_REF: NameRule = NameRule {
    expected: "an image reference such as 123456789012.dkr.ecr.eu-west-1.amazonaws.com/swarmkeeper:0.1.0 \
               (letters, digits, `-`, `_`, `.`, `/`, `:` or `@`, starting with a letter or digit)",
    matcher: |s| {
        (1..=255).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && !s.ends_with(['/', ':', '@'])
            && !s.contains("//")
            && s.chars().all(|c| plain(c, &[':', '@']))
    },
};

/// A repository URL git can clone without a prompt: `https://`, `ssh://`,
/// `git://`, `file://` or the scp-like `user@host:path`.
pub const GIT_URL: NameRule = NameRule {
    expected: "a git URL such as https://git.example.com/ops/platform.git, ssh://git@git.example.com/ops/platform.git, \
               file:///srv/git/platform.git or git@git.example.com:ops/platform.git (letters, digits and `-_./:@~+%`, no spaces or quotes)",
    matcher: |s| {
        let scheme_ok = match s.split_once("://") {
            Some((scheme, rest)) => matches!(scheme, "https" | "http" | "ssh" | "git" | "file") && !rest.is_empty(),
            // scp-like: something before `@`, a host, `:` and a path.
            None => s
                .split_once('@')
                .and_then(|(_, rest)| rest.split_once(':'))
                .is_some_and(|(host, path)| !host.is_empty() && !path.is_empty()),
        };
        (1..=2048).contains(&s.len()) && scheme_ok && s.chars().all(|c| plain(c, &[':', '@', '~', '+', '%']))
    },
};

/// Whether a git URL carries a secret: a password (`user:secret@`), or
/// for http(s) any user part at all, since that is where hosting services
/// take access tokens (`https://TOKEN@host/…`). `ssh://git@host` and
/// `git@host:path` name a user only, and are fine.
pub fn url_has_credentials(url: &str) -> bool {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split('/').next().unwrap_or(rest);
            match authority.rsplit_once('@') {
                Some((user, _)) => matches!(scheme, "http" | "https") || user.contains(':'),
                None => false,
            }
        }
        None => url.split_once('@').is_some_and(|(user, _)| user.contains(':')),
    }
}

/// A branch name, as git allows it (the usual subset).
pub const GIT_BRANCH: NameRule = NameRule {
    expected: "a branch name such as main or release/1.2 (letters, digits, `-`, `_`, `.` or `/`; \
               not starting with `-`, `.` or `/`, no `..`)",
    matcher: |s| {
        (1..=255).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            && !s.ends_with(['/', '.'])
            && !s.ends_with(".lock")
            && !s.contains("..")
            && !s.contains("//")
            && s.chars().all(|c| plain(c, &[]))
    },
};

/// A directory inside the repository, relative to its root (`.` is the
/// root): never absolute and never climbing out with `..`.
pub const REPO_PATH: NameRule = NameRule {
    expected: "a directory relative to the repository's root, such as . or deploy/platform \
               (letters, digits, `-`, `_`, `.` or `/`; not starting with `/`, no `..`)",
    matcher: |s| {
        (1..=1024).contains(&s.len())
            && !s.starts_with('/')
            && s.split('/').all(|part| part != "..")
            && s.chars().all(|c| plain(c, &[]))
    },
};

/// Parse `address/prefix` for IPv4 or IPv6.
pub fn parse_cidr(s: &str) -> Result<(std::net::IpAddr, u8), String> {
    let (addr, prefix) = s.split_once('/').ok_or("the `/prefix` part is missing")?;
    let addr: std::net::IpAddr = addr.parse().map_err(|_| format!("`{addr}` is not an IP address"))?;
    let prefix: u8 = prefix
        .parse()
        .map_err(|_| format!("`{prefix}` is not a prefix length"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if prefix > max {
        return Err(format!("the prefix length must be at most {max}"));
    }
    Ok((addr, prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&NameRule, &str, bool)] = &[
            (&CLUSTER_NAME, "cloud", true),
            (&CLUSTER_NAME, "Cloud", false),
            (&CLUSTER_NAME, "1cloud", false),
            (&CLUSTER_NAME, "a-very-long-cluster-name-that-is-too-long", false),
            (&REGION, "eu-west-1", true),
            (&REGION, "us-gov-west-1", true),
            (&REGION, "europe", false),
            (&REGION, "eu-west", false),
            (&INSTANCE_TYPE, "t2.micro", true),
            (&INSTANCE_TYPE, "u-6tb1.metal", true),
            (&INSTANCE_TYPE, "t2micro", false),
            (&INSTANCE_TYPE, "T2.micro", false),
            (&AMI_ID, "ami-0123abcd", true),
            (&AMI_ID, "ami-0123456789abcdef0", true),
            (&AMI_ID, "ami-xyz", false),
            (&HOST_NAME, "cloud.example.com", true),
            (&HOST_NAME, "*.example.com", true),
            (&HOST_NAME, "bad_host.example.com", false),
            (&TIME_OF_DAY, "01:42", true),
            (&TIME_OF_DAY, "24:00", false),
            (&STACK_NAME, "nextcloud", true),
            (&STACK_NAME, "Next", false),
            (
                &IMAGE_REF,
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/swarmkeeper:0.1.0",
                true,
            ),
            (&IMAGE_REF, "swarmkeeper@sha256:0123abcd", true),
            (&IMAGE_REF, "swarmkeeper:$(id)", false),
            (&IMAGE_REF, "/swarmkeeper", false),
            (&GIT_URL, "https://git.example.com/ops/platform.git", true),
            (&GIT_URL, "ssh://git@git.example.com/ops/platform.git", true),
            (&GIT_URL, "git@git.example.com:ops/platform.git", true),
            (&GIT_URL, "file:///srv/git/platform.git", true),
            (&GIT_URL, "https://git.example.com/ops/plat form.git", false),
            (&GIT_URL, "ftp://git.example.com/ops/platform.git", false),
            (&GIT_URL, "platform.git", false),
            (&GIT_URL, "https://git.example.com/x;rm", false),
            (&GIT_BRANCH, "main", true),
            (&GIT_BRANCH, "release/1.2", true),
            (&GIT_BRANCH, "-main", false),
            (&GIT_BRANCH, "a..b", false),
            (&GIT_BRANCH, "topic.lock", false),
            (&REPO_PATH, ".", true),
            (&REPO_PATH, "deploy/platform", true),
            (&REPO_PATH, "/etc", false),
            (&REPO_PATH, "deploy/../..", false),
        ];
        for (rule, s, want) in cases {
            assert_eq!(rule.matches(s), *want, "{s}");
        }
    }

    #[test]
    fn credentials_in_urls() {
        let cases = [
            ("https://git.example.com/ops/platform.git", false),
            ("https://ghp_token@github.com/ops/platform.git", true),
            ("https://user:secret@git.example.com/ops/platform.git", true),
            ("ssh://git@git.example.com/ops/platform.git", false),
            ("ssh://git:secret@git.example.com/ops/platform.git", true),
            ("git@git.example.com:ops/platform.git", false),
            ("user:secret@git.example.com:ops/platform.git", true),
            // An `@` in the path is not a user part.
            ("https://git.example.com/ops/platform@v1.git", false),
        ];
        for (url, want) in cases {
            assert_eq!(url_has_credentials(url), want, "{url}");
        }
    }

    #[test]
    fn cidrs() {
        assert!(parse_cidr("10.0.0.0/16").is_ok());
        assert!(parse_cidr("::/0").is_ok());
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("10.0.0/16").is_err());
        assert!(parse_cidr("10.0.0.0").is_err());
    }
}
