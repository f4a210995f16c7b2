//! Chaincode: Fabric 2.x lifecycle packages and (later) the lifecycle itself.

pub mod lifecycle;
pub mod package;
pub mod vendor;
