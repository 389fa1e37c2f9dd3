//! Surviving a lost GPU: the page watches the WebGPU device's `lost` promise and tells the app,
//! which moves to the CPU backend in place (the settings stay, as they live in the app and the
//! URL); and if WebAssembly panics while WebGPU is in use (a lost device can end a computation
//! that way), the page reloads itself on the CPU backend with the same URL state.

use std::sync::atomic::{AtomicBool, Ordering};

use wasm_bindgen::JsValue;

/// The DOM event the page dispatches on `window` when the WebGPU device is lost; its `detail` is
/// the browser's message.
pub const DEVICE_LOST_EVENT: &str = "perturb-device-lost";

pub use crate::state::RECOVERED_PARAM;

static ON_WEBGPU: AtomicBool = AtomicBool::new(false);

/// Record whether the models now run on WebGPU (a panic then means a reload on the CPU).
pub fn set_on_webgpu(on: bool) {
    ON_WEBGPU.store(on, Ordering::Relaxed);
}

/// Wrap `GPUAdapter.requestDevice` so every device the page creates reports its loss as a
/// [`DEVICE_LOST_EVENT`] (and stays reachable as `window.__perturbGpuDevice`, which the browser
/// tests use to destroy it). Call before the wgpu backend asks for its device.
pub fn watch_device_loss() {
    let code = format!(
        r#"
        if (typeof GPUAdapter === "undefined" || GPUAdapter.prototype.__perturbWatched) return;
        const request = GPUAdapter.prototype.requestDevice;
        GPUAdapter.prototype.requestDevice = async function (...args) {{
            const device = await request.apply(this, args);
            window.__perturbGpuDevice = device;
            device.lost.then((info) => window.dispatchEvent(new CustomEvent("{DEVICE_LOST_EVENT}",
                {{ detail: `${{info.reason ?? "unknown"}}: ${{info.message ?? ""}}` }})));
            return device;
        }};
        GPUAdapter.prototype.__perturbWatched = true;
        "#
    );
    if let Err(e) = js_sys::Function::new_no_args(&code).call0(&JsValue::NULL) {
        web_sys::console::warn_2(&"Perturb could not watch for WebGPU device loss".into(), &e);
    }
}

/// Report panics on the console and, when WebGPU was in use, reload on the CPU backend with the
/// same URL state; otherwise show the error on the page.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info.to_string();
        web_sys::console::error_1(&format!("Perturb panicked: {message}").into());
        let Some(window) = web_sys::window() else {
            return;
        };
        if ON_WEBGPU.swap(false, Ordering::Relaxed) {
            let location = window.location();
            let search = location.search().unwrap_or_default();
            if let Ok(params) = web_sys::UrlSearchParams::new_with_str(&search) {
                params.set("backend", "cpu");
                params.set(RECOVERED_PARAM, "webgpu");
                let query: String = params.to_string().into();
                let _ = location.set_search(&query);
                return;
            }
        }
        if let Some(body) = window.document().and_then(|d| d.body()) {
            let note = window.document().and_then(|d| d.create_element("p").ok());
            if let Some(note) = note {
                note.set_class_name("error");
                note.set_id("fatal");
                // Text, never markup: the message may quote user input.
                note.set_text_content(Some(&format!(
                    "Perturb stopped on an internal error ({message}). Reload the page: your settings are in the address bar."
                )));
                let _ = body.prepend_with_node_1(&note);
            }
        }
    }));
}
