//! `perturb certify`: verified accuracy over a test slice by IBP, CROWN (or CROWN-IBP), both side
//! by side, exact branch and bound; or randomized smoothing's certified accuracy against L2 radius.
//! JSON on standard output; `--plot` writes the curve as SVG.

use std::path::PathBuf;
use std::time::Instant;

use std::path::Path;

use burn::tensor::{Int, Tensor};
use clap::{Args, ValueEnum};
use perturb::attack::{Norm, ThreatModel};
use perturb::blocking::block_on;
use perturb::certify::{
    BoundMethod, CrownConfig, ExactConfig, ExactOutcome, IntermediateNeurons, SmoothedCertificate,
    SmoothingConfig, TinyNet, bound_margins, certified_accuracy_curve, certify_all,
    crown_margin_lower_bounds, threat_box, verify_exact,
};
use perturb::data::ImageSource;
use perturb::model::Sequential;
use perturb::runtime::readback::read_f32;
use perturb::shard::{Journal, units_of};
use perturb::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::model_args::ModelArgs;
use crate::plot::{Chart, Series};
use crate::shard_args::ShardArgs;

/// What `perturb certify` computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Method {
    /// Interval bound propagation (Eq. 13).
    Ibp,
    /// CROWN with CROWN intermediate bounds.
    Crown,
    /// CROWN with IBP intermediate bounds (faster, looser).
    CrownIbp,
    /// IBP and CROWN on the same images: verified accuracy and how much tighter CROWN is.
    Compare,
    /// Branch and bound to a verdict per image (MLPs of linear and relu layers only).
    Exact,
    /// Randomized smoothing CERTIFY (Cohen et al.): certified accuracy against L2 radius.
    Smoothing,
}

/// Arguments of `perturb certify`.
#[derive(Debug, Args)]
pub struct CertifyArgs {
    #[arg(long, value_enum, default_value = "ibp")]
    method: Method,
    /// L∞ budget(s), comma-separated, each ≥ 0 (all methods but smoothing).
    #[arg(
        long,
        value_delimiter = ',',
        allow_negative_numbers = true,
        default_value = "0.1"
    )]
    eps: Vec<f32>,
    /// Full CROWN (`crown`, `compare`, `exact`'s CROWN column): which neurons entering a ReLU get
    /// a backward pass of their own. `needed`: those whose bounds a relaxation reads (as tight as
    /// `all`); `unstable`: those IBP leaves unstable (auto_LiRPA's default; faster, looser before
    /// a max pool); `all`.
    #[arg(long, value_enum, default_value = "needed")]
    crown_neurons: IntermediateNeurons,
    #[command(flatten)]
    model: ModelArgs,
    /// Certify the first N test images.
    #[arg(long, default_value_t = 1000)]
    count: usize,
    #[arg(long, default_value_t = 250)]
    batch_size: usize,
    /// Smoothing noise σ.
    #[arg(long, default_value_t = 0.25, allow_negative_numbers = true)]
    sigma: f32,
    /// Smoothing: estimation samples n per image.
    #[arg(long, default_value_t = 10_000)]
    samples: usize,
    /// Smoothing: selection samples n₀ per image.
    #[arg(long, default_value_t = 100)]
    selection_samples: usize,
    /// Smoothing: failure probability α.
    #[arg(long, default_value_t = 0.001)]
    alpha: f64,
    /// Smoothing: noise seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Exact: branch-and-bound nodes per image before giving up.
    #[arg(long, default_value_t = 20_000)]
    max_nodes: usize,
    /// Exact: seconds per image before giving up.
    #[arg(long, default_value_t = 60.0)]
    timeout_s: f64,
    /// Write the curve as SVG here.
    #[arg(long)]
    plot: Option<PathBuf>,
    #[command(flatten)]
    shards: ShardArgs,
}

/// What a certification run is, as its partial reports record it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Plan {
    method: Method,
    eps: Vec<f32>,
    arch: String,
    weights: String,
    dataset: String,
    images: usize,
    batch_size: usize,
    smoothing: Option<SmoothingConfig>,
    max_nodes: usize,
    timeout_s: f64,
    hidden_widths: Option<Vec<usize>>,
    /// Full CROWN's choice of neurons (reports written before the option read as `needed`).
    #[serde(default)]
    crown_neurons: IntermediateNeurons,
}

