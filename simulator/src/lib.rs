//! vpsie-sim (work in progress).
