//! Reading a classifier's results as scikit-learn does: the confusion
//! matrix, and `classification_report` both as its text table (per class
//! precision, recall, F1 and support; accuracy; macro and weighted
//! averages) and as its `output_dict=True` dictionary, with scikit-learn's
//! definitions (a class never predicted has precision 0, as
//! `zero_division="warn"` gives it).

use anyhow::{bail, Result};
use serde_json::{json, Map, Value};

/// Precision, recall, F1 and support of one class or one average.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    /// Right predictions of the class over all predictions of it.
    pub precision: f64,
    /// Right predictions of the class over its true members.
    pub recall: f64,
    /// Harmonic mean of precision and recall: `2 tp / (2 tp + fp + fn)`.
    pub f1: f64,
    /// True members (for averages: all samples).
    pub support: usize,
}

/// scikit-learn's `classification_report` of predictions against labels.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassificationReport {
    /// Class names, by label.
    pub classes: Vec<String>,
    /// Per class.
    pub per_class: Vec<Scores>,
    /// Fraction of right predictions.
    pub accuracy: f64,
    /// Unweighted mean over classes.
    pub macro_avg: Scores,
    /// Mean over classes weighted by support.
    pub weighted_avg: Scores,
    /// `confusion[true][predicted]` counts.
    pub confusion: Vec<Vec<usize>>,
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

impl ClassificationReport {
    /// The report of `predicted` against `labels` (both class indices below `classes.len()`).
    pub fn new(labels: &[usize], predicted: &[usize], classes: &[String]) -> Result<Self> {
        let k = classes.len();
        if labels.len() != predicted.len() {
            bail!("{} labels but {} predictions", labels.len(), predicted.len());
        }
        if labels.is_empty() {
            bail!("no samples to report on");
        }
        let mut confusion = vec![vec![0usize; k]; k];
        for (&l, &p) in labels.iter().zip(predicted) {
            if l >= k || p >= k {
                bail!("class index {} outside the {k} classes", l.max(p));
            }
            confusion[l][p] += 1;
        }
        let per_class: Vec<Scores> = (0..k)
            .map(|c| {
                let tp = confusion[c][c];
                let support: usize = confusion[c].iter().sum();
                let predicted_c: usize = confusion.iter().map(|row| row[c]).sum();
                let (fp, fn_) = (predicted_c - tp, support - tp);
                Scores { precision: ratio(tp, predicted_c), recall: ratio(tp, support), f1: ratio(2 * tp, 2 * tp + fp + fn_), support }
            })
            .collect();
        let n = labels.len();
        let correct: usize = (0..k).map(|c| confusion[c][c]).sum();
        let mean = |f: &dyn Fn(&Scores) -> f64| per_class.iter().map(f).sum::<f64>() / k as f64;
        let weighted = |f: &dyn Fn(&Scores) -> f64| per_class.iter().map(|s| f(s) * s.support as f64).sum::<f64>() / n as f64;
        let macro_avg = Scores { precision: mean(&|s| s.precision), recall: mean(&|s| s.recall), f1: mean(&|s| s.f1), support: n };
        let weighted_avg = Scores { precision: weighted(&|s| s.precision), recall: weighted(&|s| s.recall), f1: weighted(&|s| s.f1), support: n };
        Ok(Self { classes: classes.to_vec(), per_class, accuracy: ratio(correct, n), macro_avg, weighted_avg, confusion })
    }

    /// The text table exactly as `classification_report(..., digits=digits)` prints it.
    pub fn to_text(&self, digits: usize) -> String {
        let heading = "weighted avg";
        let width = self.classes.iter().map(|c| c.chars().count()).max().unwrap_or(0).max(heading.len()).max(digits);
        let mut out = format!("{:>width$} ", "");
        for h in ["precision", "recall", "f1-score", "support"] {
            out += &format!(" {h:>9}");
        }
        out += "\n\n";
        let row = |name: &str, s: &Scores| format!("{name:>width$}  {:>9.digits$} {:>9.digits$} {:>9.digits$} {:>9}\n", s.precision, s.recall, s.f1, s.support);
        for (name, s) in self.classes.iter().zip(&self.per_class) {
            out += &row(name, s);
        }
        out += "\n";
        out += &format!("{:>width$}  {:>9} {:>9} {:>9.digits$} {:>9}\n", "accuracy", "", "", self.accuracy, self.macro_avg.support);
        out += &row("macro avg", &self.macro_avg);
        out += &row(heading, &self.weighted_avg);
        out
    }

