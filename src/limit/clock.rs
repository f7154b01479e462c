//! governor on tokio's clock, so a paused tokio runtime is an exact fake
//! clock for every limiter test.

use std::time::Duration;

/// Time since a fixed tokio instant, as governor's clock reference.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokioClock {
    origin: tokio::time::Instant,
}

impl TokioClock {
    /// A clock starting now.
    pub(crate) fn new() -> Self {
        TokioClock { origin: tokio::time::Instant::now() }
    }

    /// The clock's reading at `t`.
    pub(crate) fn at(&self, t: tokio::time::Instant) -> Duration {
        t.saturating_duration_since(self.origin)
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
