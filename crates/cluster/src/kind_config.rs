//! The kind cluster configuration (`kind.x-k8s.io/v1alpha4`).
