//! Advanced file transfer (TOOL-5) on the native peer: the customer's side
//! confines every path to the folders they granted, and either side moves
//! files with the resumable protocol of
//! [`tandem_wire::channels::remote_files`] (`docs/file-transfer.md`).
//!
//! ```text
//! rfile-<id> channel --TransferMessage/chunks--> Transfers --> Sender / Receiver (pure)
//!                                                                |          |
//!                                           FileSource (read) <--+          +--> FileSink (write)
//!                                                 |                                |
//!                                        disk::DiskSource                  disk::DiskSink
//!                                                 \___ sandbox: Roots, SandboxedPath, SandboxedDir ___/
//! ```
//!
//! - [`sandbox`]: paths below granted roots, resolved at open time (no `..`,
//!   no link out, no device, FIFO or socket).
//! - [`transfer`]: the sender and receiver state machines (bytes in,
//!   messages out; no sockets, no clock), and [`transfer::Transfers`], several
//!   at once with suspension and resume.
//! - [`disk`]: the file-system backends of the transfer traits, listings and manifests.

pub mod disk;
pub mod sandbox;
pub mod transfer;
