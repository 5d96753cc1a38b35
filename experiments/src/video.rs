//! Animated GIFs of environment frames.

use crate::run_dir::produce_atomic;
use anyhow::{Context, Result};
use nnlab_envs::Frame;
use std::path::Path;

/// Halves a frame's width and height by averaging 2x2 blocks.
pub fn downscale2(f: &Frame) -> Frame {
    let (w, h) = (f.width / 2, f.height / 2);
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                let at = |dx: u32, dy: u32| f.rgb[(((2 * y + dy) * f.width + 2 * x + dx) * 3 + c) as usize] as u32;
                rgb.push(((at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1) + 2) / 4) as u8);
            }
        }
    }
    Frame { width: w, height: h, rgb }
}

/// Writes `frames` as a looping GIF with `delay_cs` hundredths of a second per frame.
pub fn write_gif(path: &Path, frames: &[Frame], delay_cs: u16) -> Result<()> {
    let Some(first) = frames.first() else { return Ok(()) };
    produce_atomic(path, |tmp| {
        let file = std::fs::File::create(tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut encoder = gif::Encoder::new(std::io::BufWriter::new(file), first.width as u16, first.height as u16, &[])?;
        encoder.set_repeat(gif::Repeat::Infinite)?;
        for f in frames {
            let mut frame = gif::Frame::from_rgb_speed(f.width as u16, f.height as u16, &f.rgb, 20);
            frame.delay = delay_cs;
            encoder.write_frame(&frame)?;
        }
        let mut out = encoder.into_inner()?;
        std::io::Write::flush(&mut out)?;
        Ok(())
    })
}
