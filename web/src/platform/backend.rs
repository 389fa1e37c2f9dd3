//! Picking the compute backend in the browser: WebGPU when the browser offers an adapter, the
//! pure-Rust CPU backend otherwise.

use burn::tensor::Device;
use js_sys::{Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Which kind of backend runs the models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// Burn's wgpu backend on the browser's WebGPU.
    WebGpu,
    /// Burn's flex backend (pure Rust, in WebAssembly).
    Cpu,
}

/// The initialised backend and what the page tells the user about it.
#[derive(Debug, Clone)]
pub struct Backend {
    /// The device models and tensors live on.
    pub device: Device,
    /// WebGPU or CPU.
    pub kind: BackendKind,
    /// Adapter description as the browser reports it (`"CPU (WebAssembly)"` for flex).
    pub adapter: String,
    /// Why WebGPU is not used, when it is not.
    pub fallback_reason: Option<String>,
}

impl Backend {
    /// The CPU backend, with the reason WebGPU was not used.
    pub fn cpu(reason: impl Into<String>) -> Self {
        Self {
            device: Device::flex(),
            kind: BackendKind::Cpu,
            adapter: "CPU (WebAssembly, Burn flex)".into(),
            fallback_reason: Some(reason.into()),
        }
    }

    /// Short label for the status line.
    pub fn label(&self) -> String {
        match self.kind {
            BackendKind::WebGpu => format!("WebGPU — {}", self.adapter),
            BackendKind::Cpu => format!("CPU — {}", self.adapter),
        }
    }
}

fn get(value: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(value, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// Human-readable name of a `GPUAdapter` from its `info` (vendor, architecture, description).
fn adapter_name(adapter: &JsValue) -> String {
    let info = get(adapter, "info");
    let fields: Vec<String> = ["vendor", "architecture", "device", "description"]
        .iter()
        .filter_map(|k| {
            info.as_ref()
                .and_then(|i| get(i, k))
                .and_then(|v| v.as_string())
        })
        .filter(|s| !s.is_empty())
        .collect();
    if fields.is_empty() {
        "unnamed adapter".into()
    } else {
        fields.join(" ")
    }
}

/// Ask the browser for a WebGPU adapter; `Err` says why there is none.
async fn request_adapter() -> Result<JsValue, String> {
    let window = web_sys::window().ok_or("no window")?;
    let gpu =
        get(&window.navigator(), "gpu").ok_or("this browser has no WebGPU (navigator.gpu)")?;
    let request = get(&gpu, "requestAdapter")
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or("navigator.gpu.requestAdapter is missing")?;
    let promise: Promise = request
        .call0(&gpu)
        .map_err(|e| format!("requestAdapter threw: {e:?}"))?
        .dyn_into()
        .map_err(|_| "requestAdapter did not return a promise")?;
    let adapter = JsFuture::from(promise)
        .await
        .map_err(|e| format!("requestAdapter failed: {e:?}"))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("the browser offers no WebGPU adapter".into());
    }
    Ok(adapter)
}

/// Initialise WebGPU when possible, else the CPU backend. `force_cpu` skips WebGPU.
pub async fn init(force_cpu: bool) -> Backend {
    if force_cpu {
        return Backend::cpu("CPU backend requested");
    }
    let adapter = match request_adapter().await {
        Ok(adapter) => adapter,
        Err(reason) => return Backend::cpu(reason),
    };
    crate::platform::recovery::watch_device_loss();
    match Device::wgpu_options().init_async().await {
        Ok(device) => {
            crate::platform::recovery::set_on_webgpu(true);
            Backend {
                device,
                kind: BackendKind::WebGpu,
                adapter: adapter_name(&adapter),
                fallback_reason: None,
            }
        }
        Err(e) => Backend::cpu(format!("WebGPU initialisation failed: {e}")),
    }
}
