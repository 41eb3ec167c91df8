//! Public classifications that rows are mapped onto: Helsinki's area hierarchy, age bands and
//! calendar periods. All of these are public key sets; their labels may be published.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::error::IngestError;
use crate::value::{days_in_month, Date};

/// Levels of the area hierarchy, finest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AreaLevel {
    /// Sub-area (osa-alue), 10-digit code.
    Subarea,
    /// District (peruspiiri), 7-digit code prefix.
    District,
    /// Major district (suurpiiri), 4-digit code prefix.
    MajorDistrict,
    /// The whole city, code `091`.
    City,
}

impl AreaLevel {
    /// The stable name used in policies and outputs.
    pub fn name(self) -> &'static str {
        match self {
            AreaLevel::Subarea => "subarea",
            AreaLevel::District => "district",
            AreaLevel::MajorDistrict => "major_district",
            AreaLevel::City => "city",
        }
    }

    /// Parses a level name as written in policies.
    pub fn from_name(name: &str) -> Option<AreaLevel> {
        [AreaLevel::Subarea, AreaLevel::District, AreaLevel::MajorDistrict, AreaLevel::City]
            .into_iter()
            .find(|l| l.name() == name)
    }
}

/// One area of the classification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Area {
    /// Full code (10 digits for a sub-area).
    pub code: String,
    /// Name in Finnish.
    pub name: String,
    /// The level.
    pub level: AreaLevel,
}

/// Helsinki's statistical area division, read from the classification file kept under
/// `policies/`. Sub-areas are keyed on their full 10-digit code, because short codes collide
/// across levels.
#[derive(Debug, Clone)]
pub struct AreaClassification {
    subareas: Vec<Area>,
    /// For each sub-area, the index of its district and of its major district.
    parents: Vec<(usize, usize)>,
    districts: Vec<Area>,
    major_districts: Vec<Area>,
    index: HashMap<Box<[u8]>, u32>,
    path: PathBuf,
}

const EXPECTED_HEADER: [&str; 7] = [
    "kokotunnus",
    "suurpiiri_code",
    "suurpiiri_name",
    "peruspiiri_code",
    "peruspiiri_name",
    "osa_alue_code",
    "osa_alue_name",
];

impl AreaClassification {
    /// Reads the classification CSV (UTF-8, `,`-separated, with the header
    /// `kokotunnus,suurpiiri_code,suurpiiri_name,peruspiiri_code,peruspiiri_name,osa_alue_code,osa_alue_name`).
    pub fn load(path: &Path) -> Result<AreaClassification, IngestError> {
        let bytes = std::fs::read(path).map_err(|e| IngestError::io(path, "read", e))?;
        Self::parse(&bytes, path)
    }

