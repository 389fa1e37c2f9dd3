//! Bring your own digit: draw on a canvas or upload a picture. Either becomes greyscale pixels
//! that the core turns into an MNIST-style 28×28 image ([`mnist_style`]); anything the browser
//! cannot decode, too large or blank is refused with a message.

use perturb::data::preprocess::{MAX_SIDE, mnist_style};
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, HtmlInputElement, PointerEvent};
use yew::prelude::*;

/// Side of the drawing canvas, in pixels.
const PAD: u32 = 280;
/// Largest accepted upload.
pub const MAX_UPLOAD_BYTES: f64 = 10.0 * 1024.0 * 1024.0;

/// Properties of [`Sketch`].
#[derive(Properties, PartialEq)]
pub struct SketchProps {
    /// Told the prepared 28×28 image, or why there is none.
    pub on_picture: Callback<Result<Vec<u8>, String>>,
}

/// Messages of [`Sketch`].
pub enum SketchMsg {
    /// Pen down at (x, y).
    Down(f64, f64),
    /// Pen moved to (x, y).
    Move(f64, f64),
    /// Pen up.
    Up,
    /// Wipe the pad.
    Clear,
    /// Classify the drawing.
    UseDrawing,
    /// A file was picked.
    Upload,
}

/// The drawing pad and the upload button.
pub struct Sketch {
    canvas: NodeRef,
    file: NodeRef,
    last: Option<(f64, f64)>,
}

fn context(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok()??.dyn_into().ok()
}

/// Greyscale values in [0, 1] of a canvas's pixels; transparent counts as white paper.
fn greyscale(canvas: &HtmlCanvasElement) -> Result<Vec<f32>, String> {
    let ctx = context(canvas).ok_or("no 2D canvas")?;
    let (w, h) = (canvas.width(), canvas.height());
    let data = ctx
        .get_image_data(0.0, 0.0, f64::from(w), f64::from(h))
        .map_err(|_| "the picture's pixels cannot be read")?
        .data();
    Ok(luma_over_white(&data))
}

