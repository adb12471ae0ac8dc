//! Test kit: fixtures shared by this crate's tests, benches and fuzz targets. **Not part of
//! the stable API**: compiled only with the `testkit` cargo feature, it changes whenever the
//! tests need it to, without a semver bump.
//!
//! - [`rng`]: the seeded generator ([`rng::Rng`]) and the one-shot mixer ([`rng::mix`]), both
//!   splitmix64 so every stream and fixture stays the same across versions.
//! - [`fixture`]: a schema with every field type, deterministic worlds of any layout, valid
//!   input words and the separator of multi-frame fuzz inputs.
//! - [`frames`]: valid frames of every type built from the fixture (hello, welcome, snapshot,
//!   input), and the snapshot encoder with fresh scratch space the tests, benches and fuzz
//!   targets share.
//!
//! The committed fuzz seed corpus and the test data are derived from these functions: a
//! change to what they return changes the corpus (`gen_corpus -- --check` in `fuzz/` notices).

pub mod fixture;
pub mod frames;
pub mod rng;
