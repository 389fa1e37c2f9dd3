//! One module per subcommand.

pub mod attack;
pub mod audit;
pub mod autoattack;
pub mod certify;
pub mod convert;
pub mod data;
pub mod eval;
pub mod merge;
pub mod poison;
pub mod train;
pub mod transfer;
