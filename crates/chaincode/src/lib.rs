//! Chaincode: Fabric 2.x lifecycle packages and (later) the lifecycle itself.

pub mod event;
pub mod image;
pub(crate) mod join;
pub mod lifecycle;
pub mod names;
pub mod nodebuild;
pub mod package;
pub mod vendor;
pub mod watch;
