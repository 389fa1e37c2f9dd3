//! `perturb certify`: verified accuracy over a test slice by IBP, CROWN (or CROWN-IBP), both side
//! by side, exact branch and bound; or randomized smoothing's certified accuracy against L2 radius.
//! JSON on standard output; `--plot` writes the curve as SVG.

use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::{Int, Tensor};
use clap::{Args, ValueEnum};
use perturb::attack::{Norm, ThreatModel};
use perturb::blocking::block_on;
use perturb::certify::{
    BoundMethod, ExactConfig, ExactOutcome, SmoothingConfig, TinyNet, bound_margins,
    certified_accuracy_curve, certify_all, verify_exact,
};
use perturb::data::ImageSource;
use perturb::model::Sequential;
use perturb::runtime::readback::read_f32;
use perturb::{Error, Result};
use serde_json::{Value, json};

use crate::model_args::ModelArgs;
use crate::plot::{Chart, Series};
use crate::progress::bar as progress;

/// What `perturb certify` computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
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
    let (report, chart) = match args.method {
        Method::Smoothing => smoothing(&args)?,
        Method::Exact => exact(&args)?,
        _ => bounds(&args)?,
    };
    if let (Some(path), Some(chart)) = (&args.plot, chart) {
        crate::write_file(path, chart.to_svg().as_bytes())?;
    }
    crate::print_json(&report);
    Ok(())
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

