//! Single-precision matrix products straight from the BLAS that LibTorch
//! carries (MKL's `sgemm_`, exported by `libtorch_cpu.so`), for the agents'
//! host updates (`nnlab_agents::host_net`), which skip ATen's per-op
//! dispatch, allocation and autograd but keep its arithmetic kernel.
//!
//! The calls honour the same MKL settings as ATen's own products: one
//! thread, and in portable numerics MKL's `COMPATIBLE` code path
//! ([`crate::numerics`]), so their results are the same on every x86-64 CPU.

use std::ffi::c_char;

extern "C" {
    /// The Fortran BLAS `sgemm` (column-major, 32-bit integers: MKL's LP64 interface).
    fn sgemm_(
        transa: *const c_char,
        transb: *const c_char,
        m: *const i32,
        n: *const i32,
        k: *const i32,
        alpha: *const f32,
        a: *const f32,
        lda: *const i32,
        b: *const f32,
        ldb: *const i32,
        beta: *const f32,
        c: *mut f32,
        ldc: *const i32,
    );
}

/// A row-major matrix operand: its values, its row stride, and whether the
/// product uses its transpose.
#[derive(Debug, Clone, Copy)]
pub struct Operand<'a> {
    /// The values, row-major.
    pub values: &'a [f32],
    /// Elements between the starts of two rows (at least the row length).
    pub stride: usize,
    /// Use the transpose.
    pub transposed: bool,
}

impl<'a> Operand<'a> {
    /// The matrix itself, rows `stride` apart.
    pub fn plain(values: &'a [f32], stride: usize) -> Self {
        Self { values, stride, transposed: false }
    }
    /// Its transpose.
    pub fn transposed(values: &'a [f32], stride: usize) -> Self {
        Self { values, stride, transposed: true }
    }
    /// Checks that `rows x cols` of `op(self)` fit in the values.
    fn check(&self, rows: usize, cols: usize, what: &str) {
        let (stored_rows, stored_cols) = if self.transposed { (cols, rows) } else { (rows, cols) };
        assert!(stored_cols <= self.stride, "{what}: a row of {stored_cols} values in a stride of {}", self.stride);
        assert!(
            stored_rows == 0 || (stored_rows - 1) * self.stride + stored_cols <= self.values.len(),
            "{what}: {stored_rows}x{stored_cols} values past the end of {}",
            self.values.len()
        );
    }
}

/// `c = alpha * op(a) op(b) + beta * c` for row-major `c` of `m x n` (rows
/// `ldc` apart), `op(a)` of `m x k` and `op(b)` of `k x n`. With `beta == 0`
/// the old values of `c` are not read (BLAS's rule).
///
/// # Panics
/// When an operand is too short for its shape, or a size exceeds `i32`.
#[allow(clippy::too_many_arguments)]
pub fn sgemm(m: usize, n: usize, k: usize, alpha: f32, a: Operand<'_>, b: Operand<'_>, beta: f32, c: &mut [f32], ldc: usize) {
    if m == 0 || n == 0 {
        return;
    }
    a.check(m, k, "sgemm's a");
    b.check(k, n, "sgemm's b");
    assert!(n <= ldc && (m - 1) * ldc + n <= c.len(), "sgemm's c: {m}x{n} values (stride {ldc}) in {}", c.len());
    if k == 0 {
        // An empty product: only the scaling of c (BLAS would read k = 0 the same way).
        for row in c.chunks_mut(ldc).take(m) {
            row[..n].iter_mut().for_each(|x| *x = if beta == 0.0 { 0.0 } else { *x * beta });
        }
        return;
    }
    let int = |x: usize| i32::try_from(x).expect("a matrix dimension beyond i32");
    // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T, and a
    // row-major matrix read column-major is its transpose: swap the operands.
    let flag = |t: bool| if t { b'T' as c_char } else { b'N' as c_char };
    let (ta, tb) = (flag(b.transposed), flag(a.transposed));
    let (mm, nn, kk) = (int(n), int(m), int(k.max(1)));
    let (lda, ldb, ldc) = (int(b.stride.max(1)), int(a.stride.max(1)), int(ldc));
    // SAFETY: the operands' extents were checked against their slices above; BLAS
    // reads a and b and writes only the m x n block of c.
    unsafe { sgemm_(&ta, &tb, &mm, &nn, &kk, &alpha, b.values.as_ptr(), &lda, a.values.as_ptr(), &ldb, &beta, c.as_mut_ptr(), &ldc) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind, Tensor};

    fn to_vec(t: &Tensor) -> Vec<f32> {
        Vec::<f32>::try_from(t.flatten(0, -1)).unwrap()
    }

    #[test]
    fn products_match_torch_in_every_transposition() {
        tch::manual_seed(5);
        let (m, n, k) = (7, 5, 3);
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = Tensor::randn(if ta { [k, m] } else { [m, k] }, (Kind::Float, Device::Cpu));
            let b = Tensor::randn(if tb { [n, k] } else { [k, n] }, (Kind::Float, Device::Cpu));
            let c0 = Tensor::randn([m, n], (Kind::Float, Device::Cpu));
            let op = |t: &Tensor, tr: bool| if tr { t.tr() } else { t.shallow_clone() };
            let expect = op(&a, ta).matmul(&op(&b, tb)) * 2.0 + &c0 * 0.5;
            let (av, bv) = (to_vec(&a), to_vec(&b));
            let mut c = to_vec(&c0);
            let lda = if ta { m } else { k } as usize;
            let ldb = if tb { k } else { n } as usize;
            sgemm(
                m as usize,
                n as usize,
                k as usize,
                2.0,
                Operand { values: &av, stride: lda, transposed: ta },
                Operand { values: &bv, stride: ldb, transposed: tb },
                0.5,
                &mut c,
                n as usize,
            );
            let got = Tensor::from_slice(&c).view([m, n]);
            assert!(got.allclose(&expect, 1e-5, 1e-5, false), "transposes {ta} {tb}");
        }
    }

    #[test]
    #[should_panic(expected = "past the end")]
    fn a_short_operand_is_refused_before_blas_reads_it() {
        let a = vec![0.0; 5];
        let mut c = vec![0.0; 4];
        sgemm(2, 2, 3, 1.0, Operand::plain(&a, 3), Operand::plain(&[0.0; 6], 2), 0.0, &mut c, 2);
    }
}
