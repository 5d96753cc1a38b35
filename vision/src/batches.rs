//! How stored images (bytes) become float batches: `(x / 255 - mean) / std`
//! as torchvision's `ToTensor` and `Normalize`, and for training the light
//! augmentation of the recipe: a random crop of the image padded with
//! zeros on every side (torchvision's `RandomCrop(size, padding)`) and a
//! random horizontal flip, and optionally random erasing (torchvision's
//! `RandomErasing` after `Normalize`). Batches are assembled on the host, in Rust, from
//! the training set's bytes, with every random choice drawn from the
//! trainer's seeded generator.

use nnlab_data::ImageSet;
use rand::Rng;
use tch::{Device, Tensor};

/// Normalisation and augmentation of a batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preprocess {
    /// Subtracted after scaling to [0, 1].
    pub mean: f32,
    /// Divided by after subtracting the mean.
    pub std: f32,
    /// Zero padding on each side before the random crop (0: no crop).
    pub crop_padding: usize,
    /// Flip each image left-right with probability 1/2.
    pub horizontal_flip: bool,
    /// Probability of erasing a random rectangle of each image to 0 (the
    /// normalised mean), as torchvision's `RandomErasing(p)` with its
    /// default area (2% to 33%) and aspect ratios (0.3 to 3.3); 0: off.
    pub random_erasing: f64,
}

impl Preprocess {
    /// `byte` scaled and normalised.
    pub(crate) fn value(&self, byte: u8) -> f32 {
        (byte as f32 / 255.0 - self.mean) / self.std
    }

    /// The images `indices` of `set` as a `[B, C, H, W]` float tensor,
    /// without augmentation.
    pub fn batch(&self, set: &ImageSet, indices: &[usize], device: Device) -> Tensor {
        let size = set.channels * set.rows * set.cols;
        let mut out = Vec::with_capacity(indices.len() * size);
        for &i in indices {
            out.extend(set.pixels[i * size..(i + 1) * size].iter().map(|&b| self.value(b)));
        }
        self.tensor(set, indices.len(), out, device)
    }

    /// The images `indices` of `set` augmented: per image a crop offset in
    /// `[0, 2 * crop_padding]` along each axis, then (when on) a coin for the
    /// flip, then (when on) the random erasing's draws, from `rng` in that
    /// order.
    pub fn augmented_batch(&self, set: &ImageSet, indices: &[usize], rng: &mut impl Rng, device: Device) -> Tensor {
        if self.crop_padding == 0 && !self.horizontal_flip && self.random_erasing == 0.0 {
            return self.batch(set, indices, device);
        }
        let (c, h, w) = (set.channels, set.rows, set.cols);
        let size = c * h * w;
        let pad = self.crop_padding as i64;
        let zero = self.value(0);
        let mut out = Vec::with_capacity(indices.len() * size);
        for &i in indices {
            let (dy, dx) = if pad > 0 { (rng.random_range(0..=2 * pad) - pad, rng.random_range(0..=2 * pad) - pad) } else { (0, 0) };
            let flip = self.horizontal_flip && rng.random_bool(0.5);
            let image = &set.pixels[i * size..(i + 1) * size];
            for ch in 0..c {
                let plane = &image[ch * h * w..(ch + 1) * h * w];
                for y in 0..h as i64 {
                    let sy = y + dy;
                    for x in 0..w as i64 {
                        let x = if flip { w as i64 - 1 - x } else { x };
                        let sx = x + dx;
                        let v = if sy >= 0 && sy < h as i64 && sx >= 0 && sx < w as i64 { self.value(plane[sy as usize * w + sx as usize]) } else { zero };
                        out.push(v);
                    }
                }
            }
            if self.random_erasing > 0.0 {
                let start = out.len() - size;
                erase(&mut out[start..], c, h, w, self.random_erasing, rng);
            }
        }
        self.tensor(set, indices.len(), out, device)
    }

    fn tensor(&self, set: &ImageSet, n: usize, values: Vec<f32>, device: Device) -> Tensor {
        Tensor::from_slice(&values).view([n as i64, set.channels as i64, set.rows as i64, set.cols as i64]).to_device(device)
    }
}

