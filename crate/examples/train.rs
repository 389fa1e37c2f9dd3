//! Adversarially train a small CNN (Madry et al., the paper's Eq. 14) on shipped MNIST images for
//! a few hundred steps and measure it: `cargo run --release -p perturb --example train`.

use burn::module::Module;
use burn::tensor::Device;
use perturb::data::{DatasetKind, shipped_test_subset};
use perturb::eval::EvalSettings;
use perturb::model::{ModelSpec, TrainableNet};
use perturb::train::{ObjectiveKind, quick_config, train};

fn main() -> perturb::Result<()> {
    let device = Device::flex();
    device.seed(0);
    let autodiff = device.clone().autodiff();
    let data = shipped_test_subset(DatasetKind::Mnist)?;
    let (train_set, test_set) = (data.range(0, 800), data.range(800, 1000));
    let net = TrainableNet::init(ModelSpec::small_cnn(), 0, &autodiff)?;
    // The page's quick preset: batches of 50, Adam, PGD-5 training at ε = 0.1.
    let config = quick_config(ObjectiveKind::Pgd, 0.1, 3, 0)?;
    let net =
        perturb::blocking::block_on(train(net, &train_set, &config, &autodiff, |step, _| {
            if let Some(loss) = step.loss.filter(|_| step.step % 16 == 0) {
                println!("step {} of {}: loss {loss:.3}", step.step, step.total_steps);
            }
            Ok(true)
        }))?;
    let settings = EvalSettings {
        batch_size: 100,
        epsilon: Some(0.1),
        pgd_steps: 10,
        restarts: 1,
    };
    let e = perturb::blocking::evaluate(&net.valid().sequential(), &test_set, &device, &settings)?;
    println!(
        "on 200 held-out images: clean {:.1}%, PGD-10 robust {:.1}%, IBP-verified {:.1}% at ε = 0.1",
        100.0 * e.clean_accuracy,
        100.0 * e.robust_accuracy.unwrap_or(0.0),
        100.0 * e.verified_accuracy.unwrap_or(0.0)
    );
    Ok(())
}
