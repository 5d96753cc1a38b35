//! Links tests and binaries to LibTorch: see the nnlab-build crate.
fn main() {
    nnlab_build::link_libtorch();
}
