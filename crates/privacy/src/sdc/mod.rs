//! Statistical disclosure control: hierarchical tables with margins ([`hier`]), primary and
//! secondary suppression ([`suppress`]), and the attacker audit ([`audit`]), which computes by
//! linear programming the tightest interval an attacker can derive for every suppressed cell
//! from the published cells, the table's additivity and non-negativity.

pub mod audit;
pub mod hier;
pub mod suppress;
pub mod tabulate;

pub use audit::{audit_intervals, audit_protected, audit_shortfalls, audit_widths, Interval, Shortfall};
pub use hier::{Constraint, DimTree, HierTable, Relation};
pub use suppress::{
    primary_suppression, secondary_suppression, zero_full_suppression, Cubes, MeasureTable, PrimaryRules, Protection,
    SdcStatus, Secondary, SumWithTop,
};
pub use tabulate::{tabulate, SdcTable};