/// One bound method on one batch at one budget.
#[derive(Debug, Serialize, Deserialize)]
struct BoundsRecord {
    verified: Vec<bool>,
    margins: Vec<f32>,
    ms: f64,
}

/// Smoothing's certificate for one image.
#[derive(Debug, Serialize, Deserialize)]
struct SmoothingRecord {
    certificate: SmoothedCertificate,
    label: usize,
    ms: f64,
}

/// One unit's records, whichever the method.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Unit {
    Bounds(Vec<Vec<BoundsRecord>>),
    Smoothing(SmoothingRecord),
    Exact(Vec<ExactRecord>),
}

/// The exact verdict for one image at one budget, beside CROWN's and IBP's.
#[derive(Debug, Serialize, Deserialize)]
struct ExactRecord {
    outcome: String,
    nodes: usize,
    ms: f64,
    crown: bool,
    ibp: bool,
}

fn validate(args: &CertifyArgs) -> Result<()> {
    if let Some(bad) = args.eps.iter().find(|e| !(e.is_finite() && **e >= 0.0)) {
        return Err(Error::InvalidArgument(format!(
            "--eps values must be numbers ≥ 0, got {bad}"
        )));
    }
    if args.batch_size == 0 || args.count == 0 {
        return Err(Error::InvalidArgument(
            "--count and --batch-size must be positive".into(),
        ));
    }
    let full_crown = matches!(args.method, Method::Crown | Method::Compare | Method::Exact);
    if args.crown_neurons != IntermediateNeurons::Needed && !full_crown {
        return Err(Error::InvalidArgument(
            "--crown-neurons applies to full CROWN: --method crown, compare or exact".into(),
        ));
    }
    if args.timeout_s.is_nan() || args.timeout_s <= 0.0 {
        return Err(Error::InvalidArgument(format!(
            "--timeout-s must be > 0, got {}",
            args.timeout_s
        )));
    }
    Ok(())
}

/// Run `perturb certify`.
pub fn run(args: CertifyArgs) -> Result<()> {
    validate(&args)?;
    let smoothing = (args.method == Method::Smoothing)
        .then(|| SmoothingConfig {
            sigma: args.sigma,
            selection_samples: args.selection_samples,
            samples: args.samples,
            alpha: args.alpha,
            batch_size: args.batch_size.max(1),
            seed: args.seed,
        })
        .map(|c| c.validate().map(|_| c))
        .transpose()?;
    let (device, model) = args.model.model()?;
    let data = args.model.test_set(&model, args.count)?;
    let net = match args.method {
        Method::Exact => Some(block_on(TinyNet::from_sequential(&model))?),
        _ => None,
    };
    let (arch, weights) = args.model.describe()?;
    let plan = Plan {
        method: args.method,
        eps: args.eps.clone(),
        arch,
        weights,
        dataset: data.kind().to_string(),
        images: data.len(),
        batch_size: args.batch_size,
        smoothing: smoothing.clone(),
        max_nodes: args.max_nodes,
        timeout_s: args.timeout_s,
        hidden_widths: net.as_ref().map(|n| n.hidden_widths()),
        crown_neurons: args.crown_neurons,
    };
    // Bounds go a batch at a time; smoothing and exact search an image at a time.
    let size = match args.method {
        Method::Smoothing | Method::Exact => 1,
        _ => args.batch_size,
    };
    let units = units_of(data.len(), size);
    let labels = data.class_labels();
    let checksums = args.model.checksums(&data, &device)?;
    let bounder = Bounder {
        model: &model,
        neurons: args.crown_neurons,
    };
    args.shards.run(
        "certify",
        &plan,
        checksums,
        units.len(),
        |unit| {
            let indices: Vec<usize> = units[unit].clone().collect();
            let (images, labels_t) = data.batch(&indices, &device)?;
            Ok(match args.method {
                Method::Smoothing => {
                    let i = indices[0];
                    let config = smoothing.clone().expect("smoothing settings");
                    let config = SmoothingConfig {
                        seed: config.seed.wrapping_add(i as u64),
                        ..config
                    };
                    let started = Instant::now();
                    let certificate = block_on(certify_all(&model, images, &config, |_| true))?
                        .pop()
                        .expect("one image");
                    Unit::Smoothing(SmoothingRecord {
                        certificate,
                        label: labels[i],
                        ms: started.elapsed().as_secs_f64() * 1e3,
                    })
                }
                Method::Exact => {
                    let net = net.as_ref().expect("exact network");
                    let x: Vec<f64> = block_on(read_f32(images.clone()))?
                        .into_iter()
                        .map(f64::from)
                        .collect();
                    let mut per_eps = Vec::new();
                    for &eps in &args.eps {
                        let started = Instant::now();
                        let (outcome, stats) = verify_exact(
                            net,
                            &x,
                            labels[indices[0]],
                            f64::from(eps),
                            (0.0, 1.0),
                            &ExactConfig {
                                max_nodes: args.max_nodes,
                            },
                            |_| started.elapsed().as_secs_f64() < args.timeout_s,
                        )?;
                        let ms = started.elapsed().as_secs_f64() * 1e3;
                        let mut sound = [false; 2];
                        for (k, method) in [Method::Crown, Method::Ibp].into_iter().enumerate() {
                            let bounds = bounder.margins(method, &images, &labels_t, eps)?;
                            sound[k] = block_on(verdicts(bounds))?.0[0];
                        }
                        per_eps.push(ExactRecord {
                            outcome: match outcome {
                                ExactOutcome::Verified => "verified",
                                ExactOutcome::Counterexample { .. } => "counterexample",
                                ExactOutcome::Timeout => "timeout",
                            }
                            .into(),
                            nodes: stats.nodes,
                            ms,
                            crown: sound[0],
                            ibp: sound[1],
                        });
                    }
                    Unit::Exact(per_eps)
                }
                method => {
                    let mut per_eps = Vec::new();
                    for &eps in &args.eps {
                        let mut per_method = Vec::new();
                        for m in methods(method) {
                            let started = Instant::now();
                            let bounds = bounder.margins(m, &images, &labels_t, eps)?;
                            let (verified, margins) = block_on(verdicts(bounds))?;
                            per_method.push(BoundsRecord {
                                verified,
                                margins,
                                ms: started.elapsed().as_secs_f64() * 1e3,
                            });
                        }
                        per_eps.push(per_method);
                    }
                    Unit::Bounds(per_eps)
                }
            })
        },
        |journal| finish(journal, args.plot.as_deref()),
    )
}

