//! The flows behind `fabdev up`, `down`, `status`, `channel create` and the
//! `chaincode` commands, as a library, for the CLI, CI (JSON lines) and
//! other projects' test harnesses.
//!
//! Every flow has the same shape, the one kind gives its `create` actions: a
//! list of named [`Step`]s run in order over one shared state (the loaded
//! [`Context`], the run's [`Connections`] to the cluster and its nodes, made
//! once and cached, plus what earlier steps made). Each step is one
//! function of the flow's module; every fallible call happens inside a
//! step, so a failure always reaches the reporter as `step_failed` with the
//! step's name; and steps emit typed
//! [`EventKind`](crate::events::EventKind)s, which the step runner stamps
//! with the step's name.
//!
//! | flow | its steps |
//! |---|---|
//! | [`up()`] | [`up::steps`] |
//! | [`down()`] | [`down::steps`] |
//! | [`status()`] | [`status::steps`] |
//! | [`create_channels`] | [`channel::steps`] |
//! | [`chaincodes::lifecycle`] (`deploy`, `install`, `approve`, `commit`, `instantiate`) | [`chaincodes::lifecycle_steps`] |
//! | [`chaincodes::call`] (`invoke`, `query`) | [`chaincodes::call_steps`] |
//! | [`chaincodes::list`] | [`chaincodes::list_steps`] |
//! | [`logs::logs`] (`chaincode logs`) | [`logs::steps`] |
//! | [`render()`] | [`render::steps`] |
//!
//! [`doctor()`] has no steps: its checks are its results, each reported as
//! an `EventKind::Check`.

pub mod chaincodes;
pub mod channel;
mod config_update;
mod connections;
mod context;
pub mod doctor;
pub mod down;
mod endpoints;
mod error;
pub mod identity;
pub mod logs;
mod options;
mod orderers;
mod ownership;
mod plan;
mod prepare;
pub mod render;
pub mod status;
mod steps;
pub mod trust;
pub mod up;

pub use channel::create_channels;
pub use connections::{Connections, EXISTING_CLUSTER_STEP, NODE_ENDPOINTS_STEP};
pub use context::{CREATING_MARKER, Context, ImagesToLoad, STATE_DIR, Target, WORKSPACE_ID_FILE};
pub use doctor::doctor;
pub use down::{DownReport, down};
pub use endpoints::endpoints_for;
pub use error::FlowError;
pub use options::{ClusterFlags, Options};
pub use ownership::{CLUSTER_ID_FILE, Ownership};
pub use prepare::{ensure_crypto, prepare, render_objects};
pub use render::render;
pub use status::{NodeStatus, Status, status};
pub use steps::{Step, StepFn, StepFuture, StepResult, run_step, run_steps};
pub use up::{UpReport, up};

#[cfg(test)]
mod tests;
