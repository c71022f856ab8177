//! The summaries of a claim's experiments, looked up by experiment name.

use hpn_train::{MeanStd, Summary};

/// Results of a claim's experiments by config name (absent: skipped, failed or not run yet).
#[derive(Clone, Debug, Default)]
pub struct Results {
    /// The summary of each config, by config name, in row order.
    pub summaries: Vec<(String, Option<Summary>)>,
}

impl Results {
    /// The summary of a config, when it ran.
    pub fn get(&self, config: &str) -> Option<&Summary> {
        self.summaries
            .iter()
            .find(|(c, _)| c == config)
            .and_then(|(_, s)| s.as_ref())
    }

    /// Accuracy (%) of a config over its trained seeds.
    pub fn accuracy_stats(&self, config: &str) -> Option<MeanStd> {
        self.get(config).and_then(|s| s.accuracy)
    }

    /// Mean accuracy (%) of a config over its trained seeds.
    pub fn accuracy(&self, config: &str) -> Option<f64> {
        self.accuracy_stats(config).map(|m| m.mean)
    }

    /// Mean MAE of a config over its trained seeds.
    pub fn mae(&self, config: &str) -> Option<f64> {
        self.get(config).and_then(|s| s.mae).map(|m| m.mean)
    }
}