/// The report of a whole run's records, printed as JSON; the chart written to `plot` if given.
pub fn finish(journal: &Journal, plot: Option<&Path>) -> Result<()> {
    let plan: Plan = crate::plan_of(journal)?;
    let (report, chart) = match plan.method {
        Method::Smoothing => smoothing(&plan, journal.records()?)?,
        Method::Exact => exact(&plan, journal.records()?),
        _ => bounds(&plan, journal.records()?),
    };
    if let Some(path) = plot {
        crate::write_file(path, chart.to_svg().as_bytes())?;
    }
    crate::print_json(&report);
    Ok(())
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

fn header(plan: &Plan, method: &str) -> serde_json::Map<String, Value> {
    let mut map = serde_json::Map::new();
    map.insert("method".into(), json!(method));
    map.insert("arch".into(), json!(plan.arch));
    map.insert("weights".into(), json!(plan.weights));
    map.insert("dataset".into(), json!(plan.dataset));
    map.insert("images".into(), json!(plan.images));
    map
}

/// Per-sample "every margin bound > 0", and the finite margin bounds themselves.
async fn verdicts(margins: Tensor<2>) -> Result<(Vec<bool>, Vec<f32>)> {
    let classes = margins.dims()[1];
    let values = read_f32(margins).await?;
    let verified = values
        .chunks(classes)
        .map(|row| row.iter().all(|&m| m > 0.0))
        .collect();
    Ok((
        verified,
        values.into_iter().filter(|v| v.is_finite()).collect(),
    ))
}

/// The bound method behind a CLI method (`compare` runs IBP and CROWN in turn).
fn bound_method(method: Method) -> BoundMethod {
    match method {
        Method::Ibp => BoundMethod::Ibp,
        Method::Crown => BoundMethod::Crown,
        _ => BoundMethod::CrownIbp,
    }
}

/// The bound methods a CLI method runs.
fn methods(method: Method) -> Vec<Method> {
    match method {
        Method::Compare => vec![Method::Ibp, Method::Crown],
        m => vec![m],
    }
}

/// The model under certification and full CROWN's choice of neurons.
struct Bounder<'a> {
    model: &'a Sequential,
    neurons: IntermediateNeurons,
}

