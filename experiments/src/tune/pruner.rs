//! Pruning: whether a running trial stops after its `k`-th intermediate
//! evaluation (the aggregate over its seeds), given the other trials'.
//!
//! - Median (Optuna's `MedianPruner`): once `startup_trials` trials have
//!   finished and after `warmup_evaluations`, a trial stops when its best
//!   value so far is worse than the median of the finished trials' values at
//!   the same evaluation (so a noisy dip after a good evaluation does not
//!   stop it; Optuna's `PercentilePruner` compares the same best value).
//! - ASHA (Optuna's `SuccessiveHalvingPruner`, Li et al. 2020): rungs at
//!   `min_resource * reduction_factor^r` evaluations; a trial reaching a
//!   rung goes on only if its value there is among the best
//!   `1 / reduction_factor` of all trials that reached it (at least one).

use super::spec::{PrunerKind, PrunerSpec};

/// What the pruner sees of another trial: its losses (lower is better) at
/// each evaluation so far, and whether it finished.
#[derive(Debug, Clone)]
pub struct Peer<'a> {
    /// Loss after evaluation 1, 2, ... (index 0 is the first evaluation).
    pub losses: &'a [f64],
    /// Whether it ran to its end (not pruned, not failed, not running).
    pub finished: bool,
}

/// Whether the trial with `losses` (the latest is at evaluation `losses.len()`) stops there.
pub fn should_prune(spec: &PrunerSpec, losses: &[f64], peers: &[Peer<'_>]) -> bool {
    let k = losses.len();
    let Some(&current) = losses.last() else { return false };
    match spec.kind {
        PrunerKind::None => false,
        PrunerKind::Median => {
            let finished: Vec<&Peer<'_>> = peers.iter().filter(|p| p.finished).collect();
            if finished.len() < spec.startup_trials || k <= spec.warmup_evaluations {
                return false;
            }
            let at_k: Vec<f64> = finished.iter().filter_map(|p| p.losses.get(k - 1).copied()).filter(|v| v.is_finite()).collect();
            if at_k.is_empty() {
                return false;
            }
            let best = losses.iter().copied().filter(|v| v.is_finite()).fold(f64::INFINITY, f64::min);
            !best.is_finite() || best > nnlab_stats::estimators::median_of(&at_k)
        }
        PrunerKind::Asha => {
            // Only at a rung.
            let mut rung = spec.min_resource;
            while rung < k {
                rung = rung.saturating_mul(spec.reduction_factor);
            }
            if rung != k {
                return false;
            }
            if !current.is_finite() {
                return true;
            }
            let mut competing: Vec<f64> = peers.iter().filter_map(|p| p.losses.get(k - 1).copied()).filter(|v| v.is_finite()).collect();
            competing.push(current);
            competing.sort_by(f64::total_cmp);
            let keep = (competing.len() / spec.reduction_factor).max(1);
            current > competing[keep - 1]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: PrunerKind) -> PrunerSpec {
        PrunerSpec { kind, startup_trials: 2, warmup_evaluations: 1, min_resource: 1, reduction_factor: 3 }
    }

    #[test]
    fn the_median_pruner_waits_then_compares_with_finished_trials() {
        let a = [5.0, 3.0, 1.0];
        let b = [6.0, 4.0, 2.0];
        let finished = [Peer { losses: &a, finished: true }, Peer { losses: &b, finished: true }];
        let s = spec(PrunerKind::Median);
        // Warm-up: never after the first evaluation.
        assert!(!should_prune(&s, &[100.0], &finished));
        // Median at evaluation 2 is 3.5; the trial's best so far is what is compared.
        assert!(should_prune(&s, &[4.0, 3.6], &finished));
        assert!(!should_prune(&s, &[4.0, 3.4], &finished));
        assert!(!should_prune(&s, &[3.0, 9.0], &finished), "a dip after a good evaluation goes on");
        assert!(should_prune(&s, &[f64::NAN, f64::NAN], &finished), "nothing finite: stopped");
        // Too few finished trials: a running peer does not count.
        let one = [Peer { losses: &a, finished: true }, Peer { losses: &b, finished: false }];
        assert!(!should_prune(&s, &[0.0, 9.0], &one));
        assert!(!should_prune(&spec(PrunerKind::None), &[0.0, 9.0], &finished));
    }

    #[test]
    fn asha_keeps_the_best_third_at_each_rung() {
        let s = spec(PrunerKind::Asha);
        let peers_losses: Vec<Vec<f64>> = (0..5).map(|i| vec![i as f64; 3]).collect();
        let peers: Vec<Peer<'_>> = peers_losses.iter().map(|l| Peer { losses: l, finished: false }).collect();
        // Rung 1 (1 evaluation): 6 trials with ours, keep 2: losses 0 and 1.
        assert!(!should_prune(&s, &[0.5], &peers));
        assert!(should_prune(&s, &[1.5], &peers));
        // Not a rung: evaluation 2.
        assert!(!should_prune(&s, &[0.0, 99.0], &peers));
        // Rung 3.
        assert!(should_prune(&s, &[0.0, 0.0, 2.5], &peers));
        // Alone at a rung: it goes on.
        assert!(!should_prune(&s, &[7.0], &[]));
    }
}
