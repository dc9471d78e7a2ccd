//! A circuit breaker: after N consecutive failed calls, refuse calls for a cooldown, then let
//! one probe through; its outcome closes or re-opens the circuit.

use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: State,
}

impl Breaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Breaker {
            threshold: threshold.max(1),
            cooldown,
            state: State::Closed { failures: 0 },
        }
    }

    /// `Err(remaining)` when the call must not go out now.
    pub fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        match self.state {
            State::Closed { .. } => Ok(()),
            State::Open { until } if now < until => Err(until - now),
            State::Open { .. } => {
                self.state = State::HalfOpen { probing: true };
                Ok(())
            }
            State::HalfOpen { probing: true } => Err(Duration::ZERO),
            State::HalfOpen { probing: false } => {
                self.state = State::HalfOpen { probing: true };
                Ok(())
            }
        }
    }

    pub fn success(&mut self) {
        self.state = State::Closed { failures: 0 };
    }

    pub fn failure(&mut self, now: Instant) {
        self.state = match self.state {
            State::Closed { failures } if failures + 1 < self.threshold => State::Closed {
                failures: failures + 1,
            },
            _ => State::Open {
                until: now + self.cooldown,
            },
        };
    }

    /// A call that ended without telling anything about the server's health (a business
    /// error): releases a probe slot without changing the verdict.
    pub fn neutral(&mut self) {
        if let State::HalfOpen { .. } = self.state {
            self.state = State::Closed { failures: 0 };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_and_probes_after_cooldown() {
        let t0 = Instant::now();
        let mut b = Breaker::new(2, Duration::from_secs(10));
        b.failure(t0);
        assert!(b.admit(t0).is_ok());
        b.failure(t0);
        assert!(b.admit(t0 + Duration::from_secs(9)).is_err());
        assert!(b.admit(t0 + Duration::from_secs(10)).is_ok());
        // Only one probe at a time.
        assert!(b.admit(t0 + Duration::from_secs(10)).is_err());
        b.failure(t0 + Duration::from_secs(10));
        assert!(b.admit(t0 + Duration::from_secs(11)).is_err());
        assert!(b.admit(t0 + Duration::from_secs(20)).is_ok());
        b.success();
        assert!(b.admit(t0 + Duration::from_secs(20)).is_ok());
    }
}
