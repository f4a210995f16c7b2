//! The Fabric network fabdev runs: the workspace spec, its topology, the
//! crypto material of every node and user, and the Kubernetes objects that
//! run it.

pub mod channel;
pub mod configtx;
pub mod fabric;
pub mod genesis;
pub mod pki;
pub mod policy;
pub mod profile;
pub mod reconcile;
pub mod render;
pub mod spec;
pub mod topology;

pub use spec::{SpecError, Workspace};
pub use topology::{Node, NodeKind, Topology};
