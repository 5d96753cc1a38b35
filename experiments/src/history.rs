//! What an experiment carries across a checkpoint beside its trainer: the
//! curves its plots draw, the seconds of each training epoch, and the best
//! model so far (the one kept by validation score). One [`History`] per run;
//! [`History::put`] writes it into the checkpoint's [`TrainState`] and
//! [`History::resume`] reads it back, so a resumed run draws, times and
//! selects exactly as an uninterrupted one.

use crate::checkpoint::{points, put_points};
use anyhow::Result;
use nnlab_torch::state::TrainState;
use nnlab_torch::Snapshot;

/// The best model so far.
#[derive(Debug)]
pub struct Best {
    /// Its validation score (higher is better).
    pub score: f64,
    /// The epoch that reached it.
    pub epoch: usize,
    /// Its variables.
    pub snapshot: Snapshot,
}

/// Named curves, epoch times and the best model of a run.
#[derive(Debug)]
pub struct History {
    curves: Vec<(&'static str, Vec<(f64, f64)>)>,
    /// Seconds of each training epoch, in order.
    pub epoch_times: Vec<f64>,
    best: Option<Best>,
}

impl History {
    /// Empty curves of these names (each name is also its key in the checkpoint).
    ///
    /// # Panics
    /// When a name is one of the history's own keys (`epoch_times`, `best`,
    /// `best.*`): a mistake in the experiment's code.
    pub fn new(curves: &[&'static str]) -> Self {
        for name in curves {
            assert!(!matches!(*name, "epoch_times" | "best") && !name.starts_with("best."), "a curve cannot be named {name}");
        }
        Self { curves: curves.iter().map(|&n| (n, Vec::new())).collect(), epoch_times: Vec::new(), best: None }
    }

    /// The history saved in `state` when the run resumes (the best model's
    /// variables shaped as `template()`, a snapshot of the same network, and
    /// put on `device`), else an empty one.
    pub fn resume(curves: &[&'static str], state: Option<&TrainState>, template: impl FnOnce() -> Snapshot, device: tch::Device) -> Result<Self> {
        let mut h = Self::new(curves);
        let Some(s) = state else { return Ok(h) };
        for (name, points_of) in &mut h.curves {
            *points_of = points(s, name)?;
        }
        h.epoch_times = s.f64s("epoch_times")?;
        if let Ok((score, epoch)) = s.get::<(f64, usize)>("best") {
            let mut snapshot = template();
            for (name, t) in snapshot.iter_mut() {
                *t = s.tensor(&format!("best.{name}"))?.to_device(device);
            }
            h.best = Some(Best { score, epoch, snapshot });
        }
        Ok(h)
    }

    /// Adds the point `(x, y)` to the curve `name`.
    ///
    /// # Panics
    /// When no curve has that name (a mistake in the experiment's code).
    pub fn push(&mut self, name: &str, x: f64, y: f64) {
        self.curve_mut(name).push((x, y));
    }

    /// The points of the curve `name` (a copy, for a plot).
    ///
    /// # Panics
    /// When no curve has that name.
    pub fn curve(&self, name: &str) -> Vec<(f64, f64)> {
        self.curves.iter().find(|(n, _)| *n == name).map(|(_, p)| p.clone()).unwrap_or_else(|| panic!("no curve named {name}"))
    }

    fn curve_mut(&mut self, name: &str) -> &mut Vec<(f64, f64)> {
        self.curves.iter_mut().find(|(n, _)| *n == name).map(|(_, p)| p).unwrap_or_else(|| panic!("no curve named {name}"))
    }

    /// Keeps the model of `epoch` (its variables from `snapshot()`, taken only
    /// then) when `score` beats the best so far; says whether it did.
    pub fn keep_if_best(&mut self, score: f64, epoch: usize, snapshot: impl FnOnce() -> Snapshot) -> bool {
        let better = self.best.as_ref().is_none_or(|b| score > b.score);
        if better {
            self.best = Some(Best { score, epoch, snapshot: snapshot() });
        }
        better
    }

    /// The best model so far, if any epoch was scored.
    pub fn best(&self) -> Option<&Best> {
        self.best.as_ref()
    }

    /// Mean seconds per training epoch (0 before the first).
    pub fn mean_epoch_time(&self) -> f64 {
        self.epoch_times.iter().sum::<f64>() / self.epoch_times.len().max(1) as f64
    }

    /// Writes the curves, the epoch times and the best model into `state`.
    pub fn put(&self, state: &mut TrainState) -> Result<()> {
        for (name, p) in &self.curves {
            put_points(state, name, p);
        }
        state.put_f64s("epoch_times", &self.epoch_times);
        if let Some(b) = &self.best {
            state.put("best", &(b.score, b.epoch))?;
            for (name, t) in &b.snapshot {
                state.put_tensor(&format!("best.{name}"), t)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Tensor};

    #[test]
    fn a_history_survives_a_checkpoint() {
        let mut h = History::new(&["loss", "score"]);
        h.push("loss", 1.0, 0.5);
        h.push("score", 1.0, 0.7);
        h.epoch_times.push(2.5);
        let snap = |v: f32| vec![("w".to_string(), Tensor::from_slice(&[v, v + 1.0]))];
        assert!(h.keep_if_best(0.7, 1, || snap(3.0)));
        assert!(!h.keep_if_best(0.6, 2, || panic!("not taken for a worse score")));
        let mut s = TrainState::new();
        h.put(&mut s).unwrap();
        let back = History::resume(&["loss", "score"], Some(&s), || snap(0.0), Device::Cpu).unwrap();
        assert_eq!((back.curve("loss"), back.curve("score"), back.epoch_times.clone()), (vec![(1.0, 0.5)], vec![(1.0, 0.7)], vec![2.5]));
        let best = back.best().unwrap();
        assert_eq!((best.score, best.epoch), (0.7, 1));
        assert_eq!(Vec::<f32>::try_from(&best.snapshot[0].1).unwrap(), [3.0, 4.0]);
        assert_eq!(back.mean_epoch_time(), 2.5);
        assert!(History::resume(&["loss"], None, || panic!("no template without a state"), Device::Cpu).unwrap().best().is_none());
    }
}