fn header(args: &CertifyArgs, method: &str, images: usize) -> serde_json::Map<String, Value> {
    let mut map = serde_json::Map::new();
    map.insert("method".into(), json!(method));
    let (arch, weights) = args.model.describe().unwrap_or_default();
    map.insert("arch".into(), json!(arch));
    map.insert("weights".into(), json!(weights));
    map.insert(
        "dataset".into(),
        json!(
            args.model
                .dataset()
                .map(|d| d.to_string())
                .unwrap_or_default()
        ),
    );
    map.insert("images".into(), json!(images));
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

fn margins(
    method: Method,
    model: &Sequential,
    images: Tensor<4>,
    labels: Tensor<1, Int>,
    eps: f32,
) -> Result<Tensor<2>> {
    let threat = ThreatModel::new(Norm::Linf, eps)?;
    bound_margins(model, images, labels, &threat, bound_method(method))
}

/// IBP, CROWN, CROWN-IBP, or IBP against CROWN.
fn bounds(args: &CertifyArgs) -> Result<(Value, Option<Chart>)> {
    let (device, model) = args.model.model()?;
    let data = args.model.test_set(&model, args.count)?;
    let indices: Vec<usize> = (0..data.len()).collect();
    let methods = match args.method {
        Method::Compare => vec![Method::Ibp, Method::Crown],
        m => vec![m],
    };
    let name = |m: Method| bound_method(m).id();
    let batches = indices.len().div_ceil(args.batch_size);
    let mut per_epsilon = Vec::new();
    let mut curves: Vec<Series> = methods
        .iter()
        .map(|&m| Series {
            name: name(m).to_uppercase(),
            points: Vec::new(),
        })
        .collect();
    for &eps in &args.eps {
        let mut entry = serde_json::Map::new();
        entry.insert("epsilon".into(), json!(round6(f64::from(eps))));
        let mut all_margins = Vec::new();
        for (m, &method) in methods.iter().enumerate() {
            let started = Instant::now();
            let (mut verified, mut margins_seen) = (0usize, Vec::new());
            for batch in indices.chunks(args.batch_size) {
                let (images, labels) = data.batch(batch, &device)?;
                let bounds = margins(method, &model, images, labels, eps)?;
                let (ok, values) = block_on(verdicts(bounds))?;
                verified += ok.iter().filter(|&&v| v).count();
                margins_seen.extend(values);
            }
            let accuracy = verified as f64 / data.len() as f64;
            let ms = started.elapsed().as_secs_f64() * 1e3 / batches as f64;
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
    let method = match args.method {
        Method::Compare => "compare",
        m => name(m),
    };
    let mut report = header(args, method, data.len());
    report.insert("batch_size".into(), json!(args.batch_size));
    report.insert("per_epsilon".into(), json!(per_epsilon));
    let chart = Chart {
        title: format!(
            "Verified accuracy, {} ({} images)",
            args.model.describe()?.1,
            data.len()
        ),
        x_label: "L∞ budget ε".into(),
        y_label: "verified accuracy".into(),
        series: curves,
        log_y: false,
    };
    Ok((Value::Object(report), Some(chart)))
}

/// Randomized smoothing CERTIFY over the slice.
fn smoothing(args: &CertifyArgs) -> Result<(Value, Option<Chart>)> {
    let config = SmoothingConfig {
        sigma: args.sigma,
        selection_samples: args.selection_samples,
        samples: args.samples,
        alpha: args.alpha,
        batch_size: args.batch_size.max(1),
        seed: args.seed,
    };
    config.validate()?;
    let (device, model) = args.model.model()?;
    let data = args.model.test_set(&model, args.count)?;
    let indices: Vec<usize> = (0..data.len()).collect();
    let (images, _) = data.batch(&indices, &device)?;
    let labels = data.class_labels();
    let bar = progress(data.len(), "images");
    let started = Instant::now();
    let certificates = block_on(certify_all(&model, images, &config, |p| {
        bar.set_position(p.done as u64);
        true
    }))?;
    bar.finish_and_clear();
    let ms_per_image = started.elapsed().as_secs_f64() * 1e3 / data.len() as f64;
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
    let mut report = header(args, "smoothing", data.len());
    report.insert("config".into(), json!(config));
    report.insert("abstained".into(), json!(abstained));
    report.insert(
        "certified_clean_accuracy".into(),
        json!(correct.len() as f64 / data.len() as f64),
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
            args.sigma,
            args.samples,
            args.alpha,
            data.len()
        ),
        x_label: "L2 radius".into(),
        y_label: "certified accuracy".into(),
        series: vec![Series {
            name: format!("σ = {}", args.sigma),
            points: curve,
        }],
        log_y: false,
    };
    Ok((Value::Object(report), Some(chart)))
}

/// Exact verdicts per image, beside IBP's and CROWN's.
fn exact(args: &CertifyArgs) -> Result<(Value, Option<Chart>)> {
    let (device, model) = args.model.model()?;
    let data = args.model.test_set(&model, args.count)?;
    let net = block_on(TinyNet::from_sequential(&model))?;
    let indices: Vec<usize> = (0..data.len()).collect();
    let (images, labels_t) = data.batch(&indices, &device)?;
    let pixels = block_on(read_f32(images.clone()))?;
    let labels = data.class_labels();
    let per = pixels.len() / data.len();
    let config = ExactConfig {
        max_nodes: args.max_nodes,
    };
    let mut per_epsilon = Vec::new();
    let mut series: Vec<Series> = ["exact", "CROWN", "IBP"]
        .iter()
        .map(|n| Series {
            name: n.to_string(),
            points: Vec::new(),
        })
        .collect();
    let bar = progress(data.len() * args.eps.len(), "images");
    for &eps in &args.eps {
        let (mut verified, mut refuted, mut timeouts, mut nodes) = (0, 0, 0, 0usize);
        let started = Instant::now();
        for (i, &label) in labels.iter().enumerate() {
            let x: Vec<f64> = pixels[i * per..(i + 1) * per]
                .iter()
                .map(|&v| f64::from(v))
                .collect();
            let image_started = Instant::now();
            let (outcome, stats) =
                verify_exact(&net, &x, label, f64::from(eps), (0.0, 1.0), &config, |_| {
                    image_started.elapsed().as_secs_f64() < args.timeout_s
                })?;
            nodes += stats.nodes;
            match outcome {
                ExactOutcome::Verified => verified += 1,
                ExactOutcome::Counterexample { .. } => refuted += 1,
                ExactOutcome::Timeout => timeouts += 1,
            }
            bar.inc(1);
        }
        let ms = started.elapsed().as_secs_f64() * 1e3 / data.len() as f64;
        let mut sound = Vec::new();
        for method in [Method::Crown, Method::Ibp] {
            let bounds = margins(method, &model, images.clone(), labels_t.clone(), eps)?;
            let (ok, _) = block_on(verdicts(bounds))?;
            sound.push(ok.iter().filter(|&&v| v).count() as f64 / data.len() as f64);
        }
        let n = data.len() as f64;
        let e = f64::from(eps);
        series[0].points.push((e, verified as f64 / n));
        series[1].points.push((e, sound[0]));
        series[2].points.push((e, sound[1]));
        per_epsilon.push(json!({
            "epsilon": round6(e),
            "verified_accuracy": verified as f64 / n,
            "counterexamples": refuted,
            "timeouts": timeouts,
            "mean_nodes": round6(nodes as f64 / n),
            "ms_per_image": round6(ms),
            "crown_verified_accuracy": sound[0],
            "ibp_verified_accuracy": sound[1],
        }));
    }
    bar.finish_and_clear();
    let mut report = header(args, "exact", data.len());
    report.insert("hidden_widths".into(), json!(net.hidden_widths()));
    report.insert("max_nodes".into(), json!(args.max_nodes));
    report.insert("timeout_s".into(), json!(args.timeout_s));
    report.insert("per_epsilon".into(), json!(per_epsilon));
    let chart = Chart {
        title: format!("Exact vs sound bounds ({} images)", data.len()),
        x_label: "L∞ budget ε".into(),
        y_label: "verified accuracy".into(),
        series,
        log_y: false,
    };
    Ok((Value::Object(report), Some(chart)))
}
