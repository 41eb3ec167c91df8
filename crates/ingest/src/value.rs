//! Parsers for typed fields. They work on bytes, allocate nothing, and report *why* a field is
//! invalid as a [`ValueError`] code — never the field's content.

/// Why a field could not be parsed. The reason is a fixed code; the field's bytes are never kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValueError {
    /// The field is empty (after trimming spaces).
    Missing,
    /// Not an integer (or out of the 64-bit range).
    NotInteger,
    /// Not a decimal number in the declared decimal mark, or out of range.
    NotDecimal,
    /// More decimal places than the schema declares.
    TooManyDecimals,
    /// Not a date in the declared format, or an impossible date (30 February).
    NotDate,
    /// Bytes that are not valid in the declared encoding.
    BadEncoding,
}

impl ValueError {
    /// A stable, human-readable reason.
    pub fn describe(self) -> &'static str {
        match self {
            ValueError::Missing => "missing value",
            ValueError::NotInteger => "not an integer",
            ValueError::NotDecimal => "not a decimal number",
            ValueError::TooManyDecimals => "more decimal places than the schema allows",
            ValueError::NotDate => "not a valid date",
            ValueError::BadEncoding => {
                "bytes not valid in the declared encoding (Excel often saves windows-1252: check the schema's `encoding`)"
            }
        }
    }
}

/// Trims ASCII spaces and tabs from both ends.
pub fn trim(field: &[u8]) -> &[u8] {
    let start = field.iter().position(|b| *b != b' ' && *b != b'\t').unwrap_or(field.len());
    let end = field.iter().rposition(|b| *b != b' ' && *b != b'\t').map_or(start, |e| e + 1);
    &field[start..end]
}

/// Parses a signed decimal integer (ASCII digits, optional leading `-` or `+`).
pub fn parse_integer(field: &[u8]) -> Result<i64, ValueError> {
    let field = trim(field);
    if field.is_empty() {
        return Err(ValueError::Missing);
    }
    let (negative, digits) = match field[0] {
        b'-' => (true, &field[1..]),
        b'+' => (false, &field[1..]),
        _ => (false, field),
    };
    if digits.is_empty() || digits.len() > 18 {
        return Err(ValueError::NotInteger);
    }
    let mut n: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return Err(ValueError::NotInteger);
        }
        // Cannot overflow: at most 18 digits, and 10^18 < i64::MAX.
        n = n * 10 + i64::from(b - b'0');
    }
    Ok(if negative { -n } else { n })
}

/// Parses a decimal number exactly into an integer of `10^-scale` units (for example cents with
/// `scale = 2`). No floating point is involved: `12.5` with scale 2 is `1250`. Exponents,
/// thousands separators, `NaN` and infinities are rejected.
pub fn parse_decimal(field: &[u8], decimal_mark: u8, scale: u32) -> Result<i64, ValueError> {
    let field = trim(field);
    if field.is_empty() {
        return Err(ValueError::Missing);
    }
    let (negative, body) = match field[0] {
        b'-' => (true, &field[1..]),
        b'+' => (false, &field[1..]),
        _ => (false, field),
    };
    let (int_part, frac_part) = match body.iter().position(|b| *b == decimal_mark) {
        Some(p) => (&body[..p], &body[p + 1..]),
        None => (body, &body[body.len()..]),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(ValueError::NotDecimal);
    }
    if !int_part.iter().chain(frac_part).all(u8::is_ascii_digit) {
        return Err(ValueError::NotDecimal);
    }
    if frac_part.len() > scale as usize {
        // Trailing zeros beyond the scale lose nothing; anything else would be rounding.
        if frac_part[scale as usize..].iter().any(|b| *b != b'0') {
            return Err(ValueError::TooManyDecimals);
        }
    }
    // 15 integer digits plus the scale keep every value exactly representable and far from i64
    // overflow (10^15 * 10^3 < 2^63).
    if int_part.len() > 15 || scale > 3 {
        return Err(ValueError::NotDecimal);
    }
    let mut n: i64 = 0;
    for &b in int_part {
        n = n * 10 + i64::from(b - b'0');
    }
    for i in 0..scale as usize {
        let digit = frac_part.get(i).map_or(0, |b| i64::from(b - b'0'));
        n = n * 10 + digit;
    }
    Ok(if negative { -n } else { n })
}

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year, 1..=9999.
    pub year: i32,
    /// Month, 1..=12.
    pub month: u8,
    /// Day of month, 1..=31 and valid for the month.
    pub day: u8,
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> Date {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    Date { year: (yoe + era * 400 + i64::from(month <= 2)) as i32, month, day }
}

/// Parses an ISO week label `YYYY-Www` (weeks 01–53, 53 only in years that have it) into the
/// Thursday of that week, which fixes the week's month, quarter and year (ISO 8601).
pub fn parse_iso_week(field: &[u8]) -> Result<Date, ValueError> {
    let field = trim(field);
    if field.is_empty() {
        return Err(ValueError::Missing);
    }
    if field.len() != 8 || field[4] != b'-' || (field[5] != b'W' && field[5] != b'w') {
        return Err(ValueError::NotDate);
    }
    let (Some(year), Some(week)) = (digits(&field[..4], 4, 4), digits(&field[6..], 2, 2)) else {
        return Err(ValueError::NotDate);
    };
    let year = year as i32;
    // 4 January is always in week 1; its Monday starts the ISO year.
    let jan4 = days_from_civil(year, 1, 4);
    let weekday = (jan4 + 3).rem_euclid(7); // 0 = Monday
    let monday1 = jan4 - weekday;
    let weeks_in_year = {
        let next_jan4 = days_from_civil(year + 1, 1, 4);
        (next_jan4 - (next_jan4 + 3).rem_euclid(7) - monday1) / 7
    };
    if week < 1 || i64::from(week) > weeks_in_year {
        return Err(ValueError::NotDate);
    }
    Ok(civil_from_days(monday1 + 7 * (i64::from(week) - 1) + 3))
}

