//! Rate limits as plain state with time as an input: a token bucket, and a
//! bucket per key (client IP) for join and sign-in attempts.

use std::collections::HashMap;
use std::hash::Hash;

use crate::core::Timestamp;

/// A token bucket: `burst` tokens, refilled at `per_sec` tokens a second.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    per_sec: f64,
    burst: f64,
    tokens: f64,
    last: Timestamp,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn new(per_sec: f64, burst: u32, now: Timestamp) -> Self {
        let burst = f64::from(burst.max(1));
        Self { per_sec, burst, tokens: burst, last: now }
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Timestamp) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn refill(&mut self, now: Timestamp) {
        let elapsed = self.last.until(now).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.burst);
        self.last = self.last.max(now);
    }

    fn is_full(&mut self, now: Timestamp) -> bool {
        self.refill(now);
        self.tokens >= self.burst
    }
}

/// One token bucket per key, e.g. "30 join attempts a minute per client IP".
#[derive(Debug)]
pub struct KeyedLimiter<K> {
    per_minute: u32,
    buckets: HashMap<K, TokenBucket>,
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// Allows `per_minute` attempts a minute per key, all of them at once if need be.
    pub fn per_minute(per_minute: u32) -> Self {
        Self { per_minute, buckets: HashMap::new() }
    }

    /// Counts an attempt by `key`; false when over the limit.
    pub fn check(&mut self, key: &K, now: Timestamp) -> bool {
        if self.buckets.len() >= 4096 && !self.buckets.contains_key(key) {
            // Forget keys whose buckets have refilled: they carry no information.
            self.buckets.retain(|_, b| !b.is_full(now));
        }
        let per_minute = self.per_minute;
        self.buckets
            .entry(key.clone())
            .or_insert_with(|| TokenBucket::new(f64::from(per_minute) / 60.0, per_minute, now))
            .try_take(now)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn bucket_allows_burst_then_refills() {
        let t0 = Timestamp::from_unix_millis(0);
        let mut b = TokenBucket::new(10.0, 5, t0);
        assert_eq!((0..8).filter(|_| b.try_take(t0)).count(), 5);
        assert!(!b.try_take(t0.after(Duration::from_millis(50))));
        assert!(b.try_take(t0.after(Duration::from_millis(100))));
        assert_eq!(
            (0..20).filter(|_| b.try_take(t0.after(Duration::from_secs(10)))).count(),
            5,
            "never above burst"
        );
    }

    #[test]
    fn keyed_limiter_is_per_key() {
        let t0 = Timestamp::from_unix_millis(0);
        let mut l = KeyedLimiter::per_minute(30);
        assert_eq!((0..40).filter(|_| l.check(&"a", t0)).count(), 30);
        assert!(l.check(&"b", t0), "another key is not affected");
        assert!(!l.check(&"a", t0.after(Duration::from_secs(1))));
        assert!(l.check(&"a", t0.after(Duration::from_secs(2))), "one attempt back every 2 s");
    }

    #[test]
    fn keyed_limiter_forgets_idle_keys() {
        let t0 = Timestamp::from_unix_millis(0);
        let mut l = KeyedLimiter::per_minute(30);
        for i in 0..4096u32 {
            l.check(&i, t0);
        }
        l.check(&99_999, t0.after(Duration::from_secs(120)));
        assert_eq!(l.buckets.len(), 1);
    }
}
