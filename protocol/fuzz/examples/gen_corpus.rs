//! Writes the seed corpus of every fuzz target to `corpus/<target>/` (next to `Cargo.toml`),
//! after checking each seed: valid seeds decode frame by frame, and no seed panics its target.
//! Hand-added inputs (any name not starting with `valid-` or `edge-`, e.g. `regress-*`) are
//! kept and replayed through their target too.
//!
//! ```text
//! cargo run --example gen_corpus            # write the seeds
//! cargo run --example gen_corpus -- --check # only check the committed seeds are current
//! ```

use std::path::Path;

use tickwire_protocol::{Layout, Schema};
use tickwire_protocol_fuzz::check::{
    check_client_message, check_input_frame, check_server_message, check_snapshot_frame,
};
use tickwire_protocol_fuzz::fixture::{layout, split_frames, test_world};
use tickwire_protocol_fuzz::seeds::{Seed, seeds};

fn frame_is_valid(seed: &Seed, frame: &[u8]) -> bool {
    let layout = layout();
    match seed.target {
        "client_frame" => {
            check_client_message(frame).is_some() || check_input_frame(&layout, frame).is_some()
        }
        "snapshot" => check_snapshot_frame(&layout, frame, |b| Some(test_world(b))).is_some(),
        "server_frame" => {
            check_server_message(frame).is_some()
                || tickwire_protocol::peek_snapshot_header(frame).is_ok()
        }
        "schema" => postcard::take_from_bytes::<Schema>(frame)
            .ok()
            .is_some_and(|(s, _)| Layout::new(&s).is_ok()),
        "round_trip" => true,
        other => panic!("unknown target {other}"),
    }
}

fn run_target(seed: &Seed) {
    target_fn(seed.target)(&seed.bytes);
}

fn target_fn(target: &str) -> fn(&[u8]) {
    match target {
        "client_frame" => tickwire_protocol_fuzz::client_frame,
        "snapshot" => tickwire_protocol_fuzz::snapshot,
        "server_frame" => tickwire_protocol_fuzz::server_frame,
        "schema" => tickwire_protocol_fuzz::schema,
        "round_trip" => tickwire_protocol_fuzz::round_trip,
        other => panic!("unknown target {other}"),
    }
}

fn main() {
    let check_only = std::env::args().any(|a| a == "--check");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut stale = 0;
    for seed in seeds() {
        let frames = split_frames(&seed.bytes);
        assert_eq!(
            frames.len(),
            seed.frames,
            "{}/{}: separator inside a frame",
            seed.target,
            seed.name
        );
        if seed.is_valid() {
            for (i, f) in frames.iter().enumerate() {
                assert!(
                    frame_is_valid(&seed, f),
                    "{}/{}: frame {i} does not decode",
                    seed.target,
                    seed.name
                );
            }
        }
        run_target(&seed);
        let dir = root.join(seed.target);
        let path = dir.join(&seed.name);
        if check_only {
            if std::fs::read(&path).ok().as_deref() != Some(&seed.bytes[..]) {
                eprintln!("stale or missing: {}", path.display());
                stale += 1;
            }
        } else {
            std::fs::create_dir_all(&dir).expect("create corpus directory");
            std::fs::write(&path, &seed.bytes).expect("write seed");
            eprintln!("{:>6} bytes  {}", seed.bytes.len(), path.display());
        }
    }
    // Generated seeds no longer listed; hand-added ones (`regress-*`) are kept.
    let all = seeds();
    for target in [
        "client_frame",
        "snapshot",
        "server_frame",
        "schema",
        "round_trip",
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(target)) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let generated = name.starts_with("valid-") || name.starts_with("edge-");
            if !generated {
                // A hand-added regression input: it must still pass its target.
                let bytes = std::fs::read(e.path()).expect("read seed");
                target_fn(target)(&bytes);
                eprintln!("replayed {}", e.path().display());
                continue;
            }
            if !all.iter().any(|s| s.target == target && s.name == name) {
                if check_only {
                    eprintln!("no longer generated: {}", e.path().display());
                    stale += 1;
                } else {
                    std::fs::remove_file(e.path()).expect("remove old seed");
                    eprintln!("removed {}", e.path().display());
                }
            }
        }
    }
    if stale > 0 {
        eprintln!("{stale} seeds differ: run `cargo run --example gen_corpus`");
        std::process::exit(1);
    }
}
