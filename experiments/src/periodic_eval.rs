//! Evaluations during an RL run (`--eval-every N`), as Stable-Baselines3's
//! `EvalCallback`: every N environment steps the deterministic policy plays
//! `--eval-every-episodes` episodes; the means go to `evaluations.csv` and to
//! TensorBoard (`eval/mean_reward`, `eval/mean_ep_length`), and the best model
//! so far to `best_model.safetensors`. At the end the final model is a
//! candidate too, and the best one is evaluated again on the run's final
//! evaluation episodes, which the selection never saw.
//!
//! Acting deterministically touches no random stream, so a run's training
//! (and `metrics.csv`) is the same with and without these evaluations.

use crate::checkpoint;
use crate::metrics::Metrics;
use crate::run_dir::RunDir;
use anyhow::{bail, Result};
use nnlab_agents::{evaluate_episodes, Agent};
use nnlab_torch::state::TrainState;

/// The file of the best model.
pub const BEST_MODEL: &str = "best_model.safetensors";

/// The selection episodes' seeds start this far from the final evaluation's,
/// so that the episodes that pick the model never judge it.
const SELECTION_SEED_OFFSET: u64 = 1 << 40;

/// One evaluation during training.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Row {
    step: usize,
    mean_return: f64,
    std_return: f64,
    mean_length: f64,
}

/// The schedule, the evaluations made so far and the best of them.
#[derive(Debug, Clone)]
pub struct PeriodicEvaluation {
    schedule: checkpoint::Schedule,
    episodes: usize,
    seed: u64,
    rows: Vec<Row>,
}

impl PeriodicEvaluation {
    /// Every `every` steps after `start_step`, `episodes` episodes from seeds
    /// derived from the run's final `eval_seed` (disjoint from its episodes).
    pub fn new(every: u64, episodes: usize, eval_seed: u64, start_step: u64) -> Self {
        Self { schedule: checkpoint::Schedule::new(every, start_step), episodes, seed: eval_seed.wrapping_add(SELECTION_SEED_OFFSET), rows: Vec::new() }
    }

    /// Whether an evaluation is due at `step`.
    pub fn due(&self, step: usize) -> bool {
        self.schedule.due(step as u64)
    }

    /// The step of the last evaluation, if any.
    pub fn last_step(&self) -> Option<usize> {
        self.rows.last().map(|r| r.step)
    }

    /// The step and selection mean of the best model (the first of the highest
    /// means: SB3 keeps a new model only when it is strictly better), if any
    /// evaluation was made.
    pub fn best(&self) -> Option<(usize, f64)> {
        let best = self.rows.iter().fold(None, |best: Option<&Row>, r| if best.is_none_or(|b| r.mean_return > b.mean_return) { Some(r) } else { best });
        best.map(|r| (r.step, r.mean_return))
    }

    /// Evaluates `agent` at `step`: a row in `evaluations.csv` (rewritten
    /// atomically) and TensorBoard, and `best_model.safetensors` when it is the best so far.
    pub fn evaluate(&mut self, step: usize, agent: &mut dyn Agent, run: &RunDir, metrics: &mut Metrics) -> Result<()> {
        let episodes = evaluate_episodes(agent, self.episodes, self.seed)?;
        let returns: Vec<f64> = episodes.iter().map(|e| e.episode_return).collect();
        let (mean_return, std_return) = crate::summary::mean_std(&returns);
        let mean_length = episodes.iter().map(|e| e.length as f64).sum::<f64>() / episodes.len().max(1) as f64;
        let improves = self.best().is_none_or(|(_, best)| mean_return > best);
        self.rows.push(Row { step, mean_return, std_return, mean_length });
        self.schedule.taken(step as u64);
        metrics.side_values("eval_step", step, &[("mean_reward", mean_return), ("mean_ep_length", mean_length)])?;
        run.write_atomic("evaluations.csv", self.csv().as_bytes())?;
        if improves {
            run.produce(BEST_MODEL, |tmp| agent.save(tmp))?;
        }
        Ok(())
    }

    fn csv(&self) -> String {
        let mut out = String::from("global_step,mean_reward,std_reward,mean_ep_length\n");
        for r in &self.rows {
            out.push_str(&format!("{},{},{},{}\n", r.step, r.mean_return, r.std_return, r.mean_length));
        }
        out
    }

    /// Stores the evaluations so far in a checkpoint.
    pub fn save_into(&self, s: &mut TrainState) {
        let flat: Vec<f64> = self.rows.iter().flat_map(|r| [r.step as f64, r.mean_return, r.std_return, r.mean_length]).collect();
        s.put_f64s("run.evaluations", &flat);
    }

    /// Restores what [`PeriodicEvaluation::save_into`] stored (a checkpoint
    /// without it, from a run without `--eval-every`, restores nothing).
    pub fn restore(&mut self, s: &TrainState) -> Result<()> {
        if !s.contains("run.evaluations") {
            return Ok(());
        }
        let flat = s.f64s("run.evaluations")?;
        if flat.len() % 4 != 0 {
            bail!("the checkpoint's evaluations are damaged ({} values, not rows of 4)", flat.len());
        }
        self.rows = flat.chunks_exact(4).map(|c| Row { step: c[0] as usize, mean_return: c[1], std_return: c[2], mean_length: c[3] }).collect();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_best_survive_a_checkpoint() {
        let mut e = PeriodicEvaluation::new(100, 3, 7, 0);
        e.rows = vec![
            Row { step: 100, mean_return: -5.0, std_return: 1.0, mean_length: 20.0 },
            Row { step: 200, mean_return: -2.5, std_return: 0.5, mean_length: 18.0 },
        ];
        e.rows.push(Row { step: 300, mean_return: -2.5, std_return: 0.1, mean_length: 18.0 });
        assert_eq!(e.best(), Some((200, -2.5)), "the first of the highest means");
        let mut s = TrainState::new();
        e.save_into(&mut s);
        let mut back = PeriodicEvaluation::new(100, 3, 7, 200);
        back.restore(&s).unwrap();
        assert_eq!((back.rows.clone(), back.best()), (e.rows.clone(), e.best()));
        assert_eq!(back.csv(), "global_step,mean_reward,std_reward,mean_ep_length\n100,-5,1,20\n200,-2.5,0.5,18\n300,-2.5,0.1,18\n");
        assert!(!back.due(299) && back.due(300), "the schedule goes on after the checkpoint's step");
        let mut none = PeriodicEvaluation::new(100, 3, 7, 0);
        none.restore(&TrainState::new()).unwrap();
        assert_eq!((none.rows.len(), none.best()), (0, None));
    }
}
