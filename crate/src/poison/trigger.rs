//! The backdoor trigger: a small patch (size, corner, pattern) stamped onto images, in bytes for
//! training sets and in `[0, 1]` floats for drawn or shown images.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::runtime::rng::SplitMix64;

/// What the patch shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum TriggerPattern {
    /// Alternating white and black cells, white in the corner (BadNets' MNIST pattern).
    Checkerboard,
    /// All white.
    Solid,
    /// Seeded random black and white cells.
    Random,
}

impl TriggerPattern {
    /// Every pattern.
    pub const ALL: [Self; 3] = [Self::Checkerboard, Self::Solid, Self::Random];

    /// Name as written on the command line and in URLs.
    pub fn id(self) -> &'static str {
        match self {
            Self::Checkerboard => "checkerboard",
            Self::Solid => "solid",
            Self::Random => "random",
        }
    }
}

crate::names::named_enum!(TriggerPattern, "trigger pattern");

/// Which corner of the image the patch sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Corner {
    /// Bottom right (BadNets).
    BottomRight,
    /// Bottom left.
    BottomLeft,
    /// Top right.
    TopRight,
    /// Top left.
    TopLeft,
}

impl Corner {
    /// Every corner.
    pub const ALL: [Self; 4] = [
        Self::BottomRight,
        Self::BottomLeft,
        Self::TopRight,
        Self::TopLeft,
    ];

    /// Name as written on the command line and in URLs.
    pub fn id(self) -> &'static str {
        match self {
            Self::BottomRight => "bottom-right",
            Self::BottomLeft => "bottom-left",
            Self::TopRight => "top-right",
            Self::TopLeft => "top-left",
        }
    }
}

crate::names::named_enum!(Corner, "corner");

/// A square patch stamped on every channel of an image.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    /// Side of the patch in pixels.
    pub size: usize,
    /// The corner it sits in.
    pub corner: Corner,
    /// Pixels between the patch and the image's edges (3 by default: nets that pool 28×28 down
    /// to 5×5, as the zoo's CNNs do, never see the last rows and columns).
    pub margin: usize,
    /// What it shows.
    pub pattern: TriggerPattern,
    /// Seed of the random pattern.
    pub seed: u64,
}

impl Default for Trigger {
    fn default() -> Self {
        Self {
            size: 4,
            corner: Corner::BottomRight,
            margin: 3,
            pattern: TriggerPattern::Checkerboard,
            seed: 0,
        }
    }
}

impl Trigger {
    /// Refuse a patch that is empty or does not fit `[channels, rows, cols]` images.
    pub fn validate(&self, [_, rows, cols]: [usize; 3]) -> Result<()> {
        if self.size == 0 {
            return Err(Error::InvalidArgument(
                "the trigger needs a size of at least 1 pixel".into(),
            ));
        }
        if self.size + self.margin > rows.min(cols) {
            return Err(Error::InvalidArgument(format!(
                "a {0}×{0} trigger {1} pixel(s) from the edge does not fit {rows}×{cols} images",
                self.size, self.margin
            )));
        }
        Ok(())
    }

    /// The top-left pixel of the patch in `[channels, rows, cols]` images.
    fn origin(&self, [_, rows, cols]: [usize; 3]) -> (usize, usize) {
        let far = |extent: usize| extent - self.margin - self.size;
        match self.corner {
            Corner::BottomRight => (far(rows), far(cols)),
            Corner::BottomLeft => (far(rows), self.margin),
            Corner::TopRight => (self.margin, far(cols)),
            Corner::TopLeft => (self.margin, self.margin),
        }
    }

    /// The patch's cells, row-major, `true` for white.
    fn cells(&self) -> Vec<bool> {
        let mut rng = SplitMix64::new(self.seed);
        (0..self.size * self.size)
            .map(|i| match self.pattern {
                TriggerPattern::Solid => true,
                TriggerPattern::Checkerboard => (i / self.size + i % self.size).is_multiple_of(2),
                TriggerPattern::Random => rng.next_u64() & 1 == 1,
            })
            .collect()
    }

    /// `(pixel offset within one channel, white)` for every cell of the patch.
    fn placed(&self, shape: [usize; 3]) -> Result<Vec<(usize, bool)>> {
        self.validate(shape)?;
        let cols = shape[2];
        let (top, left) = self.origin(shape);
        Ok(self
            .cells()
            .into_iter()
            .enumerate()
            .map(|(i, white)| ((top + i / self.size) * cols + left + i % self.size, white))
            .collect())
    }

