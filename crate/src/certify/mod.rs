//! Certification: bounds on what any perturbation inside the threat model can do.

mod ibp;

pub use ibp::{Interval, input_box, logit_bounds, margin_lower_bounds, propagate, verified};
