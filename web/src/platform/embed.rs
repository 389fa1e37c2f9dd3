//! An embedded panel sizes its iframe: it tells the parent page its content height whenever that
//! changes (`postMessage({type: "perturb:height", panel, height})`), and the host page's one-line
//! listener ([`LISTENER`]) sets the iframe's height, so an LMS page needs no guessed height.

use js_sys::{Object, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use web_sys::ResizeObserver;

/// The `type` of the height messages.
pub const MESSAGE_TYPE: &str = "perturb:height";

/// The host page's listener: sizes the iframe that sent the message.
pub const LISTENER: &str = r#"<script>addEventListener("message",e=>{if(e.data&&e.data.type==="perturb:height")for(const f of document.getElementsByTagName("iframe"))if(f.contentWindow===e.source)f.style.height=e.data.height+"px"})</script>"#;

/// The document's content height in CSS pixels, rounded up.
fn content_height() -> Option<f64> {
    let root = web_sys::window()?.document()?.document_element()?;
    Some(root.get_bounding_client_rect().height().ceil())
}

/// Post the content height of `panel` to the parent page.
fn post(panel: &str) {
    let (Some(window), Some(height)) = (web_sys::window(), content_height()) else {
        return;
    };
    let Ok(Some(parent)) = window.parent() else {
        return;
    };
    let message = Object::new();
    for (key, value) in [
        ("type", MESSAGE_TYPE.into()),
        ("panel", panel.into()),
        ("height", height.into()),
    ] {
        let _ = Reflect::set(&message, &key.into(), &value);
    }
    let _ = parent.post_message(&message, "*");
}

/// From now on, tell the parent page (when the page is in an iframe) the content height of
/// `panel` whenever it changes, and once now.
pub fn report_height(panel: &'static str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let inside_frame = window
        .parent()
        .ok()
        .flatten()
        .is_some_and(|parent| parent != window);
    if !inside_frame {
        return;
    }
    let Some(root) = window.document().and_then(|d| d.document_element()) else {
        return;
    };
    let on_resize = Closure::<dyn FnMut()>::new(move || post(panel));
    if let Ok(observer) = ResizeObserver::new(on_resize.as_ref().unchecked_ref()) {
        observer.observe(&root);
    }
    // The observer lives as long as the page.
    on_resize.forget();
    post(panel);
}
