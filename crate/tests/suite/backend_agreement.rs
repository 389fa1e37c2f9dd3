//! The hard part works natively: the input gradient of the cross-entropy through the default CNN
//! agrees between the CPU backend (flex), wgpu (Vulkan; Mesa lavapipe in CI) and the committed
//! reference, to 1e-4.

use burn::tensor::Device;
use perturb::data::{DatasetKind, shipped_test_subset};
use perturb::gradient::{InputGradient, input_gradient};

use perturb::reference::{InputGradientReference, max_abs_diff};

const TOLERANCE: f32 = 1e-4;

fn reference() -> InputGradientReference {
    InputGradientReference::parse(include_str!("../../../tests/golden/input_gradient.json"))
        .unwrap()
}

fn gradient_on(device: &Device, indices: &[usize]) -> (f32, Vec<f32>, Vec<f32>) {
    let device = device.clone().autodiff();
    let model = crate::common::default_model(&device);
    let data = shipped_test_subset(DatasetKind::Mnist).unwrap();
    let (images, labels) = data.batch(indices, &device).unwrap();
    let InputGradient {
        loss,
        logits,
        gradient,
    } = input_gradient(&model, images, labels);
    (
        loss.into_data().try_into_vec_as::<f32>().unwrap()[0],
        logits.into_data().try_into_vec_as::<f32>().unwrap(),
        gradient.into_data().try_into_vec_as::<f32>().unwrap(),
    )
}

#[test]
fn cpu_gradient_matches_reference() {
    let reference = reference();
    let (loss, logits, gradient) = gradient_on(&Device::flex(), &reference.image_indices);
    reference
        .check(loss, &logits, &gradient, TOLERANCE)
        .unwrap();
    // A meaningful gradient, not zeros: the reference itself must carry signal.
    assert!(gradient.iter().map(|g| g.abs()).fold(0.0, f32::max) > 1e-4);
}

#[test]
#[ignore = "needs a wgpu adapter (Mesa lavapipe: mesa-vulkan-drivers)"]
fn wgpu_gradient_matches_cpu_and_reference() {
    let device = crate::common::wgpu_device();
    let reference = reference();
    let (loss, logits, gradient) = gradient_on(&device, &reference.image_indices);
    reference
        .check(loss, &logits, &gradient, TOLERANCE)
        .unwrap();

    // Other images, so agreement is not an accident of the reference batch.
    let others = [10, 11, 12, 13, 14, 15, 16, 17];
    let cpu = gradient_on(&Device::flex(), &others);
    let gpu = gradient_on(&device, &others);
    assert!(
        (cpu.0 - gpu.0).abs() <= TOLERANCE,
        "loss {} vs {}",
        cpu.0,
        gpu.0
    );
    assert!(max_abs_diff(&cpu.1, &gpu.1) <= TOLERANCE, "logits differ");
    let d = max_abs_diff(&cpu.2, &gpu.2);
    assert!(d <= TOLERANCE, "gradients differ by {d}");
}

#[test]
fn gradient_points_uphill() {
    // A small step along the gradient must raise the loss: the sign convention attacks rely on.
    let device = Device::flex().autodiff();
    let model = crate::common::default_model(&device);
    let data = shipped_test_subset(DatasetKind::Mnist).unwrap();
    let (images, labels) = data.batch(&[0, 1, 2, 3], &device).unwrap();
    let base = input_gradient(&model, images.clone(), labels.clone());
    let stepped = images + base.gradient.clone().sign() * 0.01;
    let after = input_gradient(&model, stepped, labels);
    let (l0, l1) = (
        base.loss.into_data().try_into_vec_as::<f32>().unwrap()[0],
        after.loss.into_data().try_into_vec_as::<f32>().unwrap()[0],
    );
    assert!(
        l1 > l0,
        "loss did not rise along the gradient: {l0} -> {l1}"
    );
}
