// @generated from the Rust schema IR of "arena" by tickwire-protocol (gen_ts.rs).
// Do not edit: regenerate with `TICKWIRE_UPDATE_TS=1 cargo test --test integration generated_ts`.

export * from './schema.js';
export * from './types.js';
