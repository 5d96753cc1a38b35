//! Called from the `build.rs` of every nnlab package that links tch, so that
//! its binaries and test executables run with no `LD_LIBRARY_PATH` and see
//! CUDA where the library has it.
//!
//! 1. `-rpath <LIBTORCH>/lib`: tch's own rpath flag only reaches its C++
//!    objects, not the final executables.
//! 2. `--no-as-needed -ltorch_cuda`: no Rust symbol uses libtorch_cuda.so,
//!    so the linker's `--as-needed` drops it and CUDA is never detected
//!    (tch-rs issues #213, #329, #904, #980).
//!
//! [`compile_cpp`] builds a small C++ file against LibTorch's headers, for
//! the few ATen switches that tch does not expose.

use std::path::PathBuf;

/// Emits the link arguments for the calling package (see the crate docs).
pub fn link_libtorch() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    let Some(libtorch) = std::env::var_os("LIBTORCH") else {
        println!("cargo:warning=LIBTORCH is not set: run scripts/setup.sh first");
        return;
    };
    let libtorch = PathBuf::from(libtorch);
    // Resolve the `.libtorch` link so that the RUNPATH names the real folder.
    let lib = libtorch.canonicalize().unwrap_or(libtorch).join("lib");
    println!("cargo:rerun-if-changed={}", lib.display());
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    if lib.join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
}

/// Compiles the C++ `sources` against LibTorch's headers (C++17, the C++11
/// ABI that PyPI's torch wheel uses) into the static library `name`, linked
/// into the calling package.
pub fn compile_cpp(name: &str, sources: &[&str]) {
    for s in sources {
        println!("cargo:rerun-if-changed={s}");
    }
    let Some(libtorch) = std::env::var_os("LIBTORCH") else {
        println!("cargo:warning=LIBTORCH is not set: run scripts/setup.sh first");
        return;
    };
    let include = PathBuf::from(libtorch).join("include");
    cc::Build::new()
        .cpp(true)
        .std("c++17")
        .include(&include)
        .include(include.join("torch/csrc/api/include"))
        .define("_GLIBCXX_USE_CXX11_ABI", "1")
        .flag_if_supported("-w")
        .files(sources)
        .compile(name);
}