/// Greyscale values in [0, 1] of RGBA bytes, transparency over white paper.
fn luma_over_white(rgba: &[u8]) -> Vec<f32> {
    rgba.chunks_exact(4)
        .map(|p| {
            let luma =
                (0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
                    / 255.0;
            let alpha = f32::from(p[3]) / 255.0;
            luma * alpha + (1.0 - alpha)
        })
        .collect()
}

/// Decode `file` with the browser, check its size, and prepare it.
async fn prepare_upload(file: web_sys::File) -> Result<Vec<u8>, String> {
    if file.size() > MAX_UPLOAD_BYTES {
        return Err(format!(
            "{:?} is {:.1} MB; the limit is 10 MB",
            crate::state::checks::truncate(&file.name()),
            file.size() / 1024.0 / 1024.0
        ));
    }
    let (w, h, rgba) = crate::platform::browser::decode_picture(&file, MAX_SIDE as u32)
        .await
        .map_err(|e| format!("{:?}: {e}", crate::state::checks::truncate(&file.name())))?;
    mnist_style(&luma_over_white(&rgba), w as usize, h as usize).map_err(|e| e.to_string())
}

impl Sketch {
    fn pad(&self) -> Option<(HtmlCanvasElement, CanvasRenderingContext2d)> {
        let canvas = self.canvas.cast::<HtmlCanvasElement>()?;
        let ctx = context(&canvas)?;
        Some((canvas, ctx))
    }

    fn clear(&self) {
        if let Some((_, ctx)) = self.pad() {
            ctx.set_fill_style_str("#000");
            ctx.fill_rect(0.0, 0.0, f64::from(PAD), f64::from(PAD));
        }
    }

    fn stroke(&self, from: (f64, f64), to: (f64, f64)) {
        if let Some((_, ctx)) = self.pad() {
            ctx.set_stroke_style_str("#fff");
            ctx.set_line_width(22.0);
            ctx.set_line_cap("round");
            ctx.set_line_join("round");
            ctx.begin_path();
            ctx.move_to(from.0, from.1);
            ctx.line_to(to.0, to.1);
            ctx.stroke();
        }
    }
}

impl Component for Sketch {
    type Message = SketchMsg;
    type Properties = SketchProps;

    fn create(_ctx: &Context<Self>) -> Self {
        Self {
            canvas: NodeRef::default(),
            file: NodeRef::default(),
            last: None,
        }
    }

    fn rendered(&mut self, _ctx: &Context<Self>, first_render: bool) {
        if first_render {
            self.clear();
        }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Self::Message) -> bool {
        match msg {
            SketchMsg::Down(x, y) => {
                self.stroke((x, y), (x, y));
                self.last = Some((x, y));
            }
            SketchMsg::Move(x, y) => {
                if let Some(last) = self.last {
                    self.stroke(last, (x, y));
                    self.last = Some((x, y));
                }
            }
            SketchMsg::Up => self.last = None,
            SketchMsg::Clear => self.clear(),
            SketchMsg::UseDrawing => {
                let picture = self
                    .pad()
                    .ok_or_else(|| "no drawing pad".to_string())
                    .and_then(|(canvas, _)| greyscale(&canvas))
                    .and_then(|gray| {
                        mnist_style(&gray, PAD as usize, PAD as usize).map_err(|e| e.to_string())
                    });
                ctx.props().on_picture.emit(picture);
            }
            SketchMsg::Upload => {
                let file = self
                    .file
                    .cast::<HtmlInputElement>()
                    .and_then(|input| input.files())
                    .and_then(|files| files.get(0));
                if let Some(file) = file {
                    let on_picture = ctx.props().on_picture.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        on_picture.emit(prepare_upload(file).await);
                    });
                }
            }
        }
        false
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let at = |e: &PointerEvent| {
            let (x, y) = (f64::from(e.offset_x()), f64::from(e.offset_y()));
            // The pad may be drawn narrower than its pixels (a phone): map back to them.
            let shown = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlCanvasElement>().ok())
                .map(|c| f64::from(c.client_width()))
                .filter(|&w| w > 0.0);
            let scale = shown.map_or(1.0, |w| f64::from(PAD) / w);
            (x * scale, y * scale)
        };
        html! {
            <details id="bring-your-own" class="byo">
                <summary>{ "Draw a digit or upload a picture" }</summary>
                <div class="byo-body">
                    <canvas ref={self.canvas.clone()} id="sketch" class="sketch" width={PAD.to_string()} height={PAD.to_string()}
                        aria-label="drawing pad: draw a digit with the mouse, a pen or a finger"
                        onpointerdown={link.callback(move |e: PointerEvent| {
                            e.prevent_default();
                            let (x, y) = at(&e);
                            SketchMsg::Down(x, y)
                        })}
                        onpointermove={link.callback(move |e: PointerEvent| { let (x, y) = at(&e); SketchMsg::Move(x, y) })}
                        onpointerup={link.callback(|_| SketchMsg::Up)}
                        onpointercancel={link.callback(|_| SketchMsg::Up)}
                        onpointerleave={link.callback(|_| SketchMsg::Up)} />
                    <div class="byo-actions">
                        <button id="sketch-use" onclick={link.callback(|_| SketchMsg::UseDrawing)}>{ "Use the drawing" }</button>
                        <button id="sketch-clear" onclick={link.callback(|_| SketchMsg::Clear)}>{ "Clear" }</button>
                        <label>{ "or upload " }
                            <input ref={self.file.clone()} id="upload" type="file" accept="image/*"
                                onchange={link.callback(|_| SketchMsg::Upload)} />
                        </label>
                        <p class="note">{ "The picture is scaled and centred as MNIST's digits were (strokes in a \
                            20×20 box, centre of mass in the middle of 28×28); dark ink on light paper is inverted. \
                            Nothing leaves your browser." }</p>
                    </div>
                </div>
            </details>
        }
    }
}
