//! Entity-level scores of BIO tagging with `seqeval`'s strict rule
//! (`mode="strict", scheme=IOB2`): an entity is a `B-X` followed by any
//! number of `I-X`; a predicted entity counts only when its type and both
//! ends equal a gold entity's. `I-X` tokens that do not continue an entity
//! of type X start none.

use std::collections::{BTreeMap, BTreeSet};

/// One entity: type, first token, one past the last token.
pub type Span = (String, usize, usize);

/// The entities of one sentence's tags under the strict IOB2 rule.
pub fn entities(tags: &[String]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut open: Option<(String, usize)> = None;
    for (i, tag) in tags.iter().enumerate() {
        let (prefix, kind) = match tag.split_once('-') {
            Some((p, k)) if p == "B" || p == "I" => (p, k),
            _ => ("O", ""),
        };
        let continues = prefix == "I" && open.as_ref().is_some_and(|(k, _)| k == kind);
        if continues {
            continue;
        }
        if let Some((k, start)) = open.take() {
            out.push((k, start, i));
        }
        if prefix == "B" {
            open = Some((kind.to_string(), i));
        }
    }
    if let Some((k, start)) = open {
        out.push((k, start, tags.len()));
    }
    out
}

/// Precision, recall, F1 and support of one row.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EntityScores {
    /// Correct predicted entities / predicted entities (0 when none predicted).
    pub precision: f64,
    /// Correct predicted entities / gold entities (0 when none).
    pub recall: f64,
    /// Harmonic mean of the two (0 when both are 0).
    pub f1: f64,
    /// Gold entities.
    pub support: usize,
}

fn scores(correct: usize, predicted: usize, gold: usize) -> EntityScores {
    let precision = if predicted > 0 { correct as f64 / predicted as f64 } else { 0.0 };
    let recall = if gold > 0 { correct as f64 / gold as f64 } else { 0.0 };
    let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
    EntityScores { precision, recall, f1, support: gold }
}

/// `seqeval.metrics.classification_report(mode="strict", scheme=IOB2)`: per
/// entity type (sorted), then the micro, macro and weighted averages.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityReport {
    /// Per type, in sorted order.
    pub per_type: Vec<(String, EntityScores)>,
    /// Over all entities pooled.
    pub micro: EntityScores,
    /// Unweighted mean over types.
    pub macro_avg: EntityScores,
    /// Mean over types weighted by support.
    pub weighted: EntityScores,
}

impl EntityReport {
    /// Scores `predicted` against `gold` tag sequences (one per sentence).
    pub fn new(gold: &[Vec<String>], predicted: &[Vec<String>]) -> Self {
        let mut counts: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new(); // (correct, predicted, gold)
        for (g, p) in gold.iter().zip(predicted) {
            let gs: BTreeSet<Span> = entities(g).into_iter().collect();
            let ps: BTreeSet<Span> = entities(p).into_iter().collect();
            for e in &gs {
                counts.entry(e.0.clone()).or_default().2 += 1;
            }
            for e in &ps {
                let c = counts.entry(e.0.clone()).or_default();
                c.1 += 1;
                if gs.contains(e) {
                    c.0 += 1;
                }
            }
        }
        let per_type: Vec<(String, EntityScores)> = counts.iter().map(|(k, &(c, p, g))| (k.clone(), scores(c, p, g))).collect();
        let (c, p, g) = counts.values().fold((0, 0, 0), |a, &(c, p, g)| (a.0 + c, a.1 + p, a.2 + g));
        let micro = scores(c, p, g);
        let n = per_type.len().max(1) as f64;
        let mean = |f: fn(&EntityScores) -> f64| per_type.iter().map(|(_, s)| f(s)).sum::<f64>() / n;
        let macro_avg = EntityScores { precision: mean(|s| s.precision), recall: mean(|s| s.recall), f1: mean(|s| s.f1), support: g };
        let total = g.max(1) as f64;
        let weigh = |f: fn(&EntityScores) -> f64| per_type.iter().map(|(_, s)| f(s) * s.support as f64).sum::<f64>() / total;
        let weighted = EntityScores { precision: weigh(|s| s.precision), recall: weigh(|s| s.recall), f1: weigh(|s| s.f1), support: g };
        Self { per_type, micro, macro_avg, weighted }
    }

