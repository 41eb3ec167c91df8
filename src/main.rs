//! The `cellguard` command line: parses arguments, runs one command, and maps the outcome to a
//! documented exit status (0 success, 1 refused by policy or budget, 2 bad input or usage).

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // A panic message could quote data; print only where it happened.
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("cellguard: internal error at {at} (details withheld so that no data value is printed). This is a bug; nothing was released.");
    }));
    let parsed = match cli::Cli::try_parse() {
        Ok(p) => p,
        Err(e) => {
            let code = if e.use_stderr() { cellguard::pipeline::EXIT_BAD_INPUT } else { cellguard::pipeline::EXIT_OK };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli::run(parsed) {
        Ok(()) => ExitCode::from(cellguard::pipeline::EXIT_OK),
        Err(e) => {
            if !e.message.is_empty() {
                eprintln!("cellguard: {}", e.message);
            }
            ExitCode::from(e.code)
        }
    }
}
