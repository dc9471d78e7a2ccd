//! vpsie-sim (work in progress).
pub mod cloud;
pub mod mock;
