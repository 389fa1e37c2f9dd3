//! The page's state in its URL: parsed defensively (every value checked, anything else ignored
//! with a visible warning, never executed) and written back for share links.

use perturb::attack::Norm;
use perturb::certify::BoundMethod;
use perturb::data::DatasetKind;
use perturb::model::ModelSpec;

use crate::zoo::{self, ZOO, ZooEntry};

/// Which attack the attack lab runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttackMethod {
    /// One signed-gradient step of size ε.
    Fgsm,
    /// Projected gradient descent from a random start (Madry et al.).
    Pgd,
    /// Carlini & Wagner's L2 attack (Adam on tanh variables, binary search on c).
    Cw,
}

impl AttackMethod {
    /// The URL and form value.
    pub fn id(self) -> &'static str {
        match self {
            Self::Fgsm => "fgsm",
            Self::Pgd => "pgd",
            Self::Cw => "cw",
        }
    }

    /// Every method.
    pub const ALL: [AttackMethod; 3] = [Self::Fgsm, Self::Pgd, Self::Cw];
}

/// The attack lab's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttackSettings {
    /// FGSM, PGD or C&W.
    pub method: AttackMethod,
    /// The norm of the budget (C&W is always L2).
    pub norm: Norm,
    /// Budget in pixel units: L∞ in (0, 1], L2 in (0, 28] (for C&W, the largest L2 counted as
    /// a success).
    pub eps: f32,
    /// PGD steps or C&W Adam steps per round, 1–500.
    pub steps: usize,
    /// PGD step size α; `None`: 2.5·ε/steps (Madry et al.).
    pub step_size: Option<f32>,
    /// PGD random restarts, 1–10.
    pub restarts: usize,
    /// Seed of the random starts.
    pub seed: u64,
    /// Class to reach (targeted attack); `None`: any wrong class.
    pub target: Option<usize>,
}

impl Default for AttackSettings {
    fn default() -> Self {
        Self {
            method: AttackMethod::Pgd,
            norm: Norm::Linf,
            eps: 0.15,
            steps: 20,
            step_size: None,
            restarts: 1,
            seed: 0,
            target: None,
        }
    }
}

/// Largest L2 budget: the diagonal of a 28×28 image in [0, 1].
pub const MAX_L2: f32 = 28.0;

/// Largest accepted PGD step count.
pub const MAX_STEPS: usize = 500;
/// Largest accepted number of restarts.
pub const MAX_RESTARTS: usize = 10;

impl AttackSettings {
    /// Check values from a form or a URL: ε in (0, 1], steps and restarts in range.
    pub fn check_eps(raw: &str) -> Result<f32, String> {
        match raw.trim().parse::<f32>() {
            Ok(e) if e.is_finite() && e > 0.0 && e <= 1.0 => Ok(e),
            _ => Err(format!(
                "ε must be a number in (0, 1], got {:?}",
                truncate(raw)
            )),
        }
    }

    /// A budget for `norm`: L∞ in (0, 1], L2 in (0, 28].
    pub fn check_radius(raw: &str, norm: Norm) -> Result<f32, String> {
        match norm {
            Norm::Linf => Self::check_eps(raw),
            Norm::L2 => match raw.trim().parse::<f32>() {
                Ok(e) if e.is_finite() && e > 0.0 && e <= MAX_L2 => Ok(e),
                _ => Err(format!(
                    "ε (L2) must be a number in (0, {MAX_L2}], got {:?}",
                    truncate(raw)
                )),
            },
        }
    }

    /// A PGD step size: empty for the default, else a number in (0, the norm's largest ε].
    pub fn check_step_size(raw: &str, norm: Norm) -> Result<Option<f32>, String> {
        if raw.trim().is_empty() || raw.trim() == "auto" {
            return Ok(None);
        }
        Self::check_radius(raw, norm)
            .map(Some)
            .map_err(|e| e.replacen("ε", "step size", 1))
    }

