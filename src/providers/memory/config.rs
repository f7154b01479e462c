//! The in-memory vendor's workspace settings.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `vendor: memory` workspace settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Which in-process store serves the workspace (tests read its call log).
    pub store: String,
    /// How long a deployment runs before it succeeds.
    #[serde(default = "default_deploy_after", with = "humantime_serde")]
    pub deploy_after: Duration,
}

fn default_deploy_after() -> Duration {
    Duration::from_millis(200)
}
