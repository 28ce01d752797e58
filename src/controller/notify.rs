//! Delivering notifications: the notices [`Notifier`] decides on after
//! each cycle go to every receiver `notifications:` subscribes to them, as
//! a Slack-compatible `{"text": ...}` or the notice as JSON. One task
//! delivers, in order, with retries and backoff; the cycle only queues
//! (a full queue drops the newest notices, with a warning: a cycle never
//! waits for a chat service). A receiver's URL is a credential: it is read
//! where it lives at each delivery, never logged, and scrubbed, with every
//! other secret known here, from what a message says.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use swarmkeeper_model::config::{Notification, NotificationKind};
use swarmkeeper_plan::notify::{Notice, Notifier, Seen};
use tokio::sync::{mpsc, watch};

use crate::registries::Registries;

/// Attempts per message and receiver (waits 1, 2, 4, 8 s between).
const ATTEMPTS: u32 = 5;
/// Batches queued before new ones are dropped.
const QUEUE: usize = 64;
/// One request's bound.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What a message is sent with: the receivers, and how to read their URLs.
pub struct Batch {
    pub notices: Vec<Notice>,
    pub receivers: BTreeMap<String, Notification>,
    /// Reads `{ssm: ...}`, `{file: ...}`, `{env: ...}`.
    pub registries: Registries,
    pub aws: Option<swarmkeeper_aws::Aws>,
    /// Who is speaking: the cluster's name, or the source.
    pub origin: String,
}

/// The cycle's side: decides and queues.
pub struct Notifications {
    notifier: Notifier,
    queue: mpsc::Sender<Batch>,
}

impl Notifications {
    /// Start the delivering task; `secrets` are scrubbed from every message
    /// (the webhook's secret, the git URL's credentials).
    pub fn start(secrets: Vec<String>, stop: watch::Receiver<bool>) -> (Self, tokio::task::JoinHandle<()>) {
        let (queue, batches) = mpsc::channel(QUEUE);
        let task = tokio::spawn(deliver(batches, secrets, stop));
        (
            Self {
                notifier: Notifier::default(),
                queue,
            },
            task,
        )
    }

    /// After a cycle: decide what to tell, and queue it for the receivers.
    /// The notifier remembers even without receivers, so that one added
    /// later is not told of old conditions as new.
    pub fn after(&mut self, seen: &Seen, batch: impl FnOnce(Vec<Notice>) -> Option<Batch>) {
        let notices = self.notifier.after(seen);
        if notices.is_empty() {
            return;
        }
        for n in &notices {
            tracing::info!(event = n.event.as_str(), message = %n.message, "notification");
        }
        let Some(batch) = batch(notices) else { return };
        if batch.receivers.is_empty() {
            return;
        }
        if self.queue.try_send(batch).is_err() {
            tracing::warn!("notifications: the queue is full (receivers slow or down); these are dropped");
        }
    }
}

async fn deliver(mut batches: mpsc::Receiver<Batch>, secrets: Vec<String>, mut stop: watch::Receiver<bool>) {
    let client = match reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e.without_url(), "notifications: cannot build an HTTP client; none is sent");
            return;
        }
    };
    loop {
        let batch = tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            b = batches.recv() => match b { Some(b) => b, None => return },
        };
        // Every receiver's URL is a secret to keep out of every message.
        let mut urls = BTreeMap::new();
        for (name, receiver) in &batch.receivers {
            match batch.registries.secret(&receiver.url, batch.aws.as_ref()).await {
                Ok(url) => {
                    urls.insert(name.clone(), url);
                }
                Err(why) => tracing::warn!(receiver = %name, "notifications.{name}.url: {why}; not sent"),
            }
        }
        let mut known: Vec<&str> = secrets.iter().map(String::as_str).collect();
        known.extend(urls.values().map(String::as_str));
        for notice in &batch.notices {
            let notice = scrub(notice, &known);
            for (name, receiver) in &batch.receivers {
                let Some(url) = urls.get(name) else { continue };
                if !receiver.events.contains(&notice.event) {
                    continue;
                }
                let body = body(receiver.kind, &notice, &batch.origin);
                if !send(&client, name, url, &body, &mut stop).await {
                    return;
                }
            }
        }
    }
}

