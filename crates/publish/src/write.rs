//! The atomic write of a release folder: every file is written and synced in a hidden
//! temporary folder beside the target, which is then renamed into place. A failed run leaves
//! no release folder (and removes its temporary one).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use cellguard_privacy::ProtectedRelease;

use crate::cells::write_cells;
use crate::error::PublishError;
use crate::manifest::{build, FileDigest, Manifest, ReleaseContext};
use crate::{hex, report};

/// The UTF-8 byte-order mark written at the start of `cells.csv`.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The outcome of a write.
#[derive(Debug, Clone)]
pub struct WrittenRelease {
    /// The release folder.
    pub path: PathBuf,
    /// The manifest as written.
    pub manifest: Manifest,
}

fn write_synced(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<FileDigest, PublishError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if let Some(mode) = mode {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = options.open(path).map_err(|e| PublishError::io(path, "create", e))?;
    f.write_all(bytes).map_err(|e| PublishError::io(path, "write", e))?;
    f.sync_all().map_err(|e| PublishError::io(path, "sync", e))?;
    Ok(FileDigest {
        name: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        sha256: hex(&Sha256::digest(bytes)),
        bytes: bytes.len() as u64,
    })
}

fn sync_dir(path: &Path) -> Result<(), PublishError> {
    fs::File::open(path).and_then(|d| d.sync_all()).map_err(|e| PublishError::io(path, "sync", e))
}

/// Removes the temporary folder when dropped, unless disarmed.
struct TempGuard(Option<PathBuf>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_dir_all(p);
        }
    }
}

/// Test-only crash injection, in debug builds only (release builds ignore it):
/// `CELLGUARD_FAILPOINT=NAME` makes the step `NAME` fail with an error, and
/// `CELLGUARD_FAILPOINT=abort:NAME` kills the process there without any clean-up, as a crash or
/// `kill -9` would. Steps: `after-ledger`, `after-cells`, `before-rename`, `after-aside`.
pub fn failpoint(name: &str) -> std::io::Result<()> {
    if !cfg!(debug_assertions) {
        return Ok(());
    }
    match std::env::var("CELLGUARD_FAILPOINT") {
        Ok(v) if v == name => {
            Err(std::io::Error::other(format!("injected failure at `{name}` (CELLGUARD_FAILPOINT, debug builds only)")))
        }
        Ok(v) if v.strip_prefix("abort:") == Some(name) => std::process::abort(),
        _ => Ok(()),
    }
}

/// Whether the process `pid` is alive (Linux: its `/proc` entry exists). Elsewhere every
/// process counts as alive, so nothing is recovered.
fn alive(pid: u32) -> bool {
    !cfg!(target_os = "linux") || Path::new("/proc").join(pid.to_string()).exists()
}

/// Clears what a crashed earlier run left beside `out`: its unfinished temporary folder is
/// removed, and a release it had moved aside to replace is put back if `out` is missing (the
/// crash came before the new one was in place). Folders of live runs are left alone.
fn recover(parent: &Path, base: &str, out: &Path) -> Result<(), PublishError> {
    let Ok(entries) = fs::read_dir(parent) else { return Ok(()) };
    let mut stale: Vec<(bool, PathBuf)> = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        for (old, tag) in [(false, ".tmp-"), (true, ".old-")] {
            let prefix = format!(".{base}{tag}");
            let pid = name.strip_prefix(&prefix).and_then(|rest| rest.split('-').next()).and_then(|p| p.parse().ok());
            if let Some(pid) = pid {
                if !alive(pid) {
                    stale.push((old, entry.path()));
                }
            }
        }
    }
    stale.sort();
    for (old, path) in stale {
        if old && !out.exists() && path.join("manifest.json").is_file() {
            fs::rename(&path, out)
                .map_err(|e| PublishError::io(&path, "restore a release a crashed run moved aside", e))?;
        } else {
            fs::remove_dir_all(&path).map_err(|e| PublishError::io(&path, "remove what a crashed run left", e))?;
        }
    }
    Ok(())
}

/// Clears what a crashed earlier run left beside `out` (see `recover`); `run` calls it before
/// it checks whether `out` exists.
pub fn recover_crashed(out: &Path) -> Result<(), PublishError> {
    let (parent, base) = parent_and_base(out);
    recover(&parent, &base, out)
}

