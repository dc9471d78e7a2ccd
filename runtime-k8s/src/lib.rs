//! vpsie-autoscaler (work in progress).
