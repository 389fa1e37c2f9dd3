//! Certification (the paper's §V–VII): sound bounds on what any perturbation inside the threat
//! model can do — interval bound propagation (Eq. 13), CROWN, exact branch and bound — and
//! randomized smoothing's probabilistic certificates (Cohen et al.).
//!
//! [`bound_margins`] and [`verify`] are the entry points: the attacks' [`ThreatModel`](crate::attack::ThreatModel)
//! and a [`BoundMethod`], as auto_LiRPA's `compute_bounds(method=…)`.

mod bounds;
mod crown;
mod exact;
mod ibp;
mod radius;
mod smoothing;
mod stats;

pub use bounds::{bound_logits, bound_margins, threat_box, verify};
pub use crown::{
    CrownConfig, IntermediateBounds, IntermediateNeurons, crown_logit_bounds,
    crown_margin_lower_bounds,
};
pub use exact::{ExactConfig, ExactOutcome, ExactStats, TinyNet, verify_exact};
pub use ibp::{
    Interval, input_box, logit_bounds, margin_lower_bounds, propagate, propagate_all, verified,
};
pub use radius::{
    BoundMethod, RadiusSearch, RadiusSearchConfig, balls, largest_verified_radius,
    worst_margin_bounds, worst_margins,
};
pub use smoothing::{
    SmoothedCertificate, SmoothedPrediction, SmoothingConfig, certified_accuracy_curve,
    certified_radius, certify, certify_all, predict,
};
pub use stats::{
    binomial_test_half, clopper_pearson_lower, clopper_pearson_upper, normal_quantile,
};