    /// A target class 0–9, or empty / `none` for an untargeted attack.
    pub fn check_target(raw: &str) -> Result<Option<usize>, String> {
        match raw.trim() {
            "" | "none" => Ok(None),
            t => match t.parse::<usize>() {
                Ok(c) if c < 10 => Ok(Some(c)),
                _ => Err(format!(
                    "target must be a class from 0 to 9 or none, got {:?}",
                    truncate(raw)
                )),
            },
        }
    }

    /// The norm's URL value.
    pub fn norm_id(norm: Norm) -> &'static str {
        match norm {
            Norm::Linf => "linf",
            Norm::L2 => "l2",
        }
    }

    /// A count in `1..=max`.
    pub fn check_count(raw: &str, what: &str, max: usize) -> Result<usize, String> {
        match raw.trim().parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(format!(
                "{what} must be a whole number from 1 to {max}, got {:?}",
                truncate(raw)
            )),
        }
    }
}

/// The certify panel's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CertifySettings {
    /// IBP or CROWN-IBP (full CROWN is too slow for a page).
    pub method: BoundMethod,
    /// The L∞ radius certified, in (0, 1].
    pub eps: f32,
    /// Randomized smoothing's noise σ, in (0, 1].
    pub sigma: f32,
    /// Randomized smoothing's estimation samples (Cohen's n).
    pub samples: usize,
}

/// Most smoothing samples per image.
pub const MAX_SMOOTHING_SAMPLES: usize = 100_000;

impl Default for CertifySettings {
    fn default() -> Self {
        Self {
            method: BoundMethod::Ibp,
            eps: 0.1,
            sigma: 0.25,
            samples: 1000,
        }
    }
}

/// What the training panel minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainObjective {
    /// Cross-entropy on clean images.
    Standard,
    /// Madry's min-max (Eq. 14): cross-entropy at PGD adversarials.
    Pgd,
    /// Gowal et al.'s interval-bound training.
    Ibp,
    /// Gaussian noise augmentation (the base model of randomized smoothing).
    Noise,
}

impl TrainObjective {
    /// Every objective.
    pub const ALL: [TrainObjective; 4] = [Self::Standard, Self::Pgd, Self::Ibp, Self::Noise];

    /// The URL and form value.
    pub fn id(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Pgd => "pgd",
            Self::Ibp => "ibp",
            Self::Noise => "noise",
        }
    }

    /// What the form shows.
    pub fn title(self) -> &'static str {
        match self {
            Self::Standard => "standard (clean cross-entropy)",
            Self::Pgd => "PGD adversarial training (Madry, Eq. 14)",
            Self::Ibp => "IBP training (Gowal)",
            Self::Noise => "Gaussian noise (Cohen)",
        }
    }
}

/// The training panel's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainSettings {
    /// Zoo architecture (`ModelSpec::ZOO`).
    pub arch: &'static str,
    /// What to minimise.
    pub objective: TrainObjective,
    /// Radius of PGD and IBP training and of the robust figures, or σ of noise training; (0, 1].
    pub eps: f32,
    /// Passes over the page's 2,000 training images, 1–20.
    pub epochs: usize,
    /// Seed of the initial weights, the shuffle and the random draws.
    pub seed: u64,
}

/// Most training epochs in the page.
pub const MAX_TRAIN_EPOCHS: usize = 20;

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            arch: "small-cnn",
            objective: TrainObjective::Pgd,
            eps: 0.1,
            epochs: 3,
            seed: 0,
        }
    }
}

/// The batch view's parameters: models ticked (`None`: the dataset's first three), images per
/// curve, PGD steps, and the transfer matrix's ε.
#[derive(Debug, Clone, PartialEq)]
pub struct CurveSettings {
    /// Zoo ids ticked.
    pub models: Option<Vec<&'static str>>,
    /// Test images per curve, 1–1000.
    pub images: usize,
    /// PGD steps per budget, 1–100.
    pub steps: usize,
    /// L∞ budget of the transfer matrix, in (0, 1].
    pub transfer_eps: f32,
}

