//! Links tests and binaries to LibTorch (see the nnlab-build crate) and
//! compiles the ATen context switches of `csrc/context.cpp`.
fn main() {
    nnlab_build::compile_cpp("nnlab_context", &["csrc/context.cpp"]);
    nnlab_build::link_libtorch();
}
