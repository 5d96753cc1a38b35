//! Prints a fingerprint of the numerics of this machine: for each of a set of
//! operations on fixed inputs (torch ops, and the `libm` crate's functions that
//! nnlab's Rust code calls instead of the platform's: glibc's differ in the
//! last bits between CPUs with and without FMA), the first 16 hex digits of
//! the SHA-256 of its output bits.
//! Two machines whose fingerprints agree compute those operations to the same
//! bits; where they differ, the line says which operation parts them.
//!
//!     cargo run --release --bin numerics_check -- --numerics portable

use anyhow::Result;
use clap::Parser;
use nnlab_torch::numerics::{self, Numerics};
use rand::{Rng, SeedableRng};
use tch::{Kind, Tensor};

/// Print a fingerprint of this machine's numerics.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// `fast` or `portable`.
    #[arg(long, env = "NNLAB_NUMERICS", default_value = "portable", value_parser = |s: &str| s.parse::<Numerics>())]
    numerics: Numerics,
}

fn hash_bytes(bytes: &[u8]) -> String {
    nnlab_generative::classifier::sha256_hex(bytes)[..16].to_string()
}

fn hash_f32(v: &[f32]) -> String {
    hash_bytes(&v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<_>>())
}

fn hash_f64(v: &[f64]) -> String {
    hash_bytes(&v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<_>>())
}

fn hash_tensor(t: &Tensor) -> String {
    let v = Vec::<f32>::try_from(t.to_kind(Kind::Float).flatten(0, -1)).expect("float tensor");
    hash_f32(&v)
}

