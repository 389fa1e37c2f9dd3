//! Entry point that Trunk builds for the browser.

#[cfg(target_family = "wasm")]
unsafe extern "C" {
    /// Runs the module's static constructors (the `inventory` registrations of Burn's kernel
    /// compiler); wasm-ld synthesizes it.
    fn __wasm_call_ctors();
}

fn main() {
    // A module that never calls this itself counts, for wasm-ld, as a command called once: it then
    // re-runs every constructor at the start of each call from JavaScript into the module, which
    // took 77% (CPU backend) and 92% (WebGPU) of the page's main-thread time during a PGD run
    // (`npm run bench -- mnist profile`). Calling it here, once, before any other code of the
    // module, turns that off.
    #[cfg(target_family = "wasm")]
    // SAFETY: the linker's constructors, run once, first; nothing has read what they register.
    unsafe {
        __wasm_call_ctors()
    };
    perturb_web::start();
}