/// torchvision's `RandomErasing(p, scale=(0.02, 0.33), ratio=(0.3, 3.3),
/// value=0)` on one normalised `c x h x w` image: with probability `p`, up
/// to ten draws of an area and a log-uniform aspect ratio until the
/// rectangle fits, then a uniform position; all channels are zeroed there.
fn erase(image: &mut [f32], c: usize, h: usize, w: usize, p: f64, rng: &mut impl Rng) {
    if !rng.random_bool(p) {
        return;
    }
    let area = (h * w) as f64;
    let (log_lo, log_hi) = (libm::log(0.3), libm::log(1.0 / 0.3));
    for _ in 0..10 {
        let target = area * rng.random_range(0.02..0.33);
        let aspect = libm::exp(rng.random_range(log_lo..log_hi));
        let (eh, ew) = ((target * aspect).sqrt().round() as usize, (target / aspect).sqrt().round() as usize);
        if eh == 0 || ew == 0 || eh >= h || ew >= w {
            continue;
        }
        let (top, left) = (rng.random_range(0..=h - eh), rng.random_range(0..=w - ew));
        for ch in 0..c {
            for y in top..top + eh {
                let row = ch * h * w + y * w;
                image[row + left..row + left + ew].fill(0.0);
            }
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn set() -> ImageSet {
        // One 1x3x3 image: 0..9 scaled by 10.
        ImageSet { len: 1, channels: 1, rows: 3, cols: 3, pixels: (0..9).map(|v| v * 10).collect(), labels: vec![0] }
    }

    #[test]
    fn batches_are_normalised_like_to_tensor_and_normalize() {
        let p = Preprocess { mean: 0.5, std: 0.5, crop_padding: 0, horizontal_flip: false, random_erasing: 0.0 };
        let got = Vec::<f32>::try_from(p.batch(&set(), &[0], Device::Cpu).flatten(0, -1)).unwrap();
        let want: Vec<f32> = (0..9).map(|v| ((v * 10) as f32 / 255.0 - 0.5) / 0.5).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn crops_shift_within_the_padding_and_flips_mirror() {
        let p = Preprocess { mean: 0.0, std: 1.0 / 255.0, crop_padding: 1, horizontal_flip: true, random_erasing: 0.0 };
        let mut seen_shift = false;
        let mut seen_flip = false;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        for _ in 0..64 {
            let got: Vec<f32> =
                Vec::<f32>::try_from(p.augmented_batch(&set(), &[0], &mut rng, Device::Cpu).flatten(0, -1)).unwrap().iter().map(|v| v.round()).collect();
            // Every output pixel is an input pixel or the zero padding.
            assert!(got.iter().all(|&v| v == 0.0 || ((v as u32).is_multiple_of(10) && v <= 80.0)), "{got:?}");
            seen_shift |= got[4] != 40.0;
            seen_flip |= got == [20.0, 10.0, 0.0, 50.0, 40.0, 30.0, 80.0, 70.0, 60.0];
        }
        assert!(seen_shift && seen_flip);
    }

    #[test]
    fn random_erasing_zeroes_one_rectangle_of_the_right_area_on_every_channel() {
        // A 2x16x16 image of bytes 255: every value 1.0 with mean 0 and std 1.
        let set = ImageSet { len: 1, channels: 2, rows: 16, cols: 16, pixels: vec![255; 512], labels: vec![0] };
        let p = Preprocess { mean: 0.0, std: 1.0, crop_padding: 0, horizontal_flip: false, random_erasing: 1.0 };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..50 {
            let got = Vec::<f32>::try_from(p.augmented_batch(&set, &[0], &mut rng, Device::Cpu).flatten(0, -1)).unwrap();
            let (a, b) = got.split_at(256);
            assert_eq!(a, b, "both channels erased alike");
            let zeros: Vec<(usize, usize)> = (0..256).filter(|&i| a[i] == 0.0).map(|i| (i / 16, i % 16)).collect();
            // At most 33% of the area (with rounding of the sides), and a solid rectangle.
            assert!(!zeros.is_empty() && zeros.len() <= 100, "{} pixels erased", zeros.len());
            let (rows, cols): (Vec<_>, Vec<_>) = zeros.iter().copied().unzip();
            let (h, w) = (rows.iter().max().unwrap() - rows.iter().min().unwrap() + 1, cols.iter().max().unwrap() - cols.iter().min().unwrap() + 1);
            assert_eq!(h * w, zeros.len());
        }
        // p = 0 never erases.
        let off = Preprocess { random_erasing: 0.0, ..p };
        assert!(off.augmented_batch(&set, &[0], &mut rng, Device::Cpu).min().double_value(&[]) == 1.0);
    }
}