/// The request body a receiver of `kind` is sent.
fn body(kind: NotificationKind, notice: &Notice, origin: &str) -> serde_json::Value {
    match kind {
        NotificationKind::Slack => json!({ "text": format!("swarmkeeper ({origin}): {}", notice.message) }),
        NotificationKind::Webhook => {
            let mut doc = serde_json::to_value(notice).unwrap_or_else(|_| json!({}));
            if let Some(map) = doc.as_object_mut() {
                map.insert("origin".into(), json!(origin));
                map.insert(
                    "at_unix".into(),
                    json!(
                        std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_secs())
                    ),
                );
            }
            doc
        }
    }
}

/// POST with retries; `false` when asked to stop meanwhile.
async fn send(
    client: &reqwest::Client,
    name: &str,
    url: &str,
    body: &serde_json::Value,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    for attempt in 1..=ATTEMPTS {
        let sent = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await;
        let why = match sent {
            Ok(r) if r.status().is_success() => return true,
            // A receiver that refuses the message will refuse it again.
            Ok(r) if r.status().is_client_error() && r.status() != reqwest::StatusCode::TOO_MANY_REQUESTS => {
                tracing::warn!(receiver = %name, status = r.status().as_u16(), "notification refused by its receiver: check notifications.{name} (its URL, or its type)");
                return true;
            }
            Ok(r) => format!("HTTP {}", r.status().as_u16()),
            // Without the URL: it is the credential.
            Err(e) => e.without_url().to_string(),
        };
        if attempt == ATTEMPTS {
            tracing::warn!(receiver = %name, error = %why, attempts = ATTEMPTS, "notification not delivered; given up");
            return true;
        }
        let wait = super::jitter(Duration::from_secs(1 << (attempt - 1)));
        tracing::debug!(receiver = %name, error = %why, retry_in_ms = wait.as_millis() as u64, "notification: retrying");
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return false,
            () = tokio::time::sleep(wait) => {}
        }
    }
    true
}

/// `notice` with every known secret replaced.
fn scrub(notice: &Notice, secrets: &[&str]) -> Notice {
    let clean = |text: &str| {
        secrets.iter().filter(|s| s.len() >= 4).fold(text.to_owned(), |t, s| {
            t.replace(s, swarmkeeper_plan::redact::SENSITIVE)
        })
    };
    let mut out = notice.clone();
    out.message = clean(&out.message);
    out.error = out.error.as_deref().map(clean);
    if let Some(run) = &mut out.prune {
        run.failed = run.failed.iter().map(|f| clean(f)).collect();
        for node in &mut run.nodes {
            node.errors = node.errors.iter().map(|e| clean(e)).collect();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use swarmkeeper_plan::notify::Event;

    fn notice(message: &str) -> Notice {
        let mut n = Notifier::default();
        let mut told = n.after(&Seen {
            revision: Some("abc".into()),
            ended: swarmkeeper_plan::notify::Ended::Failed {
                error: message.to_owned(),
            },
            quorum: None,
            replaced: vec![],
            suspended: None,
            pruned: vec![],
        });
        told.remove(0)
    }

    #[test]
    fn a_secret_in_an_error_never_reaches_the_message() {
        let n = notice("cannot pull from https://bot:hunter2-token@ghcr.io/x");
        let clean = scrub(&n, &["hunter2-token", "ab"]);
        assert!(!clean.message.contains("hunter2-token"), "{clean:?}");
        assert!(!clean.error.as_deref().unwrap_or("").contains("hunter2-token"));
        assert!(clean.message.contains("(sensitive)"));
    }

    #[test]
    fn slack_gets_text_and_a_webhook_gets_the_notice() {
        let n = notice("web: no such image");
        let slack = body(NotificationKind::Slack, &n, "cloud");
        assert_eq!(
            slack,
            json!({"text": "swarmkeeper (cloud): applying abc failed: web: no such image"})
        );
        let hook = body(NotificationKind::Webhook, &n, "cloud");
        assert_eq!(hook["event"], "failed");
        assert_eq!(hook["error"], "web: no such image");
        assert_eq!(hook["revision"], "abc");
        assert_eq!(hook["origin"], "cloud");
        assert_eq!(n.event, Event::Failed);
    }
}