impl Bounder<'_> {
    /// The margin lower bounds `method` gives over the L∞ ball of radius `eps`.
    fn margins(
        &self,
        method: Method,
        images: &Tensor<4>,
        labels: &Tensor<1, Int>,
        eps: f32,
    ) -> Result<Tensor<2>> {
        let threat = ThreatModel::new(Norm::Linf, eps)?;
        let (images, labels) = (images.clone(), labels.clone());
        if method == Method::Crown {
            let config = CrownConfig {
                neurons: self.neurons,
                ..CrownConfig::default()
            };
            let ball = threat_box(images, &threat)?;
            return crown_margin_lower_bounds(self.model, ball, labels, &config);
        }
        bound_margins(self.model, images, labels, &threat, bound_method(method))
    }
}

/// IBP, CROWN, CROWN-IBP, or IBP against CROWN: `records[batch][eps][method]`.
fn bounds(plan: &Plan, records: Vec<Vec<Vec<BoundsRecord>>>) -> (Value, Chart) {
    let methods = methods(plan.method);
    let name = |m: Method| bound_method(m).id();
    let batches = records.len().max(1);
    let mut per_epsilon = Vec::new();
    let mut curves: Vec<Series> = methods
        .iter()
        .map(|&m| Series {
            name: name(m).to_uppercase(),
            points: Vec::new(),
        })
        .collect();
    for (e, &eps) in plan.eps.iter().enumerate() {
        let mut entry = serde_json::Map::new();
        entry.insert("epsilon".into(), json!(round6(f64::from(eps))));
        let mut all_margins = Vec::new();
        for (m, &method) in methods.iter().enumerate() {
            let parts = records.iter().map(|r| &r[e][m]);
            let verified: usize = parts
                .clone()
                .map(|p| p.verified.iter().filter(|&&v| v).count())
                .sum();
            let ms: f64 = parts.clone().map(|p| p.ms).sum::<f64>() / batches as f64;
            let margins_seen: Vec<f32> = parts.flat_map(|p| p.margins.iter().copied()).collect();
            let accuracy = verified as f64 / plan.images as f64;
            entry.insert(
                name(method).into(),
                json!({"verified_accuracy": accuracy, "ms_per_batch": round6(ms)}),
            );
            curves[m].points.push((f64::from(eps), accuracy));
            all_margins.push(margins_seen);
        }
        if let [ibp, crown] = all_margins.as_slice() {
            let pairs = ibp.len().min(crown.len()).max(1);
            let tighter = ibp.iter().zip(crown).filter(|(a, b)| b > a).count();
            let gain: f64 = ibp.iter().zip(crown).map(|(a, b)| f64::from(b - a)).sum();
            entry.insert(
                "crown_tighter_fraction".into(),
                json!(round6(tighter as f64 / pairs as f64)),
            );
            entry.insert(
                "mean_margin_bound_gain".into(),
                json!(round6(gain / pairs as f64)),
            );
        }
        per_epsilon.push(Value::Object(entry));
    }
    let method = match plan.method {
        Method::Compare => "compare",
        m => name(m),
    };
    let mut report = header(plan, method);
    report.insert("batch_size".into(), json!(plan.batch_size));
    if methods.contains(&Method::Crown) {
        report.insert("crown_neurons".into(), json!(plan.crown_neurons));
    }
    report.insert("per_epsilon".into(), json!(per_epsilon));
    let chart = Chart {
        title: format!(
            "Verified accuracy, {} ({} images)",
            plan.weights, plan.images
        ),
        x_label: "L∞ budget ε".into(),
        y_label: "verified accuracy".into(),
        series: curves,
        log_y: false,
    };
    (Value::Object(report), chart)
}

