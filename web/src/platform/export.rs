//! Saving what the page shows: a chart as SVG or PNG (its colours and fonts resolved from the
//! style sheet, so the file looks as it does on screen, in either colour scheme), a table or a
//! result as CSV or JSON. Every file is a `data:` link the browser downloads.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    CanvasRenderingContext2d, Element, HtmlAnchorElement, HtmlCanvasElement, HtmlImageElement,
};

const SVG_NS: &str = "http://www.w3.org/2000/svg";
/// The style properties a chart's elements take from the style sheet.
const INLINED: [&str; 7] = [
    "fill",
    "stroke",
    "stroke-width",
    "stroke-dasharray",
    "font-size",
    "font-family",
    "opacity",
];
/// PNG pixels per CSS pixel.
const PNG_SCALE: f64 = 2.0;

fn js(e: wasm_bindgen::JsValue) -> String {
    e.as_string()
        .or_else(|| {
            e.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| format!("{e:?}"))
}

fn document() -> Result<web_sys::Document, String> {
    web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| "no document".to_string())
}

/// Download `href` (a `data:` URL) as `name`.
fn download(name: &str, href: &str) -> Result<(), String> {
    let a: HtmlAnchorElement = document()?
        .create_element("a")
        .map_err(js)?
        .dyn_into()
        .map_err(|_| "not an anchor".to_string())?;
    a.set_href(href);
    a.set_download(name);
    a.click();
    Ok(())
}

/// Download `text` as `name`, of type `mime` (UTF-8).
pub fn save_text(name: &str, mime: &str, text: &str) -> Result<(), String> {
    let encoded = String::from(js_sys::encode_uri_component(text));
    download(name, &format!("data:{mime};charset=utf-8,{encoded}"))
}

/// The chart `id` as a standalone SVG document, with its width and height in CSS pixels.
pub fn svg_markup(id: &str) -> Result<(String, f64, f64), String> {
    let doc = document()?;
    let window = web_sys::window().ok_or("no window")?;
    let svg = doc
        .get_element_by_id(id)
        .ok_or_else(|| format!("no chart {id} on the page"))?;
    let copy: Element = svg
        .clone_node_with_deep(true)
        .map_err(js)?
        .dyn_into()
        .map_err(|_| "not an element".to_string())?;
    let (from, to) = (
        svg.query_selector_all("*").map_err(js)?,
        copy.query_selector_all("*").map_err(js)?,
    );
    for i in 0..from.length() {
        let (Some(original), Some(target)) = (
            from.item(i).and_then(|n| n.dyn_into::<Element>().ok()),
            to.item(i).and_then(|n| n.dyn_into::<Element>().ok()),
        ) else {
            continue;
        };
        let Some(style) = window.get_computed_style(&original).map_err(js)? else {
            continue;
        };
        let inline: Vec<String> = INLINED
            .iter()
            .filter_map(|p| {
                let v = style.get_property_value(p).ok()?;
                (!v.is_empty()).then(|| format!("{p}:{v}"))
            })
            .collect();
        target
            .set_attribute("style", &inline.join(";"))
            .map_err(js)?;
        target.remove_attribute("class").map_err(js)?;
    }
    // The chart's background (a style sheet colour) as the first shape.
    let rect = doc.create_element_ns(Some(SVG_NS), "rect").map_err(js)?;
    let bg = window
        .get_computed_style(&svg)
        .map_err(js)?
        .and_then(|s| s.get_property_value("background-color").ok())
        .unwrap_or_else(|| "white".into());
    for (k, v) in [("width", "100%"), ("height", "100%"), ("fill", bg.as_str())] {
        rect.set_attribute(k, v).map_err(js)?;
    }
    copy.insert_before(&rect, copy.first_child().as_ref())
        .map_err(js)?;
    copy.set_attribute("xmlns", SVG_NS).map_err(js)?;
    copy.remove_attribute("class").map_err(js)?;
    copy.remove_attribute("id").map_err(js)?;
    let dim = |name: &str| {
        copy.get_attribute(name)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(300.0)
    };
    let (w, h) = (dim("width"), dim("height"));
    Ok((copy.outer_html(), w, h))
}

/// Download the chart `id` as `name` (SVG).
pub fn save_svg(id: &str, name: &str) -> Result<(), String> {
    let (svg, _, _) = svg_markup(id)?;
    save_text(name, "image/svg+xml", &svg)
}

/// Download the chart `id` as `name` (PNG, at twice its CSS size).
pub async fn save_png(id: &str, name: &str) -> Result<(), String> {
    let (svg, w, h) = svg_markup(id)?;
    let image = HtmlImageElement::new().map_err(js)?;
    image.set_src(&format!(
        "data:image/svg+xml;charset=utf-8,{}",
        String::from(js_sys::encode_uri_component(&svg))
    ));
    JsFuture::from(image.decode()).await.map_err(js)?;
    let canvas: HtmlCanvasElement = document()?
        .create_element("canvas")
        .map_err(js)?
        .dyn_into()
        .map_err(|_| "not a canvas".to_string())?;
    canvas.set_width((w * PNG_SCALE) as u32);
    canvas.set_height((h * PNG_SCALE) as u32);
    let context: CanvasRenderingContext2d = canvas
        .get_context("2d")
        .map_err(js)?
        .ok_or("no 2D canvas")?
        .dyn_into()
        .map_err(|_| "not a 2D context".to_string())?;
    context
        .draw_image_with_html_image_element_and_dw_and_dh(
            &image,
            0.0,
            0.0,
            w * PNG_SCALE,
            h * PNG_SCALE,
        )
        .map_err(js)?;
    download(name, &canvas.to_data_url().map_err(js)?)
}