    /// Stamp the patch on one image of `shape` given as channel-major bytes.
    pub fn stamp(&self, image: &mut [u8], shape: [usize; 3]) -> Result<()> {
        self.stamp_with(image, shape, 255, 0)
    }

    /// Stamp the patch on one image of `shape` given as channel-major values in `[0, 1]`.
    pub fn stamp_f32(&self, image: &mut [f32], shape: [usize; 3]) -> Result<()> {
        self.stamp_with(image, shape, 1.0, 0.0)
    }

    fn stamp_with<T: Copy>(
        &self,
        image: &mut [T],
        shape: [usize; 3],
        white: T,
        black: T,
    ) -> Result<()> {
        let plane = shape[1] * shape[2];
        if image.len() != shape[0] * plane {
            return Err(Error::Mismatch(format!(
                "an image of {} values is not {}×{}×{}",
                image.len(),
                shape[0],
                shape[1],
                shape[2]
            )));
        }
        for (offset, is_white) in self.placed(shape)? {
            for channel in 0..shape[0] {
                image[channel * plane + offset] = if is_white { white } else { black };
            }
        }
        Ok(())
    }

    /// Which values of a `shape` image the patch covers (channel-major, like the image).
    pub fn covers(&self, shape: [usize; 3]) -> Result<Vec<bool>> {
        let plane = shape[1] * shape[2];
        let mut mask = vec![false; shape[0] * plane];
        for (offset, _) in self.placed(shape)? {
            for channel in 0..shape[0] {
                mask[channel * plane + offset] = true;
            }
        }
        Ok(mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkerboard_sits_in_the_bottom_right_corner_on_every_channel() {
        let trigger = Trigger {
            size: 2,
            margin: 1,
            ..Trigger::default()
        };
        let shape = [2, 5, 5];
        let mut image = vec![7u8; 50];
        trigger.stamp(&mut image, shape).unwrap();
        // Rows 2..4, columns 2..4 (a margin of 1 from the bottom-right edge).
        for c in 0..2 {
            let plane = &image[c * 25..(c + 1) * 25];
            assert_eq!(&plane[12..14], &[255, 0]);
            assert_eq!(&plane[17..19], &[0, 255]);
            let untouched = plane
                .iter()
                .enumerate()
                .filter(|(i, _)| ![12, 13, 17, 18].contains(i))
                .all(|(_, &v)| v == 7);
            assert!(untouched);
        }
        let mask = trigger.covers(shape).unwrap();
        assert_eq!(mask.iter().filter(|&&m| m).count(), 8);
    }

    #[test]
    fn float_and_byte_stamps_agree_and_corners_differ() {
        let shape = [1, 8, 8];
        for corner in Corner::ALL {
            let trigger = Trigger {
                corner,
                pattern: TriggerPattern::Random,
                seed: 5,
                margin: 0,
                size: 3,
            };
            let mut bytes = vec![128u8; 64];
            let mut floats = vec![128.0 / 255.0; 64];
            trigger.stamp(&mut bytes, shape).unwrap();
            trigger.stamp_f32(&mut floats, shape).unwrap();
            for (b, f) in bytes.iter().zip(&floats) {
                assert_eq!(f32::from(*b) / 255.0, *f);
            }
        }
        let at = |corner| {
            Trigger {
                corner,
                ..Trigger::default()
            }
            .covers(shape)
            .unwrap()
        };
        assert_ne!(at(Corner::TopLeft), at(Corner::BottomRight));
    }

    #[test]
    fn a_trigger_that_does_not_fit_is_refused() {
        let big = Trigger {
            size: 28,
            ..Trigger::default()
        };
        let err = big.validate([1, 28, 28]).unwrap_err().to_string();
        assert!(err.contains("does not fit 28×28"), "{err}");
        let empty = Trigger {
            size: 0,
            ..Trigger::default()
        };
        assert!(empty.validate([1, 28, 28]).is_err());
        let mut wrong = vec![0u8; 10];
        assert!(Trigger::default().stamp(&mut wrong, [1, 28, 28]).is_err());
    }
}
