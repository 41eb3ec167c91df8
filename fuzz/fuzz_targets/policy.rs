//! Fuzz target: arbitrary bytes as a release policy, checked beside the bundled schemas and
//! classifications (so that valid references resolve and the deeper checks run). Checking must
//! never panic, whatever the bytes.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// A folder with the bundled schemas and classifications, where the fuzzed policy is written.
fn workdir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../policies");
        let dir = std::env::temp_dir().join(format!("cellguard-fuzz-policy-{}", std::process::id()));
        for sub in ["schemas", "classifications"] {
            let to = dir.join(sub);
            std::fs::create_dir_all(&to).expect("temp folder");
            for entry in std::fs::read_dir(src.join(sub)).expect("bundled files") {
                let entry = entry.expect("entry");
                std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
            }
        }
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let path = workdir().join("fuzzed.toml");
    if std::fs::write(&path, data).is_ok() {
        let _ = cellguard_privacy::check_policy(&path, None);
        let _ = cellguard_privacy::load_policy(&path, None);
    }
});
