//! Progress bars for long runs (hidden when standard error is not a terminal).

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `total` `unit`s with rate and time left.
pub fn bar(total: usize, unit: &str) -> ProgressBar {
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{bar:40}} {{pos}}/{{len}} {unit}  {{per_sec}}  [{{elapsed_precise}}<{{eta}}]"
        ))
        .expect("static template"),
    );
    bar
}
