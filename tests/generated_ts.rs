//! The TypeScript SDK's generated files (`client-ts/src/generated/`) match the arena schema.

use std::path::PathBuf;

use tickwire::arena;
use tickwire_protocol::gen_ts::generate_ts;

const UPDATE_ENV: &str = "TICKWIRE_UPDATE_TS";
const REGENERATE: &str = "TICKWIRE_UPDATE_TS=1 cargo test --test integration generated_ts";

#[test]
fn generated_ts_is_up_to_date() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("client-ts/src/generated");
    let files = generate_ts(&arena::schema(), REGENERATE).expect("the arena schema compiles");
    if std::env::var(UPDATE_ENV).is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(&dir).expect("create client-ts/src/generated");
        for f in &files {
            std::fs::write(dir.join(f.name), &f.contents).expect("write a generated file");
        }
    }
    let mut stale = Vec::new();
    for f in &files {
        let path = dir.join(f.name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(f.contents.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "generated TypeScript is stale or missing: {}\nregenerate with `{REGENERATE}` and commit the result",
        stale.join(", ")
    );
}
