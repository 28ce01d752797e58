//! What a webhook delivery asks for, decided from its headers and body
//! alone (no I/O): which forge sent it, whether its signature holds with
//! the configured secret, and whether it is a push to the followed branch.
//!
//! The forms accepted, each as its forge documents it:
//! - GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`,
//!   `X-GitHub-Event: push` (or `ping`, answered and ignored);
//! - GitLab: `X-Gitlab-Token: <the secret itself>`, `X-Gitlab-Event: Push Hook`;
//! - Gitea: `X-Gitea-Signature: <hex HMAC-SHA256>`, `X-Gitea-Event: push`;
//! - Forgejo: `X-Forgejo-Signature: <hex HMAC-SHA256>`, `X-Forgejo-Event: push`;
//! - generic: `X-Swarmkeeper-Signature: sha256=<hex HMAC-SHA256>`, a body
//!   that is empty or a JSON object whose optional `ref` names the branch.
//!
//! GitHub's form-encoded deliveries (`payload=<JSON>`) are signed over the
//! raw body and read from the `payload` field.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Which forge's conventions a delivery follows (from its signature header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    GitHub,
    GitLab,
    Gitea,
    Forgejo,
    Generic,
}

impl Provider {
    pub fn name(self) -> &'static str {
        match self {
            Provider::GitHub => "github",
            Provider::GitLab => "gitlab",
            Provider::Gitea => "gitea",
            Provider::Forgejo => "forgejo",
            Provider::Generic => "generic",
        }
    }

    /// The header carrying the signature (or GitLab's token), and the
    /// header naming the event (none for the generic form).
    fn headers(self) -> (&'static str, Option<&'static str>) {
        match self {
            Provider::GitHub => ("x-hub-signature-256", Some("x-github-event")),
            Provider::GitLab => ("x-gitlab-token", Some("x-gitlab-event")),
            Provider::Gitea => ("x-gitea-signature", Some("x-gitea-event")),
            Provider::Forgejo => ("x-forgejo-signature", Some("x-forgejo-event")),
            Provider::Generic => ("x-swarmkeeper-signature", None),
        }
    }

    /// The event that means "the branch moved".
    fn push_event(self) -> &'static str {
        match self {
            Provider::GitLab => "Push Hook",
            _ => "push",
        }
    }
}

/// In the order a delivery is recognised: Forgejo sends Gitea's headers
/// too, and Gitea sends GitHub's, so the most specific comes first.
const RECOGNISED: [Provider; 5] = [
    Provider::Forgejo,
    Provider::Gitea,
    Provider::GitHub,
    Provider::GitLab,
    Provider::Generic,
];

/// What to do with a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A push to the followed branch: fetch now.
    Fetch { provider: Provider, commit: Option<String> },
    /// Authentic, and nothing to do (a ping, another event, another branch).
    Ignore { provider: Provider, reason: String },
    /// Not authentic or not readable: refused, nothing fetched.
    Refuse { status: u16, reason: String },
}

impl Verdict {
    /// The HTTP status answered: 202 for a fetch started, 200 for an
    /// authentic delivery with nothing to do (a forge marks anything else
    /// as a failed delivery, which a push to another branch is not).
    pub fn status(&self) -> u16 {
        match self {
            Verdict::Fetch { .. } => 202,
            Verdict::Ignore { .. } => 200,
            Verdict::Refuse { status, .. } => *status,
        }
    }

    /// The label of `swarmkeeper_webhook_requests`.
    pub fn outcome(&self) -> &'static str {
        match self {
            Verdict::Fetch { .. } => "fetch",
            Verdict::Ignore { .. } => "ignored",
            Verdict::Refuse { status: 401, .. } => "unauthenticated",
            Verdict::Refuse { .. } => "bad_request",
        }
    }
}

fn refuse(status: u16, reason: impl Into<String>) -> Verdict {
    Verdict::Refuse {
        status,
        reason: reason.into(),
    }
}

