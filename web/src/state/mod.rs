//! The page's state: one settings type per panel, the checks their values pass, and the URL codec
//! that reads and writes them all. No browser types here, so it is tested natively.

pub mod attack;
pub mod certify;
pub mod checks;
pub mod curves;
pub mod defenses;
pub mod query;
pub mod tour;
pub mod train;
pub mod url;

pub use certify::CertifySettings;
pub use curves::CurveSettings;
pub use defenses::DefenseSettings;
pub use train::TrainSettings;
pub use url::{Panel, RECOVERED_PARAM, UrlSettings};
