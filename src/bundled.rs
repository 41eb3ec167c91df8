//! The bundled policies, schemas and classification, compiled into the binary so that
//! `cellguard demo` works from any folder. They are the same files as under `policies/`.

/// A bundled file: its path relative to the policies folder, and its content.
pub struct BundledFile {
    /// Relative path, with `/` separators.
    pub path: &'static str,
    /// Content.
    pub content: &'static str,
}

/// Every bundled file.
pub const FILES: &[BundledFile] = &[
    BundledFile {
        path: "payment-defaults-quarterly.toml",
        content: include_str!("../policies/payment-defaults-quarterly.toml"),
    },
    BundledFile {
        path: "payment-defaults-quarterly-consistent.toml",
        content: include_str!("../policies/payment-defaults-quarterly-consistent.toml"),
    },
    BundledFile { path: "youth-chat-quarterly.toml", content: include_str!("../policies/youth-chat-quarterly.toml") },
    BundledFile {
        path: "sports-licences-yearly.toml",
        content: include_str!("../policies/sports-licences-yearly.toml"),
    },
    BundledFile { path: "food-cards-quarterly.toml", content: include_str!("../policies/food-cards-quarterly.toml") },
    BundledFile {
        path: "payment-defaults-quarterly-dp-sdc.toml",
        content: include_str!("../policies/payment-defaults-quarterly-dp-sdc.toml"),
    },
    BundledFile {
        path: "payment-defaults-quarterly-sdc.toml",
        content: include_str!("../policies/payment-defaults-quarterly-sdc.toml"),
    },
    BundledFile {
        path: "food-aggregates-quarterly-sdc.toml",
        content: include_str!("../policies/food-aggregates-quarterly-sdc.toml"),
    },
    BundledFile { path: "area-indicators-sdc.toml", content: include_str!("../policies/area-indicators-sdc.toml") },
    BundledFile { path: "baseline.toml", content: include_str!("../policies/baseline.toml") },
    BundledFile {
        path: "schemas/payment-defaults.toml",
        content: include_str!("../policies/schemas/payment-defaults.toml"),
    },
    BundledFile { path: "schemas/youth-chat.toml", content: include_str!("../policies/schemas/youth-chat.toml") },
    BundledFile {
        path: "schemas/sports-licences.toml",
        content: include_str!("../policies/schemas/sports-licences.toml"),
    },
    BundledFile { path: "schemas/food-cards.toml", content: include_str!("../policies/schemas/food-cards.toml") },
    BundledFile {
        path: "schemas/food-aggregates.toml",
        content: include_str!("../policies/schemas/food-aggregates.toml"),
    },
    BundledFile {
        path: "schemas/area-indicators.toml",
        content: include_str!("../policies/schemas/area-indicators.toml"),
    },
    BundledFile {
        path: "classifications/helsinki-subareas.csv",
        content: include_str!("../policies/classifications/helsinki-subareas.csv"),
    },
    BundledFile {
        path: "classifications/helsinki-postal-codes.csv",
        content: include_str!("../policies/classifications/helsinki-postal-codes.csv"),
    },
    BundledFile { path: "classifications/README.md", content: include_str!("../policies/classifications/README.md") },
];

/// Writes every bundled file under `dir`, replacing earlier copies.
pub fn write_all(dir: &std::path::Path) -> std::io::Result<()> {
    for f in FILES {
        let path = dir.join(f.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, f.content)?;
    }
    Ok(())
}

/// The 10-digit codes of the bundled sub-area classification, in file order.
pub fn subarea_codes() -> Vec<String> {
    FILES
        .iter()
        .find(|f| f.path == "classifications/helsinki-subareas.csv")
        .map(|f| {
            f.content
                .lines()
                .skip(1)
                .filter_map(|l| l.split(',').next())
                .filter(|c| c.len() == 10)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}
