//! Entry point that Trunk builds for the browser.

fn main() {
    perturb_web::start();
}
