//! [`WeightAverage`]: an exponential moving average of a model's weights
//! (Polyak averaging, as timm's `ModelEmaV2` and `torch.optim.swa_utils.
//! AveragedModel` with an EMA function keep it), updated after every
//! optimiser step and evaluated in place of the trained weights.

use crate::state::TrainState;
use crate::Snapshot;
use anyhow::{bail, Result};
use tch::nn::VarStore;

/// The running average of every variable of a [`VarStore`].
///
/// After update `n` (counted from 0) the average is
/// `a = d_n * a + (1 - d_n) * w` with `d_n = min(decay, (1 + n) / (10 + n))`:
/// timm's warm-up, so the first updates are not held back by the
/// initial weights.
#[derive(Debug)]
pub struct WeightAverage {
    decay: f64,
    updates: u64,
    averages: Snapshot,
}

impl WeightAverage {
    /// An average starting at the current variables of `vs`; `decay` in `[0, 1)`.
    pub fn new(vs: &VarStore, decay: f64) -> Result<Self> {
        crate::check::in_half_open("the weight average's decay", decay, 0.0, 1.0)?;
        Ok(Self { decay, updates: 0, averages: crate::snapshot(vs) })
    }

    /// The decay the next [`WeightAverage::update`] applies.
    pub fn next_decay(&self) -> f64 {
        let n = self.updates as f64;
        self.decay.min((1.0 + n) / (10.0 + n))
    }

    /// Folds the current variables of `vs` into the average.
    pub fn update(&mut self, vs: &VarStore) -> Result<()> {
        let _guard = tch::no_grad_guard();
        let weight = 1.0 - self.next_decay();
        let vars = vs.variables();
        for (name, average) in &mut self.averages {
            let Some(var) = vars.get(name) else { bail!("the weight average has a variable {name} the model lacks") };
            let _ = average.lerp_(var, weight);
        }
        self.updates += 1;
        Ok(())
    }

    /// The averaged variables, sorted by name (load them with [`crate::restore_snapshot`]).
    pub fn averages(&self) -> &Snapshot {
        &self.averages
    }

    /// Runs `f` with the averaged weights in `vs`, then puts the trained weights back.
    pub fn with_averages<T>(&self, vs: &VarStore, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let trained = crate::snapshot(vs);
        crate::restore_snapshot(vs, &self.averages)?;
        let out = f();
        crate::restore_snapshot(vs, &trained)?;
        out
    }

    /// The average and its update count, for a checkpoint.
    pub fn train_state(&self) -> Result<TrainState> {
        let mut s = TrainState::new();
        for (name, t) in &self.averages {
            s.put_tensor(&format!("average.{name}"), t)?;
        }
        s.put("updates", &self.updates)?;
        Ok(s)
    }

    /// Restores what [`WeightAverage::train_state`] saved.
    pub fn restore_train_state(&mut self, s: &TrainState) -> Result<()> {
        for (name, t) in &self.averages {
            s.copy_into(&format!("average.{name}"), t)?;
        }
        self.updates = s.get("updates")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind, Tensor};

    fn one_weight(value: f32) -> VarStore {
        let vs = VarStore::new(Device::Cpu);
        let w = vs.root().zeros("w", &[1]);
        let _guard = tch::no_grad_guard();
        let _ = w.shallow_clone().fill_(f64::from(value));
        vs
    }

    fn value(t: &Tensor) -> f64 {
        t.double_value(&[0])
    }

    fn set(vs: &VarStore, v: f64) {
        let _guard = tch::no_grad_guard();
        let _ = vs.variables()["w"].shallow_clone().fill_(v);
    }

    #[test]
    fn the_average_follows_the_warm_up_then_the_decay() {
        let vs = one_weight(0.0);
        let mut avg = WeightAverage::new(&vs, 0.5).unwrap();
        // First update: d = min(0.5, 1/10) = 0.1, so a = 0.1 * 0 + 0.9 * 10.
        set(&vs, 10.0);
        avg.update(&vs).unwrap();
        assert!((value(&avg.averages()[0].1) - 9.0).abs() < 1e-6);
        // Later updates: d = 0.5 once (1 + n) / (10 + n) passes it.
        for _ in 0..20 {
            avg.update(&vs).unwrap();
        }
        assert_eq!(avg.next_decay(), 0.5);
        set(&vs, 0.0);
        let before = value(&avg.averages()[0].1);
        avg.update(&vs).unwrap();
        assert!((value(&avg.averages()[0].1) - 0.5 * before).abs() < 1e-6);
    }

    #[test]
    fn evaluation_sees_the_average_and_training_keeps_its_weights() {
        let vs = one_weight(4.0);
        let avg = WeightAverage::new(&vs, 0.9).unwrap();
        set(&vs, 8.0);
        let seen = avg.with_averages(&vs, || Ok(value(&vs.variables()["w"]))).unwrap();
        assert_eq!(seen, 4.0);
        assert_eq!(value(&vs.variables()["w"]), 8.0);
    }

    #[test]
    fn a_checkpoint_restores_the_average_and_its_count() {
        let vs = one_weight(1.0);
        let mut avg = WeightAverage::new(&vs, 0.99).unwrap();
        set(&vs, 3.0);
        for _ in 0..5 {
            avg.update(&vs).unwrap();
        }
        let state = TrainState::from_bytes(&avg.train_state().unwrap().to_bytes().unwrap()).unwrap();
        let mut back = WeightAverage::new(&one_weight(0.0), 0.99).unwrap();
        back.restore_train_state(&state).unwrap();
        assert_eq!(back.next_decay(), avg.next_decay());
        assert!(back.averages()[0].1.equal(&avg.averages()[0].1));
        assert_eq!(back.averages()[0].1.kind(), Kind::Float);
    }

    #[test]
    fn a_decay_outside_its_range_is_an_error() {
        let vs = one_weight(0.0);
        for bad in [1.0, -0.1, f64::NAN] {
            assert!(WeightAverage::new(&vs, bad).unwrap_err().to_string().contains("decay must be in [0, 1)"));
        }
    }
}