    /// Parses classification bytes; `path` is used in messages.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<AreaClassification, IngestError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let text = std::str::from_utf8(bytes)
            .map_err(|_| IngestError::config(path, None, "the classification file is not valid UTF-8"))?;
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
        let header =
            reader.headers().map_err(|_| IngestError::config(path, Some(1), "the header row cannot be read"))?.clone();
        if header.iter().ne(EXPECTED_HEADER.iter().copied()) {
            return Err(IngestError::config(
                path,
                Some(1),
                format!("the header must be `{}`", EXPECTED_HEADER.join(",")),
            ));
        }
        let mut subareas = Vec::new();
        let mut district_rows: Vec<(String, String, String, String)> = Vec::new();
        let mut record = csv::StringRecord::new();
        loop {
            let line = reader.position().line();
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(_) => {
                    return Err(IngestError::config(
                        path,
                        Some(line),
                        "malformed row (wrong number of columns or quoting)",
                    ))
                }
            }
            let line = record.position().map_or(line, |p| p.line());
            let bad =
                |column: &str, why: &str| IngestError::config(path, Some(line), format!("column `{column}`: {why}"));
            let get = |i: usize| record.get(i).unwrap_or("").trim();
            let (code, major, major_name, district, district_name, sub, sub_name) =
                (get(0), get(1), get(2), get(3), get(4), get(5), get(6));
            if code.len() != 10 || !code.bytes().all(|b| b.is_ascii_digit()) || !code.starts_with("091") {
                return Err(bad("kokotunnus", "must be a 10-digit code starting with 091"));
            }
            if major.len() != 1 || &code[3..4] != major {
                return Err(bad("suurpiiri_code", "must be the 4th digit of kokotunnus"));
            }
            if district.len() != 3 || &code[4..7] != district || !district.starts_with(major) {
                return Err(bad("peruspiiri_code", "must be digits 5-7 of kokotunnus and start with suurpiiri_code"));
            }
            if sub.len() != 3 || &code[7..10] != sub {
                return Err(bad("osa_alue_code", "must be the last 3 digits of kokotunnus"));
            }
            for (column, name) in
                [("suurpiiri_name", major_name), ("peruspiiri_name", district_name), ("osa_alue_name", sub_name)]
            {
                if name.is_empty() {
                    return Err(bad(column, "must not be empty"));
                }
            }
            subareas
                .push((line, Area { code: code.to_string(), name: sub_name.to_string(), level: AreaLevel::Subarea }));
            district_rows.push((
                code[..7].to_string(),
                district_name.to_string(),
                code[..4].to_string(),
                major_name.to_string(),
            ));
        }
        if subareas.is_empty() {
            return Err(IngestError::config(path, None, "the classification lists no areas"));
        }
        // Codes must be unique, and every district must carry one name and one major district.
        let mut index = HashMap::new();
        let mut district_names: BTreeMap<String, String> = BTreeMap::new();
        let mut major_names: BTreeMap<String, String> = BTreeMap::new();
        for (i, ((line, area), (dcode, dname, mcode, mname))) in subareas.iter().zip(&district_rows).enumerate() {
            if index.insert(area.code.as_bytes().to_vec().into_boxed_slice(), i as u32).is_some() {
                return Err(IngestError::config(path, Some(*line), "column `kokotunnus`: duplicate code"));
            }
            if district_names.entry(dcode.clone()).or_insert_with(|| dname.clone()) != dname {
                return Err(IngestError::config(
                    path,
                    Some(*line),
                    "column `peruspiiri_name`: differs from an earlier row of the same district",
                ));
            }
            if major_names.entry(mcode.clone()).or_insert_with(|| mname.clone()) != mname {
                return Err(IngestError::config(
                    path,
                    Some(*line),
                    "column `suurpiiri_name`: differs from an earlier row of the same major district",
                ));
            }
        }
        let districts: Vec<Area> = district_names
            .iter()
            .map(|(code, name)| Area { code: code.clone(), name: name.clone(), level: AreaLevel::District })
            .collect();
        let major_districts: Vec<Area> = major_names
            .iter()
            .map(|(code, name)| Area { code: code.clone(), name: name.clone(), level: AreaLevel::MajorDistrict })
            .collect();
        let parents = district_rows
            .iter()
            .map(|(d, _, m, _)| {
                // Both searches succeed: the maps were built from these same rows.
                let di = districts.iter().position(|a| &a.code == d).unwrap_or(0);
                let mi = major_districts.iter().position(|a| &a.code == m).unwrap_or(0);
                (di, mi)
            })
            .collect();
        Ok(AreaClassification {
            subareas: subareas.into_iter().map(|(_, a)| a).collect(),
            parents,
            districts,
            major_districts,
            index,
            path: path.to_path_buf(),
        })
    }

    /// The file this classification was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sub-areas in file order.
    pub fn subareas(&self) -> &[Area] {
        &self.subareas
    }

    /// Districts, ordered by code.
    pub fn districts(&self) -> &[Area] {
        &self.districts
    }

    /// Major districts, ordered by code.
    pub fn major_districts(&self) -> &[Area] {
        &self.major_districts
    }

    /// The district and major-district index of sub-area `i`.
    pub fn parents_of(&self, subarea_idx: usize) -> (usize, usize) {
        self.parents[subarea_idx]
    }

    /// The members of a level, in key order: sub-areas in file order, districts and major
    /// districts by code, and the city as `091 Helsinki`.
    pub fn members(&self, level: AreaLevel) -> Vec<Area> {
        match level {
            AreaLevel::Subarea => self.subareas.clone(),
            AreaLevel::District => self.districts.clone(),
            AreaLevel::MajorDistrict => self.major_districts.clone(),
            AreaLevel::City => {
                vec![Area { code: "091".to_string(), name: "Helsinki".to_string(), level: AreaLevel::City }]
            }
        }
    }

    /// The index at `level` of the area that contains sub-area `subarea_idx`.
    pub fn index_at(&self, level: AreaLevel, subarea_idx: u32) -> u32 {
        let i = subarea_idx as usize;
        match level {
            AreaLevel::Subarea => subarea_idx,
            AreaLevel::District => self.parents.get(i).map_or(0, |p| p.0 as u32),
            AreaLevel::MajorDistrict => self.parents.get(i).map_or(0, |p| p.1 as u32),
            AreaLevel::City => 0,
        }
    }

    /// The number of members of a level.
    pub fn len_at(&self, level: AreaLevel) -> usize {
        match level {
            AreaLevel::Subarea => self.subareas.len(),
            AreaLevel::District => self.districts.len(),
            AreaLevel::MajorDistrict => self.major_districts.len(),
            AreaLevel::City => 1,
        }
    }

    /// The index of a sub-area by its full code, if the code is known.
    pub fn lookup(&self, code: &[u8]) -> Option<u32> {
        self.index.get(code).copied()
    }
}