/// Judge one delivery. `header` looks a header up by its lower-case name;
/// `secret` is the shared secret, `branch` the branch followed.
pub fn judge<'h>(header: impl Fn(&str) -> Option<&'h str>, body: &[u8], secret: &[u8], branch: &str) -> Verdict {
    let Some((provider, signature)) = RECOGNISED
        .iter()
        .find_map(|p| header(p.headers().0).map(|s| (*p, s.trim())))
    else {
        let reason = if header("x-hub-signature").is_some() {
            "only a SHA-1 signature (X-Hub-Signature) was sent: swarmkeeper checks SHA-256 (X-Hub-Signature-256), \
             which GitHub sends whenever the webhook has a secret"
        } else {
            "no signature: set the webhook's secret to swarmkeeper's (--webhook-secret-file); expected one of \
             X-Hub-Signature-256, X-Gitlab-Token, X-Gitea-Signature, X-Forgejo-Signature, X-Swarmkeeper-Signature"
        };
        return refuse(401, reason);
    };
    let authentic = match provider {
        Provider::GitLab => constant_time_eq(signature.as_bytes(), secret),
        Provider::GitHub | Provider::Generic => signature
            .strip_prefix("sha256=")
            .is_some_and(|hex| hmac_matches(secret, body, hex)),
        Provider::Gitea | Provider::Forgejo => hmac_matches(secret, body, signature),
    };
    if !authentic {
        return refuse(
            401,
            format!(
                "the {} signature does not match: the webhook's secret differs from swarmkeeper's (--webhook-secret-file), \
                 or the body was changed on the way",
                provider.name()
            ),
        );
    }
    if let Some(event_header) = provider.headers().1 {
        let event = header(event_header).unwrap_or("").trim();
        if event != provider.push_event() {
            let reason = match event {
                "" => format!("no event named ({event_header})"),
                "ping" => "ping: the webhook reaches swarmkeeper and its secret matches".to_owned(),
                other => format!("a `{other}` event: only pushes start a fetch"),
            };
            return Verdict::Ignore { provider, reason };
        }
    }
    let payload = match payload(header("content-type").unwrap_or(""), body) {
        Ok(p) => p,
        Err(reason) => return refuse(400, reason),
    };
    if payload.is_empty() && provider == Provider::Generic {
        return Verdict::Fetch { provider, commit: None };
    }
    let value: serde_json::Value = match serde_json::from_slice(&payload) {
        Ok(v) => v,
        Err(e) => return refuse(400, format!("the body is not JSON ({e}): send the push event as JSON")),
    };
    let wanted = format!("refs/heads/{branch}");
    match value.get("ref") {
        Some(serde_json::Value::String(pushed)) if *pushed == wanted => {}
        Some(serde_json::Value::String(pushed)) => {
            return Verdict::Ignore {
                provider,
                reason: format!("a push to {pushed}; swarmkeeper follows {wanted}"),
            };
        }
        None if provider == Provider::Generic => {}
        Some(_) | None => return refuse(400, "the push event has no `ref` naming the branch pushed"),
    }
    let commit = value
        .get("after")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    Verdict::Fetch { provider, commit }
}

/// The JSON a delivery carries: the body, or GitHub's form field `payload`.
fn payload(content_type: &str, body: &[u8]) -> Result<Vec<u8>, String> {
    if !content_type
        .trim()
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Ok(body.to_vec());
    }
    let text = std::str::from_utf8(body).map_err(|_| "the form body is not UTF-8".to_owned())?;
    let field = text
        .split('&')
        .find_map(|pair| pair.strip_prefix("payload="))
        .ok_or_else(|| "a form-encoded delivery without a `payload` field".to_owned())?;
    let plus_decoded = field.replace('+', " ");
    crate::controller::source::git::percent_decode(&plus_decoded)
        .map(String::into_bytes)
        .map_err(|()| "the form field `payload` is not valid percent-encoding".to_owned())
}

