//! fabdev as a library: the flows behind the command line (and their typed
//! events), for other projects' test harnesses.

pub mod errors;
pub mod events;
pub mod flow;
pub mod lock;