/// A flat list of codes with names (for example postal-code areas), read from a CSV file with
/// the header `code,name`. Codes are unique; the list is a public key set.
#[derive(Debug, Clone)]
pub struct CodeList {
    codes: Vec<(String, String)>,
    index: HashMap<Box<[u8]>, u32>,
    /// The parent level, when the file declares one: its name, its members (code, name) in
    /// order of first appearance, and each code's parent.
    parents: Option<Parents>,
}

/// The level above the codes of a code list (for example the major district of postal-code
/// areas), declared by two more columns `<level>_code,<level>_name`.
#[derive(Debug, Clone)]
pub struct Parents {
    /// The level's name (the columns' prefix), for example `major_district`.
    pub level: String,
    /// Its members: code and name.
    pub members: Vec<(String, String)>,
    /// For each code, the index of its parent in `members`.
    pub of: Vec<u32>,
}

impl CodeList {
    /// Reads a code list.
    pub fn load(path: &Path) -> Result<CodeList, IngestError> {
        let bytes = std::fs::read(path).map_err(|e| IngestError::io(path, "read", e))?;
        Self::parse(&bytes, path)
    }

    /// Parses code-list bytes (UTF-8, optional byte-order mark); `path` is used in messages.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<CodeList, IngestError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let text = std::str::from_utf8(bytes)
            .map_err(|_| IngestError::config(path, None, "the code list is not valid UTF-8"))?;
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
        let header: Vec<String> = reader.headers().map(|h| h.iter().map(str::to_string).collect()).unwrap_or_default();
        // `code,name`, or `code,name,<level>_code,<level>_name` with a parent level.
        let level = match header.as_slice() {
            [c, n] if c == "code" && n == "name" => None,
            [c, n, pc, pn] if c == "code" && n == "name" => {
                match (pc.strip_suffix("_code"), pn.strip_suffix("_name")) {
                    (Some(a), Some(b)) if a == b && !a.is_empty() => Some(a.to_string()),
                    _ => None,
                }
                .map(Some)
                .ok_or_else(|| {
                    IngestError::config(path, Some(1), "the parent columns must be `<level>_code,<level>_name`")
                })?
            }
            _ => {
                return Err(IngestError::config(
                    path,
                    Some(1),
                    "the header must be `code,name` or `code,name,<level>_code,<level>_name`",
                ))
            }
        };
        let mut parent_members: Vec<(String, String)> = Vec::new();
        let mut parent_of = Vec::new();
        let mut codes = Vec::new();
        let mut index = HashMap::new();
        for (i, record) in reader.records().enumerate() {
            let line = i as u64 + 2;
            let record = record.map_err(|_| {
                IngestError::config(path, Some(line), "malformed row (wrong number of columns or quoting)")
            })?;
            let (code, name) = (record.get(0).unwrap_or("").trim(), record.get(1).unwrap_or("").trim());
            if code.is_empty() || name.is_empty() {
                return Err(IngestError::config(path, Some(line), "code and name must not be empty"));
            }
            if index.insert(code.as_bytes().to_vec().into_boxed_slice(), codes.len() as u32).is_some() {
                return Err(IngestError::config(path, Some(line), "column `code`: duplicate code"));
            }
            codes.push((code.to_string(), name.to_string()));
            if level.is_some() {
                let (pc, pn) = (record.get(2).unwrap_or("").trim(), record.get(3).unwrap_or("").trim());
                if pc.is_empty() || pn.is_empty() {
                    return Err(IngestError::config(path, Some(line), "the parent code and name must not be empty"));
                }
                match parent_members.iter().position(|(c, _)| c == pc) {
                    Some(i) if parent_members[i].1 != pn => {
                        return Err(IngestError::config(
                            path,
                            Some(line),
                            "the parent code has another name on an earlier line",
                        ))
                    }
                    Some(i) => parent_of.push(i as u32),
                    None => {
                        parent_of.push(parent_members.len() as u32);
                        parent_members.push((pc.to_string(), pn.to_string()));
                    }
                }
            }
        }
        if codes.is_empty() {
            return Err(IngestError::config(path, None, "the code list is empty"));
        }
        if parent_members.iter().any(|(c, _)| index.contains_key(c.as_bytes())) {
            return Err(IngestError::config(path, None, "a parent code is also a code: the hierarchy must not loop"));
        }
        let parents = level.map(|level| Parents { level, members: parent_members, of: parent_of });
        Ok(CodeList { codes, index, parents })
    }

    /// The parent level, if the file declares one.
    pub fn parents(&self) -> Option<&Parents> {
        self.parents.as_ref()
    }

    /// Codes and names in file order.
    pub fn codes(&self) -> &[(String, String)] {
        &self.codes
    }

    /// The index of a code.
    pub fn lookup(&self, code: &[u8]) -> Option<u32> {
        self.index.get(code).copied()
    }
}