impl Default for CurveSettings {
    fn default() -> Self {
        Self {
            models: None,
            images: 100,
            steps: 10,
            transfer_eps: 0.2,
        }
    }
}

impl CurveSettings {
    /// The `curves`, `curve_images`, `curve_steps` and `transfer_eps` values of a query.
    fn parse(params: &web_sys::UrlSearchParams, warn: &mut impl FnMut(String)) -> Self {
        use crate::batch_view::{MAX_BATCH_STEPS, MAX_IMAGES};
        let mut c = Self::default();
        if let Some(raw) = params.get("curves") {
            let mut ids = Vec::new();
            for id in raw.split(',').filter(|id| !id.is_empty()) {
                match zoo::find(id) {
                    Some(entry) if !ids.contains(&entry.id) => ids.push(entry.id),
                    Some(_) => {}
                    None => warn(format!(
                        "ignored {:?} in curves: not in the zoo",
                        truncate(id)
                    )),
                }
            }
            c.models = Some(ids);
        }
        if let Some(raw) = params.get("curve_images") {
            match AttackSettings::check_count(&raw, "curve_images", MAX_IMAGES) {
                Ok(n) => c.images = n,
                Err(e) => warn(format!("ignored {e}")),
            }
        }
        if let Some(raw) = params.get("curve_steps") {
            match AttackSettings::check_count(&raw, "curve_steps", MAX_BATCH_STEPS) {
                Ok(n) => c.steps = n,
                Err(e) => warn(format!("ignored {e}")),
            }
        }
        if let Some(raw) = params.get("transfer_eps") {
            match AttackSettings::check_eps(&raw) {
                Ok(e) => c.transfer_eps = e,
                Err(e) => warn(format!("ignored transfer_eps: {e}")),
            }
        }
        c
    }

    /// The query fragment (`&curves=…`), empty for the defaults.
    fn to_query(&self) -> String {
        let mut q = String::new();
        if let Some(models) = &self.models {
            q.push_str(&format!("&curves={}", models.join(",")));
        }
        let d = Self::default();
        if (self.images, self.steps) != (d.images, d.steps) {
            q.push_str(&format!(
                "&curve_images={}&curve_steps={}",
                self.images, self.steps
            ));
        }
        if self.transfer_eps != d.transfer_eps {
            q.push_str(&format!("&transfer_eps={}", self.transfer_eps));
        }
        q
    }
}

/// A panel that embed mode shows alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    /// The attack lab.
    Attack,
    /// The certify panel.
    Certify,
    /// The robustness curves.
    Curves,
    /// Quantization against PGD and BPDA.
    Defenses,
    /// Training in the tab.
    Train,
}

impl Panel {
    /// Every panel.
    pub const ALL: [Panel; 5] = [
        Panel::Attack,
        Panel::Defenses,
        Panel::Train,
        Panel::Certify,
        Panel::Curves,
    ];

    /// The URL value.
    pub fn id(self) -> &'static str {
        match self {
            Panel::Attack => "attack",
            Panel::Certify => "certify",
            Panel::Curves => "curves",
            Panel::Defenses => "defenses",
            Panel::Train => "train",
        }
    }
}

/// The bound methods the page offers.
pub const PAGE_BOUND_METHODS: [BoundMethod; 2] = [BoundMethod::Ibp, BoundMethod::CrownIbp];

