//! `cellguard verify`: check a release folder.

use std::path::PathBuf;

use clap::Args;

use cellguard_publish::verify_release;

use super::{say, CliError};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The release folder.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

pub fn execute(args: VerifyArgs) -> Result<(), CliError> {
    let report = verify_release(&args.dir).map_err(|e| CliError::usage(e.to_string()))?;
    say(&format!("{}: intact ({} files, {} rows)", args.dir.display(), report.files, report.rows));
    Ok(())
}
