//! governor on tokio's clock, so a paused tokio runtime is an exact fake
//! clock for every limiter test.

use std::time::Duration;

/// Time since a fixed tokio instant, as governor's clock reference.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    origin: tokio::time::Instant,
}

impl TokioClock {
    /// A clock starting now.
    pub fn new() -> Self {
        TokioClock { origin: tokio::time::Instant::now() }
    }

    /// The tokio instant of a clock reading.
    pub fn instant(&self, at: Duration) -> tokio::time::Instant {
        self.origin + at
    }

    /// The clock reading of a std instant (0 if before the origin).
    pub fn reading(&self, at: std::time::Instant) -> Duration {
        tokio::time::Instant::from_std(at).saturating_duration_since(self.origin)
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl governor::clock::Clock for TokioClock {
    type Instant = Duration;
    fn now(&self) -> Duration {
        tokio::time::Instant::now().saturating_duration_since(self.origin)
    }
}
