//! Image references, read by docker's rules (distribution's `reference`
//! package): the default registry `docker.io` (also written
//! `index.docker.io`), its `library/` namespace for official images, the
//! `latest` tag when none is given, a digest after `@`. `docker stack
//! deploy` sends each service's image in the familiar form with a tag
//! (`consul` → `consul:latest`, `docker.io/library/busybox` →
//! `busybox:latest`); swarmkeeper sends the same, so that the services it
//! makes equal docker's and a tag written differently is no change.

use std::fmt;

/// The registry an image without a domain comes from.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// The tag an image without tag or digest means.
pub const DEFAULT_TAG: &str = "latest";

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// `docker.io`, `quay.io`, `localhost:5000`, `123.dkr.ecr.eu-west-1.amazonaws.com`.
    pub domain: String,
    /// The repository within the registry (`library/consul`, `prometheus/node-exporter`).
    pub path: String,
    pub tag: Option<String>,
    /// `sha256:…`.
    pub digest: Option<String>,
}

/// Why a reference could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadReference {
    pub reference: String,
    pub why: &'static str,
}

impl fmt::Display for BadReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "image `{}` is not a valid reference: {}", self.reference, self.why)
    }
}

impl std::error::Error for BadReference {}

impl ImageRef {
    /// Read `reference` as docker does (`reference.ParseNormalizedNamed`).
    pub fn parse(reference: &str) -> Result<ImageRef, BadReference> {
        let bad = |why| BadReference {
            reference: reference.to_owned(),
            why,
        };
        if reference.is_empty() {
            return Err(bad("it is empty"));
        }
        let (rest, digest) = match reference.split_once('@') {
            Some((rest, digest)) => {
                let (algorithm, hex) = digest.split_once(':').ok_or_else(|| bad("a digest is ALGORITHM:HEX"))?;
                if algorithm.is_empty() || hex.len() < 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(bad("a digest is ALGORITHM:HEX (sha256: and 64 hex digits)"));
                }
                (rest, Some(digest.to_owned()))
            }
            None => (reference, None),
        };
        // A tag follows the last `:` after the last `/` (a `:` before it
        // is a registry's port).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let at = last_slash + i;
                (&rest[..at], Some(rest[at + 1..].to_owned()))
            }
            None => (rest, None),
        };
        if let Some(tag) = &tag
            && (tag.is_empty()
                || tag.len() > 128
                || tag.starts_with(['.', '-'])
                || !tag.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)))
        {
            return Err(bad(
                "a tag is up to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`",
            ));
        }
        let (domain, path) = split_domain(name);
        if path.is_empty() || path.split('/').any(|c| !valid_component(c)) {
            return Err(bad(
                "a repository name is lowercase letters, digits and separators (`.`, `_`, `__`, `-`), in components split by `/`",
            ));
        }
        Ok(ImageRef {
            domain,
            path,
            tag,
            digest,
        })
    }

    /// What docker sends for it (`reference.TagNameOnly` then
    /// `FamiliarString`): the familiar name, with `latest` when it has
    /// neither tag nor digest.
    pub fn familiar_tagged(&self) -> String {
        let mut out = self.familiar_name();
        match (&self.tag, &self.digest) {
            (None, None) => {
                out.push(':');
                out.push_str(DEFAULT_TAG);
            }
            (tag, digest) => {
                if let Some(tag) = tag {
                    out.push(':');
                    out.push_str(tag);
                }
                if let Some(digest) = digest {
                    out.push('@');
                    out.push_str(digest);
                }
            }
        }
        out
    }

    /// The name without `docker.io/` and its `library/` namespace.
    pub fn familiar_name(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            self.path.strip_prefix("library/").unwrap_or(&self.path).to_owned()
        } else {
            format!("{}/{}", self.domain, self.path)
        }
    }

    /// The tag asked for: the written one, else `latest` (none when the
    /// reference names only a digest).
    pub fn tag_or_default(&self) -> Option<&str> {
        match (&self.tag, &self.digest) {
            (Some(tag), _) => Some(tag),
            (None, None) => Some(DEFAULT_TAG),
            (None, Some(_)) => None,
        }
    }
}

