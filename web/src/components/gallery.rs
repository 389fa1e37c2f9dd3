//! A page of test-image thumbnails around the shown one; a click shows that image.

use std::rc::Rc;

use perturb::data::Dataset;
use yew::prelude::*;

use super::digit::Digit;

/// Thumbnails per page.
const PAGE: usize = 12;

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

/// The thumbnails of the page of twelve that holds the shown image.
#[function_component(Gallery)]
pub fn gallery(props: &GalleryProps) -> Html {
    let data = &props.data;
    let classes = data.kind.class_names();
    let first = (props.index.min(data.len() - 1) / PAGE) * PAGE;
    let last = (first + PAGE).min(data.len());
    html! {
        <div id="gallery" class="gallery" role="list" aria-label="test images">
        { for (first..last).map(|i| {
            let label = classes[usize::from(data.labels()[i])];
            let on_select = props.on_select.reform(move |_: MouseEvent| i);
            html! {
                <button class={classes!("thumb", (i == props.index).then_some("current"))} data-index={i.to_string()}
                    title={format!("test image {i}: {label}")} onclick={on_select}>
                    <Digit pixels={data.image(i)} shape={data.image_shape()} label={format!("test image {i}")} />
                </button>
            }
        }) }
        </div>
    }
}
