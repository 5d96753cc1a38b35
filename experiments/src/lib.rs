//! Everything a person touches when running an nnlab experiment: the shared
//! command-line flags, config loading (TOML + `--set`), device choice, the run
//! folder (atomic writes, flushed metrics), plots, GIFs and progress bars.
//! Each experiment is one short binary in `src/bin/`.

pub mod algos;
pub mod assistant;
pub mod charlm;
pub mod checkpoint;
pub mod classification;
pub mod classification_plots;
pub mod cli;
pub mod config;
pub mod csv_sink;
pub mod device;
pub mod fit;
pub mod history;
pub mod image_classification;
pub mod images;
pub mod intent;
pub mod metrics;
pub mod multi_seed;
pub mod normalization;
pub mod peers;
pub mod periodic_eval;
pub mod plot;
pub mod print_config;
pub mod progress;
pub mod report;
pub mod run_dir;
pub mod runner;
pub mod scaffold;
pub mod sentiment;
pub mod signals;
pub mod sink;
pub mod slurm;
pub mod summary;
pub mod sweep;
pub mod tagger;
pub mod tensorboard;
pub mod text_plots;
pub mod tune;
pub mod video;

/// An error message on one line: newlines become spaces, LibTorch's C++
/// backtrace (from "Exception raised from" on) is cut off, and so are the OS's
/// error numbers (" (os error 2)") after its words.
pub fn one_line(text: &str) -> String {
    let text = text.split(" Exception raised from ").next().unwrap_or(text);
    let text = text.split("\nException raised from ").next().unwrap_or(text);
    let mut text = text.replace('\n', " ");
    while let Some(start) = text.find(" (os error ") {
        let end = text[start..].find(')').map_or(text.len(), |e| start + e + 1);
        text.replace_range(start..end, "");
    }
    text.trim_end().to_string()
}

/// `println!` that survives a closed stdout (`enjoy ... | head -1`): the
/// line is dropped, the command goes on and exits as it would have.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// The reason behind an error in words: the OS's description of the first
/// I/O error in its chain (without the paths of temporary files that
/// `tempfile` adds), else the innermost message.
pub fn error_reason(e: &anyhow::Error) -> String {
    for cause in e.chain() {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return match (io.raw_os_error(), io.kind()) {
                (Some(code), _) => std::io::Error::from_raw_os_error(code).to_string(),
                (None, std::io::ErrorKind::NotFound) => "No such file or directory".into(),
                (None, std::io::ErrorKind::PermissionDenied) => "Permission denied".into(),
                (None, kind) => kind.to_string(),
            };
        }
    }
    e.root_cause().to_string()
}

/// Runs `body` as a command's `main`: an error prints one line on stderr
/// (`NAME: error: ...`) and exits with status 1; a panic prints one line too,
/// without a backtrace. SIGINT/SIGTERM stop the run with a message
/// ([`signals`]); a run stopped by one after a checkpoint exits with
/// [`signals::PREEMPTED_STATUS`].
pub fn main_wrapper(name: &'static str, body: impl FnOnce() -> anyhow::Result<()>) -> std::process::ExitCode {
    signals::install(name);
    std::panic::set_hook(Box::new(move |info| {
        let msg =
            info.payload().downcast_ref::<String>().map(String::as_str).or_else(|| info.payload().downcast_ref::<&str>().copied()).unwrap_or("unknown panic");
        eprintln!("{name}: internal error: {}", one_line(msg.lines().next().unwrap_or(msg)));
    }));
    match body() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            if let Some(p) = e.chain().find_map(|c| c.downcast_ref::<signals::Preempted>()) {
                eprintln!("{name}: {}", one_line(&p.0));
                return std::process::ExitCode::from(signals::PREEMPTED_STATUS);
            }
            eprintln!("{name}: error: {}", one_line(&format!("{e:#}")));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The `main` of an RL experiment binary: `train` with a fixed algorithm and
/// environment, the shipped preset, and the RL flags.
#[macro_export]
macro_rules! rl_experiment {
    ($name:literal, $algo:literal, $env:literal, $config:ty, $about:literal) => {
        #[doc = $about]
        #[derive(Debug, clap::Parser)]
        #[command(version, about = $about)]
        struct Args {
            #[command(flatten)]
            common: $crate::cli::CommonArgs,
        }

        fn main() -> std::process::ExitCode {
            $crate::main_wrapper($name, || {
                let args: Args = $crate::cli::parse_args()?;
                let preset = $crate::algos::preset($algo, $env).expect("shipped preset");
                $crate::runner::run::<$config>($name, &args.common, Some(preset), $env)
            })
        }
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn torch_backtraces_are_cut_from_error_lines() {
        let e = "loading x: Internal torch error: size mismatch Exception raised from infer_size_impl at E.cpp:31 (most recent call first):\nframe #0: ...";
        assert_eq!(super::one_line(e), "loading x: Internal torch error: size mismatch");
        assert_eq!(super::one_line("a\nb"), "a b");
        assert_eq!(super::one_line("cannot read x: No such file or directory (os error 2)"), "cannot read x: No such file or directory");
    }
}
