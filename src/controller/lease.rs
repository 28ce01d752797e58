//! Keeping the lease: one task renews it every third of its time to live
//! and says, through a watch channel, whether this replica holds it.
//!
//! Every renewal call is bounded (a third of the time to live), and a
//! holder gives `held` up at `last renewed + 2/3 ttl` by its own clock — a
//! timer that fires whether or not a call ever returns, so a stalled engine
//! cannot keep a replica acting. Another replica may take the lease only
//! after the whole time to live: the holder has stopped a third of it
//! earlier.

use std::time::Duration;

use swarmkeeper_swarm::Engine;
use tokio::sync::watch;
use tokio::time::Instant;

/// Who this replica is, for the lease's holder label.
pub fn identity() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    format!("{host}-{}", std::process::id())
}

/// How long one renewal (or release) call may take.
pub fn call_timeout(ttl: Duration) -> Duration {
    ttl / 3
}

/// Until when a holder renewed at `renewed` may act.
pub fn acts_until(renewed: Instant, ttl: Duration) -> Instant {
    renewed + ttl * 2 / 3
}

fn drop_held(held: &watch::Sender<bool>, why: &str) {
    if *held.borrow() {
        tracing::warn!("{why}: stopping before the lease can pass to another replica");
        let _ = held.send(false);
    }
}

/// Renew until `stop`; `held` tells whether this replica may act.
/// `source` (what this replica follows, no credentials) is written with
/// the lease, so a CLI run can say where changes go.
pub async fn keep(
    engine: Engine,
    me: String,
    source: String,
    ttl: Duration,
    held: watch::Sender<bool>,
    mut stop: watch::Receiver<bool>,
) {
    // When this replica must stop acting, if it holds the lease.
    let mut expires: Option<Instant> = None;
    loop {
        // The lease's renewed time is taken when the call starts (the
        // engine is told `now`), so the local deadline counts from here.
        let sent = Instant::now();
        let attempt = tokio::time::timeout(call_timeout(ttl), engine.acquire_lease(&me, &source, ttl));
        let outcome = tokio::select! {
            r = attempt => Some(r),
            () = tokio::time::sleep_until(expires.unwrap_or(sent)), if expires.is_some() => None,
        };
        match outcome {
            Some(Ok(Ok(true))) => {
                if !*held.borrow() {
                    tracing::info!(holder = %me, "lease acquired: this replica acts");
                }
                expires = Some(acts_until(sent, ttl));
                let _ = held.send(true);
            }
            Some(Ok(Ok(false))) => {
                if *held.borrow() {
                    tracing::warn!("lease lost to another replica: stopping");
                }
                expires = None;
                let _ = held.send(false);
            }
            Some(Ok(Err(e))) => tracing::warn!(error = %e, "cannot renew the lease"),
            Some(Err(_)) => tracing::warn!(
                timeout_ms = call_timeout(ttl).as_millis() as u64,
                "the engine did not answer the lease renewal in time"
            ),
            None => {}
        }
        if expires.is_some_and(|t| t <= Instant::now()) {
            drop_held(&held, "lease not renewed in time");
            expires = None;
        }
        let next = Instant::now() + ttl / 3;
        tokio::select! {
            () = tokio::time::sleep_until(next) => {}
            () = tokio::time::sleep_until(expires.unwrap_or(next)), if expires.is_some_and(|t| t < next) => {
                drop_held(&held, "lease not renewed in time");
                expires = None;
            }
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    if *held.borrow() {
        let _ = held.send(false);
        match tokio::time::timeout(call_timeout(ttl), engine.release_lease(&me)).await {
            Ok(Ok(())) => tracing::info!("lease released"),
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot release the lease; it expires by itself"),
            Err(_) => tracing::warn!("the engine did not answer the lease release in time; it expires by itself"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_stops_a_third_of_the_ttl_before_others_may_take_over() {
        let ttl = Duration::from_secs(15);
        let t = Instant::now();
        assert_eq!(acts_until(t, ttl) - t, Duration::from_secs(10));
        // A renewal that starts at the last moment still ends (or is
        // abandoned) before the holder's own deadline passes the ttl.
        assert!(call_timeout(ttl) * 3 <= ttl);
    }
}
