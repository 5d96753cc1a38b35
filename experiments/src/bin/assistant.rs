//! The customer-service assistant: answers queries with a trained `intent`
//! run (see `nnlab_experiments::assistant`).
//!
//!     echo "my card has not arrived" | cargo run --release --bin assistant -- --run RUN_DIR

fn main() -> std::process::ExitCode {
    nnlab_experiments::main_wrapper("assistant", nnlab_experiments::assistant::run)
}
