//! A page of test-image thumbnails around the shown one; a click shows that image. From the
//! keyboard the gallery is one tab stop (the shown image); the arrow keys move through the test
//! images (up and down by a row, crossing pages), Home and End go to the first and last.

use std::rc::Rc;

use perturb::data::Dataset;
use yew::prelude::*;

use super::digit::Digit;

/// Thumbnails per page.
const PAGE: usize = 12;
/// Thumbnails per row (the style sheet's grid).
const ROW: usize = 6;

/// Properties of [`Gallery`].
#[derive(Properties)]
pub struct GalleryProps {
    /// The test images.
    pub data: Rc<Dataset>,
    /// The image shown (may be past the test images: the user's picture).
    pub index: usize,
    /// Told the index clicked.
    pub on_select: Callback<usize>,
}

impl PartialEq for GalleryProps {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.data, &other.data) && self.index == other.index
    }
}

/// The image a key moves to from `index` among `len` images, if the key moves at all.
pub fn key_target(key: &str, index: usize, len: usize) -> Option<usize> {
    let last = len.checked_sub(1)?;
    let index = index.min(last);
    let to = match key {
        "ArrowRight" => index + 1,
        "ArrowLeft" => index.checked_sub(1)?,
        "ArrowDown" => index + ROW,
        "ArrowUp" => index.checked_sub(ROW)?,
        "PageDown" => index + PAGE,
        "PageUp" => index.saturating_sub(PAGE),
        "Home" => 0,
        "End" => last,
        _ => return None,
    };
    Some(to.min(last))
}

/// The thumbnails of the page of twelve that holds the shown image.
#[function_component(Gallery)]
pub fn gallery(props: &GalleryProps) -> Html {
    let data = &props.data;
    let classes = data.kind.class_names();
    let first = (props.index.min(data.len() - 1) / PAGE) * PAGE;
    let last = (first + PAGE).min(data.len());
    let node = use_node_ref();
    // Set by a key press: once the new image is shown, its thumbnail takes the focus.
    let keyed = use_mut_ref(|| false);
    {
        let (node, keyed) = (node.clone(), keyed.clone());
        use_effect_with(props.index, move |_| {
            if std::mem::take(&mut *keyed.borrow_mut())
                && let Some(current) = node
                    .cast::<web_sys::Element>()
                    .and_then(|g| g.query_selector(".thumb.current").ok().flatten())
                    .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok())
            {
                let _ = current.focus();
            }
        });
    }
    let onkeydown = {
        let (on_select, index, len) = (props.on_select.clone(), props.index, data.len());
        Callback::from(move |e: KeyboardEvent| {
            if let Some(to) = key_target(&e.key(), index, len) {
                e.prevent_default();
                if to != index {
                    *keyed.borrow_mut() = true;
                    on_select.emit(to);
                }
            }
        })
    };
    // The roving tab stop: the shown image, or the page's first when the user's picture is shown.
    let stop = if props.index < data.len() {
        props.index
    } else {
        first
    };
    html! {
        <div id="gallery" class="gallery" role="group" ref={node} {onkeydown}
            aria-label={format!("test images {}–{} of {} (arrow keys move)", first, last - 1, data.len())}>
        { for (first..last).map(|i| {
            let label = classes[usize::from(data.labels()[i])];
            let on_select = props.on_select.reform(move |_: MouseEvent| i);
            let current = i == props.index;
            html! {
                <button type="button" class={classes!("thumb", current.then_some("current"))} data-index={i.to_string()}
                    title={format!("test image {i}: {label}")} aria-label={format!("test image {i}: {label}")}
                    aria-pressed={current.to_string()} tabindex={if i == stop { "0" } else { "-1" }} onclick={on_select}>
                    <Digit pixels={data.image(i)} shape={data.image_shape()} label={format!("test image {i}")} />
                </button>
            }
        }) }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::key_target;

    #[test]
    fn keys_move_within_the_test_images() {
        assert_eq!(key_target("ArrowRight", 11, 1000), Some(12));
        assert_eq!(key_target("ArrowLeft", 0, 1000), None);
        assert_eq!(key_target("ArrowDown", 996, 1000), Some(999));
        assert_eq!(key_target("ArrowUp", 3, 1000), None);
        assert_eq!(key_target("ArrowUp", 9, 1000), Some(3));
        assert_eq!(key_target("PageUp", 5, 1000), Some(0));
        assert_eq!(key_target("End", 5, 1000), Some(999));
        assert_eq!(key_target("Home", 5, 1000), Some(0));
        // The user's picture sits past the test images: the keys start from the last one.
        assert_eq!(key_target("ArrowLeft", 1000, 1000), Some(998));
        assert_eq!(key_target("Tab", 5, 1000), None);
        assert_eq!(key_target("ArrowRight", 0, 0), None);
    }
}
