//! Plumbing every domain module leans on, kept apart from them: asynchronous readback (the browser
//! cannot block on the GPU), cooperative pacing of long loops, one-hot masks computed on the
//! device, and a seeded generator that draws the same numbers on every platform.

pub mod one_hot;
pub mod pace;
pub mod readback;
pub mod rng;
