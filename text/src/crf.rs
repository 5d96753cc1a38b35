//! A linear-chain conditional random field over per-token tag scores
//! (Lafferty et al. 2001, as Lample et al. 2016 put it on a BiLSTM): start,
//! transition and end scores, the sentence log-likelihood by the forward
//! algorithm, and Viterbi decoding; batched with a mask for padding.

use tch::{nn, Kind, Tensor};

/// Transition scores between `tags` tags (`transitions[i][j]`: from i to j), and start and end scores.
#[derive(Debug)]
pub struct Crf {
    start: Tensor,
    end: Tensor,
    transitions: Tensor,
}

impl Crf {
    /// Scores drawn from U(-0.1, 0.1) (as pytorch-crf does).
    pub fn new(p: &nn::Path, tags: i64) -> Self {
        let init = nn::Init::Uniform { lo: -0.1, up: 0.1 };
        Self { start: p.var("start", &[tags], init), end: p.var("end", &[tags], init), transitions: p.var("transitions", &[tags, tags], init) }
    }

    /// Mean over the batch of the negative log-likelihood of `tags` `[B, T]`
    /// under `emissions` `[B, T, K]`; `mask` `[B, T]` (bool) marks real
    /// tokens, a prefix of each row, at least one per row.
    pub fn neg_log_likelihood(&self, emissions: &Tensor, tags: &Tensor, mask: &Tensor) -> Tensor {
        let (batch, time, _) = emissions.size3().expect("emissions are [B, T, K]");
        let maskf = mask.to_kind(emissions.kind());
        let tags = tags.clamp_min(0);
        // The gold path's score.
        let emit = emissions.gather(2, &tags.unsqueeze(2), false).squeeze_dim(2); // [B, T]
        let mut score = self.start.index_select(0, &tags.select(1, 0)) + (emit * &maskf).sum_dim_intlist(1, false, emissions.kind());
        if time > 1 {
            let from = tags.narrow(1, 0, time - 1);
            let to = tags.narrow(1, 1, time - 1);
            let k = self.transitions.size()[1];
            let trans = self.transitions.view([-1]).index_select(0, &(from * k + to).view([-1])).view([batch, time - 1]);
            score = &score + (trans * maskf.narrow(1, 1, time - 1)).sum_dim_intlist(1, false, emissions.kind());
        }
        let lengths = mask.to_kind(Kind::Int64).sum_dim_intlist(1, false, Kind::Int64);
        let last = tags.gather(1, &(lengths - 1).unsqueeze(1), false).squeeze_dim(1);
        score = &score + self.end.index_select(0, &last);
        // The log partition by the forward algorithm.
        let mut alpha = &self.start.unsqueeze(0) + emissions.select(1, 0); // [B, K]
        for t in 1..time {
            let next = (alpha.unsqueeze(2) + self.transitions.unsqueeze(0) + emissions.select(1, t).unsqueeze(1)).logsumexp([1], false);
            alpha = next.where_self(&mask.select(1, t).unsqueeze(1), &alpha);
        }
        let log_z = (alpha + self.end.unsqueeze(0)).logsumexp([1], false);
        (log_z - score).mean(emissions.kind())
    }

    /// The best tag path of each sentence (its real tokens only).
    pub fn viterbi(&self, emissions: &Tensor, mask: &Tensor) -> Vec<Vec<i64>> {
        let _guard = tch::no_grad_guard();
        let (batch, time, _) = emissions.size3().expect("emissions are [B, T, K]");
        let mut best = &self.start.unsqueeze(0) + emissions.select(1, 0);
        let mut pointers = Vec::with_capacity(time as usize);
        for t in 1..time {
            let scores = best.unsqueeze(2) + self.transitions.unsqueeze(0); // [B, from, to]
            let (value, arg) = scores.max_dim(1, false);
            let next = value + emissions.select(1, t);
            let m = mask.select(1, t).unsqueeze(1);
            best = next.where_self(&m, &best);
            pointers.push(Vec::<i64>::try_from(arg.flatten(0, -1)).expect("host pointers"));
        }
        let last = Vec::<i64>::try_from((best + self.end.unsqueeze(0)).argmax(1, false)).expect("host tags");
        let lengths = Vec::<i64>::try_from(mask.to_kind(Kind::Int64).sum_dim_intlist(1, false, Kind::Int64)).expect("host lengths");
        let k = self.transitions.size()[0] as usize;
        (0..batch as usize)
            .map(|b| {
                let len = lengths[b] as usize;
                let mut path = vec![last[b]];
                for t in (1..len).rev() {
                    let prev = pointers[t - 1][b * k + *path.last().unwrap() as usize];
                    path.push(prev);
                }
                path.reverse();
                path
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    /// The log partition and Viterbi path by brute force over all paths of a tiny problem.
    #[test]
    fn forward_algorithm_and_viterbi_equal_brute_force() {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let crf = Crf::new(&vs.root(), 3);
        let emissions = Tensor::randn([2, 4, 3], (Kind::Double, Device::Cpu));
        let mask = Tensor::from_slice(&[true, true, true, true, true, true, false, false]).view([2, 4]);
        let tags = Tensor::from_slice(&[0i64, 2, 1, 1, 2, 0, -100, -100]).view([2, 4]);
        let (s, e, tr) = (crf.start.to_kind(Kind::Double), crf.end.to_kind(Kind::Double), crf.transitions.to_kind(Kind::Double));
        let at = |t: &Tensor, idx: &[i64]| t.double_value(idx);
        let mut nll = 0.0;
        let mut best_paths = Vec::new();
        for (b, len) in [(0usize, 4usize), (1, 2)] {
            let score = |path: &[i64]| {
                let mut v = at(&s, &[path[0]]) + at(&e, &[path[len - 1]]);
                for t in 0..len {
                    v += at(&emissions, &[b as i64, t as i64, path[t]]);
                    if t > 0 {
                        v += at(&tr, &[path[t - 1], path[t]]);
                    }
                }
                v
            };
            let paths: Vec<Vec<i64>> = (0..3usize.pow(len as u32))
                .map(|mut n| {
                    (0..len)
                        .map(|_| {
                            let d = (n % 3) as i64;
                            n /= 3;
                            d
                        })
                        .collect()
                })
                .collect();
            let z = libm::log(paths.iter().map(|p| libm::exp(score(p))).sum::<f64>());
            let gold: Vec<i64> = (0..len).map(|t| at(&tags.to_kind(Kind::Double), &[b as i64, t as i64]) as i64).collect();
            nll += z - score(&gold);
            best_paths.push(paths.iter().max_by(|a, b| score(a).total_cmp(&score(b))).unwrap().clone());
        }
        let got = crf.neg_log_likelihood(&emissions.to_kind(Kind::Float), &tags, &mask).double_value(&[]);
        assert!((got - nll / 2.0).abs() < 1e-4, "{got} vs {}", nll / 2.0);
        assert_eq!(crf.viterbi(&emissions.to_kind(Kind::Float), &mask), best_paths);
    }
}