fn run() -> Result<()> {
    let args: Args = nnlab_experiments::cli::parse_args()?;
    numerics::init(args.numerics).map_err(anyhow::Error::msg)?;
    tch::set_num_threads(1);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let mut uniform = |n: usize, lo: f32, hi: f32| -> Vec<f32> { (0..n).map(|_| rng.random_range(lo..hi)).collect() };
    let x64: Vec<f64> = uniform(4096, -6.0, 6.0).iter().map(|&v| v as f64 * 1.37).collect();
    let x32 = uniform(4096, -6.0, 6.0);
    let a = Tensor::from_slice(&uniform(128 * 120, -1.0, 1.0)).view([128, 120]);
    let b = Tensor::from_slice(&uniform(120 * 84, -1.0, 1.0)).view([120, 84]);
    let bias = Tensor::from_slice(&uniform(84, -1.0, 1.0));
    let t = Tensor::from_slice(&x32);
    let img = Tensor::from_slice(&uniform(8 * 3 * 16 * 16, 0.0, 1.0)).view([8, 3, 16, 16]);
    let kernel = Tensor::from_slice(&uniform(4 * 3 * 3 * 3, -0.5, 0.5)).view([4, 3, 3, 3]);
    let mut rows: Vec<(&str, String)> = vec![
        ("libm f64 sin", hash_f64(&x64.iter().map(|&v| libm::sin(v)).collect::<Vec<_>>())),
        ("libm f64 cos", hash_f64(&x64.iter().map(|&v| libm::cos(v)).collect::<Vec<_>>())),
        ("libm f64 exp", hash_f64(&x64.iter().map(|&v| libm::exp(v)).collect::<Vec<_>>())),
        ("libm f64 tanh", hash_f64(&x64.iter().map(|&v| libm::tanh(v)).collect::<Vec<_>>())),
        ("libm f64 log", hash_f64(&x64.iter().map(|v| libm::log(v.abs())).collect::<Vec<_>>())),
        ("libm f64 pow", hash_f64(&x64.iter().map(|v| libm::pow(v.abs(), 0.37)).collect::<Vec<_>>())),
        ("libm f32 expf", hash_f32(&x32.iter().map(|&v| libm::expf(v)).collect::<Vec<_>>())),
        ("libm f32 tanhf", hash_f32(&x32.iter().map(|&v| libm::tanhf(v)).collect::<Vec<_>>())),
        ("rust f32 sqrt", hash_f32(&x32.iter().map(|v| v.abs().sqrt()).collect::<Vec<_>>())),
        ("libm f32 logf", hash_f32(&x32.iter().map(|v| libm::logf(v.abs())).collect::<Vec<_>>())),
        ("torch matmul 128x120x84", hash_tensor(&a.matmul(&b))),
        ("torch addmm (linear)", hash_tensor(&bias.addmm(&a, &b))),
        ("torch exp", hash_tensor(&t.exp())),
        ("torch log", hash_tensor(&t.abs().log())),
        ("torch tanh", hash_tensor(&t.tanh())),
        ("torch sigmoid", hash_tensor(&t.sigmoid())),
        ("torch softmax", hash_tensor(&t.view([64, 64]).softmax(-1, Kind::Float))),
        ("torch log_softmax", hash_tensor(&t.view([64, 64]).log_softmax(-1, Kind::Float))),
        ("torch sum", hash_tensor(&t.sum(Kind::Float))),
        ("torch mean dim", hash_tensor(&t.view([64, 64]).mean_dim(1, false, Kind::Float))),
        ("torch mean dim 0", hash_tensor(&t.view([64, 64]).mean_dim(0, false, Kind::Float))),
        ("torch sort", hash_tensor(&t.view([64, 64]).sort(-1, false).0)),
        ("torch min dim", hash_tensor(&t.view([64, 64]).min_dim(1, false).0)),
        ("torch lerp", hash_tensor(&t.view([64, 64]).lerp(&t.view([64, 64]).flip([0]), 0.01))),
        ("torch sqrt", hash_tensor(&t.abs().sqrt())),
        ("torch rsqrt", hash_tensor(&t.abs().rsqrt())),
        ("torch rsqrt reciprocal", hash_tensor(&t.abs().rsqrt().reciprocal())),
        ("torch pow 0.5", hash_tensor(&t.abs().pow_tensor_scalar(0.5))),
        ("torch reciprocal", hash_tensor(&t.reciprocal())),
        ("torch div", hash_tensor(&(&t / (t.abs() + 0.5)))),
        ("torch log1p", hash_tensor(&t.abs().log1p())),
        ("torch expm1", hash_tensor(&t.expm1())),
        ("torch sin", hash_tensor(&t.sin())),
        ("torch cos", hash_tensor(&t.cos())),
        ("torch erf", hash_tensor(&t.erf())),
        ("torch softplus", hash_tensor(&t.softplus())),
        ("torch gelu", hash_tensor(&t.gelu("none"))),
        ("torch elu", hash_tensor(&t.elu())),
        ("torch leaky_relu", hash_tensor(&t.leaky_relu())),
        ("torch bce with logits", hash_tensor(&t.binary_cross_entropy_with_logits::<Tensor>(&t.sigmoid().round(), None, None, tch::Reduction::None))),
        ("torch norm", hash_tensor(&t.norm())),
        ("torch var", hash_tensor(&t.view([64, 64]).var_dim(1, true, false))),
        ("torch clamp", hash_tensor(&t.clamp(-1.0, 1.0))),
        ("torch pow 1.7", hash_tensor(&t.abs().pow_tensor_scalar(1.7))),
        ("torch conv2d", hash_tensor(&img.conv2d(&kernel, None::<Tensor>, [1, 1], [1, 1], [1, 1], 1))),
    ];
    tch::manual_seed(7);
    rows.push(("torch randn (manual_seed 7)", hash_tensor(&Tensor::randn([4096], (Kind::Float, tch::Device::Cpu)))));
    rows.push(("torch rand (manual_seed 7)", hash_tensor(&Tensor::rand([4096], (Kind::Float, tch::Device::Cpu)))));
    let w = a.set_requires_grad(true);
    let loss = w.matmul(&b).tanh().square().mean(Kind::Float);
    loss.backward();
    rows.push(("torch backward (matmul, tanh, mean)", hash_tensor(&w.grad())));
    // The convolutional models' kernels: convolution and transposed
    // convolution with their gradients, and batch normalisation in training.
    let (x, k) = (img.set_requires_grad(true), kernel.set_requires_grad(true));
    let y = x.conv2d(&k, None::<Tensor>, [2, 2], [1, 1], [1, 1], 1);
    let z = y.conv_transpose2d(&k, None::<Tensor>, [2, 2], [1, 1], [1, 1], 1, [1, 1]);
    let normed = z.batch_norm(None::<Tensor>, None::<Tensor>, None::<Tensor>, None::<Tensor>, true, 0.1, 1e-5, false);
    normed.tanh().square().mean(Kind::Float).backward();
    rows.push(("torch conv, conv_transpose, batch_norm", hash_tensor(&normed)));
    rows.push(("torch their backward (input)", hash_tensor(&x.grad())));
    rows.push(("torch their backward (kernel)", hash_tensor(&k.grad())));
    // CrossQ's batch normalisation of [batch, features] with a scale and a shift (another kernel than 4-D).
    let (feat, scale) = (t.view([64, 64]).set_requires_grad(true), (t.narrow(0, 0, 64).abs() + 0.5).set_requires_grad(true));
    let normed = feat.batch_norm(Some(&scale), Some(&t.narrow(0, 64, 64)), None::<&Tensor>, None::<&Tensor>, true, 0.0, 1e-3, false);
    normed.tanh().square().mean(Kind::Float).backward();
    rows.push(("torch batch_norm 2-D", hash_tensor(&normed)));
    rows.push(("torch its backward (input, scale)", hash_tensor(&Tensor::cat(&[feat.grad().flatten(0, -1), scale.grad()], 0))));
    nnlab_experiments::out!("numerics {}, ATen capability {}, MKL CBWR branch {}", args.numerics, numerics::cpu_capability(), numerics::mkl_cbwr_branch());
    for (name, h) in rows {
        nnlab_experiments::out!("{name:<38} {h}");
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    nnlab_experiments::main_wrapper("numerics_check", run)
}
