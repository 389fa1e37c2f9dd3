//! The panels, named as in the URL (`embed=attack|defenses|train|certify|curves`) plus the tour,
//! and what every per-image panel receives: where to compute, the model and image, and its own
//! part of the URL state.

pub mod attack;
pub mod certify;
pub mod curves;
pub mod defenses;
pub mod tour;
pub mod train;

use std::rc::Rc;

use perturb::data::Dataset;
use perturb::model::Sequential;
use yew::prelude::*;

use crate::platform::Backend;

/// Properties of a panel working on the shown image, with URL settings `S`.
#[derive(Properties)]
pub struct PanelProps<S: Clone + PartialEq + 'static> {
    /// Where the model runs.
    pub backend: Rc<Backend>,
    /// The model.
    pub model: Rc<Sequential>,
    /// The test images.
    pub data: Rc<Dataset>,
    /// The image worked on.
    pub index: usize,
    /// Parameters to start from (from the URL).
    pub initial: S,
    /// Told whenever the parameters change, so the share link follows.
    pub on_change: Callback<S>,
    /// Milliseconds the last forward pass of one image took here, for cost estimates.
    #[prop_or_default]
    pub forward_ms: Option<f64>,
}

impl<S: Clone + PartialEq + 'static> PartialEq for PanelProps<S> {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.backend, &other.backend)
            && Rc::ptr_eq(&self.model, &other.model)
            && Rc::ptr_eq(&self.data, &other.data)
            && self.index == other.index
            && self.initial == other.initial
            && self.forward_ms == other.forward_ms
    }
}

impl<S: Clone + PartialEq + 'static> PanelProps<S> {
    /// The image or the model changed: results shown for the old ones are stale.
    pub fn subject_changed(&self, old: &Self) -> bool {
        self.index != old.index || !Rc::ptr_eq(&self.model, &old.model)
    }
}

/// Images per batch for per-image sampling on `data`: many small digits at once, but few
/// 224×224 photos, so that the largest intermediate buffer of an ImageNet network (a 3×3
/// convolution's unfolded input, about 15 MB an image) stays under WebGPU's default 128 MiB
/// storage-buffer limit.
pub fn sampling_batch(data: &Dataset) -> usize {
    if data.image_shape().iter().product::<usize>() > 3 * 64 * 64 {
        4
    } else {
        500
    }
}

/// "12 s" (or "3 min") for `count` units of work at `ms` each.
pub fn estimate(count: usize, ms: f64) -> String {
    let s = count as f64 * ms / 1000.0;
    if s < 90.0 {
        format!("{s:.0} s")
    } else {
        format!("{:.0} min", s / 60.0)
    }
}

/// Apply a checked form edit to `settings`: on success clear `form_error` and tell `on_change`
/// when a value changed; a refused value leaves the settings as they were and says why.
pub fn apply_edit<S: Copy + PartialEq>(
    settings: &mut S,
    form_error: &mut Option<String>,
    on_change: &Callback<S>,
    apply: impl FnOnce(&mut S) -> Result<(), String>,
) {
    let mut next = *settings;
    match apply(&mut next) {
        Ok(()) => {
            *form_error = None;
            if next != *settings {
                *settings = next;
                on_change.emit(next);
            }
        }
        Err(e) => *form_error = Some(e),
    }
}
