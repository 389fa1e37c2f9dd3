//! Parser for the IDX format of MNIST and Fashion-MNIST (optionally gzip-compressed).

use std::io::Read;

use crate::error::{Error, Result};

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;
/// Refuse headers that claim absurd sizes rather than allocating for them.
const MAX_ELEMENTS: usize = 1 << 30;

/// Images decoded from an IDX3 file: `count` images of `rows × cols` bytes, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// Raw pixels, `count * rows * cols` bytes.
    pub pixels: Vec<u8>,
}

/// The whole size of an IDX file whose first bytes are `header` (as many as there are, up to
/// 16): what its dimensions describe, or just the header's length when it is not an IDX header
/// (the parser then refuses it for what it is).
fn described_len(header: &[u8], what: &'static str) -> Result<usize> {
    let word = |at: usize| read_u32(header, at, what).map(|v| v as usize);
    match read_u32(header, 0, what) {
        Ok(IMAGES_MAGIC) if header.len() >= 16 => {
            Ok(16 + checked_len(&[word(4)?, word(8)?, word(12)?], what)?)
        }
        Ok(LABELS_MAGIC) if header.len() >= 8 => Ok(8 + checked_len(&[word(4)?], what)?),
        _ => Ok(header.len()),
    }
}

/// Inflate `bytes` when they start with the gzip magic, else return them as they are. A stream
/// is inflated no further than its IDX header describes (one byte more, to tell), so a gzip bomb
/// behind a small header costs that header's size, not the bomb's.
pub fn maybe_gunzip(bytes: &[u8], what: &'static str) -> Result<Vec<u8>> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes.to_vec());
    }
    let corrupt = |e: std::io::Error| Error::format(what, format!("gzip stream is corrupt: {e}"));
    let mut decoder = flate2::read::GzDecoder::new(bytes);
    let mut out = Vec::new();
    (&mut decoder)
        .take(16)
        .read_to_end(&mut out)
        .map_err(corrupt)?;
    let limit = described_len(&out, what)?.max(out.len());
    decoder
        .take((limit - out.len()) as u64 + 1)
        .read_to_end(&mut out)
        .map_err(corrupt)?;
    if out.len() > limit {
        return Err(Error::format(
            what,
            format!("gzip stream inflates past the {limit} bytes its header describes"),
        ));
    }
    Ok(out)
}

fn read_u32(bytes: &[u8], at: usize, what: &'static str) -> Result<u32> {
    bytes
        .get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| {
            Error::format(
                what,
                format!("file ends inside the header ({} bytes)", bytes.len()),
            )
        })
}

fn checked_len(dims: &[usize], what: &'static str) -> Result<usize> {
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= MAX_ELEMENTS)
        .ok_or_else(|| Error::format(what, format!("header claims an implausible size {dims:?}")))
}

fn body<'a>(bytes: &'a [u8], offset: usize, len: usize, what: &'static str) -> Result<&'a [u8]> {
    let available = bytes.len().saturating_sub(offset);
    if available < len {
        return Err(Error::format(
            what,
            format!("truncated: header promises {len} data bytes, file holds {available}"),
        ));
    }
    if available > len {
        return Err(Error::format(
            what,
            format!(
                "{} unexpected trailing bytes after the data",
                available - len
            ),
        ));
    }
    Ok(&bytes[offset..offset + len])
}

/// Parse an IDX3 image file (`0x00000803`), gzip or raw.
pub fn parse_images(bytes: &[u8]) -> Result<IdxImages> {
    const WHAT: &str = "IDX images";
    let bytes = maybe_gunzip(bytes, WHAT)?;
    let magic = read_u32(&bytes, 0, WHAT)?;
    if magic != IMAGES_MAGIC {
        return Err(Error::format(
            WHAT,
            format!("magic number {magic:#010x}, expected {IMAGES_MAGIC:#010x}"),
        ));
    }
    let count = read_u32(&bytes, 4, WHAT)? as usize;
    let rows = read_u32(&bytes, 8, WHAT)? as usize;
    let cols = read_u32(&bytes, 12, WHAT)? as usize;
    let len = checked_len(&[count, rows, cols], WHAT)?;
    let pixels = body(&bytes, 16, len, WHAT)?.to_vec();
    Ok(IdxImages {
        count,
        rows,
        cols,
        pixels,
    })
}

/// Parse an IDX1 label file (`0x00000801`), gzip or raw.
pub fn parse_labels(bytes: &[u8]) -> Result<Vec<u8>> {
    const WHAT: &str = "IDX labels";
    let bytes = maybe_gunzip(bytes, WHAT)?;
    let magic = read_u32(&bytes, 0, WHAT)?;
    if magic != LABELS_MAGIC {
        return Err(Error::format(
            WHAT,
            format!("magic number {magic:#010x}, expected {LABELS_MAGIC:#010x}"),
        ));
    }
    let count = read_u32(&bytes, 4, WHAT)? as usize;
    let len = checked_len(&[count], WHAT)?;
    Ok(body(&bytes, 8, len, WHAT)?.to_vec())
}

/// Encode images as an IDX3 file (uncompressed).
pub fn encode_images(images: &IdxImages) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + images.pixels.len());
    for v in [
        IMAGES_MAGIC,
        images.count as u32,
        images.rows as u32,
        images.cols as u32,
    ] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(&images.pixels);
    out
}

/// Encode labels as an IDX1 file (uncompressed).
pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + labels.len());
    out.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> IdxImages {
        IdxImages {
            count: 2,
            rows: 2,
            cols: 3,
            pixels: (0..12).collect(),
        }
    }

    #[test]
    fn images_round_trip() {
        let images = sample();
        assert_eq!(parse_images(&encode_images(&images)).unwrap(), images);
    }

    #[test]
    fn gzip_is_detected() {
        use std::io::Write;
        let raw = encode_labels(&[3, 1, 4]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&raw).unwrap();
        assert_eq!(parse_labels(&gz.finish().unwrap()).unwrap(), vec![3, 1, 4]);
    }

    #[test]
    fn truncated_file_is_an_error() {
        let mut bytes = encode_images(&sample());
        bytes.pop();
        let err = parse_images(&bytes).unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
        let err = parse_images(&bytes[..10]).unwrap_err().to_string();
        assert!(err.contains("header"), "{err}");
    }

    #[test]
    fn wrong_magic_and_corrupt_gzip_are_errors() {
        let err = parse_images(&encode_labels(&[1])).unwrap_err().to_string();
        assert!(err.contains("magic"), "{err}");
        let err = parse_labels(&[0x1f, 0x8b, 0, 1, 2])
            .unwrap_err()
            .to_string();
        assert!(err.contains("gzip"), "{err}");
    }

    #[test]
    fn implausible_header_is_refused_without_allocating() {
        let mut bytes = Vec::new();
        for v in [IMAGES_MAGIC, u32::MAX, u32::MAX, u32::MAX] {
            bytes.extend_from_slice(&v.to_be_bytes());
        }
        assert!(
            parse_images(&bytes)
                .unwrap_err()
                .to_string()
                .contains("implausible")
        );
    }
}
