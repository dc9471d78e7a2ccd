//! vpsie-client (work in progress).
