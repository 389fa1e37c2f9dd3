//! The page's whole state in its URL: parsed defensively (every value checked, anything else
//! ignored with a visible warning, never executed) and written back for share links. Pure Rust
//! over [`Query`], so the codec runs and is tested natively.

use perturb::attack::AttackSettings;
use perturb::data::DatasetKind;
use perturb::zoo::{self, ZooEntry};

use super::attack;
use super::certify::CertifySettings;
use super::checks::{self, truncate};
use super::curves::CurveSettings;
use super::defenses::DefenseSettings;
use super::query::Query;
use super::train::TrainSettings;

/// The URL flag a reload after a WebGPU failure sets, so the restarted page can say what happened.
pub const RECOVERED_PARAM: &str = "recovered";

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

    /// What the navigation calls it.
    pub fn title(self) -> &'static str {
        match self {
            Panel::Attack => "Attack lab",
            Panel::Certify => "Certify",
            Panel::Curves => "Curves",
            Panel::Defenses => "Defences",
            Panel::Train => "Train",
        }
    }

    /// The id of its section in the page (the curves' is `batch` when they can run).
    pub fn element_id(self, curves_run: bool) -> &'static str {
        match self {
            Panel::Attack => "attack-lab",
            Panel::Curves if curves_run => "batch",
            other => other.id(),
        }
    }

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
    /// The defences panel's parameters.
    pub defenses: DefenseSettings,
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
            model: zoo::ZOO[0],
            use_trained: false,
            image: 0,
            drawn: false,
            attack: attack::page_default(),
            defenses: DefenseSettings::default(),
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
    /// Parse a query string for a page of `images` test images; unknown or malformed values are
    /// ignored with a warning.
    pub fn parse(query: &str, images: usize) -> Self {
        let q = Query::parse(query);
        let mut warnings = Vec::new();
        let mut warn = |w: String| warnings.push(w);
        let mut s = Self {
            force_cpu: read_backend(&q, &mut warn),
            ..Self::default()
        };
        (s.model, s.dataset) = read_model_and_dataset(&q, &mut warn);
        (s.image, s.drawn) = (read_image(&q, images, &mut warn), false);
        s.attack = attack::read(&q, s.dataset.classes(), &mut warn, s.attack);
        s.defenses = DefenseSettings::read(&q, &mut warn);
        s.certify = CertifySettings::read(&q, &mut warn);
        s.train = TrainSettings::read(&q, &mut warn);
        s.curves = CurveSettings::read(&q, &mut warn);
        s.embed = read_embed(&q, &mut warn);
        if let Some(raw) = q.get("tour") {
            match checks::count(raw, "tour", super::tour::STEPS.len()) {
                Ok(n) => s.tour = Some(n),
                Err(e) => warn(format!("ignored {e}")),
            }
        }
        match q.get(RECOVERED_PARAM) {
            None => {}
            Some("webgpu") => warn(
                "WebGPU failed while the page was working, so it restarted on the CPU backend with \
                 your settings (results in progress and a model trained in the tab were lost)"
                    .into(),
            ),
            Some(other) => warn(format!("ignored recovered={:?}", truncate(other))),
        }
        s.warnings = warnings;
        s
    }

    /// The query string that reproduces this state, for share links.
    pub fn to_query(&self) -> String {
        let model = if self.use_trained {
            "trained"
        } else {
            self.model.id
        };
        let image = if self.drawn {
            "drawn".to_string()
        } else {
            self.image.to_string()
        };
        let mut query = format!("?model={model}&image={image}");
        attack::write(&self.attack, &mut query);
        self.certify.write(&mut query);
        self.train.write(&mut query);
        self.curves.write(&mut query);
        self.defenses.write(&mut query);
        if self.dataset != DatasetKind::Mnist {
            query.push_str(&format!("&dataset={}", self.dataset));
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

/// `backend=cpu` skips WebGPU; `auto` (or nothing) tries it.
fn read_backend(q: &Query, warn: &mut impl FnMut(String)) -> bool {
    match q.get("backend") {
        None | Some("auto") => false,
        Some("cpu") => true,
        Some(other) => {
            warn(format!(
                "ignored backend={:?}: use auto or cpu",
                truncate(other)
            ));
            false
        }
    }
}

/// The model, and the dataset, which follows the model unless the URL names one; a model of
/// another dataset then gives way to that dataset's default.
fn read_model_and_dataset(q: &Query, warn: &mut impl FnMut(String)) -> (ZooEntry, DatasetKind) {
    let mut model = zoo::ZOO[0];
    if let Some(raw) = q.get("model") {
        match zoo::find(raw) {
            Some(entry) => model = entry,
            None if raw == "trained" => warn(
                "model=trained: a model trained in another tab cannot travel in a link; \
                 the training panel has its settings and seed, so Train reproduces it"
                    .into(),
            ),
            None => warn(format!("ignored model={:?}: not in the zoo", truncate(raw))),
        }
    }
    let Some(raw) = q.get("dataset") else {
        return (model, model.dataset);
    };
    let picked = raw.parse::<DatasetKind>().ok();
    match picked.and_then(|kind| Some((kind, zoo::default_for(kind)?))) {
        Some((kind, default)) if kind != model.dataset => {
            if q.get("model").is_some() {
                warn(format!(
                    "model={} is a {} model; showing {kind}'s default model",
                    model.id, model.dataset
                ));
            }
            (default, kind)
        }
        Some((kind, _)) => (model, kind),
        None => {
            warn(format!(
                "ignored dataset={:?}: use {}",
                truncate(raw),
                DatasetKind::SHIPPED.map(|k| k.id()).join(" or ")
            ));
            (model, model.dataset)
        }
    }
}

/// The test image shown; `drawn` cannot travel.
fn read_image(q: &Query, images: usize, warn: &mut impl FnMut(String)) -> usize {
    let Some(raw) = q.get("image") else {
        return 0;
    };
    match raw.parse::<usize>() {
        _ if raw == "drawn" => warn(
            "image=drawn: a drawn or uploaded picture stays in the browser that made it and \
             cannot travel in a link"
                .into(),
        ),
        Ok(i) if i < images => return i,
        _ => warn(format!(
            "ignored image={:?}: expected a number below {images}",
            truncate(raw)
        )),
    }
    0
}

/// Embed mode's panel.
fn read_embed(q: &Query, warn: &mut impl FnMut(String)) -> Option<Panel> {
    let raw = q.get("embed")?;
    let panel = Panel::ALL.into_iter().find(|p| p.id() == raw);
    if panel.is_none() {
        warn(format!(
            "ignored embed={:?}: use attack, defenses, train, certify or curves",
            truncate(raw)
        ));
    }
    panel
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::train::PagePoison;
    use perturb::attack::{AttackMethod, Norm};
    use perturb::train::ObjectiveKind;

    #[test]
    fn every_setting_round_trips_through_its_share_link() {
        let mut s = UrlSettings::parse("", 1000);
        assert!(s.warnings.is_empty());
        s.model = zoo::find("fashion-small-cnn-pgd0.1").unwrap();
        s.dataset = DatasetKind::FashionMnist;
        s.image = 17;
        s.attack.method = AttackMethod::Pgd;
        s.attack.norm = Norm::L2;
        s.attack.epsilon = 2.5;
        s.attack.step_size = Some(0.5);
        s.attack.target = Some(3);
        s.attack.restarts = 4;
        s.attack.seed = 9;
        s.certify.sigma = 0.5;
        s.certify.samples = 500;
        s.train.objective = ObjectiveKind::Ibp;
        s.train.epochs = 7;
        s.train.poison = Some(PagePoison::CleanLabel);
        s.train.target = 4;
        s.train.rate = 0.125;
        s.curves.models = Some(vec!["fashion-small-cnn"]);
        s.curves.transfer_eps = 0.1;
        s.defenses.noise = true;
        s.defenses.sigma = 0.5;
        s.defenses.images = 30;
        s.force_cpu = true;
        s.embed = Some(Panel::Certify);
        s.tour = Some(2);
        let back = UrlSettings::parse(&s.to_query(), 1000);
        assert!(back.warnings.is_empty(), "{:?}", back.warnings);
        assert_eq!(back, s);
    }

    /// Seeded hand-edits of a full share link (characters replaced, inserted and cut, values
    /// swapped for hostile ones): parsing never panics, and whatever it accepts is a valid
    /// state, whose own link parses back to it without a warning.
    #[test]
    fn hand_edited_links_never_panic_and_parse_to_valid_states() {
        let mut full = UrlSettings::parse("", 1000);
        full.attack.step_size = Some(0.5);
        full.attack.target = Some(3);
        full.embed = Some(Panel::Certify);
        full.tour = Some(2);
        full.train.poison = Some(PagePoison::Badnets);
        let valid = full.to_query();
        let hostile = [
            "NaN",
            "inf",
            "-0",
            "1e309",
            "99999999999999999999",
            "-1",
            "%",
            "%zz",
            "&&",
            "==",
            "é",
            "\u{0}",
            "0x10",
            " ",
            "+",
            "",
        ];
        let mut rng = perturb::runtime::rng::SplitMix64::new(5);
        for k in 0..2_000 {
            let mut text: Vec<char> = valid.chars().collect();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(text.len().max(1)).min(text.len());
                match k % 4 {
                    0 => {
                        let word = hostile[rng.below(hostile.len())];
                        text.splice(i..i, word.chars());
                    }
                    1 => {
                        let end = (i + 1 + rng.below(6)).min(text.len());
                        text.drain(i..end);
                    }
                    2 if i < text.len() => {
                        text[i] = ['&', '=', '?', '%', '9', '.', 'x', '-'][rng.below(8)];
                    }
                    _ => {
                        // A value replaced by a hostile one.
                        if let Some(eq) = text[i..].iter().position(|&c| c == '=') {
                            let start = i + eq + 1;
                            let end = text[start..]
                                .iter()
                                .position(|&c| c == '&')
                                .map_or(text.len(), |p| start + p);
                            let word = hostile[rng.below(hostile.len())];
                            text.splice(start..end, word.chars());
                        }
                    }
                }
            }
            let query: String = text.into_iter().collect();
            let parsed = UrlSettings::parse(&query, 1000);
            let again = UrlSettings::parse(&parsed.to_query(), 1000);
            assert!(again.warnings.is_empty(), "{query:?}: {:?}", again.warnings);
            let mut expected = parsed.clone();
            expected.warnings.clear();
            assert_eq!(again, expected, "{query:?}");
        }
    }

    #[test]
    fn query_only_attacks_carry_their_budget() {
        let s = UrlSettings::parse("?attack=square&eps=0.3&queries=300&target=2", 1000);
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        assert_eq!(
            (s.attack.method, s.attack.queries, s.attack.target),
            (AttackMethod::Square, 300, Some(2))
        );
        assert_eq!(UrlSettings::parse(&s.to_query(), 1000), s);
        // HopSkipJump is untargeted; a budget under 2 queries is refused.
        let s = UrlSettings::parse("?attack=hsj&target=2&queries=1", 1000);
        assert_eq!(s.attack.method, AttackMethod::Hsj);
        assert_eq!(s.attack.target, None);
        assert_eq!(s.attack.queries, crate::state::attack::PAGE_QUERIES);
        assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
        // Gradient attacks leave the budget out of their links.
        let pgd = UrlSettings::parse("?attack=pgd", 1000);
        assert!(!pgd.to_query().contains("queries"));
    }

    #[test]
    fn links_from_earlier_versions_keep_working() {
        // A share link as the page wrote it before the defences joined the URL.
        let s = UrlSettings::parse(
            "?model=mnist-small-cnn-pgd0.3&image=5&attack=fgsm&eps=0.2&steps=20&restarts=1&seed=0\
             &cert=crown-ibp&cert_eps=0.05&sigma=0.25&n=1000&train_arch=mlp&train_obj=noise\
             &train_eps=0.25&train_epochs=2&train_seed=3&curves=mnist-mlp,mnist-lenet5",
            1000,
        );
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        assert_eq!(s.model.id, "mnist-small-cnn-pgd0.3");
        assert_eq!(
            (s.image, s.attack.method, s.attack.epsilon),
            (5, AttackMethod::Fgsm, 0.2)
        );
        assert_eq!(s.train.arch, "mlp");
        assert_eq!(s.train.poison, None, "no poisoning step in older links");
        assert!(!s.to_query().contains("train_poison"));
        assert_eq!(s.curves.models, Some(vec!["mnist-mlp", "mnist-lenet5"]));
    }

    #[test]
    fn hostile_values_are_ignored_with_warnings_naming_them() {
        let s = UrlSettings::parse(
            "?model=%3Cscript%3E&image=99999&attack=rm&norm=l3&eps=NaN&alpha=-1&target=42\
             &steps=0&embed=iframe&tour=0&backend=gpu&dataset=cifar&defense=quantize:1\
             &train_arch=vgg&curves=mnist-mlp,evil&train_poison=frogs&train_target=10\
             &train_rate=0.9",
            1000,
        );
        for key in [
            "model=",
            "image=",
            "attack=",
            "norm=",
            "eps",
            "alpha",
            "target",
            "steps",
            "embed=",
            "tour",
            "backend=",
            "dataset=",
            "defense=",
            "train_arch=",
            "\"evil\" in curves",
            "train_poison=",
            "train_target",
            "poison rate must be at most 0.5",
        ] {
            assert!(
                s.warnings.iter().any(|w| w.contains(key)),
                "no warning for {key}: {:?}",
                s.warnings
            );
        }
        assert!(
            s.warnings
                .iter()
                .all(|w| !w.contains("<script>") || w.contains('"'))
        );
        let d = UrlSettings::default();
        assert_eq!((s.model, s.image, s.attack), (d.model, d.image, d.attack));
    }

    #[test]
    fn the_dataset_follows_the_model_and_a_mismatch_is_refused() {
        let s = UrlSettings::parse("?model=fashion-small-cnn", 1000);
        assert_eq!(s.dataset, DatasetKind::FashionMnist);
        let s = UrlSettings::parse("?model=mnist-lenet5&dataset=fashion-mnist", 1000);
        assert_eq!(
            (s.dataset, s.model.id),
            (DatasetKind::FashionMnist, "fashion-small-cnn")
        );
        assert!(s.warnings[0].contains("mnist-lenet5 is a mnist model"));
        let s = UrlSettings::parse("?attack=cw&norm=linf", 1000);
        assert_eq!(s.attack.norm, Norm::L2, "C&W is L2 whatever the URL says");
    }

    #[test]
    fn values_are_refused_one_by_one() {
        let s = UrlSettings::parse(
            "?backend=<script>alert(1)</script>&image=99999999999999999999",
            1000,
        );
        assert!(!s.force_cpu);
        assert_eq!(s.image, 0);
        assert_eq!(s.warnings.len(), 2);
        let s = UrlSettings::parse("?backend=cpu&image=12", 1000);
        assert!(s.force_cpu);
        assert_eq!(s.image, 12);
        assert!(s.warnings.is_empty());
        // Attack parameters: NaN, out-of-range and huge values are refused one by one.
        let s = UrlSettings::parse(
            "?attack=fgsm&eps=NaN&steps=100000000&restarts=0&seed=-1",
            1000,
        );
        assert_eq!(s.attack.method, AttackMethod::Fgsm);
        assert_eq!(s.warnings.len(), 4, "{:?}", s.warnings);
        let s = UrlSettings::parse(
            "?attack=pgd&eps=0.2&steps=30&restarts=2&seed=5&image=3",
            1000,
        );
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        assert_eq!(
            (s.attack.epsilon, s.attack.steps, s.attack.restarts),
            (0.2, 30, 2)
        );
        let s = UrlSettings::parse("?model=../../etc/passwd", 1000);
        assert_eq!(s.model.id, "mnist-small-cnn");
        assert_eq!(s.warnings.len(), 1);
        let s = UrlSettings::parse("?embed=javascript:alert(1)", 1000);
        assert_eq!(s.embed, None);
        assert_eq!(s.warnings.len(), 1);
        let s = UrlSettings::parse("?cert=crown&cert_eps=1e9&sigma=-1&n=1e12", 1000);
        assert_eq!(s.certify, Default::default());
        assert_eq!(s.warnings.len(), 4, "{:?}", s.warnings);
        let s = UrlSettings::parse(
            "?model=mnist-small-cnn-pgd0.3&attack=pgd&eps=0.2&steps=30&restarts=2&seed=5&image=3&cert=crown-ibp&cert_eps=0.05&sigma=0.5&n=500&embed=certify",
            1000,
        );
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        assert_eq!(s.certify.method.id(), "crown-ibp");
        assert_eq!((s.certify.sigma, s.certify.samples), (0.5, 500));
        // A share link parses back to the same state.
        assert_eq!(UrlSettings::parse(&s.to_query(), 1000), s);
    }
}
