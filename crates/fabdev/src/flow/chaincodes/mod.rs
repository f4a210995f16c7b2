//! `fabdev chaincode deploy|install|approve|commit|instantiate`, `invoke`,
//! `query` and `list`: the chaincode lifecycle (`chaincode::lifecycle`) as
//! named steps, against the nodes' endpoints.
//!
//! | command | steps after `workspace` | module |
//! |---|---|---|
//! | `deploy` | `node endpoints`, `chaincodes`, then per chaincode `package X`, `install X`, `approve X`, `commit X` and, with `initRequired`, `init X` | `selection`, `deploy` |
//! | `install` | `node endpoints`, `chaincodes`, `package X`, `install X` | |
//! | `approve` | `node endpoints`, `chaincodes`, `package X`, `approve X` | |
//! | `commit` | `node endpoints`, `chaincodes`, `package X`, `commit X` | |
//! | `instantiate` | `node endpoints`, `chaincodes`, `package X`, `approve X`, `commit X`, `init X` (with `initRequired`) | |
//! | `invoke`, `query` | `node endpoints`, `invoke X F` / `query X F` | `calls` |
//! | `list` | `node endpoints`, `installed packages`, `committed on C` per channel | `list` |
//! | `watch` | `node endpoints`, `chaincodes`, `watch folders`; then rounds: the deploy steps, `start X`, `logs X` of each changed chaincode, and `wait for changes` between them | `watch` |
//!
//! `up` ends with the five deploy steps of every chaincode of fabdev.yaml
//! (the same functions, through `Deploys`). Every step acts only where
//! something is missing, so a deploy of an unchanged chaincode changes
//! nothing and says so, and a changed one is an upgrade at the next
//! sequence. `images` hands a chaincode image built by one peer to the
//! others. `run` holds the lifecycle commands' and `list`'s state
//! (`ChaincodeRun`); `calls` has its own (`CallRun`). No module here
//! imports one that imports it.

mod calls;
mod deploy;
mod images;
mod list;
mod run;
mod selection;
mod watch;

pub use calls::{Call, CallKind, CallResult, CallRun, call, call_steps};
pub use deploy::{ChaincodeReport, Deployments, LifecycleCommand};
pub(crate) use deploy::{DeployParts, Deploys, deploy_steps};
pub use images::DindImages;
pub(crate) use images::warm_builder;
pub use list::{list, list_steps};
pub use run::{ChaincodeRun, lifecycle, lifecycle_steps};
pub use selection::{Selection, select};
pub use watch::steps as watch_steps;
pub use watch::{WatchReport, WatchRequest, WatchRun, round_steps, watch};
