//! `cellguard-synth` writes synthetic source extracts with the shape of the real ones (see
//! `shared/SOURCES.md`): realistic skew across sub-areas and ages, a few tiny areas so that
//! small cells occur, and values with heavy tails. Output is a deterministic function of the
//! row count and the seed, so demos, tests and benchmarks are repeatable.
//!
//! The sources: payment defaults and sports licences (unit: person), youth chat (unit: chat
//! session), card-level food sales (unit: loyalty card), retailer-pre-aggregated food sales and
//! regional indicators (already aggregated). The food sources use the Finnish Excel dialects
//! (`;`, decimal comma, CRLF; UTF-8 with a byte-order mark, or Windows-1252).
//!
//! Architecture invariant: the pseudo-random generator here is for *synthetic data only*. It
//! is not cryptographically secure and is never used for privacy noise, which comes only from
//! opendp's secure samplers in `cellguard-privacy`.

#![deny(missing_docs)]

pub mod area_indicators;
mod common;
pub mod food_aggregates;
pub mod food_cards;
pub mod payment_defaults;
pub mod rng;
pub mod sports_licences;
pub mod youth_chat;

pub use area_indicators::{write_area_indicators, AreaIndicatorsOptions};
pub use food_aggregates::{encode_windows_1252, push_windows_1252, write_food_aggregates, FoodAggregatesOptions};
pub use food_cards::{write_food_cards, FoodCardsOptions};
pub use payment_defaults::{write_payment_defaults, PaymentDefaultsOptions};
pub use rng::SynthRng;
pub use sports_licences::{write_sports_licences, SportsLicencesOptions};
pub use youth_chat::{write_youth_chat, YouthChatOptions};

/// The synthetic postal-code key set of the food generators: the 90 five-digit codes `00100`,
/// `00110`, …, `00990` (steps of 10). It is *synthetic*: shaped like Helsinki postal codes,
/// but not the official list (some of these codes do not exist, and real codes outside the
/// range, such as Östersundom's, are missing).
pub fn helsinki_postal_codes() -> Vec<String> {
    (10..=99).map(|i| format!("{:05}", i * 10)).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn postal_codes() {
        let codes = super::helsinki_postal_codes();
        assert_eq!(codes.len(), 90);
        assert_eq!(codes[0], "00100");
        assert_eq!(codes[1], "00110");
        assert_eq!(codes[89], "00990");
        assert!(codes.iter().all(|c| c.len() == 5));
    }
}
