//! Image files' bytes (JPEG, PNG, WebP) decoded to RGB in pure Rust, the same on the command line
//! and in the page, with bounds on the size a file may claim.

use super::transform::RgbImage;
use crate::error::{Error, Result};

/// Largest image side accepted from a folder, in pixels.
pub const MAX_IMAGE_SIDE: u32 = 16_384;

/// Decode an image file's bytes (JPEG, PNG or WebP) into RGB, refusing images over
/// [`MAX_IMAGE_SIDE`] a side.
pub fn decode(bytes: &[u8]) -> Result<RgbImage> {
    decode_within(bytes, MAX_IMAGE_SIDE)
}

/// [`decode`] with a smaller bound on either side (the page's memory is tighter).
pub fn decode_within(bytes: &[u8], max_side: u32) -> Result<RgbImage> {
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::format("image", e.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(max_side);
    limits.max_image_height = Some(max_side);
    limits.max_alloc = Some(1 << 30);
    reader.limits(limits);
    let format = reader
        .format()
        .ok_or_else(|| Error::format("image", "not a JPEG, PNG or WebP file"))?;
    if !matches!(
        format,
        image::ImageFormat::Jpeg | image::ImageFormat::Png | image::ImageFormat::WebP
    ) {
        return Err(Error::format(
            "image",
            format!("{format:?} files are not read; use JPEG, PNG or WebP"),
        ));
    }
    let rgb = reader
        .decode()
        .map_err(|e| Error::format("image", e.to_string()))?
        .into_rgb8();
    let (w, h) = rgb.dimensions();
    RgbImage::new(w as usize, h as usize, rgb.into_raw())
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::ImageEncoder;

    #[test]
    fn non_images_and_oversized_images_are_refused() {
        let err = decode(b"not an image at all").unwrap_err();
        assert!(err.to_string().contains("not a JPEG, PNG or WebP"), "{err}");
        // A PNG header claiming 5000×5000 pixels: refused from the header, nothing allocated.
        let mut png = Vec::new();
        image::codecs::png::PngEncoder::new(&mut png)
            .write_image(&[0u8; 3], 1, 1, image::ExtendedColorType::Rgb8)
            .unwrap();
        assert_eq!(decode(&png).unwrap().pixels, vec![0, 0, 0]);
        let mut big = png.clone();
        big[16..20].copy_from_slice(&5000u32.to_be_bytes());
        big[20..24].copy_from_slice(&5000u32.to_be_bytes());
        assert!(decode_within(&big, 4096).is_err());
    }
}