/// Settings the page reads from its URL query (`?backend=cpu&image=12&attack=pgd&eps=0.1`).
#[derive(Debug, Clone, PartialEq)]
pub struct UrlSettings {
    /// Skip WebGPU and run on the CPU backend.
    pub force_cpu: bool,
    /// The dataset whose test images are shown.
    pub dataset: DatasetKind,
    /// The zoo model shown and attacked.
    pub model: ZooEntry,
    /// The model trained in this tab is shown instead (`model=trained`; not shareable).
    pub use_trained: bool,
    /// Index of the test image to show.
    pub image: usize,
    /// The user's drawn or uploaded picture is shown (`image=drawn`; not shareable).
    pub drawn: bool,
    /// The attack lab's parameters.
    pub attack: AttackSettings,
    /// The certify panel's parameters.
    pub certify: CertifySettings,
    /// The training panel's parameters.
    pub train: TrainSettings,
    /// The batch view's parameters.
    pub curves: CurveSettings,
    /// Embed mode: minimal chrome around this one panel (for iframes in course material).
    pub embed: Option<Panel>,
    /// The guided tour's step, from 1.
    pub tour: Option<usize>,
    /// Problems found in the query, shown to the user.
    pub warnings: Vec<String>,
}

impl Default for UrlSettings {
    fn default() -> Self {
        Self {
            force_cpu: false,
            dataset: DatasetKind::Mnist,
            model: ZOO[0],
            use_trained: false,
            image: 0,
            drawn: false,
            attack: AttackSettings::default(),
            certify: CertifySettings::default(),
            train: TrainSettings::default(),
            curves: CurveSettings::default(),
            embed: None,
            tour: None,
            warnings: Vec::new(),
        }
    }
}

