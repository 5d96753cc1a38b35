//! Puts a trained image classifier to work: `classify --run RUN_DIR IMAGES...`
//! loads the run's network (`config.toml`, `summary.json`, `model.safetensors`
//! of a `cnn_classifier` or `cnn_fashion_mnist` run) and prints the top-3
//! classes of each PNG file, or of each image of an IDX file
//! (`[N, rows, cols]` greyscale or `[N, channels, rows, cols]`).
//!
//!     cargo run --release --bin classify -- --run results/cnn_fashion_mnist/RUN shoe.png t10k-images-idx3-ubyte.gz

use anyhow::{bail, Context, Result};
use clap::Parser;
use nnlab_data::{read_idx, ImageSet};
use nnlab_experiments::image_classification::CnnSummary;
use nnlab_vision::{CnnConfig, CnnTrainer, ImageShape};
use std::path::{Path, PathBuf};

/// Classify images with a trained model.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The run folder of a `cnn_classifier` or `cnn_fashion_mnist` run.
    #[arg(long, value_name = "RUN_DIR")]
    run: PathBuf,
    /// PNG files (of the model's size and channels) or IDX files of images.
    #[arg(required = true, value_name = "IMAGES")]
    images: Vec<PathBuf>,
    /// Classes to print per image.
    #[arg(long, default_value_t = 3)]
    top: usize,
}

/// The largest input file `classify` reads (256 MiB: the whole Fashion-MNIST
/// test set is 8 MB), so that `/dev/zero` or a huge file is refused, not read into memory.
const MAX_INPUT_BYTES: u64 = 256 << 20;

/// The bytes of `path`, at most [`MAX_INPUT_BYTES`].
fn read_capped(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes).with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        bail!("{} is larger than {} MiB; classify reads PNG files and IDX files of images", path.display(), MAX_INPUT_BYTES >> 20);
    }
    Ok(bytes)
}

/// The images of one file as bytes, channel-major, with a name per image.
fn read_images(path: &Path, shape: ImageShape) -> Result<Vec<(String, Vec<u8>)>> {
    let (c, h, w) = (shape.channels as usize, shape.height as usize, shape.width as usize);
    let expected = format!("{w}x{h} {}", if c == 1 { "greyscale (1 channel)" } else { "RGB (3 channels)" });
    let bytes = read_capped(path)?;
    if bytes.starts_with(b"\x89PNG") {
        let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png).with_context(|| format!("{} is not a readable PNG", path.display()))?;
        let channels = img.color().channel_count() as usize;
        if (img.width() as usize, img.height() as usize) != (w, h) || (c == 1 && channels != 1) || (c == 3 && !(channels == 3 || channels == 4)) {
            bail!(
                "{} is a {}x{} image with {channels} channel(s) ({:?}); the model expects {expected} PNG files",
                path.display(),
                img.width(),
                img.height(),
                img.color()
            );
        }
        let pixels = if c == 1 {
            img.to_luma8().into_raw()
        } else {
            let rgb = img.to_rgb8();
            (0..3).flat_map(|ch| rgb.pixels().map(move |p| p.0[ch]).collect::<Vec<u8>>()).collect()
        };
        return Ok(vec![(path.display().to_string(), pixels)]);
    }
    let idx = read_idx(path).map_err(|e| anyhow::anyhow!("{e} (classify reads PNG files and IDX files of images)"))?;
    let (n, dims) = match idx.dims[..] {
        [n, rows, cols] => (n, [1, rows, cols]),
        [n, ch, rows, cols] => (n, [ch, rows, cols]),
        _ => bail!("{} holds an array of {} dimensions; expected images [N, rows, cols] or [N, channels, rows, cols]", path.display(), idx.dims.len()),
    };
    if dims != [c, h, w] {
        bail!("{} holds {}x{} images with {} channel(s); the model expects {expected} images", path.display(), dims[2], dims[1], dims[0]);
    }
    let size = c * h * w;
    Ok((0..n).map(|i| (format!("{}[{i}]", path.display()), idx.data[i * size..(i + 1) * size].to_vec())).collect())
}

fn run() -> Result<()> {
    let args = Args::parse();
    let summary_path = args.run.join("summary.json");
    let text =
        std::fs::read_to_string(&summary_path).with_context(|| format!("{} has no summary.json: is it a finished cnn_classifier run?", args.run.display()))?;
    let summary: CnnSummary =
        serde_json::from_str(&text).with_context(|| format!("{} is not the summary of an image-classification run", summary_path.display()))?;
    let config: CnnConfig = nnlab_experiments::config::load(nnlab_experiments::config::Source::File(&args.run.join("config.toml")), &[])?;
    let [channels, height, width] = summary.image_shape;
    let shape = ImageShape { channels, height, width };
    let mut trainer = CnnTrainer::new(config.clone(), shape, summary.classes.len() as i64, tch::Device::Cpu)?;
    trainer.load_weights(&args.run.join("model.safetensors"))?;
    let preprocess = config.eval_preprocess();
    for path in &args.images {
        for (name, pixels) in read_images(path, shape)? {
            let one = ImageSet { len: 1, channels: channels as usize, rows: height as usize, cols: width as usize, pixels, labels: vec![0] };
            let x = preprocess.batch(&one, &[0], tch::Device::Cpu);
            let probs = trainer.probabilities_of(&x);
            let (p, k) = probs.topk(args.top.clamp(1, summary.classes.len()) as i64, -1, true, true);
            let (p, k) = (Vec::<f32>::try_from(p.flatten(0, -1))?, Vec::<i64>::try_from(k.flatten(0, -1))?);
            let top: Vec<String> = k.iter().zip(&p).map(|(&c, &p)| format!("{} {p:.4}", summary.classes[c as usize])).collect();
            nnlab_experiments::out!("{name}: {}", top.join(", "));
        }
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    nnlab_experiments::main_wrapper("classify", run)
}