/// `splitDockerDomain`: the first component is a registry when it has a
/// `.` or `:` or is `localhost` (or has uppercase, which no repository
/// name has); else the image is on docker.io, under `library/` when its
/// name has one component.
fn split_domain(name: &str) -> (String, String) {
    let (domain, remainder) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" || first.to_lowercase() != first => {
            (first.to_owned(), rest.to_owned())
        }
        _ => (DEFAULT_DOMAIN.to_owned(), name.to_owned()),
    };
    let domain = if domain == "index.docker.io" {
        DEFAULT_DOMAIN.to_owned()
    } else {
        domain
    };
    let remainder = if domain == DEFAULT_DOMAIN && !remainder.contains('/') {
        format!("library/{remainder}")
    } else {
        remainder
    };
    (domain, remainder)
}

/// A path component: lowercase alphanumerics separated by `.`, `_`, `__`
/// or runs of `-`.
fn valid_component(c: &str) -> bool {
    let bytes = c.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-')) {
            return false;
        }
    }
    true
}

/// The image a service is sent with: docker's familiar tagged form, or the
/// reference as written when it cannot be read (the engine then reports
/// it, as it would for `docker stack deploy`).
pub fn as_docker_sends(reference: &str) -> String {
    ImageRef::parse(reference).map_or_else(|_| reference.to_owned(), |r| r.familiar_tagged())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    /// As written → (domain, path, what docker sends), as measured with
    /// `docker stack deploy --resolve-image never` on the lab.
    #[test]
    fn references_read_and_sent_as_docker_does() {
        let at = format!("busybox@{DIGEST}");
        let tagged_at = format!("quay.io/a/b:1@{DIGEST}");
        let cases: &[(&str, &str, &str, &str)] = &[
            ("consul", "docker.io", "library/consul", "consul:latest"),
            (
                "docker.io/library/busybox",
                "docker.io",
                "library/busybox",
                "busybox:latest",
            ),
            ("index.docker.io/foo/bar", "docker.io", "foo/bar", "foo/bar:latest"),
            (
                "localhost:5000/app",
                "localhost:5000",
                "app",
                "localhost:5000/app:latest",
            ),
            ("localhost/app:2", "localhost", "app", "localhost/app:2"),
            (&at, "docker.io", "library/busybox", &at),
            ("docker.io/busybox:1.36", "docker.io", "library/busybox", "busybox:1.36"),
            (
                "quay.io/prometheus/node-exporter",
                "quay.io",
                "prometheus/node-exporter",
                "quay.io/prometheus/node-exporter:latest",
            ),
            (
                "grafana/grafana:10.4.2",
                "docker.io",
                "grafana/grafana",
                "grafana/grafana:10.4.2",
            ),
            (
                "registry:5000/a/b/c:v1.2_3",
                "registry:5000",
                "a/b/c",
                "registry:5000/a/b/c:v1.2_3",
            ),
            (&tagged_at, "quay.io", "a/b", &tagged_at),
            (
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:7",
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
                "team/app",
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:7",
            ),
        ];
        for (written, domain, path, sent) in cases {
            let r = ImageRef::parse(written).unwrap_or_else(|e| panic!("{written}: {e}"));
            assert_eq!((r.domain.as_str(), r.path.as_str()), (*domain, *path), "{written}");
            assert_eq!(r.familiar_tagged(), *sent, "{written}");
            assert_eq!(as_docker_sends(written), *sent, "{written}");
        }
    }

    #[test]
    fn the_default_tag_is_latest_unless_a_digest_names_the_image() {
        assert_eq!(
            ImageRef::parse("nginx")
                .ok()
                .and_then(|r| r.tag_or_default().map(str::to_owned)),
            Some("latest".into())
        );
        assert_eq!(
            ImageRef::parse("nginx:1")
                .ok()
                .and_then(|r| r.tag_or_default().map(str::to_owned)),
            Some("1".into())
        );
        let digest_only = ImageRef::parse(&format!("nginx@{DIGEST}")).expect("valid");
        assert_eq!(digest_only.tag_or_default(), None);
    }

    #[test]
    fn invalid_references_say_why_and_are_sent_as_written() {
        for bad in [
            "",
            "Upper/Case",
            "a//b",
            "app:",
            "app:-x",
            "app@sha256:xyz",
            "-app",
            "a__-b",
        ] {
            let e = ImageRef::parse(bad);
            assert!(e.is_err(), "{bad} read as {e:?}");
            assert_eq!(as_docker_sends(bad), bad);
        }
        let e = ImageRef::parse("app:").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("image `app:`") && e.contains("tag"), "{e}");
    }
}
