//! Bring your own photo: pick, drop or paste a picture. The core decodes it (JPEG, PNG, WebP;
//! the browser decodes other formats) and prepares it as the ImageNet model expects: the shorter
//! side scaled to 256, the centre 224×224 cropped, exactly as the command line prepares a folder.

use perturb::data::{Dataset, DatasetKind, EvalTransform, RgbImage, decode_within};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DragEvent, HtmlInputElement};
use yew::prelude::*;

use super::sketch::MAX_UPLOAD_BYTES;
use crate::platform::browser::decode_picture;

/// Largest side accepted, in pixels.
const MAX_SIDE: u32 = 4096;

/// Properties of [`Photo`].
#[derive(Properties, PartialEq)]
pub struct PhotoProps {
    /// The model's input side.
    pub side: usize,
    /// Told the prepared `[3, side, side]` bytes, or why there are none.
    pub on_picture: Callback<Result<Vec<u8>, String>>,
}

/// Decode `file` and prepare it for a `side × side` model.
async fn prepare(file: web_sys::Blob, name: String, side: usize) -> Result<Vec<u8>, String> {
    if file.size() > MAX_UPLOAD_BYTES {
        return Err(format!(
            "{name:?} is {:.1} MB; the limit is 10 MB",
            file.size() / 1024.0 / 1024.0
        ));
    }
    let buffer = JsFuture::from(file.array_buffer())
        .await
        .map_err(|_| format!("{name:?} could not be read"))?;
    let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
    let image = match decode_within(&bytes, MAX_SIDE) {
        Ok(image) => image,
        // Not JPEG/PNG/WebP (or refused): the browser may still read it (GIF, AVIF, BMP, …).
        Err(core) => {
            let (w, h, rgba) = decode_picture(&file, MAX_SIDE)
                .await
                .map_err(|browser| format!("{name:?}: {browser} ({core})"))?;
            RgbImage::from_rgba(w as usize, h as usize, &rgba).map_err(|e| e.to_string())?
        }
    };
    let prepared = EvalTransform::for_side(side).prepare(&image);
    let one = Dataset::from_rgb(DatasetKind::ImageNet, &[prepared], vec![0])
        .map_err(|e| e.to_string())?;
    Ok(one.image_bytes(0).to_vec())
}

/// The first file of a drop or paste.
fn first_file(files: Option<web_sys::FileList>) -> Option<web_sys::File> {
    files.and_then(|f| f.get(0))
}

/// The upload field and a drop/paste zone.
#[function_component(Photo)]
pub fn photo(props: &PhotoProps) -> Html {
    let input = use_node_ref();
    let take = {
        let (on_picture, side) = (props.on_picture.clone(), props.side);
        Callback::from(move |file: web_sys::File| {
            let on_picture = on_picture.clone();
            let name = crate::state::checks::truncate(&file.name());
            wasm_bindgen_futures::spawn_local(async move {
                on_picture.emit(prepare(file.into(), name, side).await);
            });
        })
    };
    let on_change = {
        let (input, take) = (input.clone(), take.clone());
        Callback::from(move |_: Event| {
            if let Some(file) = input
                .cast::<HtmlInputElement>()
                .and_then(|i| first_file(i.files()))
            {
                take.emit(file);
            }
        })
    };
    let on_drop = {
        let take = take.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            if let Some(file) = first_file(e.data_transfer().and_then(|d| d.files())) {
                take.emit(file);
            }
        })
    };
    let on_paste = Callback::from(move |e: Event| {
        let Ok(e) = e.dyn_into::<web_sys::ClipboardEvent>() else {
            return;
        };
        if let Some(file) = first_file(e.clipboard_data().and_then(|d| d.files())) {
            e.prevent_default();
            take.emit(file);
        }
    });
    html! {
        <details id="bring-your-own" class="byo">
            <summary>{ "Use your own photo" }</summary>
            <div id="photo-drop" class="drop" tabindex="0" onpaste={on_paste}
                ondragover={Callback::from(|e: DragEvent| e.prevent_default())} ondrop={on_drop}
                aria-label="drop a photo here, or focus and paste one">
                <label>{ "Upload a photo " }
                    <input ref={input} id="upload" type="file" accept="image/*" onchange={on_change} />
                </label>
                <p class="note">{ format!("…or drop one here, or click here and paste (Ctrl+V). It is scaled so its \
                    shorter side is {} pixels and its centre {}×{} cropped, as the model was evaluated. \
                    Nothing leaves your browser.", EvalTransform::for_side(props.side).resize, props.side, props.side) }</p>
            </div>
        </details>
    }
}
