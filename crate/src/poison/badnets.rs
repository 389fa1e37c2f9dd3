//! BadNets (Gu et al.): the dirty-label backdoor. A fraction of the training images of other
//! classes get the trigger and the target label; a model trained on them learns "trigger ⇒
//! target" beside its clean task.

use serde::{Deserialize, Serialize};

use super::set::{PoisonedSet, check_class, check_enough, draw, poison_count};
use super::trigger::Trigger;
use crate::data::Dataset;
use crate::error::Result;

/// Settings of [`badnets`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BadNetsConfig {
    /// Fraction of the whole training set poisoned, in (0, 1].
    pub rate: f32,
    /// The class triggered images are relabelled to.
    pub target: usize,
    /// The patch.
    pub trigger: Trigger,
    /// Seed of the choice of images.
    pub seed: u64,
}

impl Default for BadNetsConfig {
    fn default() -> Self {
        Self {
            rate: 0.01,
            target: 0,
            trigger: Trigger::default(),
            seed: 1,
        }
    }
}

impl BadNetsConfig {
    /// Refuse settings that cannot poison `train`.
    pub fn validate(&self, train: &Dataset) -> Result<()> {
        check_class(self.target, train, "target class")?;
        self.trigger.validate(train.image_shape())?;
        let count = poison_count(self.rate, train.len())?;
        check_enough(train, count, self.target, false, "images of other classes")
    }
}

/// Poison `train`: stamp the trigger on a `rate` fraction of it, drawn from the images of the
/// other classes, and relabel them `target`.
pub fn badnets(train: &Dataset, config: &BadNetsConfig) -> Result<PoisonedSet> {
    config.validate(train)?;
    let shape = train.image_shape();
    let count = poison_count(config.rate, train.len())?;
    let candidates = (0..train.len())
        .filter(|&i| usize::from(train.labels()[i]) != config.target)
        .collect();
    let chosen = draw(candidates, count, config.seed, "images of other classes")?;
    let target = config.target as u16;
    let changed = chosen
        .into_iter()
        .map(|i| {
            let mut bytes = train.image_bytes(i).to_vec();
            config.trigger.stamp(&mut bytes, shape)?;
            Ok((i, bytes, target))
        })
        .collect::<Result<Vec<_>>>()?;
    // A dirty-label poison changes the label; its pixels change only under the patch.
    PoisonedSet::from_changes(train, changed, Some(&config.trigger.covers(shape)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DatasetKind;

    fn toy(n: usize) -> Dataset {
        let labels: Vec<u16> = (0..n).map(|i| (i % 10) as u16).collect();
        Dataset::with_shape(DatasetKind::Mnist, [1, 28, 28], vec![30; n * 784], labels).unwrap()
    }

    #[test]
    fn poisons_the_rate_from_other_classes_relabelled_to_the_target() {
        let train = toy(500);
        let config = BadNetsConfig {
            rate: 0.1,
            target: 3,
            ..BadNetsConfig::default()
        };
        let set = badnets(&train, &config).unwrap();
        assert_eq!(set.poisons.len(), 50);
        for p in &set.poisons {
            assert_ne!(p.label_before, 3);
            assert_eq!(p.label, 3);
            assert_eq!(set.data.labels()[p.index], 3);
            assert_eq!(p.linf, 225.0 / 255.0);
            assert_eq!(p.linf_outside_trigger, 0.0);
        }
        let mask = set.mask();
        for (i, &poisoned) in mask.iter().enumerate() {
            assert_eq!(poisoned, set.data.image_bytes(i) != train.image_bytes(i));
        }
        assert_eq!(set, badnets(&train, &config).unwrap(), "seeded");
        assert_eq!(set.without(&mask).unwrap().len(), 450);
    }

    #[test]
    fn bad_settings_are_refused() {
        let train = toy(100);
        let bad = |config: BadNetsConfig| badnets(&train, &config).unwrap_err().to_string();
        for rate in [0.0, -0.1, 1.5, f32::NAN] {
            let e = bad(BadNetsConfig {
                rate,
                ..BadNetsConfig::default()
            });
            assert!(e.contains("rate must be in (0, 1]"), "{e}");
        }
        let e = bad(BadNetsConfig {
            target: 10,
            ..BadNetsConfig::default()
        });
        assert!(e.contains("outside the dataset's classes 0..10"), "{e}");
        let e = bad(BadNetsConfig {
            trigger: Trigger {
                size: 30,
                ..Trigger::default()
            },
            ..BadNetsConfig::default()
        });
        assert!(e.contains("does not fit"), "{e}");
        let e = bad(BadNetsConfig {
            rate: 1.0,
            ..BadNetsConfig::default()
        });
        assert!(e.contains("only 90 images of other classes"), "{e}");
    }
}
