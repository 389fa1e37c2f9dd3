//! Image preparation as torchvision's evaluation transform does it on a PIL image: the shorter
//! side resized to `resize` with Pillow's antialiased bilinear filter (ported exactly, fixed-point
//! arithmetic included), a centre crop of `crop`, pixels scaled to [0, 1]. Pure Rust over RGB
//! bytes, so the page and the command line prepare an image identically.

use crate::error::{Error, Result};

/// An 8-bit RGB image, row-major, three bytes a pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width · height · 3` bytes.
    pub pixels: Vec<u8>,
}

impl RgbImage {
    /// Check the sizes agree.
    pub fn new(width: usize, height: usize, pixels: Vec<u8>) -> Result<Self> {
        if width == 0 || height == 0 || pixels.len() != width * height * 3 {
            return Err(Error::Mismatch(format!(
                "{} bytes for a {width}×{height} RGB image",
                pixels.len()
            )));
        }
        Ok(Self {
            width,
            height,
            pixels,
        })
    }

    /// From RGBA bytes (a canvas's `ImageData`), dropping alpha over white.
    pub fn from_rgba(width: usize, height: usize, rgba: &[u8]) -> Result<Self> {
        if rgba.len() != width * height * 4 {
            return Err(Error::Mismatch(format!(
                "{} bytes for a {width}×{height} RGBA image",
                rgba.len()
            )));
        }
        let pixels = rgba
            .chunks_exact(4)
            .flat_map(|p| {
                let a = u32::from(p[3]);
                let over = |c: u8| ((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8;
                [over(p[0]), over(p[1]), over(p[2])]
            })
            .collect();
        Self::new(width, height, pixels)
    }
}

/// Bits of Pillow's fixed-point coefficients (`PRECISION_BITS` in Resample.c).
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Pillow's bilinear (triangle) filter.
fn triangle(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 { 1.0 - x } else { 0.0 }
}

/// Pillow's `precompute_coeffs` for the bilinear filter, then `normalize_coeffs_8bpc`: for each
/// output position, the first input index, the number of inputs and their fixed-point weights.
fn coefficients(in_size: usize, out_size: usize) -> (usize, Vec<(usize, usize)>, Vec<i32>) {
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = filterscale; // the triangle's support is 1
    let ksize = support.ceil() as usize * 2 + 1;
    let mut bounds = Vec::with_capacity(out_size);
    let mut weights = vec![0i32; out_size * ksize];
    for xx in 0..out_size {
        let center = (xx as f64 + 0.5) * scale;
        let ss = 1.0 / filterscale;
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize - xmin;
        let k: Vec<f64> = (0..xmax)
            .map(|x| triangle((x as f64 + xmin as f64 - center + 0.5) * ss))
            .collect();
        let total: f64 = k.iter().sum();
        for (x, w) in k.iter().enumerate() {
            let w = if total != 0.0 { w / total } else { *w };
            let fixed = w * f64::from(1u32 << PRECISION_BITS);
            weights[xx * ksize + x] = if w < 0.0 {
                (-0.5 + fixed) as i32
            } else {
                (0.5 + fixed) as i32
            };
        }
        bounds.push((xmin, xmax));
    }
    (ksize, bounds, weights)
}

/// `ss >> PRECISION_BITS` clamped to a byte (Pillow's `clip8`).
fn clip8(ss: i64) -> u8 {
    (ss >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Resize to `width × height` as Pillow's `Image.resize(…, BILINEAR)` does: a horizontal pass
/// into an 8-bit buffer of the rows the vertical pass needs, then a vertical pass.
pub fn resize_bilinear(image: &RgbImage, width: usize, height: usize) -> RgbImage {
    let mut current = image.clone();
    let need_h = width != image.width;
    let need_v = height != image.height;
    let (kh, bounds_h, weights_h) = coefficients(image.width, width);
    let (kv, mut bounds_v, weights_v) = coefficients(image.height, height);
    if need_h {
        let first = bounds_v[0].0;
        let last = bounds_v[height - 1].0 + bounds_v[height - 1].1;
        let rows = if need_v { last - first } else { image.height };
        let offset = if need_v { first } else { 0 };
        if need_v {
            for b in &mut bounds_v {
                b.0 -= first;
            }
        }
        let mut out = vec![0u8; width * rows * 3];
        for y in 0..rows {
            let row = &image.pixels[(y + offset) * image.width * 3..][..image.width * 3];
            for (xx, &(xmin, n)) in bounds_h.iter().enumerate() {
                let k = &weights_h[xx * kh..xx * kh + n];
                for c in 0..3 {
                    let mut ss: i64 = 1 << (PRECISION_BITS - 1);
                    for (x, &w) in k.iter().enumerate() {
                        ss += i64::from(row[(x + xmin) * 3 + c]) * i64::from(w);
                    }
                    out[(y * width + xx) * 3 + c] = clip8(ss);
                }
            }
        }
        current = RgbImage {
            width,
            height: rows,
            pixels: out,
        };
    }
    if need_v {
        let mut out = vec![0u8; width * height * 3];
        for (yy, &(ymin, n)) in bounds_v.iter().enumerate() {
            let k = &weights_v[yy * kv..yy * kv + n];
            for x in 0..width * 3 {
                let mut ss: i64 = 1 << (PRECISION_BITS - 1);
                for (y, &w) in k.iter().enumerate() {
                    ss += i64::from(current.pixels[(y + ymin) * width * 3 + x]) * i64::from(w);
                }
                out[yy * width * 3 + x] = clip8(ss);
            }
        }
        current = RgbImage {
            width,
            height,
            pixels: out,
        };
    }
    current
}

/// torchvision's evaluation transform for a model taking `crop × crop` images: the shorter side
/// resized to `resize` (bilinear, antialiased as Pillow does), a centre crop of `crop`, pixels to
/// [0, 1] (`ToTensor`; the model's own normalisation is a layer of its spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EvalTransform {
    /// The shorter side after resizing.
    pub resize: usize,
    /// The side of the centre crop: the model's input.
    pub crop: usize,
}

impl EvalTransform {
    /// The standard one for a model taking `side`: resize to ⌊side / 0.875⌋ (256 for 224, 274 for
    /// 240), crop `side` (torchvision's and timm's `crop_pct` of 0.875).
    pub fn for_side(side: usize) -> Self {
        Self {
            resize: (side as f64 / 0.875) as usize,
            crop: side,
        }
    }

    /// The image resized and cropped, as RGB bytes.
    pub fn prepare(&self, image: &RgbImage) -> RgbImage {
        let (w, h) = (image.width, image.height);
        let (short, long) = if w <= h { (w, h) } else { (h, w) };
        // torchvision: new_long = int(size * long / short).
        let new_long = ((self.resize * long) as f64 / short as f64) as usize;
        let (nw, nh) = if w <= h {
            (self.resize, new_long)
        } else {
            (new_long, self.resize)
        };
        let resized = resize_bilinear(image, nw, nh);
        center_crop(&resized, self.crop)
    }

    /// The image prepared, as `[3, crop, crop]` values in [0, 1], channel-major.
    pub fn apply(&self, image: &RgbImage) -> Vec<f32> {
        to_chw(&self.prepare(image))
    }
}

/// The centre `side × side` of `image` (torchvision's `CenterCrop`: the offset rounded half to
/// even; zeros around an image smaller than the crop).
pub fn center_crop(image: &RgbImage, side: usize) -> RgbImage {
    let offset = |size: usize| ((size as f64 - side as f64) / 2.0).round_ties_even() as i64;
    let (top, left) = (offset(image.height), offset(image.width));
    let mut pixels = vec![0u8; side * side * 3];
    for y in 0..side {
        let sy = y as i64 + top;
        if sy < 0 || sy >= image.height as i64 {
            continue;
        }
        for x in 0..side {
            let sx = x as i64 + left;
            if sx < 0 || sx >= image.width as i64 {
                continue;
            }
            let from = (sy as usize * image.width + sx as usize) * 3;
            pixels[(y * side + x) * 3..][..3].copy_from_slice(&image.pixels[from..from + 3]);
        }
    }
    RgbImage {
        width: side,
        height: side,
        pixels,
    }
}

/// RGB bytes as `[3, h, w]` values in [0, 1].
pub fn to_chw(image: &RgbImage) -> Vec<f32> {
    let plane = image.width * image.height;
    let mut out = vec![0.0f32; 3 * plane];
    for (i, p) in image.pixels.chunks_exact(3).enumerate() {
        for c in 0..3 {
            out[c * plane + i] = f32::from(p[c]) / 255.0;
        }
    }
    out
}
