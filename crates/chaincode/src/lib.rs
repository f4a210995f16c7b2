//! Chaincode: Fabric 2.x lifecycle packages and (later) the lifecycle itself.

pub mod image;
pub mod lifecycle;
pub mod nodebuild;
pub mod package;
pub mod vendor;
pub mod watch;
