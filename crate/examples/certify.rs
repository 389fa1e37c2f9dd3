//! Prove robustness of the default MNIST model with interval bounds and CROWN-IBP, then certify
//! an L2 radius with randomized smoothing: `cargo run --release -p perturb --example certify`.

use burn::tensor::Device;
use perturb::attack::{Norm, ThreatModel};
use perturb::blocking::{certify_smoothed, read_bools};
use perturb::certify::{BoundMethod, SmoothingConfig, verify};
use perturb::data::{DatasetKind, shipped_test_subset};

fn main() -> perturb::Result<()> {
    let device = Device::flex();
    let model = perturb::zoo::default_model(&device)?;
    let data = shipped_test_subset(DatasetKind::Mnist)?;
    let indices: Vec<usize> = (0..100).collect();
    let (images, labels) = data.batch(&indices, &device)?;
    for eps in [0.005, 0.01] {
        let threat = ThreatModel::new(Norm::Linf, eps)?;
        for method in [BoundMethod::Ibp, BoundMethod::CrownIbp] {
            let proved = read_bools(verify(
                &model,
                images.clone(),
                labels.clone(),
                &threat,
                method,
            )?)?;
            let share = proved.iter().filter(|&&p| p).count();
            println!("ε = {eps}: {method} verifies {share} of 100 images");
        }
    }
    // Cohen et al.'s CERTIFY on one image (σ = 0.25, n = 1,000).
    let config = SmoothingConfig {
        samples: 1000,
        ..SmoothingConfig::new(0.25)
    };
    let certificate = certify_smoothed(&model, images.narrow(0, 0, 1), &config)?;
    match certificate.class {
        Some(class) => println!(
            "smoothing: class {class} certified within L2 radius {:.3}",
            certificate.radius
        ),
        None => println!("smoothing abstains on image 0"),
    }
    Ok(())
}
