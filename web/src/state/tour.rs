//! The guided tour's steps: the paper's story (attack → broken defence → BPDA → adversarial
//! training → certification → poisoning), each a page state (`tour=N` plus that state) and the panel it opens
//! on, so a step can be shared or set as course material like any other link.

/// One step of the tour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TourStep {
    /// Heading.
    pub title: &'static str,
    /// What to do and what to notice.
    pub text: &'static str,
    /// The page state the step opens with (a query without `?` and `tour`).
    pub query: &'static str,
    /// Id of the panel it scrolls to.
    pub panel: &'static str,
}

/// The steps, in order.
pub const STEPS: [TourStep; 7] = [
    TourStep {
        title: "An accurate model, easily fooled",
        text: "This standard CNN classifies 98.8% of MNIST's test set correctly. Press Run attack: PGD changes no \
               pixel by more than ε = 0.15 (an L∞ threat model), yet the prediction flips. The perturbation panel \
               shows how little changed.",
        query: "model=mnist-small-cnn&image=0&attack=pgd&eps=0.15&steps=20&restarts=1&seed=0",
        panel: "attack-lab",
    },
    TourStep {
        title: "A defence that looks strong",
        text: "Defensive quantization rounds every pixel to a few levels (the paper's Eq. 12). Press Attack the \
               defence and read the second row: plain PGD barely dents it, because rounding has a zero gradient \
               and the attack is blind. That is gradient masking, not robustness.",
        query: "model=mnist-small-cnn&image=0",
        panel: "defenses",
    },
    TourStep {
        title: "BPDA breaks it",
        text: "The third row attacks the same defence with BPDA (Eq. 16): the rounding stays on the forward pass \
               and counts as the identity on the backward pass. Robust accuracy falls back to about that of the \
               undefended model. A defence has to survive adaptive attacks.",
        query: "model=mnist-small-cnn&image=0",
        panel: "defenses",
    },
    TourStep {
        title: "Adversarial training",
        text: "Madry et al. train on PGD adversarials (min-max, Eq. 14). This model was trained at ε = 0.3: press \
               Run attack with the same ε = 0.15 and it holds. Train a model yourself in the training panel below, \
               or compare models in the robustness curves: robustness costs some clean accuracy.",
        query: "model=mnist-small-cnn-pgd0.3&image=0&attack=pgd&eps=0.15&steps=20&restarts=1&seed=0",
        panel: "attack-lab",
    },
    TourStep {
        title: "Certification",
        text: "An attack that fails proves nothing; a certificate does. Interval bound propagation (Eq. 13) \
               bounds every logit over the whole ε-ball: when the true class's lower bound beats every other \
               upper bound, no perturbation within ε can change the answer. This IBP-trained model is proven at \
               ε = 0.1. Press Certify.",
        query: "model=mnist-strided-cnn-ibp0.1&image=0&cert=ibp&cert_eps=0.1",
        panel: "certify",
    },
    TourStep {
        title: "Randomized smoothing",
        text: "Smoothing certifies an L2 radius instead: classify many noisy copies and bound the top class's \
               probability p̲A from below (Clopper–Pearson); the radius is σ·Φ⁻¹(p̲A). This model was trained \
               with noise σ = 0.25. Press Smooth and certify.",
        query: "model=mnist-small-cnn-noise0.25&image=0&sigma=0.25&n=1000",
        panel: "certify",
    },
    TourStep {
        title: "Poisoning: a backdoor in the training set",
        text: "An attacker who can add a few training images needs no access to the model. This step stamps a \
               small checkerboard on 5% of the 2,000 training images and labels them 0 (BadNets). Press Train: \
               clean accuracy rises as usual, and so does the trigger curve, the share of triggered test images \
               read as 0. Then look at the shown 7 with the trigger stamped on, or draw your own digit.",
        query: "model=mnist-small-cnn&image=0&train_arch=mlp&train_obj=standard&train_epochs=3&train_seed=0\
                &train_poison=badnets&train_target=0&train_rate=0.05",
        panel: "train",
    },
];

/// The link that opens step `index` (from 0) on the page at `base`.
pub fn step_href(base: &str, index: usize) -> String {
    let step = &STEPS[index];
    format!("{base}?{}&tour={}#{}", step.query, index + 1, step.panel)
}
