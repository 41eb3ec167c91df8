//! The `cellguard` package: the binary's wiring, also usable as a library by tests.
//!
//! [`pipeline`] connects ingest, privacy and publish into one release; [`bundled`] holds the
//! policies, schemas and classification compiled into the binary for `cellguard demo`.
//! Nothing here decides what is private: that is `cellguard-privacy`'s job.

#![deny(missing_docs)]

pub mod bundled;
pub mod pipeline;
pub mod timefmt;
