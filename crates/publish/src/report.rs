//! The reviewer report (`report.md`): the release in plain words for a compliance reviewer who
//! does not program — what was released, what the guarantee means, how accurate the numbers
//! are, what was suppressed, and what was read.

use std::fmt::Write;

use crate::manifest::Manifest;

/// Renders the report from the manifest (so the two can never disagree).
pub fn render(m: &Manifest) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail; the results are ignored.
    let _ = writeln!(s, "# Release `{}`\n", m.release);
    if !m.description.is_empty() {
        let _ = writeln!(s, "{}\n", m.description);
    }
    if m.noise_source.starts_with("FAKE") {
        let _ = writeln!(
            s,
            "**WARNING: this release was made with fake test noise. It is not private and must not be published.**\n"
        );
    }
    let _ = writeln!(s, "Made by {} at {} from policy `{}`.\n", m.tool, m.created_utc, m.policy.name);
    let _ = writeln!(s, "## What is protected\n");
    let _ = writeln!(s, "- Unit of privacy: **{}**.", m.unit_of_privacy);
    let _ = writeln!(s, "- Guarantee mode: `{}`, mechanism `{}`.", m.mode, m.mechanism);
    let _ = writeln!(s, "- {}\n", m.guarantee);
    if m.bounds.values().all(|b| *b < u64::from(u32::MAX)) {
        let _ = writeln!(
            s,
            "Contribution bounds: each {} counts in at most {} cells and with at most {} records per cell; summed values are clamped per record.\n",
            m.unit_of_privacy,
            m.bounds.get("max_cells_per_unit").copied().unwrap_or(0),
            m.bounds.get("max_records_per_cell").copied().unwrap_or(0)
        );
    }
    if !m.privacy_loss.is_empty() {
        let _ = writeln!(s, "## Privacy loss and accuracy per measure\n");
        let _ = writeln!(s, "| measure | kind | epsilon | rho | sensitivity | noise sd | 95% interval ± |");
        let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|");
        for l in &m.privacy_loss {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {:.6} | {} | {:.2} | {} |",
                l.measure,
                l.kind,
                l.epsilon.map_or("–".to_string(), |e| format!("{e:.4}")),
                l.rho,
                if l.sensitivity.fract() == 0.0 {
                    format!("{:.0}", l.sensitivity)
                } else {
                    format!("{:.4}", l.sensitivity)
                },
                l.noise_sd,
                l.ci95_half_width
            );
        }
        match (m.total_epsilon, m.total_rho) {
            (Some(e), Some(r)) => {
                let _ = writeln!(
                    s,
                    "\nTotal epsilon (the measures add up): **{e:.4}**; as zCDP (each measure's ε²/2, added): rho = {r:.6}.\n"
                );
            }
            (None, Some(r)) => {
                let _ = writeln!(s, "\nTotal rho (zCDP; the measures add up): **{r:.6}**.\n");
            }
            _ => {}
        }
    }
    if let Some(b) = &m.budget {
        let sym = if b.unit == "rho" { "ρ" } else { "ε" };
        let _ = writeln!(
            s,
            "Budget: dataset `{}`, period {}: {sym} spent {:.6} before this release, {:.6} after, of {:.6} (ledger `{}`, entry {}).\n",
            b.dataset, b.period, b.spent_before, b.spent_after, b.total, b.ledger, b.entry_seq
        );
        if let Some(a) = &b.approx_dp {
            let _ = writeln!(
                s,
                "As (ε, δ)-differential privacy at δ = {:e} (opendp's zCDP conversion): this release ε = {:.4}; everything the dataset spent in the period ε = {:.4}.\n",
                a.delta, a.release_epsilon, a.period_epsilon
            );
        }
    }
    if m.consistent_totals {
        let _ = writeln!(
            s,
            "Totals add up: every cell, inner or total, received the measure's noise, and the published table is the least-squares fit of the inner cells to all of them, with each total published as the sum of its fitted parts (post-processing: no privacy cost). Sub-areas add up to their district, districts to the city, age bands to all ages and periods to the year, exactly, in the published decimals. Each cell's `noise_sd` and interval are its own (lower than the noise added to each cell, in the table above, unless whole-number rounding of large totals outweighs it). A cell suppressed by the threshold can be worked out from its total and published siblings: all of them are noisy, so this is within the guarantee, but the threshold only marks unreliable cells here. A total of a count of units counts unit-cells: a {} in two periods counts twice in the year.\n",
            m.unit_of_privacy
        );
    }
    let zeroed: Vec<&str> = m.measures.iter().filter(|x| x.negative_as_zero).map(|x| x.name.as_str()).collect();
    if !zeroed.is_empty() {
        let _ = writeln!(
            s,
            "Negative noisy values of `{}` are published as 0 (post-processing: no privacy cost, and the 95 % interval still covers the true value at least as often; small values are biased upwards, so sums of published cells overstate small totals).\n",
            zeroed.join("`, `")
        );
    }
    let _ = writeln!(s, "## Suppression\n");
    if let Some(t) = &m.noisy_threshold {
        let _ = writeln!(
            s,
            "A cell is suppressed (all its measures) when its noisy `{}` is below {}. The decision uses only noisy values, so it does not weaken the guarantee.\n",
            t.get("measure").map_or("", String::as_str),
            t.get("min").map_or("", String::as_str)
        );
    }
    if let Some(sdc) = &m.sdc {
        let _ = writeln!(
            s,
            "Primary suppression: {}{}{}{}{}. {} primary cells.",
            match &sdc.contributors_field {
                Some(f) => format!("cells whose rows report fewer than {} `{f}` (counted as the largest row, or the largest sum of rows known to be disjoint: the distinct contributors of a cell are at least that many; a cell with rows counts as non-empty)", sdc.min_units_per_cell),
                None => format!("cells with 1 to {} contributing units", sdc.min_units_per_cell.saturating_sub(1)),
            },
            sdc.businesses
                .as_ref()
                .map(|(f, min)| format!("; cells whose rows report fewer than {min} `{f}`, counted the same way (business confidentiality, reported as dominance)"))
                .unwrap_or_default(),
            sdc.dominance
                .map(|(n, k)| format!("; sums whose {n} largest contributions exceed {k} % of the total"))
                .unwrap_or_default(),
            sdc.p_percent.map(|p| format!("; sums failing the p % rule with p = {p}")).unwrap_or_default(),
            sdc.zero_full
                .as_ref()
                .map(|(dims, zero)| format!(
                    "; cells holding all{} of their group's units along `{}` (0 % / 100 % rule)",
                    if *zero { " or none" } else { "" },
                    dims.join("`, `")
                ))
                .unwrap_or_default(),
            sdc.primary_cells
        );
        let _ = writeln!(
            s,
            "\nSecondary suppression: {} further cells (together {} in `{}`) were hidden so that no primary cell can be narrowed by an attacker to within {:.0} % of its value, in {} audit rounds.",
            sdc.secondary_cells,
            sdc.secondary_value,
            m.measures.first().map_or("", |x| x.name.as_str()),
            sdc.protection_ratio * 100.0,
            sdc.audit_rounds
        );
        if m.mode == "dp+sdc" {
            let _ = writeln!(
                s,
                "\nThe SDC rules ran on the exact values before any noise was drawn (`dp+sdc`): the audit treats every value outside the gate as published exactly and does not count on the cells the noisy threshold hides afterwards. The cell counts above are of cells the gate hid and the threshold did not, and the value hidden by secondary suppression is counted from the noisy values. Which cells the rules suppressed depends on exact values and is **not covered by the differential-privacy guarantee**; those cells show `suppressed`, while cells hidden by the noisy threshold show `suppressed_noisy_threshold`. With consistent totals, the noisy values of hidden cells still shape the published fitted values: that is covered by the differential-privacy guarantee, not by the audit."
            );
        }
        if let Some(p) = sdc.min_protection_achieved {
            let _ = writeln!(
                s,
                "\nAttacker audit (hypercube certificates, else linear programming over the published cells, totals and non-negativity{}): every primary cell can only be placed within an interval reaching at least {:.0} % of its value below and above it (at least one unit either way).\n",
                if sdc.reasons_published { ", knowing the published reason codes" } else { "" },
                p * 100.0
            );
        }
    }
    let _ = writeln!(s, "| status | values |");
    let _ = writeln!(s, "|---|---:|");
    for (status, n) in &m.status_counts {
        let _ = writeln!(s, "| {status} | {n} |");
    }
    let _ = writeln!(s, "\n{} cells × {} measures = {} rows in `cells.csv`.\n", m.n_cells, m.measures.len(), m.n_rows);
    let _ = writeln!(
        s,
        "## Inputs (processing counts, exact — not covered by the guarantee; keep inside the secure environment)\n"
    );
    for i in &m.inputs {
        let _ = writeln!(
            s,
            "- `{}` (SHA-256 `{}`): {} rows read, {} used, {} rejected as invalid, {} outside the released key set.",
            i.file.name, i.file.sha256, i.rows_read, i.rows_used, i.rows_rejected, i.rows_out_of_scope
        );
        for r in &i.reasons {
            let lines: Vec<String> = r.first_lines.iter().map(u64::to_string).collect();
            let _ = writeln!(
                s,
                "  - {} `{}`{}: {} rows (first lines {})",
                r.outcome,
                r.code,
                r.field.as_ref().map(|f| format!(" in field `{f}`")).unwrap_or_default(),
                r.rows,
                lines.join(", ")
            );
        }
    }
    let b = &m.bounding;
    let _ = writeln!(s, "\nBounding: {} units; {} records dropped by the cell limit, {} records beyond the per-cell limit, {} values clamped, {} unit-cell sums capped.\n",
        b.units, b.records_dropped_cells, b.records_capped, b.values_clamped, b.sums_capped);
    let _ = writeln!(s, "## What this release does not protect against\n");
    let _ = writeln!(s, "- Other releases of the same data: their epsilons add up. Track them in the budget ledger.");
    let _ = writeln!(
        s,
        "- Records of one {} beyond the bounds are dropped, so totals can be lower than in the register.",
        m.unit_of_privacy
    );
    let _ =
        writeln!(s, "- The processing counts above are exact; they are for reviewers inside the secure environment.");
    if m.unit_of_privacy == "chat-session" {
        let _ = writeln!(
            s,
            "- The unit of privacy is a chat session, not a person: someone who returns in several sessions is protected per session, which is less than a person-level guarantee."
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "## Files\n");
    for f in &m.files {
        let _ = writeln!(s, "- `{}`: {} bytes, SHA-256 `{}`", f.name, f.bytes, f.sha256);
    }
    let _ = writeln!(s, "- `manifest.json`: the machine-readable version of this report.");
    s
}
