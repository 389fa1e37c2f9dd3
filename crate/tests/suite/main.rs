//! The core's integration tests, in one binary so that CI links Burn once. Each module is named
//! after what it tests; `common` holds the fixtures and the backend switch
//! (`PERTURB_TEST_DEVICE=wgpu` runs the suite on wgpu).

mod common;

mod apgd_golden;
mod architectures;
mod architectures_golden;
mod attack_properties;
mod attacks;
mod audit;
mod backend_agreement;
mod black_box;
mod bounds_on_wgpu;
mod carlini_wagner;
mod crown;
mod defenses;
mod eot;
mod exact;
mod fab_golden;
mod fetched_data;
mod ibp;
mod image_pipeline;
mod imagenet_models;
mod lirpa_golden;
mod parser_fuzz;
mod poisoning;
mod preprocess;
mod pytorch_files;
mod radius;
mod smoothing;
mod square_golden;
mod torchattacks_golden;
mod training;
mod transfer;
mod zoo;
