//! REINFORCE's statistics (the fixed-seed regression runs of A2C, PPO and
//! REINFORCE are in `golden.rs`).

use nnlab_agents::reinforce::{Reinforce, ReinforceConfig};
use nnlab_agents::{Observer, Stats};
use tch::Device;

#[derive(Default)]
struct LastStats(Vec<Option<f64>>);

impl Observer for LastStats {
    fn on_update(&mut self, _global_step: usize, stats: Stats<'_>) {
        self.0 = stats.iter().map(|s| s.1).collect();
    }
}

#[test]
fn reinforce_without_baseline_reports_no_value_loss() {
    let cfg = ReinforceConfig { total_timesteps: 2000, baseline: false, seed: 3, ..Default::default() };
    let mut agent = Reinforce::new(cfg, Device::Cpu).unwrap();
    let mut last = LastStats::default();
    agent.train(&mut last).unwrap();
    assert_eq!(last.0[1], None);
    assert!(last.0[0].is_some());
}
