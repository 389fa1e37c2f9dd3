//! A greyscale image drawn on a canvas, scaled up with crisp pixels.

use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};
use yew::prelude::*;

/// Properties of [`Digit`].
#[derive(Properties, PartialEq)]
pub struct DigitProps {
    /// Pixels in [0, 1], row-major.
    pub pixels: Vec<f32>,
    /// Image width and height in pixels.
    pub size: (usize, usize),
    /// Accessible description.
    pub label: AttrValue,
}

/// Draws `pixels` (white ink on black, as MNIST) into a canvas.
#[function_component(Digit)]
pub fn digit(props: &DigitProps) -> Html {
    let canvas = use_node_ref();
    {
        let canvas = canvas.clone();
        let pixels = props.pixels.clone();
        let (w, h) = props.size;
        use_effect_with(pixels, move |pixels| {
            if let Some(canvas) = canvas.cast::<HtmlCanvasElement>() {
                draw(&canvas, pixels, w, h);
            }
        });
    }
    let (w, h) = props.size;
    html! {
        <canvas ref={canvas} class="digit" width={w.to_string()} height={h.to_string()}
            role="img" aria-label={props.label.clone()} />
    }
}

fn draw(canvas: &HtmlCanvasElement, pixels: &[f32], w: usize, h: usize) {
    let Some(ctx) = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    let mut rgba = Vec::with_capacity(w * h * 4);
    for &p in pixels.iter().take(w * h) {
        let v = (p.clamp(0.0, 1.0) * 255.0).round() as u8;
        rgba.extend_from_slice(&[v, v, v, 255]);
    }
    if let Ok(image) =
        ImageData::new_with_u8_clamped_array_and_sh(Clamped(&rgba), w as u32, h as u32)
    {
        let _ = ctx.put_image_data(&image, 0.0, 0.0);
    }
}