    /// The report as `seqeval` prints it with `digits`.
    pub fn to_text(&self, digits: usize) -> String {
        let names = self.per_type.iter().map(|(k, _)| k.len()).chain(["weighted avg".len()]).max().unwrap_or(12).max(digits);
        // scikit-learn's layout: the name right-aligned, then " " and a 9-wide column each.
        let mut out = format!("{:>names$} {:>10}{:>10}{:>10}{:>10}\n\n", "", "precision", "recall", "f1-score", "support");
        let row =
            |name: &str, s: &EntityScores| format!("{name:>names$}  {:>9.digits$} {:>9.digits$} {:>9.digits$} {:>9}\n", s.precision, s.recall, s.f1, s.support);
        for (k, s) in &self.per_type {
            out += &row(k, s);
        }
        out += "\n";
        out += &row("micro avg", &self.micro);
        out += &row("macro avg", &self.macro_avg);
        out += &row("weighted avg", &self.weighted);
        out
    }

    /// The same numbers as `output_dict=True` gives them.
    pub fn to_json(&self) -> serde_json::Value {
        let row = |s: &EntityScores| serde_json::json!({"precision": s.precision, "recall": s.recall, "f1-score": s.f1, "support": s.support});
        let mut map = serde_json::Map::new();
        for (k, s) in &self.per_type {
            map.insert(k.clone(), row(s));
        }
        map.insert("micro avg".into(), row(&self.micro));
        map.insert("macro avg".into(), row(&self.macro_avg));
        map.insert("weighted avg".into(), row(&self.weighted));
        serde_json::Value::Object(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn strict_iob2_entities() {
        assert_eq!(entities(&tags("B-PER I-PER O B-LOC")), vec![("PER".into(), 0, 2), ("LOC".into(), 3, 4)]);
        assert_eq!(entities(&tags("O I-LOC I-LOC O")), vec![]);
        assert_eq!(entities(&tags("B-PER B-PER I-LOC")), vec![("PER".into(), 0, 1), ("PER".into(), 1, 2)]);
    }

    /// A hand-made example and what `seqeval` 1.2.2 gives for it
    /// (`classification_report(y_true, y_pred, mode="strict", scheme=IOB2, digits=4)`).
    #[test]
    fn scores_equal_seqevals_on_a_hand_made_example() {
        let gold = [tags("B-PER I-PER O B-LOC O B-ORG I-ORG I-ORG"), tags("O B-LOC I-LOC O B-PER"), tags("B-MISC O B-PER I-PER")];
        let pred = [tags("B-PER I-PER O B-LOC O B-ORG I-ORG O"), tags("O I-LOC I-LOC O B-PER"), tags("B-MISC O B-PER B-PER")];
        let r = EntityReport::new(&gold, &pred);
        let seqeval = "              precision    recall  f1-score   support

         LOC     1.0000    0.5000    0.6667         2
        MISC     1.0000    1.0000    1.0000         1
         ORG     0.0000    0.0000    0.0000         1
         PER     0.5000    0.6667    0.5714         3

   micro avg     0.5714    0.5714    0.5714         7
   macro avg     0.6250    0.5417    0.5595         7
weighted avg     0.6429    0.5714    0.5782         7
";
        assert_eq!(r.to_text(4), seqeval);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-15;
        assert!(close(r.micro.f1, 0.5714285714285714) && close(r.macro_avg.f1, 0.5595238095238095) && close(r.weighted.f1, 0.5782312925170068));
        assert!(close(r.per_type[3].1.f1, 0.5714285714285715) && close(r.per_type[0].1.f1, 0.6666666666666666));
    }
}
