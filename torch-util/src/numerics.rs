//! How torch picks its CPU kernels, and so whether results are the same bits
//! on every x86-64 CPU.
//!
//! LibTorch chooses its CPU code paths at run time by instruction set: ATen's
//! vectorised kernels by `ATEN_CPU_CAPABILITY` (DEFAULT, AVX2, AVX512), MKL's
//! BLAS by its own dispatcher, oneDNN's convolutions by `ONEDNN_MAX_CPU_ISA`.
//! Two CPU models therefore round differently in the last bits, and training
//! (RL above all) amplifies that into other trajectories.
//!
//! [`Numerics::Portable`] pins every one of those choices:
//!
//! | setting | value | read |
//! | --- | --- | --- |
//! | `MKL_CBWR` | `COMPATIBLE` (MKL's conditional numerical reproducibility, SSE2 code paths) | at MKL's first call |
//! | `MKL_ENABLE_INSTRUCTIONS` | `SSE4_2` (MKL's vector math, which CBWR does not cover, takes its SSE4.2 code on every CPU) | at MKL's first call |
//! | `ATEN_CPU_CAPABILITY` | `default` (ATen's kernels compiled for baseline x86-64) | at the first dispatched op |
//! | `ONEDNN_MAX_CPU_ISA`, `DNNL_MAX_CPU_ISA` | `SSE41` | at oneDNN's first call |
//! | oneDNN for convolutions | off (`at::Context::setUserEnabledMkldnn(false)`): ATen's own im2col + MKL GEMM | per op |
//! | torch, MKL and OpenMP threads | 1 (`MKL_NUM_THREADS`, `OMP_NUM_THREADS`, `at::set_num_threads`) | per op |
//!
//! One kernel stays CPU-dependent whatever the settings: `sqrt` of a float
//! tensor (MKL's vector math refines the hardware's approximate `rsqrtps`,
//! whose bits differ between CPU models). nnlab's own code takes square roots
//! with `optim::portable_sqrt`, and its optimisers (`optim`) are written
//! with it.
//!
//! All of them are read lazily, so setting them from inside the process after
//! LibTorch is loaded but before the first tensor operation takes effect, as
//! in the shell (checked: [`init`] reads ATen's capability back, and the
//! golden tests pass with foreign values preset in the environment). No
//! re-exec is needed. [`init`] must run before anything touches torch: it
//! refuses when ATen has already fixed another capability.
//!
//! [`Numerics::Fast`] changes nothing: the kernels the CPU is best at, and
//! the same bits only on the same CPU model with the same thread count.
//!
//! What portable mode does not pin: glibc's `libm` (`exp`, `log`, `sin` of
//! the Rust-side environments and of ATen's DEFAULT kernels) picks FMA code
//! on CPUs that have FMA (every x86-64 CPU since 2013-2015); a CPU without
//! FMA may round a rare value differently.

use std::sync::Mutex;

/// How torch picks its CPU kernels (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Numerics {
    /// The fastest kernels for this CPU; bit-reproducible on the same CPU model and thread count.
    #[default]
    Fast,
    /// Every kernel choice pinned: the same bits on any x86-64 CPU, one torch thread, about 2x slower.
    Portable,
}

/// The environment variable that sets the numerics of tests and scripts (`fast` or `portable`).
pub const ENV_VAR: &str = "NNLAB_NUMERICS";

impl Numerics {
    /// `fast` or `portable`.
    pub fn as_str(self) -> &'static str {
        match self {
            Numerics::Fast => "fast",
            Numerics::Portable => "portable",
        }
    }

    /// The mode named by [`ENV_VAR`] (fast when unset or empty).
    pub fn from_env() -> Result<Numerics, String> {
        match std::env::var(ENV_VAR) {
            Err(std::env::VarError::NotPresent) => Ok(Numerics::Fast),
            Err(_) => Err(format!("{ENV_VAR} is not valid unicode")),
            Ok(v) if v.is_empty() => Ok(Numerics::Fast),
            Ok(v) => v.parse().map_err(|e| format!("{ENV_VAR}: {e}")),
        }
    }
}

impl std::fmt::Display for Numerics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Numerics {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fast" => Ok(Numerics::Fast),
            "portable" => Ok(Numerics::Portable),
            _ => Err(format!("'{s}' is not a numerics mode (fast or portable)")),
        }
    }
}

extern "C" {
    fn nnlab_set_mkldnn_enabled(enabled: bool);
    fn nnlab_cpu_capability(buf: *mut std::ffi::c_char, len: i32) -> i32;
    /// MKL's `mkl_cbwr_get`, exported by libtorch_cpu.so under its service name.
    fn mkl_serv_cbwr_get(option: i32) -> i32;
}

/// MKL's conditional-numerical-reproducibility branch in force
/// (`MKL_CBWR_BRANCH` query): 3 is COMPATIBLE, 2 AUTO, 0/1 off.
pub fn mkl_cbwr_branch() -> i32 {
    // SAFETY: a read-only query of MKL's service layer.
    unsafe { mkl_serv_cbwr_get(1) }
}

/// The environment settings of portable mode, as `(name, value)`; `None` removes the variable.
pub const PORTABLE_ENV: &[(&str, Option<&str>)] = &[
    ("MKL_CBWR", Some("COMPATIBLE")),
    ("MKL_ENABLE_INSTRUCTIONS", Some("SSE4_2")),
    ("MKL_DEBUG_CPU_TYPE", None),
    ("ATEN_CPU_CAPABILITY", Some("default")),
    ("ONEDNN_MAX_CPU_ISA", Some("SSE41")),
    ("DNNL_MAX_CPU_ISA", Some("SSE41")),
    ("MKL_NUM_THREADS", Some("1")),
    ("OMP_NUM_THREADS", Some("1")),
];