impl UrlSettings {
    /// Parse a query string, rejecting unknown or malformed values with a warning.
    pub fn parse(query: &str, images: usize) -> Self {
        let mut settings = Self::default();
        let Ok(params) = web_sys::UrlSearchParams::new_with_str(query) else {
            return settings;
        };
        let mut warn = |w: String| settings.warnings.push(w);
        match params.get("backend").as_deref() {
            None | Some("auto") => {}
            Some("cpu") => settings.force_cpu = true,
            Some(other) => warn(format!(
                "ignored backend={:?}: use auto or cpu",
                truncate(other)
            )),
        }
        if let Some(raw) = params.get("model") {
            match zoo::find(&raw) {
                None if raw == "trained" => warn(
                    "model=trained: a model trained in another tab cannot travel in a link; \
                     the training panel has its settings and seed, so Train reproduces it"
                        .into(),
                ),
                Some(entry) => settings.model = entry,
                None => warn(format!(
                    "ignored model={:?}: not in the zoo",
                    truncate(&raw)
                )),
            }
        }
        // The dataset follows the model unless the URL names one; a model of another dataset
        // then gives way to that dataset's default.
        settings.dataset = settings.model.dataset;
        if let Some(raw) = params.get("dataset") {
            match DatasetKind::from_id(&raw) {
                Ok(kind) if kind != settings.model.dataset => {
                    if params.get("model").is_some() {
                        warn(format!(
                            "model={} is a {} model; showing {}'s default model",
                            settings.model.id,
                            settings.model.dataset.id(),
                            kind.id()
                        ));
                    }
                    settings.dataset = kind;
                    settings.model = zoo::default_for(kind);
                }
                Ok(_) => {}
                Err(_) => warn(format!(
                    "ignored dataset={:?}: use mnist or fashion-mnist",
                    truncate(&raw)
                )),
            }
        }
        if let Some(raw) = params.get("image") {
            match raw.parse::<usize>() {
                _ if raw == "drawn" => warn(
                    "image=drawn: a drawn or uploaded picture stays in the browser that made it and \
                     cannot travel in a link"
                        .into(),
                ),
                Ok(i) if i < images => settings.image = i,
                _ => warn(format!(
                    "ignored image={:?}: expected a number below {images}",
                    truncate(&raw)
                )),
            }
        }
        let attack = &mut settings.attack;
        if let Some(raw) = params.get("attack") {
            match AttackMethod::ALL.into_iter().find(|m| m.id() == raw) {
                Some(m) => attack.method = m,
                None => warn(format!(
                    "ignored attack={:?}: use fgsm, pgd or cw",
                    truncate(&raw)
                )),
            }
        }
        match params.get("norm").as_deref() {
            None | Some("linf") => {}
            Some("l2") => attack.norm = Norm::L2,
            Some(other) => warn(format!(
                "ignored norm={:?}: use linf or l2",
                truncate(other)
            )),
        }
        if attack.method == AttackMethod::Cw {
            attack.norm = Norm::L2;
        }
        if let Some(raw) = params.get("eps") {
            match AttackSettings::check_radius(&raw, attack.norm) {
                Ok(e) => attack.eps = e,
                Err(e) => warn(format!("ignored eps: {e}")),
            }
        }
        if let Some(raw) = params.get("alpha") {
            match AttackSettings::check_step_size(&raw, attack.norm) {
                Ok(a) => attack.step_size = a,
                Err(e) => warn(format!("ignored alpha: {e}")),
            }
        }
        if let Some(raw) = params.get("target") {
            match AttackSettings::check_target(&raw) {
                Ok(t) => attack.target = t,
                Err(e) => warn(format!("ignored {e}")),
            }
        }
        if let Some(raw) = params.get("steps") {
            match AttackSettings::check_count(&raw, "steps", MAX_STEPS) {
                Ok(n) => attack.steps = n,
                Err(e) => warn(format!("ignored steps: {e}")),
            }
        }
        if let Some(raw) = params.get("restarts") {
            match AttackSettings::check_count(&raw, "restarts", MAX_RESTARTS) {
                Ok(n) => attack.restarts = n,
                Err(e) => warn(format!("ignored restarts: {e}")),
            }
        }
        if let Some(raw) = params.get("seed") {
            match raw.parse::<u64>() {
                Ok(s) => attack.seed = s,
                Err(_) => warn(format!(
                    "ignored seed={:?}: expected a whole number",
                    truncate(&raw)
                )),
            }
        }
        if let Some(raw) = params.get("embed") {
            match Panel::ALL.into_iter().find(|p| p.id() == raw) {
                Some(p) => settings.embed = Some(p),
                None => warn(format!(
                    "ignored embed={:?}: use attack, defenses, train, certify or curves",
                    truncate(&raw)
                )),
            }
        }
        if let Some(raw) = params.get("cert") {
            match PAGE_BOUND_METHODS.into_iter().find(|m| m.id() == raw) {
                Some(m) => settings.certify.method = m,
                None => warn(format!(
                    "ignored cert={:?}: use ibp or crown-ibp",
                    truncate(&raw)
                )),
            }
        }
        if let Some(raw) = params.get("cert_eps") {
            match AttackSettings::check_eps(&raw) {
                Ok(e) => settings.certify.eps = e,
                Err(e) => warn(format!("ignored cert_eps: {e}")),
            }
        }
        if let Some(raw) = params.get("sigma") {
            match AttackSettings::check_eps(&raw) {
                Ok(s) => settings.certify.sigma = s,
                Err(e) => warn(format!("ignored sigma: {}", e.replace('ε', "σ"))),
            }
        }
        if let Some(raw) = params.get("n") {
            match AttackSettings::check_count(&raw, "n", MAX_SMOOTHING_SAMPLES) {
                Ok(n) => settings.certify.samples = n,
                Err(e) => warn(format!("ignored n: {e}")),
            }
        }
        if let Some(raw) = params.get("tour") {
            match AttackSettings::check_count(&raw, "tour", crate::tour::STEPS.len()) {
                Ok(n) => settings.tour = Some(n),
                Err(e) => warn(format!("ignored {e}")),
            }
        }
        match params.get(crate::recovery::RECOVERED_PARAM).as_deref() {
            None => {}
            Some("webgpu") => warn(
                "WebGPU failed while the page was working, so it restarted on the CPU backend with \
                 your settings (results in progress and a model trained in the tab were lost)"
                    .into(),
            ),
            Some(other) => warn(format!("ignored recovered={:?}", truncate(other))),
        }
        settings.train = TrainSettings::parse(&params, &mut warn);
        settings.curves = CurveSettings::parse(&params, &mut warn);
        settings
    }

