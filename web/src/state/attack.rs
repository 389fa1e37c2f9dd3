//! The attack lab's settings: the core's [`AttackSettings`] with the page's defaults and limits,
//! read from and written to the URL (`attack`, `norm`, `eps`, `steps`, `alpha`, `restarts`,
//! `seed`, `target`, `queries`, and `trace_every`, a tuning knob for GPUs).

use perturb::attack::{AttackMethod, AttackSettings, CwSettings, Norm};

use super::checks;
use super::query::Query;

/// Largest accepted PGD step count.
pub const MAX_STEPS: usize = 500;
/// Largest accepted number of restarts.
pub const MAX_RESTARTS: usize = 10;
/// Largest accepted query budget of a query-only attack.
pub const MAX_QUERIES: usize = 20_000;
/// The query budget the page starts query-only attacks with.
pub const PAGE_QUERIES: usize = 1000;

/// The page's attack before the URL or the form change it: PGD-20 at L∞ ε = 0.15, the trace read
/// as the backend suits ([`for_run`]).
pub fn page_default() -> AttackSettings {
    AttackSettings {
        epsilon: 0.15,
        steps: 20,
        queries: PAGE_QUERIES,
        trace_every: AUTO_TRACE,
        ..AttackSettings::default()
    }
}

/// `trace_every` of a page whose URL does not set it: the page picks per backend ([`for_run`]).
pub const AUTO_TRACE: usize = 0;

/// C&W in the page: c from 1 and 5 search rounds (fewer rounds than the command line's, from a
/// constant that already fools most digits).
pub const PAGE_CW: CwSettings = CwSettings {
    confidence: 0.0,
    initial_const: 1.0,
    search_rounds: 5,
    learning_rate: 0.05,
};

/// Steps between trace reads on WebGPU: each read waits for the GPU to finish, which costs more
/// than a small model's step, so the plot grows this many steps at a time there (the CPU backend
/// reads every step).
pub const GPU_TRACE_EVERY: usize = 8;

/// The settings a run uses: those that apply to the method, C&W's page preset, and the trace
/// (read every step, or every [`GPU_TRACE_EVERY`] steps on a GPU, unless the URL's `trace_every`
/// says otherwise).
pub fn for_run(settings: AttackSettings, gpu: bool) -> AttackSettings {
    let cw = (settings.method == AttackMethod::Cw).then_some(PAGE_CW);
    let trace_every = match settings.trace_every {
        AUTO_TRACE if gpu => GPU_TRACE_EVERY,
        AUTO_TRACE => 1,
        chosen => chosen,
    };
    AttackSettings {
        cw,
        trace: true,
        trace_every,
        ..settings.applicable()
    }
}

/// The attack's URL values over `base`; anything malformed is reported through `warn`.
pub fn read(
    query: &Query,
    classes: usize,
    warn: &mut impl FnMut(String),
    base: AttackSettings,
) -> AttackSettings {
    let mut a = base;
    if let Some(raw) = query.get("attack") {
        match raw.parse::<AttackMethod>() {
            Ok(m) => a.method = m,
            Err(_) => warn(format!(
                "ignored attack={:?}: use fgsm, pgd, cw, apgd, fab, fab-t, square or hsj",
                checks::truncate(raw)
            )),
        }
    }
    match query.get("norm") {
        None | Some("linf") => {}
        Some("l2") => a.norm = Norm::L2,
        Some(other) => warn(format!(
            "ignored norm={:?}: use linf or l2",
            checks::truncate(other)
        )),
    }
    if a.method == AttackMethod::Cw {
        a.norm = Norm::L2;
    }
    let norm = a.norm;
    if let Some(e) = query.checked("eps", |raw| checks::radius(raw, norm), warn) {
        a.epsilon = e;
    }
    if let Some(alpha) = query.checked("alpha", |raw| checks::step_size(raw, norm), warn) {
        a.step_size = alpha;
    }
    if let Some(t) = query.checked("target", |raw| checks::target(raw, classes), warn) {
        a.target = t;
    }
    let count = |what: &'static str, max| move |raw: &str| checks::count(raw, what, max);
    if let Some(n) = query.checked("steps", count("steps", MAX_STEPS), warn) {
        a.steps = n;
    }
    if let Some(n) = query.checked("restarts", count("restarts", MAX_RESTARTS), warn) {
        a.restarts = n;
    }
    if let Some(seed) = query.checked("seed", |raw| checks::seed(raw, "seed"), warn) {
        a.seed = seed;
    }
    let queries = |raw: &str| checks::count_from(raw, "queries", 2, MAX_QUERIES);
    if let Some(n) = query.checked("queries", queries, warn) {
        a.queries = n;
    }
    if let Some(k) = query.checked("trace_every", count("trace_every", MAX_STEPS), warn) {
        a.trace_every = k;
    }
    if a.method == AttackMethod::Hsj && a.target.take().is_some() {
        warn("ignored target: hsj is untargeted".into());
    }
    if a.method == AttackMethod::FabT && a.target.take().is_some() {
        warn("ignored target: fab-t picks its own 9 targets".into());
    }
    a
}

/// The attack's URL values (`&attack=…&eps=…`), in the order share links have always had.
pub fn write(a: &AttackSettings, out: &mut String) {
    out.push_str(&format!(
        "&attack={}&eps={}&steps={}&restarts={}&seed={}",
        a.method, a.epsilon, a.steps, a.restarts, a.seed
    ));
    if a.norm != Norm::Linf {
        out.push_str(&format!("&norm={}", a.norm));
    }
    if let Some(alpha) = a.step_size {
        out.push_str(&format!("&alpha={alpha}"));
    }
    if let Some(target) = a.target {
        out.push_str(&format!("&target={target}"));
    }
    if a.method.is_query_only() {
        out.push_str(&format!("&queries={}", a.queries));
    }
    if a.trace_every != AUTO_TRACE {
        out.push_str(&format!("&trace_every={}", a.trace_every));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::UrlSettings;

    #[test]
    fn the_trace_is_read_as_the_backend_suits_unless_the_url_says() {
        let auto = UrlSettings::parse("?attack=pgd", 1000).attack;
        assert_eq!(auto.trace_every, AUTO_TRACE);
        assert_eq!(for_run(auto, true).trace_every, GPU_TRACE_EVERY);
        assert_eq!(for_run(auto, false).trace_every, 1);
        assert!(
            !UrlSettings::parse("?attack=pgd", 1000)
                .to_query()
                .contains("trace_every")
        );
        let chosen = UrlSettings::parse("?attack=pgd&trace_every=1", 1000);
        assert!(chosen.warnings.is_empty(), "{:?}", chosen.warnings);
        assert_eq!(for_run(chosen.attack, true).trace_every, 1);
        let every_32 = UrlSettings::parse("?attack=pgd&trace_every=32", 1000);
        assert_eq!(for_run(every_32.attack, false).trace_every, 32);
        // A share link keeps the choice.
        assert_eq!(UrlSettings::parse(&every_32.to_query(), 1000), every_32);
        for bad in ["0", "-1", "NaN", "501"] {
            let s = UrlSettings::parse(&format!("?attack=pgd&trace_every={bad}"), 1000);
            assert_eq!(s.attack.trace_every, AUTO_TRACE, "{bad}");
            assert_eq!(s.warnings.len(), 1, "{bad}: {:?}", s.warnings);
        }
    }
}
