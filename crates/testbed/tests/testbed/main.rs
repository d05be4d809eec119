//! Integration tests of the testbed: one binary (one link) with a module per concern. Each test
//! binds its own 127.77.<n>.x addresses and port 47000+n (see `common::slot`).

mod active;
mod cli;
mod common;
mod decoys;
mod exchange;
mod fleet;
mod hostile;
