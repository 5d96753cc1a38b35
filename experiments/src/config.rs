//! Loading a typed config: defaults, then a TOML file (or the shipped preset),
//! then `--set key=value` overrides, then typed checks.
//!
//! Unknown keys, wrong types and malformed `--set` values are errors that
//! name the key. Values are TOML: `--set hidden_sizes=[256,256]`,
//! `--set loss=huber` (a bare word is taken as a string), `--set max_grad_norm=none`
//! (removes an optional key).

use anyhow::{anyhow, bail, Context, Result};
use serde::{de::DeserializeOwned, Serialize};
use std::path::Path;
use toml::{Table, Value};

/// Where the settings came from, for the run's records.
#[derive(Debug, Clone)]
pub enum Source<'a> {
    /// A file given with `--config`.
    File(&'a Path),
    /// A preset compiled into the binary: its name and text.
    Preset(&'a str, &'a str),
}

/// The `[run]` table nnlab adds to a run's `config.toml`: how the run was
/// computed, beside what it computed. Loading a config file ignores it,
/// except that its numerics become the default of `--numerics`.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct RunRecord {
    /// `fast` or `portable` (see `nnlab_torch::numerics`).
    pub numerics: nnlab_torch::numerics::Numerics,
    /// Torch CPU threads.
    pub threads: i32,
    /// The experiment (binary, or `<algo>_<env>` for `train`) that made the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// The RL algorithm, for RL runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algo: Option<String>,
    /// `--checkpoint-every`, which a resumed run keeps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_every: Option<u64>,
    /// `--eval-every`, which a resumed run keeps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_every: Option<u64>,
    /// `--eval-every-episodes` (with `--eval-every`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_every_episodes: Option<u64>,
    /// `--no-gif`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_gif: bool,
    /// `--allow-nan`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_nan: bool,
    /// The binary's own flags (`--data-dir DIR`, `--eval-every N`, ...), which `--resume` gives it again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// RL runs: evaluation episode `i` resets with seed `eval_seed + i`
    /// (`summary::eval_seed_for`; runs without it used `seed + 1000000 + i`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_seed: Option<u64>,
}

impl RunRecord {
    /// The record of a run with these numerics and threads, and no other option.
    pub fn new(numerics: nnlab_torch::numerics::Numerics, threads: i32) -> Self {
        Self {
            numerics,
            threads,
            experiment: None,
            algo: None,
            checkpoint_every: None,
            eval_every: None,
            eval_every_episodes: None,
            no_gif: false,
            allow_nan: false,
            args: Vec::new(),
            eval_seed: None,
        }
    }
}

/// The name of that table.
pub const RUN_TABLE: &str = "run";

/// The largest config file nnlab reads (1 MiB): a config is a few hundred bytes,
/// and `--config /dev/zero` must not read forever.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Reads a config file as text: at most [`MAX_CONFIG_BYTES`], UTF-8.
pub fn read_config_text(path: &Path) -> Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path).with_context(|| format!("cannot read config file '{}'", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes).with_context(|| format!("cannot read config file '{}'", path.display()))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        bail!("config file '{}' is larger than {} KiB; a config is a short TOML file", path.display(), MAX_CONFIG_BYTES >> 10);
    }
    String::from_utf8(bytes).map_err(|_| anyhow!("config file '{}' is not UTF-8 text", path.display()))
}

/// The `[run]` table of a config file, if it has one.
pub fn run_record(path: &Path) -> Result<Option<RunRecord>> {
    let text = read_config_text(path)?;
    let table: Table = text.parse().map_err(|e: toml::de::Error| anyhow!("{} is not valid TOML: {}", path.display(), e.message()))?;
    match table.get(RUN_TABLE) {
        None => Ok(None),
        Some(v) => v.clone().try_into().map(Some).map_err(|e: toml::de::Error| anyhow!("{}: bad [run] table: {}", path.display(), e.message())),
    }
}

/// Parses one `--set` value as TOML, or as a string when it is a bare word.
fn parse_value(key: &str, raw: &str) -> Result<Value> {
    let doc = format!("v = {raw}");
    match doc.parse::<Table>() {
        Ok(mut t) => Ok(t.remove("v").expect("parsed key")),
        Err(_) if looks_numeric(raw) => bail!("--set {key}={raw}: '{raw}' is not a number nnlab can hold (integers must fit in 64 bits)"),
        Err(_) if !raw.is_empty() && raw.chars().all(|c| c.is_alphanumeric() || "-_.".contains(c)) => Ok(Value::String(raw.to_string())),
        Err(_) => bail!("--set {key}={raw}: '{raw}' is not a valid TOML value"),
    }
}

/// Whether `raw` is written as a number (digits with an optional sign, point and exponent).
fn looks_numeric(raw: &str) -> bool {
    let body = raw.trim_start_matches(['-', '+']);
    !body.is_empty() && body.starts_with(|c: char| c.is_ascii_digit()) && body.chars().all(|c| c.is_ascii_digit() || "._eE-+".contains(c))
}