/// One age band, inclusive at both ends; `max` is `None` for an open band (`75+`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgeBand {
    /// Lowest age in the band.
    pub min: u32,
    /// Highest age in the band, if closed.
    pub max: Option<u32>,
}

impl AgeBand {
    /// The label used in outputs: `18-24` or `75+`.
    pub fn label(&self) -> String {
        match self.max {
            Some(max) => format!("{}-{}", self.min, max),
            None => format!("{}+", self.min),
        }
    }
}

/// The highest age considered plausible; older computed ages reject the row.
pub const MAX_PLAUSIBLE_AGE: i64 = 120;

/// Contiguous, non-overlapping age bands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeBands {
    bands: Vec<AgeBand>,
    /// `lookup[age]` is the band index of `age`, for ages up to [`MAX_PLAUSIBLE_AGE`].
    lookup: Vec<Option<u8>>,
}

impl AgeBands {
    /// Parses labels like `18-24` (an en dash also works) and `75+`. Bands must be in
    /// increasing order, contiguous and non-overlapping; only the last may be open.
    pub fn parse(labels: &[String]) -> Result<AgeBands, String> {
        if labels.is_empty() {
            return Err("at least one age band is required".into());
        }
        if labels.len() > 200 {
            return Err("too many age bands".into());
        }
        let mut bands = Vec::new();
        for (i, label) in labels.iter().enumerate() {
            let label = label.trim().replace('–', "-");
            let band = if let Some(min) = label.strip_suffix('+') {
                let min = min
                    .trim()
                    .parse::<u32>()
                    .map_err(|_| format!("band {i}: `{label}` is not like `18-24` or `75+`"))?;
                AgeBand { min, max: None }
            } else {
                let (a, b) =
                    label.split_once('-').ok_or_else(|| format!("band {i}: `{label}` is not like `18-24` or `75+`"))?;
                let min =
                    a.trim().parse::<u32>().map_err(|_| format!("band {i}: `{label}` is not like `18-24` or `75+`"))?;
                let max =
                    b.trim().parse::<u32>().map_err(|_| format!("band {i}: `{label}` is not like `18-24` or `75+`"))?;
                if max < min {
                    return Err(format!("band {i}: `{label}` ends before it starts"));
                }
                AgeBand { min, max: Some(max) }
            };
            if band.min as i64 > MAX_PLAUSIBLE_AGE {
                return Err(format!("band {i}: `{label}` starts above the plausible age {MAX_PLAUSIBLE_AGE}"));
            }
            if let Some(prev) = bands.last() {
                let prev: &AgeBand = prev;
                match prev.max {
                    None => {
                        return Err(format!("band {i}: `{label}` follows an open band; only the last band may be open"))
                    }
                    Some(pmax) if band.min <= pmax => {
                        return Err(format!("band {i}: `{label}` overlaps the band before it"))
                    }
                    Some(pmax) if band.min > pmax + 1 => {
                        return Err(format!(
                            "band {i}: `{label}` leaves a gap after the band before it (ages {}..{})",
                            pmax + 1,
                            band.min - 1
                        ))
                    }
                    _ => {}
                }
            }
            bands.push(band);
        }
        let mut lookup = vec![None; MAX_PLAUSIBLE_AGE as usize + 1];
        for (i, band) in bands.iter().enumerate() {
            let max = band.max.map_or(MAX_PLAUSIBLE_AGE as u32, |m| m.min(MAX_PLAUSIBLE_AGE as u32));
            for age in band.min..=max {
                lookup[age as usize] = Some(i as u8);
            }
        }
        Ok(AgeBands { bands, lookup })
    }