    /// The query string that reproduces this state (model, image, panels, backend, embed mode), for
    /// share links.
    pub fn to_query(&self) -> String {
        let a = &self.attack;
        let mut query = format!(
            "?model={}&image={}&attack={}&eps={}&steps={}&restarts={}&seed={}",
            if self.use_trained {
                "trained"
            } else {
                self.model.id
            },
            if self.drawn {
                "drawn".to_string()
            } else {
                self.image.to_string()
            },
            a.method.id(),
            a.eps,
            a.steps,
            a.restarts,
            a.seed
        );
        if a.norm != Norm::Linf {
            query.push_str(&format!("&norm={}", AttackSettings::norm_id(a.norm)));
        }
        if let Some(alpha) = a.step_size {
            query.push_str(&format!("&alpha={alpha}"));
        }
        if let Some(target) = a.target {
            query.push_str(&format!("&target={target}"));
        }
        let c = &self.certify;
        query.push_str(&format!(
            "&cert={}&cert_eps={}&sigma={}&n={}",
            c.method.id(),
            c.eps,
            c.sigma,
            c.samples
        ));
        let t = &self.train;
        query.push_str(&format!(
            "&train_arch={}&train_obj={}&train_eps={}&train_epochs={}&train_seed={}",
            t.arch,
            t.objective.id(),
            t.eps,
            t.epochs,
            t.seed
        ));
        query.push_str(&self.curves.to_query());
        if self.dataset != DatasetKind::Mnist {
            query.push_str(&format!("&dataset={}", self.dataset.id()));
        }
        if self.force_cpu {
            query.push_str("&backend=cpu");
        }
        if let Some(panel) = self.embed {
            query.push_str(&format!("&embed={}", panel.id()));
        }
        if let Some(step) = self.tour {
            query.push_str(&format!("&tour={step}"));
        }
        query
    }
}

impl TrainSettings {
    /// The `train_*` values of a query; anything malformed is reported through `warn`.
    fn parse(params: &web_sys::UrlSearchParams, warn: &mut impl FnMut(String)) -> Self {
        let mut t = Self::default();
        if let Some(raw) = params.get("train_arch") {
            match ModelSpec::ZOO.into_iter().find(|a| *a == raw) {
                Some(a) => t.arch = a,
                None => warn(format!(
                    "ignored train_arch={:?}: use one of {}",
                    truncate(&raw),
                    ModelSpec::ZOO.join(", ")
                )),
            }
        }
        if let Some(raw) = params.get("train_obj") {
            match TrainObjective::ALL.into_iter().find(|o| o.id() == raw) {
                Some(o) => t.objective = o,
                None => warn(format!(
                    "ignored train_obj={:?}: use standard, pgd, ibp or noise",
                    truncate(&raw)
                )),
            }
        }
        if let Some(raw) = params.get("train_eps") {
            match AttackSettings::check_eps(&raw) {
                Ok(e) => t.eps = e,
                Err(e) => warn(format!("ignored train_eps: {e}")),
            }
        }
        if let Some(raw) = params.get("train_epochs") {
            match AttackSettings::check_count(&raw, "train_epochs", MAX_TRAIN_EPOCHS) {
                Ok(n) => t.epochs = n,
                Err(e) => warn(format!("ignored {e}")),
            }
        }
        if let Some(raw) = params.get("train_seed") {
            match raw.parse::<u64>() {
                Ok(s) => t.seed = s,
                Err(_) => warn(format!(
                    "ignored train_seed={:?}: expected a whole number",
                    truncate(&raw)
                )),
            }
        }
        t
    }
}

/// At most 40 characters of a user-supplied value, for messages.
pub fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}