/// A serde message about a config value in words: "expected a whole number
/// >= 0" for `usize`, "got the text ..." for a string, and so on.
pub fn in_words(message: &str) -> String {
    let mut m = message.trim().to_string();
    for (from, to) in [
        ("expected usize", "expected a whole number >= 0"),
        ("expected u64", "expected a whole number >= 0"),
        ("expected u32", "expected a whole number >= 0"),
        ("expected i64", "expected a whole number"),
        ("expected i32", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected f32", "expected a number"),
        ("invalid type: string", "got the text"),
        ("invalid type: integer", "got the integer"),
        ("invalid type: floating point", "got the number"),
        ("invalid value: integer", "got the integer"),
        ("invalid type: boolean", "got the boolean"),
    ] {
        m = m.replace(from, to);
    }
    m
}

/// Applies `key=value` overrides to `table`.
pub fn apply_sets(table: &mut Table, sets: &[String]) -> Result<()> {
    for s in sets {
        let (key, raw) = s.split_once('=').ok_or_else(|| anyhow!("--set '{s}': expected KEY=VALUE"))?;
        if s.contains(['\n', '\r']) {
            bail!("--set {}: a value must be on one line (one --set per key)", s.replace(['\n', '\r'], "\\n"));
        }
        let key = key.trim();
        if key.is_empty() {
            bail!("--set '{s}': the key is empty");
        }
        let raw = raw.trim();
        if raw == "none" {
            table.remove(key);
            continue;
        }
        table.insert(key.to_string(), parse_value(key, raw)?);
    }
    Ok(())
}

/// Builds a `T` from its defaults, the source's TOML and the `--set` overrides.
pub fn load<T: Default + Serialize + DeserializeOwned>(source: Source<'_>, sets: &[String]) -> Result<T> {
    let (text, origin) = match &source {
        Source::File(path) => (read_config_text(path)?, path.display().to_string()),
        Source::Preset(name, text) => (text.to_string(), format!("preset {name}")),
    };
    let mut file: Table = text.parse().map_err(|e: toml::de::Error| anyhow!("{origin} is not valid TOML: {}", e.message()))?;
    file.remove(RUN_TABLE);
    let mut table = Table::try_from(T::default()).context("serialising the defaults")?;
    for (k, v) in file {
        table.insert(k, v);
    }
    apply_sets(&mut table, sets)?;
    T::deserialize(Value::Table(table)).map_err(|e| anyhow!("config ({origin} with --set): {}", in_words(&e.to_string())))
}

/// The resolved config as TOML text, for the run folder.
pub fn to_toml<T: Serialize>(config: &T) -> Result<String> {
    toml::to_string(config).context("serialising the config")
}

/// The resolved config and its `[run]` table as TOML text, for the run folder.
pub fn to_toml_with_run<T: Serialize>(config: &T, run: &RunRecord) -> Result<String> {
    let mut text = to_toml(config)?;
    let mut table = Table::new();
    table.insert(RUN_TABLE.into(), Value::try_from(run).context("serialising the run record")?);
    text.push('\n');
    text.push_str(&toml::to_string(&table).context("serialising the run record")?);
    Ok(text)
}

pub use nnlab_torch::check::{available_memory_bytes, fits_in_memory as check_fits_in_memory};

/// The config a run starts from when `--config` is not given: the one
/// representation of a preset, whether shipped as a file
/// (`experiments/configs/...`, embedded at build time) or a config type's
/// defaults (empty text).
#[derive(Debug, Clone)]
pub struct Preset {
    /// Where it lives in the repository, for the records and `--print-config`.
    pub name: String,
    /// Its TOML text.
    pub text: String,
}

/// The shipped preset `experiments/configs/<path>`, embedded at build time:
/// `preset!("tagger/pos.toml")`.
#[macro_export]
macro_rules! preset {
    ($path:literal) => {
        $crate::config::Preset::new(concat!("experiments/configs/", $path), include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/configs/", $path)))
    };
}

impl Preset {
    /// The preset `name` with TOML `text`.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self { name: name.into(), text: text.into() }
    }

    /// A config type's own defaults, described as `name`.
    pub fn defaults(name: impl Into<String>) -> Self {
        Self::new(name, "")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct Demo {
        lr: f64,
        sizes: Vec<i64>,
        name: String,
        clip: Option<f64>,
    }

    #[test]
    fn sets_override_with_toml_values() {
        let d: Demo = load(Source::Preset("demo", "lr = 0.5\nclip = 3.0\n"), &["sizes=[1, 2]".into(), "name=huber".into(), "clip=none".into()]).unwrap();
        assert_eq!(d, Demo { lr: 0.5, sizes: vec![1, 2], name: "huber".into(), clip: None });
    }

    #[test]
    fn errors_name_the_problem() {
        let e = load::<Demo>(Source::Preset("demo", ""), &["nope=1".into()]).unwrap_err().to_string();
        assert!(e.contains("nope"), "{e}");
        let e = load::<Demo>(Source::Preset("demo", ""), &["lr=fast".into()]).unwrap_err().to_string();
        assert!(e.contains("lr") || e.contains("invalid type"), "{e}");
        let e = load::<Demo>(Source::Preset("demo", ""), &["lr".into()]).unwrap_err().to_string();
        assert!(e.contains("KEY=VALUE"), "{e}");
        // A value with a line break is not cut after its first line.
        let e = load::<Demo>(Source::Preset("demo", ""), &["lr=0.1\nclip=2".into()]).unwrap_err().to_string();
        assert!(e.contains("one line") && !e.contains('\n'), "{e}");
        let e = load::<Demo>(Source::Preset("demo", "lr = = 3"), &[]).unwrap_err().to_string();
        assert!(e.contains("not valid TOML"), "{e}");
        let e = load::<Demo>(Source::File(Path::new("/no/such.toml")), &[]).unwrap_err();
        assert!(format!("{e:#}").contains("cannot read config file"));
    }
}