/// Whether `hex` is the HMAC-SHA256 of `body` under `secret` (compared in
/// constant time by the MAC itself).
fn hmac_matches(secret: &[u8], body: &[u8], hex: &str) -> bool {
    let Ok(expected) = hex::decode(hex.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// Equal bytes, in a time that does not depend on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    // GitHub's own example ("Validating webhook deliveries"): this secret
    // and payload give this signature.
    const GITHUB_SECRET: &[u8] = b"It's a Secret to Everybody";
    const GITHUB_PAYLOAD: &[u8] = b"Hello, World!";
    const GITHUB_SIGNATURE: &str = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn the_hmac_matches_githubs_documented_example() {
        assert!(hmac_matches(GITHUB_SECRET, GITHUB_PAYLOAD, GITHUB_SIGNATURE));
        assert!(!hmac_matches(b"another secret", GITHUB_PAYLOAD, GITHUB_SIGNATURE));
        assert!(!hmac_matches(GITHUB_SECRET, b"Hello, World?", GITHUB_SIGNATURE));
        assert!(!hmac_matches(GITHUB_SECRET, GITHUB_PAYLOAD, "not hex"));
    }

    fn sign(secret: &[u8], body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }

    const SECRET: &[u8] = b"s3cret";
    const PUSH_MAIN: &[u8] = br#"{"ref":"refs/heads/main","after":"0123abcd"}"#;
    const PUSH_OTHER: &[u8] = br#"{"ref":"refs/heads/feature","after":"0123abcd"}"#;

    fn run(headers: &[(&str, String)], body: &[u8]) -> Verdict {
        judge(
            |name| {
                headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.as_str())
            },
            body,
            SECRET,
            "main",
        )
    }

    /// The headers each forge sends with a push to `body`, signed with `secret`.
    fn forge(provider: Provider, secret: &[u8], body: &[u8], event: &str) -> Vec<(&'static str, String)> {
        let hmac = sign(secret, body);
        match provider {
            Provider::GitHub => vec![
                ("X-Hub-Signature-256", format!("sha256={hmac}")),
                ("X-GitHub-Event", event.to_owned()),
            ],
            Provider::GitLab => vec![
                ("X-Gitlab-Token", String::from_utf8_lossy(secret).into_owned()),
                ("X-Gitlab-Event", event.to_owned()),
            ],
            // Gitea sends GitHub's header as well.
            Provider::Gitea => vec![
                ("X-Gitea-Signature", hmac.clone()),
                ("X-Hub-Signature-256", format!("sha256={hmac}")),
                ("X-Gitea-Event", event.to_owned()),
            ],
            // Forgejo sends Gitea's as well.
            Provider::Forgejo => vec![
                ("X-Forgejo-Signature", hmac.clone()),
                ("X-Gitea-Signature", hmac),
                ("X-Forgejo-Event", event.to_owned()),
                ("X-Gitea-Event", event.to_owned()),
            ],
            Provider::Generic => vec![("X-Swarmkeeper-Signature", format!("sha256={hmac}"))],
        }
    }

    #[test]
    fn each_forge_s_push_to_the_followed_branch_fetches_and_is_known_for_what_it_is() {
        for provider in RECOGNISED {
            let verdict = run(&forge(provider, SECRET, PUSH_MAIN, provider.push_event()), PUSH_MAIN);
            assert_eq!(
                verdict,
                Verdict::Fetch {
                    provider,
                    commit: Some("0123abcd".into())
                },
                "{provider:?}"
            );
            assert_eq!(verdict.status(), 202);
        }
    }

    #[test]
    fn a_wrong_secret_is_refused_for_every_forge() {
        for provider in RECOGNISED {
            let verdict = run(&forge(provider, b"wrong", PUSH_MAIN, provider.push_event()), PUSH_MAIN);
            assert_eq!(verdict.status(), 401, "{provider:?}: {verdict:?}");
            assert_eq!(verdict.outcome(), "unauthenticated");
        }
    }

    #[test]
    fn a_body_changed_after_signing_is_refused() {
        for provider in [Provider::GitHub, Provider::Gitea, Provider::Forgejo, Provider::Generic] {
            let headers = forge(provider, SECRET, PUSH_OTHER, provider.push_event());
            assert_eq!(run(&headers, PUSH_MAIN).status(), 401, "{provider:?}");
        }
    }

    #[test]
    fn a_push_to_another_branch_is_authentic_and_ignored() {
        for provider in RECOGNISED {
            let verdict = run(&forge(provider, SECRET, PUSH_OTHER, provider.push_event()), PUSH_OTHER);
            assert!(
                matches!(&verdict, Verdict::Ignore { reason, .. } if reason.contains("refs/heads/feature")),
                "{provider:?}: {verdict:?}"
            );
            assert_eq!(verdict.status(), 200);
        }
    }

    #[test]
    fn a_ping_or_another_event_is_ignored_but_a_missing_signature_is_not() {
        let ping = run(&forge(Provider::GitHub, SECRET, b"{}", "ping"), b"{}");
        assert!(matches!(&ping, Verdict::Ignore { reason, .. } if reason.starts_with("ping")));
        let tag = run(&forge(Provider::GitLab, SECRET, PUSH_MAIN, "Tag Push Hook"), PUSH_MAIN);
        assert!(matches!(tag, Verdict::Ignore { .. }), "{tag:?}");
        let unsigned = run(&[("X-GitHub-Event", "push".into())], PUSH_MAIN);
        assert_eq!(unsigned.status(), 401);
        let sha1 = run(&[("X-Hub-Signature", "sha1=00".into())], PUSH_MAIN);
        assert!(matches!(&sha1, Verdict::Refuse { reason, .. } if reason.contains("SHA-256")));
    }

    #[test]
    fn a_github_signature_without_its_prefix_is_refused() {
        let headers = vec![
            ("X-Hub-Signature-256", sign(SECRET, PUSH_MAIN)),
            ("X-GitHub-Event", "push".to_owned()),
        ];
        assert_eq!(run(&headers, PUSH_MAIN).status(), 401);
    }

    #[test]
    fn an_authentic_body_that_is_not_a_push_event_is_a_bad_request() {
        let body = b"not json";
        assert_eq!(run(&forge(Provider::GitHub, SECRET, body, "push"), body).status(), 400);
        let no_ref = br#"{"after":"0123"}"#;
        assert_eq!(
            run(&forge(Provider::Gitea, SECRET, no_ref, "push"), no_ref).status(),
            400
        );
    }

    #[test]
    fn the_generic_form_fetches_on_an_empty_body_or_one_without_a_ref() {
        assert_eq!(
            run(&forge(Provider::Generic, SECRET, b"", ""), b""),
            Verdict::Fetch {
                provider: Provider::Generic,
                commit: None
            }
        );
        let body = br#"{"reason":"deploy"}"#;
        assert!(matches!(
            run(&forge(Provider::Generic, SECRET, body, ""), body),
            Verdict::Fetch { .. }
        ));
    }

    #[test]
    fn a_form_encoded_github_delivery_is_read_from_its_payload_field() {
        let body = b"payload=%7B%22ref%22%3A%22refs%2Fheads%2Fmain%22%2C%22after%22%3A%22abc%22%7D";
        let mut headers = forge(Provider::GitHub, SECRET, body, "push");
        headers.push(("Content-Type", "application/x-www-form-urlencoded".into()));
        assert_eq!(
            run(&headers, body),
            Verdict::Fetch {
                provider: Provider::GitHub,
                commit: Some("abc".into())
            }
        );
    }

    #[test]
    fn tokens_compare_equal_only_when_equal() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(constant_time_eq(b"", b""));
    }
}