/// Randomized smoothing CERTIFY over the slice.
fn smoothing(plan: &Plan, records: Vec<SmoothingRecord>) -> Result<(Value, Chart)> {
    let config = plan.smoothing.clone().ok_or_else(|| Error::Format {
        what: "partial report",
        detail: "a smoothing run without its smoothing settings".into(),
    })?;
    let n = records.len().max(1);
    let ms_per_image = records.iter().map(|r| r.ms).sum::<f64>() / n as f64;
    let labels: Vec<usize> = records.iter().map(|r| r.label).collect();
    let certificates: Vec<SmoothedCertificate> =
        records.into_iter().map(|r| r.certificate).collect();
    let largest = certificates.iter().map(|c| c.radius).fold(0.0, f64::max);
    let steps = 20;
    let radii: Vec<f64> = (0..=steps)
        .map(|i| round6(largest.max(0.1) * i as f64 / steps as f64))
        .collect();
    let curve = certified_accuracy_curve(&certificates, &labels, &radii)?;
    let abstained = certificates.iter().filter(|c| c.class.is_none()).count();
    let correct = certificates
        .iter()
        .zip(&labels)
        .filter(|(c, y)| c.class == Some(**y))
        .collect::<Vec<_>>();
    let mut radii_sorted: Vec<f64> = correct.iter().map(|(c, _)| c.radius).collect();
    radii_sorted.sort_by(f64::total_cmp);
    let mut report = header(plan, "smoothing");
    report.insert("config".into(), json!(config));
    report.insert("abstained".into(), json!(abstained));
    report.insert(
        "certified_clean_accuracy".into(),
        json!(correct.len() as f64 / plan.images as f64),
    );
    report.insert(
        "median_radius_of_correct".into(),
        json!(radii_sorted.get(radii_sorted.len() / 2).map(|r| round6(*r))),
    );
    report.insert("ms_per_image".into(), json!(round6(ms_per_image)));
    report.insert(
        "curve".into(),
        json!(
            curve
                .iter()
                .map(|(r, a)| json!({"radius": r, "certified_accuracy": a}))
                .collect::<Vec<_>>()
        ),
    );
    let chart = Chart {
        title: format!(
            "Randomized smoothing σ={}, n={}, α={} ({} images)",
            config.sigma, config.samples, config.alpha, plan.images
        ),
        x_label: "L2 radius".into(),
        y_label: "certified accuracy".into(),
        series: vec![Series {
            name: format!("σ = {}", config.sigma),
            points: curve,
        }],
        log_y: false,
    };
    Ok((Value::Object(report), chart))
}

/// Exact verdicts per image, beside IBP's and CROWN's: `records[image][eps]`.
fn exact(plan: &Plan, records: Vec<Vec<ExactRecord>>) -> (Value, Chart) {
    let mut per_epsilon = Vec::new();
    let mut series: Vec<Series> = ["exact", "CROWN", "IBP"]
        .iter()
        .map(|n| Series {
            name: n.to_string(),
            points: Vec::new(),
        })
        .collect();
    let n = plan.images as f64;
    for (k, &eps) in plan.eps.iter().enumerate() {
        let at: Vec<&ExactRecord> = records.iter().map(|r| &r[k]).collect();
        let count = |outcome: &str| at.iter().filter(|r| r.outcome == outcome).count();
        let share =
            |pick: fn(&ExactRecord) -> bool| at.iter().filter(|r| pick(r)).count() as f64 / n;
        let verified = count("verified") as f64 / n;
        let (crown, ibp) = (share(|r| r.crown), share(|r| r.ibp));
        let nodes: usize = at.iter().map(|r| r.nodes).sum();
        let ms: f64 = at.iter().map(|r| r.ms).sum::<f64>() / n;
        let e = f64::from(eps);
        series[0].points.push((e, verified));
        series[1].points.push((e, crown));
        series[2].points.push((e, ibp));
        per_epsilon.push(json!({
            "epsilon": round6(e),
            "verified_accuracy": verified,
            "counterexamples": count("counterexample"),
            "timeouts": count("timeout"),
            "mean_nodes": round6(nodes as f64 / n),
            "ms_per_image": round6(ms),
            "crown_verified_accuracy": crown,
            "ibp_verified_accuracy": ibp,
        }));
    }
    let mut report = header(plan, "exact");
    report.insert("hidden_widths".into(), json!(plan.hidden_widths));
    report.insert("max_nodes".into(), json!(plan.max_nodes));
    report.insert("timeout_s".into(), json!(plan.timeout_s));
    report.insert("per_epsilon".into(), json!(per_epsilon));
    let chart = Chart {
        title: format!("Exact vs sound bounds ({} images)", plan.images),
        x_label: "L∞ budget ε".into(),
        y_label: "verified accuracy".into(),
        series,
        log_y: false,
    };
    (Value::Object(report), chart)
}