/// The folder a release is written in, and the release folder's name (which names its
/// temporary and moved-aside siblings).
fn parent_and_base(out: &Path) -> (PathBuf, String) {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let base = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "release".into());
    (parent, base)
}

/// Writes `cells.csv`, `report.md` and `manifest.json` for `release` into a new folder `out`.
/// Fails with [`PublishError::Exists`] if `out` exists.
pub fn write_release(
    out: &Path,
    release: &ProtectedRelease,
    ctx: &ReleaseContext,
) -> Result<WrittenRelease, PublishError> {
    let (parent, base) = parent_and_base(out);
    recover(&parent, &base, out)?;
    if out.exists() && !ctx.replace {
        return Err(PublishError::Exists { path: out.to_path_buf() });
    }
    if out.exists() && !out.join("manifest.json").is_file() {
        // --force replaces releases, never arbitrary folders.
        return Err(PublishError::Invalid {
            path: out.to_path_buf(),
            message: "exists and is not a release folder (no manifest.json); it is never replaced".into(),
        });
    }
    if !parent.is_dir() {
        return Err(PublishError::io(
            &parent,
            "use the parent folder",
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let tmp = parent.join(format!(".{base}.tmp-{}-{nanos}", std::process::id()));
    let mut dir = fs::DirBuilder::new();
    #[cfg(unix)]
    if let Some(mode) = ctx.file_mode {
        use std::os::unix::fs::DirBuilderExt;
        // Directories need the execute bit wherever they are readable.
        dir.mode(mode | ((mode & 0o444) >> 2));
    }
    dir.create(&tmp).map_err(|e| PublishError::io(&tmp, "create", e))?;
    let mut guard = TempGuard(Some(tmp.clone()));

    let mut cells = Vec::with_capacity(release.n_cells() * release.measures().len() * 96);
    cells.extend_from_slice(BOM);
    let n_rows = write_cells(release, &mut cells)
        .map_err(|e| PublishError::io(tmp.join("cells.csv"), "write", std::io::Error::other(e.to_string())))?;
    let cells_digest = write_synced(&tmp.join("cells.csv"), &cells, ctx.file_mode)?;
    drop(cells);
    failpoint("after-cells").map_err(|e| PublishError::io(&tmp, "write", e))?;

    // The report is rendered from the manifest, which lists the report itself, so render it
    // from a manifest that lists cells.csv only, then list both in the final manifest.
    let draft = build(release, ctx, n_rows, vec![cells_digest.clone()]);
    let report_text = report::render(&draft);
    let report_digest = write_synced(&tmp.join("report.md"), report_text.as_bytes(), ctx.file_mode)?;
    let manifest = build(release, ctx, n_rows, vec![cells_digest, report_digest]);
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| PublishError::io(tmp.join("manifest.json"), "serialise", std::io::Error::other(e.to_string())))?;
    write_synced(&tmp.join("manifest.json"), &json, ctx.file_mode)?;
    sync_dir(&tmp)?;
    failpoint("before-rename").map_err(|e| PublishError::io(out, "move the finished release into place", e))?;

    // Replacing: the old release steps aside under a hidden name first, so at every moment the
    // folder holds either the whole old release or the whole new one (never a mix).
    let old = parent.join(format!(".{base}.old-{}-{nanos}", std::process::id()));
    let replacing = out.exists();
    if replacing {
        if !ctx.replace {
            return Err(PublishError::Exists { path: out.to_path_buf() });
        }
        fs::rename(out, &old).map_err(|e| PublishError::io(out, "move the old release aside", e))?;
        if let Err(e) = failpoint("after-aside") {
            let _ = fs::rename(&old, out);
            return Err(PublishError::io(out, "move the finished release into place", e));
        }
    }
    if let Err(e) = fs::rename(&tmp, out) {
        if replacing {
            let _ = fs::rename(&old, out);
        }
        return Err(PublishError::io(out, "move the finished release into place", e));
    }
    guard.0 = None;
    sync_dir(&parent)?;
    if replacing {
        fs::remove_dir_all(&old).map_err(|e| PublishError::io(&old, "remove the replaced release", e))?;
    }
    Ok(WrittenRelease { path: out.to_path_buf(), manifest })
}
