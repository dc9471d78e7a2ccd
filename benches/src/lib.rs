//! vpsie-benches (work in progress).
