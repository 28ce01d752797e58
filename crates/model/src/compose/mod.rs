//! Compose files as `docker stack deploy` reads them: the typed model
//! ([`types`]), the keys swarm uses or ignores ([`keys`]), the decoder by
//! section ([`decode`]) and the checks that every name a service uses is
//! declared ([`references`]). Interpolation happens before decoding, in the
//! loader; short syntaxes (ports, volumes, sizes…) live in [`crate::syntax`].

pub mod decode;
pub mod keys;
pub mod references;
pub mod types;

pub use types::*;
