//! Images drawn on a canvas: a greyscale digit (scaled up with crisp pixels) or an RGB photo,
//! or a signed perturbation (a diverging colour map for digits; amplified colour for photos).

use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};
use yew::prelude::*;

/// Properties of [`Digit`].
#[derive(Properties, PartialEq)]
pub struct DigitProps {
    /// Pixels in [0, 1], channel-major (`[channels, height, width]`).
    pub pixels: Vec<f32>,
    /// The image's `[channels, height, width]` (1 or 3 channels).
    pub shape: [usize; 3],
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
        let [c, h, w] = props.shape;
        let signed = props.signed;
        use_effect_with((pixels, signed.map(f32::to_bits)), move |(pixels, _)| {
            if let Some(canvas) = canvas.cast::<HtmlCanvasElement>() {
                let rgba = match (signed, c) {
                    (Some(scale), 3) => amplified(pixels, scale),
                    (Some(scale), _) => diverging(pixels, scale),
                    (None, 3) => rgb(pixels),
                    (None, _) => greyscale(pixels),
                };
                draw(&canvas, &rgba, w, h);
            }
        });
    }
    let [c, h, w] = props.shape;
    html! {
        <canvas ref={canvas} class={classes!("digit", (c == 3).then_some("photo"))}
            width={w.to_string()} height={h.to_string()}
            role="img" aria-label={props.label.clone()} />
    }
}

/// Channel-major RGB values as RGBA bytes.
fn rgb(pixels: &[f32]) -> Vec<u8> {
    let plane = pixels.len() / 3;
    let byte = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    (0..plane)
        .flat_map(|i| {
            [
                byte(pixels[i]),
                byte(pixels[plane + i]),
                byte(pixels[2 * plane + i]),
                255,
            ]
        })
        .collect()
}

/// A signed RGB perturbation made visible: grey for zero, each channel pushed towards 0 or 1 in
/// proportion to its value over `scale` (so ±ε fills the range whatever ε is).
fn amplified(values: &[f32], scale: f32) -> Vec<u8> {
    let scale = if scale > 0.0 { scale } else { 1.0 };
    let shown: Vec<f32> = values.iter().map(|v| 0.5 + 0.5 * v / scale).collect();
    rgb(&shown)
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
