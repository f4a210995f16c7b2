//! Kubernetes objects.
