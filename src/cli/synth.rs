//! `cellguard synth`: synthetic source extracts.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use cellguard_synth::{
    helsinki_postal_codes, write_area_indicators, write_food_aggregates, write_food_cards, write_payment_defaults,
    write_sports_licences, write_youth_chat, AreaIndicatorsOptions, FoodAggregatesOptions, FoodCardsOptions,
    PaymentDefaultsOptions, SportsLicencesOptions, YouthChatOptions,
};

use super::{say, CliError};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum Source {
    /// Payment-default entries (unit of privacy: person).
    PaymentDefaults,
    /// Youth chat conversations, one row each (unit of privacy: chat session).
    YouthChat,
    /// Sports licences, one to three per person (unit of privacy: person).
    SportsLicences,
    /// Card-level food sales by week and product group (unit of privacy: loyalty card);
    /// `;`, decimal comma, CRLF, UTF-8 with a byte-order mark.
    FoodCards,
    /// Retailer-pre-aggregated food sales (no unit of privacy); `;`, decimal comma, CRLF,
    /// Windows-1252. At most one row per retailer, postal code, week and product group.
    FoodAggregates,
    /// Regional indicators, already aggregated (no unit of privacy). At most one row per
    /// sub-area and indicator.
    AreaIndicators,
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Which source.
    #[arg(value_enum)]
    source: Source,
    /// Rows to write.
    #[arg(long, value_name = "N")]
    rows: u64,
    /// Seed.
    #[arg(long, default_value_t = 1, value_name = "S")]
    seed: u64,
    /// The year most records fall in.
    #[arg(long, default_value_t = 2025, value_name = "YEAR")]
    year: i32,
    /// The file to write; it must not exist.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// Writes `rows` synthetic rows of `source` to `file`; returns the rows written and a note on
/// the units (persons, conversations, cards).
pub(super) fn write_source(
    source: Source,
    rows: u64,
    seed: u64,
    year: i32,
    file: std::fs::File,
) -> std::io::Result<(u64, String)> {
    Ok(match source {
        Source::PaymentDefaults => {
            let options = PaymentDefaultsOptions { rows, seed, year, subareas: cellguard::bundled::subarea_codes() };
            let persons = write_payment_defaults(&options, file)?;
            (rows, format!(" ({persons} persons)"))
        }
        Source::YouthChat => {
            let options = YouthChatOptions { rows, seed, year, subareas: cellguard::bundled::subarea_codes() };
            let conversations = write_youth_chat(&options, file)?;
            (rows, format!(" ({conversations} conversations)"))
        }
        Source::SportsLicences => {
            let options = SportsLicencesOptions { rows, seed, year, subareas: cellguard::bundled::subarea_codes() };
            let persons = write_sports_licences(&options, file)?;
            (rows, format!(" ({persons} persons)"))
        }
        Source::FoodCards => {
            let options = FoodCardsOptions { rows, seed, year, postal_codes: helsinki_postal_codes() };
            let cards = write_food_cards(&options, file)?;
            (rows, format!(" ({cards} cards)"))
        }
        Source::FoodAggregates => {
            let options = FoodAggregatesOptions { rows, seed, year, postal_codes: helsinki_postal_codes() };
            (write_food_aggregates(&options, file)?, String::new())
        }
        Source::AreaIndicators => {
            let options = AreaIndicatorsOptions { rows, seed, year, subareas: cellguard::bundled::subarea_codes() };
            (write_area_indicators(&options, file)?, String::new())
        }
    })
}

pub fn execute(args: SynthArgs) -> Result<(), CliError> {
    let fail = |e: std::io::Error| CliError::usage(format!("{}: cannot write: {}", args.out.display(), e.kind()));
    let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&args.out).map_err(fail)?;
    let (rows, units) = write_source(args.source, args.rows, args.seed, args.year, file).map_err(fail)?;
    say(&format!("wrote {rows} rows{units} to {}", args.out.display()));
    Ok(())
}
