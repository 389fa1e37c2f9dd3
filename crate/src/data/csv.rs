//! Parser for MNIST-style CSV: one image per line, `label,p1,...,pN`, optional header row.

use crate::error::{Error, Result};

/// Images and labels read from a CSV file.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvImages {
    /// Raw pixels, `labels.len() * pixels_per_image` bytes.
    pub pixels: Vec<u8>,
    /// One label per image.
    pub labels: Vec<u8>,
}

/// Parse CSV text where each line is a label followed by exactly `pixels_per_image` values 0–255.
/// A first line that does not start with a digit is taken as a header and skipped.
pub fn parse(text: &str, pixels_per_image: usize) -> Result<CsvImages> {
    const WHAT: &str = "CSV images";
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || (number == 0 && !line.starts_with(|c: char| c.is_ascii_digit())) {
            continue;
        }
        let mut fields = line.split(',');
        let value = |field: Option<&str>| -> Result<u8> {
            let field = field.ok_or_else(|| {
                Error::format(WHAT, format!("line {}: too few values", number + 1))
            })?;
            field.trim().parse::<u8>().map_err(|_| {
                Error::format(
                    WHAT,
                    format!("line {}: {field:?} is not a value 0-255", number + 1),
                )
            })
        };
        labels.push(value(fields.next())?);
        for _ in 0..pixels_per_image {
            pixels.push(value(fields.next())?);
        }
        if fields.next().is_some() {
            return Err(Error::format(
                WHAT,
                format!(
                    "line {}: more than {} pixel values",
                    number + 1,
                    pixels_per_image
                ),
            ));
        }
    }
    if labels.is_empty() {
        return Err(Error::format(WHAT, "no data rows"));
    }
    Ok(CsvImages { pixels, labels })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_skipped_and_rows_parsed() {
        let parsed = parse("label,a,b\n7,0,255\n1,3,4\n", 2).unwrap();
        assert_eq!(parsed.labels, vec![7, 1]);
        assert_eq!(parsed.pixels, vec![0, 255, 3, 4]);
    }

    #[test]
    fn short_long_and_bad_rows_are_errors() {
        assert!(
            parse("7,0\n", 2)
                .unwrap_err()
                .to_string()
                .contains("too few")
        );
        assert!(
            parse("7,0,1,2\n", 2)
                .unwrap_err()
                .to_string()
                .contains("more than")
        );
        assert!(
            parse("7,0,300\n", 2)
                .unwrap_err()
                .to_string()
                .contains("0-255")
        );
        assert!(
            parse("label,a\n", 1)
                .unwrap_err()
                .to_string()
                .contains("no data")
        );
    }
}