/// Date formats a schema can declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DateFormat {
    /// `YYYY-MM-DD`.
    Iso,
    /// Finnish `d.m.yyyy` (day and month with or without a leading zero).
    Finnish,
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days in a month of a year.
pub fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

fn digits(bytes: &[u8], min: usize, max: usize) -> Option<u32> {
    if bytes.len() < min || bytes.len() > max || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(bytes.iter().fold(0u32, |n, b| n * 10 + u32::from(b - b'0')))
}

/// Parses a date in the given format, checking that the day exists.
pub fn parse_date(field: &[u8], format: DateFormat) -> Result<Date, ValueError> {
    let field = trim(field);
    if field.is_empty() {
        return Err(ValueError::Missing);
    }
    let (sep, order): (u8, [usize; 3]) = match format {
        DateFormat::Iso => (b'-', [0, 1, 2]),
        DateFormat::Finnish => (b'.', [2, 1, 0]),
    };
    let mut parts = field.split(|b| *b == sep);
    let (Some(a), Some(b), Some(c), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(ValueError::NotDate);
    };
    let parts = [a, b, c];
    let (y, m, d) = (parts[order[0]], parts[order[1]], parts[order[2]]);
    let (year, month, day) = match format {
        DateFormat::Iso => (digits(y, 4, 4), digits(m, 2, 2), digits(d, 2, 2)),
        DateFormat::Finnish => (digits(y, 4, 4), digits(m, 1, 2), digits(d, 1, 2)),
    };
    let (Some(year), Some(month), Some(day)) = (year, month, day) else {
        return Err(ValueError::NotDate);
    };
    // Bounded by the digit counts above: year <= 9999, month and day <= 99.
    let (year, month, day) = (year as i32, month as u8, day as u8);
    if year < 1 || !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(ValueError::NotDate);
    }
    Ok(Date { year, month, day })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert_eq!(parse_integer(b" 1984 "), Ok(1984));
        assert_eq!(parse_integer(b"-7"), Ok(-7));
        assert_eq!(parse_integer(b""), Err(ValueError::Missing));
        for bad in [&b"1e3"[..], b"1 000", b"NaN", b"inf", b"-", b"12x", b"9999999999999999999"] {
            assert_eq!(parse_integer(bad), Err(ValueError::NotInteger), "{bad:?}");
        }
    }

    #[test]
    fn decimals_are_exact() {
        assert_eq!(parse_decimal(b"12.5", b'.', 2), Ok(1250));
        assert_eq!(parse_decimal(b"12,05", b',', 2), Ok(1205));
        assert_eq!(parse_decimal(b"0.1", b'.', 2), Ok(10));
        assert_eq!(parse_decimal(b"7", b'.', 2), Ok(700));
        assert_eq!(parse_decimal(b"-0", b'.', 2), Ok(0));
        assert_eq!(parse_decimal(b"3.100", b'.', 2), Ok(310));
        assert_eq!(parse_decimal(b"3.101", b'.', 2), Err(ValueError::TooManyDecimals));
        for bad in [&b"NaN"[..], b"inf", b"1e309", b"1,000.00", b".", b"1.2.3", b"12,5"] {
            assert_eq!(parse_decimal(bad, b'.', 2), Err(ValueError::NotDecimal), "{bad:?}");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date(b"2024-02-29", DateFormat::Iso), Ok(Date { year: 2024, month: 2, day: 29 }));
        assert_eq!(parse_date(b"2023-02-29", DateFormat::Iso), Err(ValueError::NotDate));
        assert_eq!(parse_date(b"30.2.2024", DateFormat::Finnish), Err(ValueError::NotDate));
        assert_eq!(parse_date(b"1.3.2024", DateFormat::Finnish), Ok(Date { year: 2024, month: 3, day: 1 }));
        assert_eq!(parse_date(b"2024-13-01", DateFormat::Iso), Err(ValueError::NotDate));
        assert_eq!(parse_date(b"2024-1-01", DateFormat::Iso), Err(ValueError::NotDate));
        assert_eq!(parse_date(b"", DateFormat::Iso), Err(ValueError::Missing));
    }

    #[test]
    fn iso_weeks() {
        // 2025-W01 runs from Monday 30 December 2024; its Thursday is 2 January 2025.
        assert_eq!(parse_iso_week(b"2025-W01"), Ok(Date { year: 2025, month: 1, day: 2 }));
        assert_eq!(parse_iso_week(b"2025-W07"), Ok(Date { year: 2025, month: 2, day: 13 }));
        // 2020 has 53 weeks, 2025 does not.
        assert_eq!(parse_iso_week(b"2020-W53"), Ok(Date { year: 2020, month: 12, day: 31 }));
        assert_eq!(parse_iso_week(b"2025-W53"), Err(ValueError::NotDate));
        assert_eq!(parse_iso_week(b"2025-W00"), Err(ValueError::NotDate));
        assert_eq!(parse_iso_week(b"2025-07"), Err(ValueError::NotDate));
        for d in [-1000i64, 0, 19_000, 20_454] {
            let c = civil_from_days(d);
            assert_eq!(days_from_civil(c.year, c.month, c.day), d);
        }
    }
}
