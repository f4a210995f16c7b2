//! kind clusters: the cluster config fabdev renders, and (later) creating,
//! deleting and loading images into them.

pub mod doctor;
pub mod images;
pub mod k8s;
pub mod kind;
pub mod kind_config;
pub mod nodes;