    /// The bands.
    pub fn bands(&self) -> &[AgeBand] {
        &self.bands
    }

    /// The band of an age; `None` when no band covers it.
    pub fn band_of(&self, age: i64) -> Option<u32> {
        usize::try_from(age).ok().and_then(|a| self.lookup.get(a).copied().flatten()).map(u32::from)
    }
}

/// Period granularities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PeriodGranularity {
    /// Calendar months, labelled `2025-03`.
    Month,
    /// Calendar quarters, labelled `2025Q1`.
    Quarter,
    /// Calendar years, labelled `2025`.
    Year,
}

/// A contiguous range of calendar periods, the public key set of the period dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Periods {
    granularity: PeriodGranularity,
    first: i64,
    count: u32,
}

impl Periods {
    fn ordinal_of(granularity: PeriodGranularity, year: i64, month: i64) -> i64 {
        match granularity {
            PeriodGranularity::Month => year * 12 + (month - 1),
            PeriodGranularity::Quarter => year * 4 + (month - 1) / 3,
            PeriodGranularity::Year => year,
        }
    }

    /// Parses a period label of the granularity into its ordinal.
    fn parse_label(granularity: PeriodGranularity, label: &str) -> Option<i64> {
        let label = label.trim();
        let year_of = |s: &str| s.parse::<i64>().ok().filter(|y| (1000..=9999).contains(y) && s.len() == 4);
        match granularity {
            PeriodGranularity::Year => year_of(label).map(|y| Self::ordinal_of(granularity, y, 1)),
            PeriodGranularity::Quarter => {
                let (y, q) = label.split_once('Q')?;
                let q = q.parse::<i64>().ok().filter(|q| (1..=4).contains(q))?;
                Some(Self::ordinal_of(granularity, year_of(y)?, (q - 1) * 3 + 1))
            }
            PeriodGranularity::Month => {
                let (y, m) = label.split_once('-')?;
                let m = m.parse::<i64>().ok().filter(|m| (1..=12).contains(m) && label.len() == 7)?;
                Some(Self::ordinal_of(granularity, year_of(y)?, m))
            }
        }
    }

    /// The inclusive range `from..=to` of labels like `2025Q1`, `2025-03` or `2025`.
    pub fn new(granularity: PeriodGranularity, from: &str, to: &str) -> Result<Periods, String> {
        let hint = match granularity {
            PeriodGranularity::Month => "like 2025-03",
            PeriodGranularity::Quarter => "like 2025Q1",
            PeriodGranularity::Year => "like 2025",
        };
        let first = Self::parse_label(granularity, from).ok_or_else(|| format!("`from` must be a period {hint}"))?;
        let last = Self::parse_label(granularity, to).ok_or_else(|| format!("`to` must be a period {hint}"))?;
        if last < first {
            return Err("`to` is before `from`".into());
        }
        if last - first >= 1200 {
            return Err("the period range is longer than 1200 periods".into());
        }
        Ok(Periods { granularity, first, count: (last - first + 1) as u32 })
    }

    /// The granularity.
    pub fn granularity(&self) -> PeriodGranularity {
        self.granularity
    }

    /// Number of periods.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Always false: a range holds at least one period.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The index of the period a date falls in, if it is in the range.
    pub fn index_of(&self, date: Date) -> Option<u32> {
        let ord = Self::ordinal_of(self.granularity, i64::from(date.year), i64::from(date.month));
        let idx = ord - self.first;
        (0..i64::from(self.count)).contains(&idx).then_some(idx as u32)
    }

