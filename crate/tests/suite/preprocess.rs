//! A user's picture of a digit comes out as MNIST would have it: photographed-looking versions of
//! shipped test digits (scaled up four times, dark ink on paper, off-centre in a larger page) are
//! classified as the originals by the default model.

use burn::tensor::{Tensor, TensorData};
use perturb::data::preprocess::mnist_style;
use perturb::data::{Dataset, DatasetKind, shipped_test_subset};
use perturb::eval::predictions;
use perturb::model::Sequential;

fn classify(model: &Sequential, pixels: &[u8]) -> usize {
    let values: Vec<f32> = pixels.iter().map(|&p| f32::from(p) / 255.0).collect();
    let image = Tensor::<4>::from_data(
        TensorData::new(values, [1, 1, 28, 28]),
        &crate::common::device(),
    );
    predictions(&model, image, 1).into_scalar::<i64>() as usize
}

#[test]
fn paper_photos_of_test_digits_keep_their_class() {
    let device = crate::common::device();
    let model = perturb::zoo::default_model(&device).unwrap();
    let data = shipped_test_subset(DatasetKind::Mnist).unwrap();
    let (w, h) = (160, 130);
    let mut agree = 0;
    for i in 0..30 {
        let digit = data.image(i);
        // Dark ink on white paper, four times larger, 17 px from the left and 9 from the top.
        let mut page = vec![1.0f32; w * h];
        for y in 0..112 {
            for x in 0..112 {
                page[(y + 9) * w + x + 17] = 1.0 - digit[(y / 4) * 28 + x / 4];
            }
        }
        let prepared = mnist_style(&page, w, h).unwrap();
        agree += usize::from(classify(&model, &prepared) == classify(&model, data.image_bytes(i)));
    }
    assert!(agree >= 27, "{agree} of 30 keep their class");
}

#[test]
fn a_prepared_picture_joins_the_dataset() {
    let data = shipped_test_subset(DatasetKind::Mnist).unwrap().take(5);
    let extra = data.appended(&[7; 784], 3).unwrap();
    assert_eq!(extra.len(), 6);
    assert_eq!(extra.labels()[5], 3);
    assert_eq!(extra.image_bytes(5), &[7; 784][..]);
    assert!(data.appended(&[0; 10], 3).is_err(), "wrong size");
    assert!(data.appended(&[0; 784], 10).is_err(), "no class 10");
    let _: &Dataset = &extra;
}
