//! vpsie-api (work in progress).