    /// Label, first day and last day (ISO) of period `i`.
    pub fn describe(&self, i: usize) -> (String, String, String) {
        let ord = self.first + i as i64;
        let (label, year, m0, m1) = match self.granularity {
            PeriodGranularity::Month => {
                let (y, m) = (ord.div_euclid(12), ord.rem_euclid(12) + 1);
                (format!("{y:04}-{m:02}"), y, m, m)
            }
            PeriodGranularity::Quarter => {
                let (y, q) = (ord.div_euclid(4), ord.rem_euclid(4) + 1);
                (format!("{y:04}Q{q}"), y, (q - 1) * 3 + 1, q * 3)
            }
            PeriodGranularity::Year => (format!("{ord:04}"), ord, 1, 12),
        };
        let last_day = days_in_month(year as i32, m1 as u8);
        (label, format!("{year:04}-{m0:02}-01"), format!("{year:04}-{m1:02}-{last_day:02}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bands(labels: &[&str]) -> Result<AgeBands, String> {
        AgeBands::parse(&labels.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn age_bands_cover_without_overlap() {
        let b = bands(&["18-24", "25–34", "35+"]).unwrap();
        assert_eq!(b.band_of(17), None);
        assert_eq!(b.band_of(18), Some(0));
        assert_eq!(b.band_of(34), Some(1));
        assert_eq!(b.band_of(120), Some(2));
        assert_eq!(b.band_of(121), None);
        assert_eq!(b.band_of(-1), None);
        assert!(bands(&["18-24", "24-30"]).unwrap_err().contains("overlaps"));
        assert!(bands(&["18-24", "26-30"]).unwrap_err().contains("gap"));
        assert!(bands(&["18+", "30-40"]).unwrap_err().contains("open"));
        assert!(bands(&["x"]).is_err());
    }

    #[test]
    fn periods() {
        let p = Periods::new(PeriodGranularity::Quarter, "2025Q1", "2025Q4").unwrap();
        assert_eq!(p.len(), 4);
        assert_eq!(p.index_of(Date { year: 2025, month: 4, day: 1 }), Some(1));
        assert_eq!(p.index_of(Date { year: 2024, month: 12, day: 31 }), None);
        assert_eq!(p.describe(3), ("2025Q4".into(), "2025-10-01".into(), "2025-12-31".into()));
        let m = Periods::new(PeriodGranularity::Month, "2024-11", "2025-02").unwrap();
        assert_eq!(m.len(), 4);
        assert_eq!(m.describe(1).0, "2024-12");
        assert_eq!(m.describe(3).2, "2025-02-28");
        assert!(Periods::new(PeriodGranularity::Quarter, "2025Q4", "2025Q1").is_err());
        assert!(Periods::new(PeriodGranularity::Quarter, "2025Q5", "2025Q1").is_err());
    }

    #[test]
    fn classification_rejects_bad_files() {
        let header = EXPECTED_HEADER.join(",");
        let ok = format!("{header}\n0911101010,1,Eteläinen,101,Vironniemi,010,Kruununhaka\n");
        let c = AreaClassification::parse(ok.as_bytes(), Path::new("c.csv")).unwrap();
        assert_eq!(c.lookup(b"0911101010"), Some(0));
        assert_eq!(c.districts()[0].code, "0911101");
        let dup = format!("{ok}0911101010,1,Eteläinen,101,Vironniemi,010,Kruununhaka\n");
        let err = AreaClassification::parse(dup.as_bytes(), Path::new("c.csv")).unwrap_err().to_string();
        assert!(err.contains("c.csv:3") && err.contains("duplicate"), "{err}");
        let nest = format!("{header}\n0911101010,2,Eteläinen,101,Vironniemi,010,Kruununhaka\n");
        assert!(AreaClassification::parse(nest.as_bytes(), Path::new("c.csv")).is_err());
    }

    #[test]
    fn code_lists_with_a_parent_level() {
        let path = Path::new("p.csv");
        let ok =
            "code,name,major_district_code,major_district_name\n00100,A,1,South\n00200,B,2,West\n00300,C,1,South\n";
        let list = CodeList::parse(ok.as_bytes(), path).unwrap();
        let up = list.parents().unwrap();
        assert_eq!(up.level, "major_district");
        assert_eq!(up.members, vec![("1".to_string(), "South".to_string()), ("2".to_string(), "West".to_string())]);
        assert_eq!(up.of, vec![0, 1, 0]);
        assert!(CodeList::parse(b"code,name\n00100,A\n", path).unwrap().parents().is_none());
        for (bad, fragment) in [
            ("code,name,district,district_name\n00100,A,1,South\n", "<level>_code"),
            ("code,name,a_code,b_name\n00100,A,1,South\n", "<level>_code"),
            ("code,name,p_code,p_name\n00100,A,1,South\n00200,B,1,North\n", "another name"),
            ("code,name,p_code,p_name\n00100,A,00200,X\n00200,B,1,South\n", "must not loop"),
            ("code,name,p_code,p_name\n00100,A,,South\n", "must not be empty"),
        ] {
            let err = CodeList::parse(bad.as_bytes(), path).unwrap_err().to_string();
            assert!(err.contains(fragment), "{bad:?}: {err}");
        }
    }
}
