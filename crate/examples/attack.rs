//! Attack the shipped default MNIST model with PGD at several L∞ budgets and print robust
//! accuracy, natively on the CPU: `cargo run --release -p perturb --example attack`.

use burn::tensor::Device;
use perturb::attack::{AttackSettings, Norm, robustness_curve};
use perturb::data::{DatasetKind, shipped_test_subset};

fn main() -> perturb::Result<()> {
    let device = Device::flex();
    let model = perturb::zoo::default_model(&device)?;
    let data = shipped_test_subset(DatasetKind::Mnist)?.take(200);
    // PGD-20 from a random start; its step size follows each ε (2.5·ε/steps).
    let settings = AttackSettings {
        steps: 20,
        ..AttackSettings::default()
    };
    settings.validate()?;
    let curve = perturb::blocking::block_on(robustness_curve(
        &model,
        &data,
        &device,
        100,
        Norm::Linf,
        &[0.05, 0.1, 0.2],
        |threat| settings.attack(threat),
        |_| true,
    ))?;
    for point in curve {
        println!(
            "ε = {:<5} robust accuracy {:5.1}%  (attack success {:5.1}%)",
            point.epsilon,
            100.0 * point.cumulative_robust_accuracy,
            100.0 * point.summary.attack_success_rate
        );
    }
    Ok(())
}
