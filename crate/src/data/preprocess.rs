//! Turning a user's picture (a drawing or an uploaded photo of a digit) into an MNIST-style image,
//! as LeCun et al. prepared MNIST: light ink on a dark background, the strokes scaled to fit a
//! 20×20 box (aspect kept) and placed in a 28×28 frame with their centre of mass at the centre.

use crate::error::{Error, Result};

/// Largest accepted side of a picture, in pixels.
pub const MAX_SIDE: usize = 4096;
/// Side of the output image.
const FRAME: usize = 28;
/// Side of the box the strokes are scaled into.
const BOX: f32 = 20.0;
/// Intensity above which a pixel counts as ink (after any inversion).
const INK: f32 = 0.15;

/// The MNIST-style 28×28 image (bytes, row-major) of a `width`×`height` greyscale picture with
/// values in [0, 1]. Dark ink on a light background (judged by the border) is inverted first.
pub fn mnist_style(gray: &[f32], width: usize, height: usize) -> Result<Vec<u8>> {
    if !(1..=MAX_SIDE).contains(&width) || !(1..=MAX_SIDE).contains(&height) {
        return Err(Error::InvalidArgument(format!(
            "a picture must be 1 to {MAX_SIDE} pixels on each side, got {width}×{height}"
        )));
    }
    if gray.len() != width * height || gray.iter().any(|v| !v.is_finite()) {
        return Err(Error::InvalidArgument(
            "the picture's pixels do not match its size or are not numbers".into(),
        ));
    }
    let at = |x: usize, y: usize| gray[y * width + x].clamp(0.0, 1.0);
    let border: Vec<f32> = (0..width)
        .flat_map(|x| [at(x, 0), at(x, height - 1)])
        .chain((0..height).flat_map(|y| [at(0, y), at(width - 1, y)]))
        .collect();
    let invert = border.iter().sum::<f32>() / border.len() as f32 > 0.5;
    let ink = |x: usize, y: usize| if invert { 1.0 - at(x, y) } else { at(x, y) };

    let (mut x0, mut y0, mut x1, mut y1) = (width, height, 0, 0);
    for y in 0..height {
        for x in 0..width {
            if ink(x, y) > INK {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
            }
        }
    }
    if x0 >= x1 {
        return Err(Error::InvalidArgument(
            "the picture has no strokes to classify".into(),
        ));
    }
    let (bw, bh) = (x1 - x0, y1 - y0);
    let scale = BOX / bw.max(bh) as f32;
    let (tw, th) = (
        ((bw as f32 * scale).round() as usize).clamp(1, FRAME),
        ((bh as f32 * scale).round() as usize).clamp(1, FRAME),
    );
    // Area resampling: each output pixel averages the source pixels its footprint covers.
    let mut patch = vec![0.0f32; tw * th];
    let (sx, sy) = (bw as f32 / tw as f32, bh as f32 / th as f32);
    for ty in 0..th {
        let ys = weights(ty as f32 * sy, (ty + 1) as f32 * sy, bh);
        for tx in 0..tw {
            let xs = weights(tx as f32 * sx, (tx + 1) as f32 * sx, bw);
            let (mut sum, mut area) = (0.0, 0.0);
            for &(y, wy) in &ys {
                for &(x, wx) in &xs {
                    sum += ink(x0 + x, y0 + y) * wx * wy;
                    area += wx * wy;
                }
            }
            patch[ty * tw + tx] = sum / area.max(f32::MIN_POSITIVE);
        }
    }
    // Centre of mass to the frame's centre, keeping the patch inside the frame.
    let mass: f32 = patch.iter().sum();
    let (mut cx, mut cy) = (0.0, 0.0);
    for (i, v) in patch.iter().enumerate() {
        cx += (i % tw) as f32 * v;
        cy += (i / tw) as f32 * v;
    }
    let (cx, cy) = (cx / mass, cy / mass);
    let place = |centre: f32, size: usize| {
        ((FRAME as f32 / 2.0 - 0.5 - centre).round() as isize).clamp(0, (FRAME - size) as isize)
            as usize
    };
    let (ox, oy) = (place(cx, tw), place(cy, th));
    let mut out = vec![0u8; FRAME * FRAME];
    for ty in 0..th {
        for tx in 0..tw {
            out[(oy + ty) * FRAME + ox + tx] = (patch[ty * tw + tx] * 255.0).round() as u8;
        }
    }
    Ok(out)
}

/// Source pixels overlapping `[from, to)` (clamped to `0..len`) with their overlap.
fn weights(from: f32, to: f32, len: usize) -> Vec<(usize, f32)> {
    let first = from.floor() as usize;
    let last = (to.ceil() as usize).min(len);
    (first..last.max(first + 1).min(len))
        .map(|p| {
            let overlap = (to.min(p as f32 + 1.0) - from.max(p as f32)).max(0.0);
            (p, overlap)
        })
        .filter(|&(_, w)| w > 0.0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(out: &[u8]) -> (usize, usize, usize, usize) {
        let (mut x0, mut y0, mut x1, mut y1) = (FRAME, FRAME, 0, 0);
        for (i, &v) in out.iter().enumerate() {
            if v > 40 {
                let (x, y) = (i % FRAME, i / FRAME);
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
            }
        }
        (x0, y0, x1, y1)
    }

    #[test]
    fn a_dark_bar_on_white_becomes_a_centred_light_bar_in_a_20_pixel_box() {
        // A 300×200 white picture with a black vertical bar in its top-left corner.
        let (w, h) = (300, 200);
        let mut gray = vec![1.0; w * h];
        for y in 10..110 {
            for x in 20..45 {
                gray[y * w + x] = 0.0;
            }
        }
        let out = mnist_style(&gray, w, h).unwrap();
        let (x0, y0, x1, y1) = frame(&out);
        assert_eq!(y1 - y0, 20, "the long side fills the box");
        assert_eq!(x1 - x0, 5, "aspect kept: 25/100 of 20");
        assert!(
            (x0 + x1).abs_diff(28) <= 1 && (y0 + y1).abs_diff(28) <= 1,
            "{x0} {x1} {y0} {y1}"
        );
        assert_eq!(out[14 * FRAME + 14], 255);
        assert_eq!(out[0], 0);
    }

    #[test]
    fn blank_misshapen_and_oversized_pictures_are_refused() {
        assert!(mnist_style(&[0.0; 100], 10, 10).is_err(), "no ink");
        assert!(
            mnist_style(&[1.0; 100], 10, 10).is_err(),
            "white page: no ink either"
        );
        assert!(mnist_style(&[0.5; 99], 10, 10).is_err());
        assert!(mnist_style(&[], 0, 0).is_err());
        assert!(mnist_style(&[0.0; 4], MAX_SIDE + 1, 1).is_err());
        let mut nan = vec![0.0; 100];
        nan[3] = f32::NAN;
        assert!(mnist_style(&nan, 10, 10).is_err());
    }
}
