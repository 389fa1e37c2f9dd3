//! The page's state in its URL: parsed defensively (every value checked, anything else ignored
//! with a visible warning, never executed) and written back for share links.

use perturb::certify::BoundMethod;

use crate::zoo::{self, ZOO, ZooEntry};

/// Which attack the attack lab runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttackMethod {
    /// One signed-gradient step of size ε.
    Fgsm,
    /// Projected gradient descent from a random start (Madry et al.).
    Pgd,
}

impl AttackMethod {
    /// The URL and form value.
    pub fn id(self) -> &'static str {
        match self {
            Self::Fgsm => "fgsm",
            Self::Pgd => "pgd",
        }
    }
}

/// The attack lab's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttackSettings {
    /// FGSM or PGD.
    pub method: AttackMethod,
    /// L∞ budget in pixel units, in (0, 1].
    pub eps: f32,
    /// PGD steps, 1–500.
    pub steps: usize,
    /// PGD random restarts, 1–10.
    pub restarts: usize,
    /// Seed of the random starts.
    pub seed: u64,
}

impl Default for AttackSettings {
    fn default() -> Self {
        Self {
            method: AttackMethod::Pgd,
            eps: 0.15,
            steps: 20,
            restarts: 1,
            seed: 0,
        }
    }
}

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
}

impl Panel {
    /// Every panel.
    pub const ALL: [Panel; 4] = [
        Panel::Attack,
        Panel::Defenses,
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
    /// The model shown and attacked.
    pub model: ZooEntry,
    /// Index of the test image to show.
    pub image: usize,
    /// The attack lab's parameters.
    pub attack: AttackSettings,
    /// The certify panel's parameters.
    pub certify: CertifySettings,
    /// Embed mode: minimal chrome around this one panel (for iframes in course material).
    pub embed: Option<Panel>,
    /// Problems found in the query, shown to the user.
    pub warnings: Vec<String>,
}

impl Default for UrlSettings {
    fn default() -> Self {
        Self {
            force_cpu: false,
            model: ZOO[0],
            image: 0,
            attack: AttackSettings::default(),
            certify: CertifySettings::default(),
            embed: None,
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
                Some(entry) => settings.model = entry,
                None => warn(format!(
                    "ignored model={:?}: not in the zoo",
                    truncate(&raw)
                )),
            }
        }
        if let Some(raw) = params.get("image") {
            match raw.parse::<usize>() {
                Ok(i) if i < images => settings.image = i,
                _ => warn(format!(
                    "ignored image={:?}: expected a number below {images}",
                    truncate(&raw)
                )),
            }
        }
        let attack = &mut settings.attack;
        match params.get("attack").as_deref() {
            None => {}
            Some("fgsm") => attack.method = AttackMethod::Fgsm,
            Some("pgd") => attack.method = AttackMethod::Pgd,
            Some(other) => warn(format!(
                "ignored attack={:?}: use fgsm or pgd",
                truncate(other)
            )),
        }
        if let Some(raw) = params.get("eps") {
            match AttackSettings::check_eps(&raw) {
                Ok(e) => attack.eps = e,
                Err(e) => warn(format!("ignored eps: {e}")),
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
                    "ignored embed={:?}: use attack, defenses, certify or curves",
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
        settings
    }

    /// The query string that reproduces this state (model, image, panels, backend, embed mode), for
    /// share links.
    pub fn to_query(&self) -> String {
        let a = &self.attack;
        let mut query = format!(
            "?model={}&image={}&attack={}&eps={}&steps={}&restarts={}&seed={}",
            self.model.id,
            self.image,
            a.method.id(),
            a.eps,
            a.steps,
            a.restarts,
            a.seed
        );
        let c = &self.certify;
        query.push_str(&format!(
            "&cert={}&cert_eps={}&sigma={}&n={}",
            c.method.id(),
            c.eps,
            c.sigma,
            c.samples
        ));
        if self.force_cpu {
            query.push_str("&backend=cpu");
        }
        if let Some(panel) = self.embed {
            query.push_str(&format!("&embed={}", panel.id()));
        }
        query
    }
}

/// At most 40 characters of a user-supplied value, for messages.
pub fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}
