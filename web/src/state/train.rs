//! The training panel's settings, and their URL values (`train_arch`, `train_obj`, `train_eps`,
//! `train_epochs`, `train_seed`, and for the poisoning step `train_poison`, `train_target`,
//! `train_rate`).

use perturb::model::ModelSpec;
use perturb::train::ObjectiveKind;

use super::checks;
use super::query::Query;

/// Most training epochs in the page.
pub const MAX_TRAIN_EPOCHS: usize = 20;
/// Largest poisoned share of the page's training images.
pub const MAX_POISON_RATE: f32 = 0.5;

/// The backdoors the poisoning step plants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagePoison {
    /// Dirty label (Gu et al.): images of other classes stamped and relabelled.
    Badnets,
    /// Clean label (Turner et al.): target-class images moved by PGD against the model shown
    /// at the top of the page, then stamped; labels kept.
    CleanLabel,
}

impl PagePoison {
    /// Every page poison.
    pub const ALL: [Self; 2] = [Self::Badnets, Self::CleanLabel];

    /// Name in URLs and forms.
    pub fn id(self) -> &'static str {
        match self {
            Self::Badnets => "badnets",
            Self::CleanLabel => "clean-label",
        }
    }

    /// Name in the form.
    pub fn title(self) -> &'static str {
        match self {
            Self::Badnets => "BadNets backdoor (dirty label)",
            Self::CleanLabel => "clean-label backdoor",
        }
    }

    /// `none` (`None`) or one of [`PagePoison::ALL`] by id.
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        if raw == "none" {
            return Ok(None);
        }
        Self::ALL
            .into_iter()
            .find(|p| p.id() == raw)
            .map(Some)
            .ok_or_else(|| {
                format!(
                    "train_poison={:?}: use none, badnets or clean-label",
                    checks::truncate(raw)
                )
            })
    }
}

/// The training panel's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainSettings {
    /// Zoo architecture (`ModelSpec::ZOO`).
    pub arch: &'static str,
    /// What to minimise.
    pub objective: ObjectiveKind,
    /// Radius of PGD and IBP training and of the robust figures, or σ of noise training; (0, 1].
    pub eps: f32,
    /// Passes over the page's 2,000 training images, 1–20.
    pub epochs: usize,
    /// Seed of the initial weights, the shuffle and the random draws (the poisoned images too).
    pub seed: u64,
    /// The backdoor planted in the training images first, if any.
    pub poison: Option<PagePoison>,
    /// The class the backdoor's trigger sends images to.
    pub target: usize,
    /// Share of the training images poisoned, in (0, 0.5].
    pub rate: f32,
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            arch: "small-cnn",
            objective: ObjectiveKind::Pgd,
            eps: 0.1,
            epochs: 3,
            seed: 0,
            poison: None,
            target: 0,
            rate: 0.05,
        }
    }
}

impl TrainSettings {
    /// The URL values; anything malformed is reported through `warn`.
    pub fn read(query: &Query, warn: &mut impl FnMut(String)) -> Self {
        let mut t = Self::default();
        if let Some(raw) = query.get("train_arch") {
            match ModelSpec::ZOO.into_iter().find(|a| *a == raw) {
                Some(a) => t.arch = a,
                None => warn(format!(
                    "ignored train_arch={:?}: use one of {}",
                    checks::truncate(raw),
                    ModelSpec::ZOO.join(", ")
                )),
            }
        }
        if let Some(raw) = query.get("train_obj") {
            match raw.parse::<ObjectiveKind>() {
                Ok(o) => t.objective = o,
                Err(_) => warn(format!(
                    "ignored train_obj={:?}: use standard, pgd, ibp or noise",
                    checks::truncate(raw)
                )),
            }
        }
        if let Some(raw) = query.get("train_eps") {
            match checks::eps(raw) {
                Ok(e) => t.eps = e,
                Err(e) => warn(format!("ignored train_eps: {e}")),
            }
        }
        if let Some(raw) = query.get("train_epochs") {
            match checks::count(raw, "train_epochs", MAX_TRAIN_EPOCHS) {
                Ok(n) => t.epochs = n,
                Err(e) => warn(format!("ignored {e}")),
            }
        }
        if let Some(raw) = query.get("train_seed") {
            match checks::seed(raw, "train_seed") {
                Ok(s) => t.seed = s,
                Err(e) => warn(format!("ignored {e}")),
            }
        }
        if let Some(raw) = query.get("train_poison") {
            match PagePoison::parse(raw) {
                Ok(p) => t.poison = p,
                Err(e) => warn(format!("ignored {e}")),
            }
        }
        if let Some(raw) = query.get("train_target") {
            match checks::count_from(raw, "train_target", 0, 9) {
                Ok(c) => t.target = c,
                Err(e) => warn(format!("ignored {e}")),
            }
        }
        if let Some(raw) = query.get("train_rate") {
            match poison_rate(raw) {
                Ok(r) => t.rate = r,
                Err(e) => warn(format!("ignored train_rate: {e}")),
            }
        }
        if t.poison.is_none() {
            // Without the step its settings are not in the link, so a state read back from the
            // link must not hold them either.
            (t.target, t.rate) = (Self::default().target, Self::default().rate);
        }
        t
    }

    /// The URL values (the poisoning step's only when it is on, so older links read the same).
    pub fn write(&self, out: &mut String) {
        out.push_str(&format!(
            "&train_arch={}&train_obj={}&train_eps={}&train_epochs={}&train_seed={}",
            self.arch, self.objective, self.eps, self.epochs, self.seed
        ));
        if let Some(poison) = self.poison {
            out.push_str(&format!(
                "&train_poison={}&train_target={}&train_rate={}",
                poison.id(),
                self.target,
                self.rate
            ));
        }
    }

    /// The radius the robust and verified figures use: the training ε, or 0.1 for objectives
    /// without one.
    pub fn eval_eps(&self) -> f32 {
        match self.objective {
            ObjectiveKind::Pgd | ObjectiveKind::Ibp => self.eps,
            ObjectiveKind::Standard | ObjectiveKind::Noise => 0.1,
        }
    }
}

/// A poisoned share of the training images in (0, [`MAX_POISON_RATE`]].
pub fn poison_rate(raw: &str) -> Result<f32, String> {
    match checks::unit(raw, "the poison rate")? {
        r if r <= MAX_POISON_RATE => Ok(r),
        _ => Err(format!(
            "the poison rate must be at most {MAX_POISON_RATE}, got {:?}",
            checks::truncate(raw)
        )),
    }
}
