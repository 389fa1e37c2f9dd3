//! ImageNet-1k's 1,000 classes in the standard index order (the sorted WordNet ids, as
//! torchvision's `ImageFolder` numbers the ILSVRC2012 class folders): their WordNet ids and short
//! names, shipped in `crate/assets/imagenet-classes.tsv` (`scripts/imagenet_classes.py`).

use std::sync::OnceLock;

const TABLE: &str = include_str!("../../assets/imagenet-classes.tsv");

/// The number of ImageNet-1k classes.
pub const IMAGENET_CLASSES: usize = 1000;

fn table() -> &'static (Vec<&'static str>, Vec<&'static str>) {
    static TABLE_ROWS: OnceLock<(Vec<&'static str>, Vec<&'static str>)> = OnceLock::new();
    TABLE_ROWS.get_or_init(|| {
        TABLE
            .lines()
            .map(|line| line.split_once('\t').expect("a shipped table row"))
            .unzip()
    })
}

/// The WordNet id of each class, by index (`n01440764` is class 0, tench).
pub fn wordnet_ids() -> &'static [&'static str] {
    &table().0
}

/// The short name of each class, by index.
pub fn class_names() -> &'static [&'static str] {
    &table().1
}

/// The class index of WordNet id `wnid`.
pub fn class_of_wordnet_id(wnid: &str) -> Option<usize> {
    wordnet_ids().binary_search(&wnid).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_imagenet_1k_in_order() {
        assert_eq!(wordnet_ids().len(), IMAGENET_CLASSES);
        assert_eq!(class_names().len(), IMAGENET_CLASSES);
        assert!(
            wordnet_ids().windows(2).all(|w| w[0] < w[1]),
            "sorted, unique"
        );
        assert_eq!((wordnet_ids()[0], class_names()[0]), ("n01440764", "tench"));
        assert_eq!(class_names()[999], "toilet tissue");
        assert_eq!(class_of_wordnet_id("n03594945"), Some(609)); // jeep
        assert_eq!(class_of_wordnet_id("n00000000"), None);
    }
}
