//! Cooperative pacing: the core's long loops call [`pause`] between steps (PGD and C&W steps,
//! batches of an attack sweep or an evaluation, training steps). Natively it does nothing; the
//! page installs a hook that hands control back to the browser now and then, so the UI stays
//! responsive while the CPU backend computes on the page's only thread.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

/// What [`pause`] awaits: a fresh future per call.
pub type PauseHook = Rc<dyn Fn() -> Pin<Box<dyn Future<Output = ()>>>>;

thread_local! {
    static HOOK: RefCell<Option<PauseHook>> = const { RefCell::new(None) };
}

/// Install (or with `None` remove) this thread's pause hook.
pub fn set_pause_hook(hook: Option<PauseHook>) {
    HOOK.with(|h| *h.borrow_mut() = hook);
}

/// A point where long work may let others run.
pub async fn pause() {
    let pending = HOOK.with(|h| h.borrow().as_ref().map(|hook| hook()));
    if let Some(pending) = pending {
        pending.await;
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[test]
    fn pause_runs_the_installed_hook_and_nothing_without_one() {
        thread_local!(static CALLS: Cell<usize> = const { Cell::new(0) });
        pollster::block_on(pause());
        set_pause_hook(Some(Rc::new(|| {
            CALLS.with(|c| c.set(c.get() + 1));
            Box::pin(async {})
        })));
        pollster::block_on(async {
            pause().await;
            pause().await;
        });
        set_pause_hook(None);
        pollster::block_on(pause());
        assert_eq!(CALLS.with(Cell::get), 2);
    }
}
