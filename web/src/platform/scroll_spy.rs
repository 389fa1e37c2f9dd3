//! Which panel the reader is looking at, for the panel bar's `aria-current`: the last panel whose
//! top has passed a line a third of the way down the window. At the end of the page, where a short
//! last panel never reaches the line, the panel the address's fragment names (the link followed)
//! wins if it is on screen.

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{AddEventListenerOptions, HtmlAnchorElement};

/// Where the reading line sits, as a fraction of the window's height.
const LINE: f64 = 1.0 / 3.0;

/// Index of the current section given each section's top (window coordinates, document order),
/// the window height, whether the page is scrolled to its end, and the section the address's
/// fragment names. `None` when there are no sections.
pub fn current(
    tops: &[f64],
    view_height: f64,
    at_end: bool,
    fragment: Option<usize>,
) -> Option<usize> {
    if tops.is_empty() {
        return None;
    }
    if at_end
        && let Some(named) = fragment
        && tops
            .get(named)
            .is_some_and(|&top| (0.0..view_height).contains(&top))
    {
        return Some(named);
    }
    let line = view_height * LINE;
    Some(tops.iter().rposition(|&top| top <= line).unwrap_or(0))
}

/// The `data-panel` of the panel bar's link whose panel is current now.
pub fn current_panel() -> Option<String> {
    let window = web_sys::window()?;
    let document = window.document()?;
    let links = document
        .query_selector_all("#panel-nav a[data-panel]")
        .ok()?;
    let fragment = window.location().hash().ok().unwrap_or_default();
    let mut ids = Vec::new();
    let mut tops = Vec::new();
    let mut named = None;
    for i in 0..links.length() {
        let Some(link) = links
            .item(i)
            .and_then(|n| n.dyn_into::<HtmlAnchorElement>().ok())
        else {
            continue;
        };
        let target = link.hash();
        let Some(section) = document.get_element_by_id(target.trim_start_matches('#')) else {
            continue;
        };
        if !fragment.is_empty() && target == fragment {
            named = Some(ids.len());
        }
        ids.push(link.get_attribute("data-panel")?);
        tops.push(section.get_bounding_client_rect().top());
    }
    let height = window.inner_height().ok()?.as_f64()?;
    let scrolled = window.scroll_y().ok()? + height;
    let page = f64::from(document.document_element()?.scroll_height());
    let at_end = scrolled >= page - 2.0;
    ids.into_iter().nth(current(&tops, height, at_end, named)?)
}

/// Call `on_scroll` whenever the window scrolls or resizes, for the life of the page.
pub fn watch(on_scroll: impl Fn() + 'static) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let listener = Closure::<dyn Fn()>::new(on_scroll);
    let options = AddEventListenerOptions::new();
    options.set_passive(true);
    for event in ["scroll", "resize"] {
        let _ = window.add_event_listener_with_callback_and_add_event_listener_options(
            event,
            listener.as_ref().unchecked_ref(),
            &options,
        );
    }
    // The page lives as long as the listener.
    listener.forget();
}

#[cfg(test)]
mod tests {
    use super::current;

    #[test]
    fn the_last_section_past_the_line_is_current() {
        // Window 900 high: the line is at 300.
        assert_eq!(current(&[], 900.0, false, None), None);
        assert_eq!(
            current(&[120.0, 800.0, 1600.0], 900.0, false, None),
            Some(0)
        );
        assert_eq!(
            current(&[-700.0, 250.0, 1100.0], 900.0, false, None),
            Some(1)
        );
        assert_eq!(
            current(&[-700.0, 300.0, 1100.0], 900.0, false, None),
            Some(1)
        );
        assert_eq!(
            current(&[-700.0, 301.0, 1100.0], 900.0, false, None),
            Some(0)
        );
        // Before the first section reaches the line, the first is current.
        assert_eq!(current(&[500.0, 1400.0], 900.0, false, None), Some(0));
        // Away from the end the fragment does not matter.
        assert_eq!(
            current(&[-700.0, 250.0, 700.0], 900.0, false, Some(2)),
            Some(1)
        );
    }

    #[test]
    fn at_the_end_of_the_page_the_followed_link_wins_if_on_screen() {
        // Scrolled to the end, a short last section sits below the line: which one the reader
        // asked for decides; with no fragment (or one off screen) the line still does.
        assert_eq!(
            current(&[-900.0, 100.0, 700.0], 900.0, true, Some(2)),
            Some(2)
        );
        assert_eq!(
            current(&[-900.0, 100.0, 700.0], 900.0, true, Some(1)),
            Some(1)
        );
        assert_eq!(current(&[-900.0, 100.0, 700.0], 900.0, true, None), Some(1));
        assert_eq!(
            current(&[-900.0, 100.0, 700.0], 900.0, true, Some(0)),
            Some(1)
        );
    }
}
