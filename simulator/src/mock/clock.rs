//! The mock's only clock reads: real time for its virtual clock and for session-token expiry.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Virtual milliseconds = offset + real elapsed time × speed.
#[derive(Debug, Clone)]
pub(crate) struct RealClock {
    started: Instant,
    speed: f64,
    offset_ms: i64,
}

impl RealClock {
    #[allow(
        clippy::disallowed_methods,
        reason = "the HTTP mock runs the cloud on real time scaled by a speed factor"
    )]
    pub fn new(speed: f64) -> Self {
        RealClock {
            started: Instant::now(),
            speed,
            offset_ms: 0,
        }
    }

    pub fn virtual_now_ms(&self) -> i64 {
        let elapsed: Duration = self.started.elapsed();
        let scaled = elapsed.as_secs_f64() * 1000.0 * self.speed;
        self.offset_ms + scaled as i64
    }

    /// Jumps virtual time forward (never backward).
    pub fn advance(&mut self, ms: i64) {
        self.offset_ms += ms.max(0);
    }
}

/// Wall-clock Unix milliseconds (session tokens expire in the client's time frame).
#[allow(
    clippy::disallowed_methods,
    reason = "session tokens carry wall-clock expiry times that real clients compare against"
)]
pub(crate) fn wall_unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
