//! Images drawn on a canvas, scaled up with crisp pixels: a greyscale digit, or a signed
//! perturbation in a diverging colour map.

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
    /// Draw signed values in a blue–white–red map scaled to ±`signed` instead of greyscale.
    #[prop_or_default]
    pub signed: Option<f32>,
}

/// Draws `pixels` (white ink on black, as MNIST) into a canvas.
#[function_component(Digit)]
pub fn digit(props: &DigitProps) -> Html {
    let canvas = use_node_ref();
    {
        let canvas = canvas.clone();
        let pixels = props.pixels.clone();
        let (w, h) = props.size;
        let signed = props.signed;
        use_effect_with((pixels, signed.map(f32::to_bits)), move |(pixels, _)| {
            if let Some(canvas) = canvas.cast::<HtmlCanvasElement>() {
                let rgba = match signed {
                    Some(scale) => diverging(pixels, scale),
                    None => greyscale(pixels),
                };
                draw(&canvas, &rgba, w, h);
            }
        });
    }
    let (w, h) = props.size;
    html! {
        <canvas ref={canvas} class="digit" width={w.to_string()} height={h.to_string()}
            role="img" aria-label={props.label.clone()} />
    }
}

/// MNIST's white ink on black.
fn greyscale(pixels: &[f32]) -> Vec<u8> {
    pixels
        .iter()
        .flat_map(|&p| {
            let v = (p.clamp(0.0, 1.0) * 255.0).round() as u8;
            [v, v, v, 255]
        })
        .collect()
}

/// Negative values blue, zero white, positive red, saturating at ±`scale`.
pub fn diverging(values: &[f32], scale: f32) -> Vec<u8> {
    let scale = if scale > 0.0 { scale } else { 1.0 };
    values
        .iter()
        .flat_map(|&v| {
            let t = (v / scale).clamp(-1.0, 1.0);
            let fade = ((1.0 - t.abs()) * 255.0).round() as u8;
            if t >= 0.0 {
                [255, fade, fade, 255]
            } else {
                [fade, fade, 255, 255]
            }
        })
        .collect()
}

fn draw(canvas: &HtmlCanvasElement, rgba: &[u8], w: usize, h: usize) {
    let Some(ctx) = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    if rgba.len() != w * h * 4 {
        return;
    }
    if let Ok(image) =
        ImageData::new_with_u8_clamped_array_and_sh(Clamped(rgba), w as u32, h as u32)
    {
        let _ = ctx.put_image_data(&image, 0.0, 0.0);
    }
}
