//! Long runs in the panels: a [`Job`] handle that a Stop button sets and the running work reads,
//! and the Run / Stop button pair every panel shows.

use std::cell::Cell;
use std::rc::Rc;

use yew::prelude::*;

/// One run's stop flag, shared between the panel and the work it started. A fresh job per run, so
/// a stale run never sees a later run's flag.
#[derive(Debug, Clone, Default)]
pub struct Job(Rc<Cell<bool>>);

impl Job {
    /// A job not yet asked to stop.
    pub fn new() -> Self {
        Self::default()
    }

    /// Ask the work to stop after its current step.
    pub fn stop(&self) {
        self.0.set(true);
    }

    /// Whether Stop was pressed.
    pub fn stopped(&self) -> bool {
        self.0.get()
    }

    /// Keep going: what the core's progress hooks return.
    pub fn go_on(&self) -> bool {
        !self.stopped()
    }
}

/// Properties of [`RunStop`].
#[derive(Properties, PartialEq)]
pub struct RunStopProps {
    /// Element id of the Run button (it submits the panel's form).
    pub run_id: AttrValue,
    /// Its text.
    pub run_label: AttrValue,
    /// Element id of the Stop button; no Stop button without one.
    #[prop_or_default]
    pub stop_id: Option<AttrValue>,
    /// A run is going.
    pub running: bool,
    /// Run is disabled for another reason (another job of the panel is going).
    #[prop_or_default]
    pub busy: bool,
    /// Pressed Stop.
    #[prop_or_default]
    pub on_stop: Callback<()>,
}

/// A submit button that starts the panel's run, and a Stop button enabled while it goes.
#[function_component(RunStop)]
pub fn run_stop(props: &RunStopProps) -> Html {
    let on_stop = props.on_stop.reform(|_: MouseEvent| ());
    html! {
        <>
        <button id={props.run_id.clone()} type="submit" disabled={props.running || props.busy}>
            { props.run_label.clone() }
        </button>
        { for props.stop_id.as_ref().map(|id| html! {
            <button id={id.clone()} type="button" disabled={!props.running} onclick={on_stop.clone()}>{ "Stop" }</button>
        }) }
        </>
    }
}