static CURRENT: Mutex<Option<Numerics>> = Mutex::new(None);

/// ATen's CPU capability as it dispatches now (`DEFAULT`, `AVX2`, `AVX512`, ...).
/// The first call fixes it for the life of the process.
pub fn cpu_capability() -> String {
    let mut buf = [0 as std::ffi::c_char; 64];
    // SAFETY: the shim writes at most `buf.len()` bytes, NUL-terminated.
    let n = unsafe { nnlab_cpu_capability(buf.as_mut_ptr(), buf.len() as i32) };
    if n < 0 {
        return "unknown".into();
    }
    // SAFETY: NUL-terminated by the shim.
    unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned()
}

/// Whether the CPU has AMX with bfloat16 tiles (Intel Sapphire Rapids and
/// later; CPUID leaf 7, EDX bit 22): the only CPUs on which oneDNN's
/// bfloat16 convolutions beat float32 (measured on a 2-core share of an
/// Emerald Rapids Xeon with oneDNN's ISA capped: 1.2x slower than float32
/// with AVX-512 BF16, 2.2x with AVX-512, 11x with AVX2; 1.9x faster with AMX).
pub fn cpu_has_amx_bf16() -> bool {
    cpuid_leaf7().is_some_and(|(_, edx)| edx & (1 << 22) != 0)
}

/// EBX and EDX of CPUID leaf 7 (structured extended features), if the CPU has the leaf.
// CPUID is a safe function in recent Rust, an unsafe one in the rust-version (1.80).
#[allow(unused_unsafe)]
fn cpuid_leaf7() -> Option<(u32, u32)> {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: CPUID exists on every x86-64 CPU; leaf 0 says whether leaf 7 does.
        let max_leaf = unsafe { std::arch::x86_64::__cpuid(0) }.eax;
        // SAFETY: as above, leaf 7 is present.
        (max_leaf >= 7).then(|| unsafe { std::arch::x86_64::__cpuid_count(7, 0) }).map(|r| (r.ebx, r.edx))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

/// The mode [`init`] set, if it ran.
pub fn current() -> Option<Numerics> {
    *CURRENT.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sets the process's numerics; call it before the first tensor operation.
/// A second call with the same mode does nothing; another mode is an error
/// (ATen's choices cannot change once made), as is portable mode when torch
/// has already fixed another CPU capability.
///
/// It also keeps the memory LibTorch frees inside the process ([`keep_freed_memory`]).
pub fn init(mode: Numerics) -> Result<(), String> {
    let mut current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
    match *current {
        Some(m) if m == mode => return Ok(()),
        Some(m) => return Err(format!("numerics are already {m} in this process; cannot switch to {mode}")),
        None => {}
    }
    keep_freed_memory();
    if mode == Numerics::Portable {
        for (name, value) in PORTABLE_ENV {
            match value {
                Some(v) => std::env::set_var(name, v),
                None => std::env::remove_var(name),
            }
        }
        // SAFETY: sets a flag of ATen's global context.
        unsafe { nnlab_set_mkldnn_enabled(false) };
        tch::set_num_threads(1);
        let capability = cpu_capability();
        if capability != "DEFAULT" {
            return Err(format!("portable numerics: ATen already dispatches to {capability} kernels (torch was used before the numerics were set)"));
        }
    }
    *current = Some(mode);
    Ok(())
}

/// Has glibc's `malloc` keep freed memory for reuse instead of handing it
/// back to the kernel. By default it serves every block over its mmap
/// threshold (128 KiB, raised adaptively) with a fresh mapping and returns
/// the heap's top beyond 128 KiB, so the tensors of a training step that are
/// a few hundred KiB (a 256 x 512 activation) are mapped, zero-filled page by
/// page and unmapped again at every update: page faults were 5% of a CrossQ
/// run's time and a 256-wide SAC run was 5% faster without them. A 32 MiB
/// mmap threshold (glibc's largest) and a 256 MiB trim threshold keep those
/// blocks on the heap. Only where bytes live changes, never a result. A
/// no-op off glibc, and where `GLIBC_TUNABLES` already sets either value.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
        if tunables.contains("mmap_threshold") || tunables.contains("trim_threshold") {
            return;
        }
        // SAFETY: mallopt only sets two of malloc's parameters; it is safe to call at any time.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
        }
    }
}

/// Portable numerics for a test: sets them once per process and panics with
/// the reason if that is impossible. Call it first in every test of a test
/// binary that compares golden values.
pub fn portable_for_tests() {
    if let Err(e) = init(Numerics::Portable) {
        panic!("{e}");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn cpuid_leaf7_reads_the_bits_the_standard_library_detects() {
        let (ebx, _) = super::cpuid_leaf7().expect("every x86-64 CPU of the last decade has leaf 7");
        assert_eq!(ebx & (1 << 5) != 0, std::arch::is_x86_feature_detected!("avx2"), "AVX2, EBX bit 5");
        assert_eq!(ebx & (1 << 3) != 0, std::arch::is_x86_feature_detected!("bmi1"), "BMI1, EBX bit 3");
        // Linux lists `amx_bf16` only where CPUID has it (older kernels may leave it out).
        let listed =
            std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|c| c.lines().any(|l| l.starts_with("flags") && l.split_whitespace().any(|f| f == "amx_bf16")));
        assert!(!listed || super::cpu_has_amx_bf16(), "the kernel lists amx_bf16, CPUID says no AMX");
    }
}
