//! `report.md`: the tables of [`super::analysis`], one section per experiment kind.

use super::analysis::{KindAnalysis, ScoreScale};
use super::{Options, SweepStatus, EVAL_COLUMNS};
use nnlab_stats::Estimate;
use serde_json::Value;
use std::fmt::Write as _;

/// `point [lower, upper]` with `digits` decimals.
fn interval(e: &Estimate, digits: usize) -> String {
    format!("{:.digits$} [{:.digits$}, {:.digits$}]", e.point, e.lower, e.upper)
}

/// The Markdown of the whole report.
pub(super) fn render(inputs: &[String], options: &Options, kinds: &[KindAnalysis], sweeps: &[SweepStatus]) -> String {
    let mut md = String::new();
    let b = &options.bootstrap;
    let _ = writeln!(md, "# Report: {}\n", inputs.join(", "));
    let _ = writeln!(
        md,
        "Statistics as rliable computes them (Agarwal et al., NeurIPS 2021). IQM: interquartile mean, the mean of the middle \
         half of the runs (25% cut from each end). `x [a, b]`: the point estimate and its {:.0}% stratified bootstrap \
         confidence interval (runs resampled within each task, percentile interval, {} resamples, seed {}).\n",
        b.confidence * 100.0,
        b.reps,
        b.seed
    );
    for k in kinds {
        kind_section(&mut md, k);
    }
    for sweep in sweeps {
        sweep_section(&mut md, sweep, sweeps.len() > 1);
    }
    md
}

fn kind_section(md: &mut String, k: &KindAnalysis) {
    let _ = writeln!(md, "## `{}` ({} is better)\n", k.metric, if k.higher_is_better { "higher" } else { "lower" });
    let evals: Vec<usize> = (0..EVAL_COLUMNS.len()).filter(|&i| k.per_task.iter().flat_map(|t| &t.rows).any(|r| r.evals[i].is_some())).collect();
    let digits = if k.metric.contains("accuracy") || k.metric.contains("bits") { 4 } else { 2 };
    for table in &k.per_task {
        if k.tasks.len() > 1 || table.task != k.metric {
            let _ = writeln!(md, "### {}\n", table.task);
        }
        let heads: String = evals.iter().map(|&i| format!(" {} (mean) |", EVAL_COLUMNS[i])).collect();
        let _ = writeln!(md, "| rank | group | runs | IQM [95% CI] | mean [95% CI] | min .. max | published |{heads}");
        let _ = writeln!(md, "| --- | --- | --- | --- | --- | --- | --- |{}", " --- |".repeat(evals.len()));
        for (rank, r) in table.rows.iter().enumerate() {
            let (min, max) = r.scores.iter().fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
            let published = r.reference.as_ref().map(|p| format!("{} ({})", p.value, p.label)).unwrap_or_else(|| "-".into());
            let cells: String = evals.iter().map(|&i| r.evals[i].map(|v| format!(" {v:.2} |")).unwrap_or_else(|| " - |".into())).collect();
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {min:.digits$} .. {max:.digits$} | {published} |{cells}",
                rank + 1,
                r.group,
                r.scores.len(),
                interval(&r.iqm, digits),
                interval(&r.mean, digits)
            );
        }
        let _ = writeln!(md);
    }

    if let Some(scale) = k.scale {
        if scale == ScoreScale::Normalised {
            let _ = writeln!(
                md,
                "### Over {} task{}: normalised scores\n\n(score - random) / (reference - random) per task, from \
                 `experiments/normalization.toml`: 0 is the uniformly random policy, 1 the reference score; the optimality \
                 gap is the mean shortfall below 1 (lower is better). Raw IQM: the IQM of the scores themselves.\n",
                k.tasks.len(),
                if k.tasks.len() == 1 { "" } else { "s" }
            );
        } else {
            let _ = writeln!(md, "### All runs: raw scores\n");
        }
        let heads: String = k.statistics.iter().map(|s| format!(" {} [95% CI] |", s.label())).collect();
        let _ = writeln!(md, "| rank | group | tasks x runs |{heads} raw IQM |");
        let _ = writeln!(md, "| --- | --- | --- |{} --- |", " --- |".repeat(k.statistics.len()));
        for (rank, g) in k.groups.iter().enumerate() {
            let runs: Vec<String> = g.scores.tasks.iter().map(|t| t.len().to_string()).collect();
            let shape = if g.scores.is_rectangular() { format!("{} x {}", g.scores.tasks.len(), runs[0]) } else { runs.join("+") };
            let cells: String = g.estimates.iter().map(|e| format!(" {} |", interval(e, 3))).collect();
            let _ = writeln!(md, "| {} | {} | {shape} |{cells} {:.digits$} |", rank + 1, g.group, g.raw_iqm);
        }
        let _ = writeln!(md);
    }
    if !k.improvement.is_empty() {
        let relation = if k.higher_is_better { ">" } else { "<" };
        let _ = writeln!(
            md,
            "### Probability of improvement\n\nP(X {relation} Y): the probability that a run of X scores better than a run of Y on the \
             same task (Mann-Whitney U over all pairs of runs, ties counting one half), averaged over tasks; 0.5 is a tie.\n"
        );
        let _ = writeln!(md, "| X | Y | P(X {relation} Y) [95% CI] |\n| --- | --- | --- |");
        for i in &k.improvement {
            let _ = writeln!(md, "| {} | {} | {} |", i.x, i.y, interval(&i.estimate, 3));
        }
        let _ = writeln!(md);
    }
    for note in &k.notes {
        let _ = writeln!(md, "Note: {note}\n");
    }
}

fn sweep_section(md: &mut String, sweep: &SweepStatus, name_it: bool) {
    let s = &sweep.summary;
    let runs = s["runs"].as_array().cloned().unwrap_or_default();
    let not_finished: Vec<&Value> = runs.iter().filter(|r| r["status"] != "finished").collect();
    let which = if name_it { format!(" {}", sweep.dir.display()) } else { String::new() };
    let _ = writeln!(md, "Sweep{which}: {} runs, {} finished, {} failed, {} pending.", runs.len(), s["finished"], s["failed"], s["pending"]);
    if !not_finished.is_empty() {
        let _ = writeln!(md, "\n| run | status |\n| --- | --- |");
        for r in not_finished {
            let status = match &r["status"] {
                Value::Object(o) => o.get("failed").and_then(Value::as_str).map(|e| format!("failed: {}", e.replace('|', "\\|"))).unwrap_or_default(),
                other => other.as_str().unwrap_or("?").to_string(),
            };
            let _ = writeln!(md, "| {} | {status} |", r["dir"].as_str().unwrap_or("?"));
        }
    }
    let _ = writeln!(md);
}
