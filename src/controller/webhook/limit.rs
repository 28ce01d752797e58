//! A token bucket: how many webhook deliveries are judged, so that a
//! flood (authentic or not) costs a bounded amount of HMAC and fetches.

use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Bucket {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// Full at `now`: `capacity` deliveries at once, then `per_second`.
    pub fn new(capacity: u32, per_second: u32, now: Instant) -> Self {
        Self {
            capacity: f64::from(capacity),
            per_second: f64::from(per_second.max(1)),
            tokens: f64::from(capacity),
            at: now,
        }
    }

    /// Take a token at `now`, or say how long until one is there.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        self.at = now.max(self.at);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_up_to_the_capacity_passes_then_the_rate_holds() {
        let start = Instant::now();
        let mut bucket = Bucket::new(3, 2, start);
        for _ in 0..3 {
            assert!(bucket.take(start).is_ok());
        }
        let wait = bucket.take(start).expect_err("empty");
        assert!(wait <= Duration::from_millis(500) && wait > Duration::ZERO, "{wait:?}");
        // Half a second later one more (2 a second).
        assert!(bucket.take(start + Duration::from_millis(500)).is_ok());
        assert!(bucket.take(start + Duration::from_millis(500)).is_err());
        // Never more than the capacity, however long it rested.
        let later = start + Duration::from_secs(3600);
        for _ in 0..3 {
            assert!(bucket.take(later).is_ok());
        }
        assert!(bucket.take(later).is_err());
    }

    #[test]
    fn a_clock_that_goes_back_gives_nothing_extra() {
        let start = Instant::now() + Duration::from_secs(10);
        let mut bucket = Bucket::new(1, 1, start);
        assert!(bucket.take(start).is_ok());
        assert!(bucket.take(start - Duration::from_secs(5)).is_err());
    }
}