    /// The same numbers laid out as `classification_report(..., output_dict=True)`:
    /// class names as keys, then `accuracy`, `macro avg`, `weighted avg`.
    pub fn to_json(&self) -> Value {
        let scores = |s: &Scores| json!({"precision": s.precision, "recall": s.recall, "f1-score": s.f1, "support": s.support});
        let mut map = Map::new();
        for (name, s) in self.classes.iter().zip(&self.per_class) {
            map.insert(name.clone(), scores(s));
        }
        map.insert("accuracy".into(), json!(self.accuracy));
        map.insert("macro avg".into(), scores(&self.macro_avg));
        map.insert("weighted avg".into(), scores(&self.weighted_avg));
        Value::Object(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A three-class example worked by hand (and checked against scikit-learn 1.5:
    /// `classification_report([0,0,0,1,1,2], [0,0,1,1,2,2], target_names=["cat","dog","bird"], digits=4)`).
    #[test]
    fn the_report_matches_scikit_learn_on_a_small_example() {
        let names: Vec<String> = ["cat", "dog", "bird"].iter().map(|s| s.to_string()).collect();
        let r = ClassificationReport::new(&[0, 0, 0, 1, 1, 2], &[0, 0, 1, 1, 2, 2], &names).unwrap();
        // cat: tp 2, fp 0, fn 1 -> P 1, R 2/3, F1 4/5. dog: tp 1, fp 1, fn 1 -> 1/2, 1/2, 1/2.
        // bird: tp 1, fp 1, fn 0 -> 1/2, 1, 2/3.
        let want = [(1.0, 2.0 / 3.0, 0.8, 3), (0.5, 0.5, 0.5, 2), (0.5, 1.0, 2.0 / 3.0, 1)];
        for (s, (p, rc, f, n)) in r.per_class.iter().zip(want) {
            assert!((s.precision - p).abs() < 1e-15 && (s.recall - rc).abs() < 1e-15 && (s.f1 - f).abs() < 1e-15 && s.support == n, "{s:?}");
        }
        assert!((r.accuracy - 4.0 / 6.0).abs() < 1e-15);
        let text = r.to_text(4);
        let expected = "              precision    recall  f1-score   support\n\
\n\
\x20        cat     1.0000    0.6667    0.8000         3\n\
\x20        dog     0.5000    0.5000    0.5000         2\n\
\x20       bird     0.5000    1.0000    0.6667         1\n\
\n\
\x20   accuracy                         0.6667         6\n\
\x20  macro avg     0.6667    0.7222    0.6556         6\n\
weighted avg     0.7500    0.6667    0.6778         6\n";
        assert_eq!(text, expected, "\n{text}");
        let j = r.to_json();
        assert_eq!(j["dog"]["support"], 2);
        assert!((j["weighted avg"]["f1-score"].as_f64().unwrap() - (0.8 * 3.0 + 0.5 * 2.0 + 2.0 / 3.0) / 6.0).abs() < 1e-15);
        let keys: Vec<&String> = j.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["cat", "dog", "bird", "accuracy", "macro avg", "weighted avg"]);
        assert_eq!(r.confusion, vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]);
    }

    #[test]
    fn a_class_never_predicted_has_precision_zero() {
        let names: Vec<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
        let r = ClassificationReport::new(&[0, 1], &[0, 0], &names).unwrap();
        assert_eq!((r.per_class[1].precision, r.per_class[1].recall, r.per_class[1].f1), (0.0, 0.0, 0.0));
        assert!(ClassificationReport::new(&[0, 2], &[0, 0], &names).is_err());
    }
}
