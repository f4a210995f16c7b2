//! The outside world below the Fabric network: kind (its config, create,
//! delete), the Kubernetes API (apply, waits, port-forwards), Docker (image
//! pulls and transfers) and the images inside kind nodes, and the doctor's
//! checks of the host.

pub mod builder;
pub mod dind;
pub mod doctor;
pub mod errors;
pub mod exec;
pub mod images;
pub mod k8s;
pub mod kind;
pub mod kind_config;
pub mod node_images;
pub mod provider;
