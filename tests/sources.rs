//! Every source end to end: youth chat (multi-label, session unit, unknown areas), sports
//! licences, card-level food sales in the Finnish Excel dialect, a Windows-1252 extract, and
//! pre-aggregated food sales (refused in dp mode).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{cell_of, read_csv, tabulate_file, Workspace};

const CHAT_HEADER: &str = "conversation_id,date,hour,age,gender,topics,first_contact,duration_min,subarea\n";

/// Topic indices in the bundled chat policy.
const ANXIETY: usize = 0;
const DEPRESSION: usize = 1;
const LONELINESS: usize = 2;
const RELATIONSHIPS: usize = 3;
const SCHOOL: usize = 5;

fn chat_fixture(ws: &Workspace) -> std::path::PathBuf {
    let rows = [
        // Two topics, repeated label, known area (Kruununhaka → Eteläinen suurpiiri), age 14.
        "C1,2025-02-03,20,14,girl,anxiety|school|anxiety,yes,30,0911101010",
        // Four topics: at most three cells are kept.
        "C2,2025-02-04,21,14,girl,anxiety|depression|loneliness|relationships,no,45,0911101010",
        // No area and no age: both go to the `unknown` members; a quoted field.
        "C3,2025-05-05,22,,boy,\"school\",yes,10,",
        // Only an unreleased label would be out of scope; `other` is released.
        "C4,2025-08-06,23,27,other,other,no,12,0918801580",
        // Dated in the previous year: out of scope.
        "C5,2024-12-31,23,16,girl,anxiety,no,12,0911101010",
    ];
    ws.write("input/chat.csv", format!("{CHAT_HEADER}{}\n", rows.join("\n")).as_bytes())
}

#[test]
fn youth_chat_release_counts_sessions_per_topic() {
    let ws = Workspace::new();
    let input = chat_fixture(&ws);
    let policy = ws.path("policies/youth-chat-quarterly.toml");
    let (plan, table) = tabulate_file(&policy, &input);
    // area (8 major districts + unknown) × age (4 + unknown) × gender 4 × topic 13 × quarter 4.
    assert_eq!(table.n_cells(), 9 * 5 * 4 * 13 * 4);
    let (south, ostersundom, unknown_area) = (0, 7, 8);
    let girl = 0;
    let c1 = |topic| cell_of(&plan, &[south, 0, girl, topic, 0]);
    // C1 counts once in anxiety and once in school, despite the repeated label; C2 adds to
    // anxiety if it kept it.
    assert_eq!(table.units()[c1(SCHOOL)], 1);
    let c2_cells: u64 =
        [ANXIETY, DEPRESSION, LONELINESS, RELATIONSHIPS].iter().map(|t| table.units()[c1(*t)]).sum::<u64>() - 1;
    assert_eq!(c2_cells, 3, "a four-topic conversation keeps max_cells_per_unit = 3 topic cells");
    // C3: unknown area, unknown age, boy, school, Q2.
    assert_eq!(table.units()[cell_of(&plan, &[unknown_area, 4, 1, SCHOOL, 1])], 1);
    // C4: Östersundom, 25-29, other gender, topic `other`, Q3.
    assert_eq!(table.units()[cell_of(&plan, &[ostersundom, 3, 2, 12, 2])], 1);
    let total: u64 = table.units().iter().sum();
    assert_eq!(total, 2 + 3 + 1 + 1, "C5 is out of scope");

    // Through the binary: every cell released or suppressed, the session unit stated.
    let out =
        ws.run(&["run", "--policy", policy.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", "out"]);
    out.expect_code(0);
    let (header, rows) = read_csv(&ws.path("out/cells.csv"));
    assert_eq!(rows.len(), 9360);
    assert_eq!(&header[..6], ["area_level", "area_code", "area_name", "age_band", "gender", "topic"]);
    assert!(rows.iter().any(|r| r[1] == "unknown" && r[3] == "unknown"));
    assert!(rows.iter().any(|r| r[2] == "Östersundomin suurpiiri"));
    let report = std::fs::read_to_string(ws.path("out/report.md")).unwrap();
    assert!(report.contains("chat session, not a person"), "{report}");
}

#[test]
fn chat_sensitivity_with_multi_label_topics_matches_opendp() {
    use opendp::domains::{AtomDomain, VectorDomain};
    use opendp::measurements::make_laplace;
    use opendp::metrics::L1Distance;
    let ws = Workspace::new();
    let input = chat_fixture(&ws);
    let policy = ws.path("policies/youth-chat-quarterly.toml");
    ws.run(&["run", "--policy", policy.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", "out"])
        .expect_code(0);
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(ws.path("out/manifest.json")).unwrap()).unwrap();
    let loss = &m["privacy_loss"][0];
    // One conversation touches at most max_cells_per_unit = 3 topic cells, once each.
    assert_eq!(loss["mechanism_sensitivity"], 3.0);
    let scale = loss["mechanism_scale"].as_f64().unwrap();
    let mech = make_laplace(VectorDomain::new(AtomDomain::<i64>::default()), L1Distance::<i64>::default(), scale, None)
        .unwrap();
    assert_eq!(mech.map(&3).unwrap(), loss["epsilon"].as_f64().unwrap());
    assert!((loss["epsilon"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    // Removing the four-topic conversation changes the count vector by exactly 3 in L1: the
    // sensitivity is attained, not merely bounded.
    let without = ws.write(
        "input/chat-without-c2.csv",
        std::fs::read_to_string(&input)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("C2,"))
            .collect::<Vec<_>>()
            .join("\n")
            .as_bytes(),
    );
    let (_, a) = tabulate_file(&policy, &input);
    let (_, b) = tabulate_file(&policy, &without);
    let l1: u64 = a.units().iter().zip(b.units()).map(|(x, y)| x.abs_diff(*y)).sum();
    assert_eq!(l1, 3);
}

#[test]
fn sports_licences_release() {
    let ws = Workspace::new();
    let input = ws.write(
        "input/sports.csv",
        "person_id,birth_year,sex,subarea,federation,sport,licence_type,season,purchase_date\n\
         P1,2015,F,0911101010,Suomen Palloliitto,football,competition,2025,2025-03-01\n\
         P1,2015,F,0911101010,Suomen Uimaliitto,swimming,non_competition,2025,2025-04-01\n\
         P1,2015,F,0911101010,Suomen Palloliitto,football,competition,2025,2025-09-01\n\
         P2,1960,M,0911101020,Suomen Golfliitto,golf,non_competition,2025,2025-05-01\n\
         P3,2022,M,0911101020,Suomen Judoliitto,judo,competition,2025,2025-05-01\n"
            .as_bytes(),
    );
    let policy = ws.path("policies/sports-licences-yearly.toml");
    let (plan, table) = tabulate_file(&policy, &input);
    assert_eq!(table.n_cells(), 34 * 7 * 14 * 2);
    // P1 (age 10): football/competition has one person and two licences.
    let football = cell_of(&plan, &[0, 1, 0, 0, 0]);
    assert_eq!((table.units()[football], table.records()[football]), (1, 2));
    // P2 (age 65): golf, non-competition.
    assert_eq!(table.units()[cell_of(&plan, &[0, 6, 11, 1, 0])], 1);
    // P3 is 3 years old: below every band, out of scope.
    assert_eq!(table.units().iter().sum::<u64>(), 3);
    ws.run(&["run", "--policy", policy.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", "out"])
        .expect_code(0);
    assert_eq!(read_csv(&ws.path("out/cells.csv")).1.len(), 6664 * 2);
}

#[test]
fn food_cards_in_the_finnish_excel_dialect() {
    let ws = Workspace::new();
    // `;`, decimal comma, CRLF, UTF-8 with a byte-order mark, ISO weeks.
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(
        b"card_id;household_size;age_band;postal_code;week;product_group;euros;quantity\r\n\
          K1;2;25-34;00100;2025-W01;vegetables;12,50;3\r\n\
          K1;2;25-34;00100;2025-W02;vegetables;100,00;40\r\n\
          K1;2;25-34;00100;2025-W14;vegetables;1,05;1\r\n\
          K2;1;65-74;00990;2025-W13;fish;7,00;1\r\n",
    );
    let input = ws.write("input/food.csv", &bytes);
    let policy = ws.path("policies/food-cards-quarterly.toml");
    let (plan, table) = tabulate_file(&policy, &input);
    assert_eq!(table.n_cells(), 90 * 15 * 4);
    // Weeks 1-13 fall in Q1 (by their Thursday); week 14's Thursday is 3 April: Q2.
    let q1 = cell_of(&plan, &[0, 0, 0]);
    let q2 = cell_of(&plan, &[0, 0, 1]);
    assert_eq!((table.units()[q1], table.records()[q1]), (1, 2));
    // 12.50 + min(100.00, 60) euros, in cents; 3 + min(40, 30) items.
    assert_eq!(table.sums(0)[q1], 1250 + 6000);
    assert_eq!(table.sums(1)[q1], 3 + 30);
    assert_eq!(table.sums(0)[q2], 105);
    assert_eq!(table.units()[cell_of(&plan, &[89, 6, 0])], 1);
    ws.run(&["run", "--policy", policy.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", "out"])
        .expect_code(0);
    let (header, rows) = read_csv(&ws.path("out/cells.csv"));
    assert_eq!(&header[..2], ["postal_area_code", "postal_area_name"]);
    // The input's checksum covers every byte, byte-order mark included.
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(ws.path("out/manifest.json")).unwrap()).unwrap();
    assert_eq!(m["inputs"][0]["file"]["sha256"].as_str().unwrap(), common::sha256_hex(&input));
    assert_eq!(rows.len(), 5400 * 3);
}

/// Windows-1252 bytes of a string (Latin-1 range only, enough for Finnish).
fn cp1252(s: &str) -> Vec<u8> {
    s.chars().map(|c| u8::try_from(u32::from(c)).unwrap()).collect()
}

/// The payment-default fixture rewritten as Excel saves it in Finland, with Finnish creditor
/// names, and a schema and policy for that dialect that release the creditor as a dimension.
fn excel_variant(ws: &Workspace) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let utf8 = std::fs::read_to_string(common::fixture("payment-defaults-small.csv")).unwrap();
    let creditors = ["Töölön Osuuskauppa", "Östersundomin Sähkö"];
    let mut excel = String::new();
    let mut plain = String::new();
    for (i, line) in utf8.lines().enumerate() {
        let mut f: Vec<String> = line.split(',').map(str::to_string).collect();
        if i > 0 {
            f[6] = creditors[i % 2].to_string();
        }
        plain.push_str(&f.join(","));
        plain.push('\n');
        if i > 0 {
            let d: Vec<&str> = f[5].split('-').collect();
            f[5] = format!("{}.{}.{}", d[2].trim_start_matches('0'), d[1].trim_start_matches('0'), d[0]);
            f[7] = f[7].replace('.', ",");
        }
        excel.push_str(&f.join(";"));
        excel.push_str("\r\n");
    }
    let excel_path = ws.write("input/excel.csv", &cp1252(&excel));
    let plain_path = ws.write("input/plain.csv", plain.as_bytes());
    let schema = std::fs::read_to_string(ws.path("policies/schemas/payment-defaults.toml")).unwrap();
    ws.write(
        "policies/schemas/payment-defaults-excel.toml",
        schema
            .replace("delimiter = \",\"", "delimiter = \";\"")
            .replace("decimal_mark = \".\"", "decimal_mark = \",\"")
            .replace("encoding = \"utf-8\"", "encoding = \"windows-1252\"")
            .replace("date_format = \"iso\"", "date_format = \"finnish\"")
            .as_bytes(),
    );
    let with_creditor = |t: &str| {
        t.replace(
            "[[dimensions]]\nkind = \"period\"",
            "[[dimensions]]\nkind = \"category\"\nname = \"creditor\"\nfield = \"creditor_type\"\nvalues = [\"Töölön Osuuskauppa\", \"Östersundomin Sähkö\"]\n\n[[dimensions]]\nkind = \"period\"",
        )
    };
    ws.policy_variant("plain", with_creditor);
    let excel_policy = ws.policy_variant("excel", move |t| {
        with_creditor(t).replace("payment-defaults.toml", "payment-defaults-excel.toml")
    });
    (excel_path, plain_path, excel_policy)
}

#[test]
fn windows_1252_semicolon_comma_extract_gives_the_same_table_and_keeps_finnish_names() {
    let ws = Workspace::new();
    let (excel, plain, excel_policy) = excel_variant(&ws);
    let (_, a) = tabulate_file(&excel_policy, &excel);
    let (_, b) = tabulate_file(&ws.path("policies/plain.toml"), &plain);
    assert_eq!(a, b, "the Excel dialect must tabulate exactly like the UTF-8 original");
    assert!(a.units().iter().sum::<u64>() > 0);
    ws.run(&["run", "--policy", excel_policy.to_str().unwrap(), "--input", excel.to_str().unwrap(), "--out", "out"])
        .expect_code(0);
    let text = String::from_utf8(std::fs::read(ws.path("out/cells.csv")).unwrap()).unwrap();
    for name in
        ["Töölön Osuuskauppa", "Östersundomin Sähkö", "Östersundomin peruspiiri".trim_end_matches(" peruspiiri")]
    {
        assert!(text.contains(name), "{name} did not survive");
    }
}

#[test]
fn encoding_mismatches_are_clear_errors() {
    let ws = Workspace::new();
    let (excel, _, excel_policy) = excel_variant(&ws);
    // Windows-1252 bytes read as UTF-8.
    let utf8_policy = ws.policy_variant("excel-as-utf8", |_| {
        std::fs::read_to_string(&excel_policy)
            .unwrap()
            .replace("payment-defaults-excel.toml", "payment-defaults-excel-utf8.toml")
    });
    let schema = std::fs::read_to_string(ws.path("policies/schemas/payment-defaults-excel.toml")).unwrap();
    ws.write("policies/schemas/payment-defaults-excel-utf8.toml", schema.replace("windows-1252", "utf-8").as_bytes());
    ws.run(&["run", "--policy", utf8_policy.to_str().unwrap(), "--input", excel.to_str().unwrap(), "--out", "o1"])
        .expect_code(2)
        .expect_stderr(&["not valid in the declared encoding", "windows-1252", "creditor_type", "lines 2, 3, 4, 5, 6"]);
    // UTF-8 text (with and without a byte-order mark) read as Windows-1252.
    let utf8_text = String::from_utf8(cp1252_to_utf8(&std::fs::read(&excel).unwrap())).unwrap();
    let bom = ws.write("input/bom.csv", format!("\u{feff}{utf8_text}").as_bytes());
    ws.run(&["run", "--policy", excel_policy.to_str().unwrap(), "--input", bom.to_str().unwrap(), "--out", "o2"])
        .expect_code(2)
        .expect_stderr(&["byte-order mark", "windows-1252"]);
    let no_bom = ws.write("input/nobom.csv", utf8_text.as_bytes());
    ws.run(&["run", "--policy", excel_policy.to_str().unwrap(), "--input", no_bom.to_str().unwrap(), "--out", "o3"])
        .expect_code(2)
        .expect_stderr(&["not valid in the declared encoding", "creditor_type"]);
    for o in ["o1", "o2", "o3"] {
        assert!(!ws.path(o).exists());
    }
}

fn cp1252_to_utf8(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().map(|b| char::from(*b)).collect::<String>().into_bytes()
}

#[test]
fn pre_aggregated_food_sales_are_refused_in_dp_mode() {
    let ws = Workspace::new();
    let policy = ws.write(
        "policies/food-aggregates-dp.toml",
        b"schema_version = 1\nname = \"food-aggregates-dp\"\ndescription = \"x\"\n\n[source]\nschema = \"schemas/food-aggregates.toml\"\nunit_of_privacy = \"none\"\nmax_rejected_rows = 0\n\n[[dimensions]]\nkind = \"code-list\"\nname = \"postal_area\"\nfield = \"postal_code\"\nclassification = \"classifications/helsinki-postal-codes.csv\"\n\n[bounds]\nmax_cells_per_unit = 1\nmax_records_per_cell = 1\n\n[[measures]]\nkind = \"sum\"\nname = \"euros\"\nfield = \"euros\"\nlower = 0\nupper = 1000\nepsilon = 0.5\n\n[[measures]]\nkind = \"count-records\"\nname = \"rows\"\nepsilon = 0.5\n\n[budget]\nledger = \"ledgers/food.jsonl\"\ndataset = \"food\"\nperiod = \"2025\"\ntotal_epsilon = 4.0\n\n[protection]\nmode = \"dp\"\nmechanism = \"discrete-laplace\"\n\n[protection.noisy_threshold]\nmeasure = \"rows\"\nmin = 10\n",
    );
    let input = ws.write(
        "input/agg.csv",
        &cp1252("retailer;postal_code;week;product_group;euros;quantity;stores;customers\r\nKauppaketju Pohjoistähti;00100;2025-W01;vegetables;836,07;375;3;87\r\n"),
    );
    ws.run(&["run", "--policy", policy.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", "out"])
        .expect_code(1)
        .expect_stderr(&["unit_of_privacy", "none", "no differential-privacy guarantee", "refused"]);
    assert!(!ws.path("out").exists());
}

/// The value and status of one row of `cells.csv` by its leading codes and measure.
fn cell_row<'a>(rows: &'a [Vec<String>], header: &[String], codes: &[(&str, &str)], measure: &str) -> &'a [String] {
    let col = |name: &str| header.iter().position(|h| h.trim_start_matches('\u{feff}') == name).unwrap();
    rows.iter()
        .find(|r| codes.iter().all(|(c, v)| r[col(c)] == *v) && r[col("measure")] == measure)
        .unwrap_or_else(|| panic!("no row {codes:?} {measure}"))
}

#[test]
fn pre_aggregated_food_sales_under_sdc() {
    let ws = Workspace::new();
    // Windows-1252, `;`, decimal comma, CRLF, as the retailers deliver it. Two retailers.
    // 00100 vegetables, Q1: week 1 has 2 + 1 stores and 30 + 20 customers, week 2 has 2 + 1
    //   stores: 3 stores in one week (the retailers' stores differ) - published.
    // 00110 fish, Q1: one retailer with 2 stores and 400 customers - business-confidential.
    // 00120 fruit, Q2: 5 stores but 4 + 3 customers in one week - frequency rule.
    let csv = "retailer;postal_code;week;product_group;euros;quantity;stores;customers\r\n\
               Kauppaketju Pohjoistähti;00100;2025-W01;vegetables;100,50;40;2;30\r\n\
               Ruokaosuuskunta Östersundom;00100;2025-W01;vegetables;50,25;20;1;20\r\n\
               Kauppaketju Pohjoistähti;00100;2025-W02;vegetables;10,00;4;2;5\r\n\
               Ruokaosuuskunta Östersundom;00100;2025-W02;vegetables;1,00;1;1;1\r\n\
               Kauppaketju Pohjoistähti;00110;2025-W03;fish;9999,99;4000;2;400\r\n\
               Kauppaketju Pohjoistähti;00120;2025-W20;fruit_berries;70,00;30;3;4\r\n\
               Ruokaosuuskunta Östersundom;00120;2025-W20;fruit_berries;30,00;10;2;3\r\n";
    let input = ws.write("input/agg.csv", &cp1252(csv));
    let policy = ws.path("policies/food-aggregates-quarterly-sdc.toml");
    ws.run(&["run", "--policy", policy.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", "out"])
        .expect_code(0);
    let (header, rows) = read_csv(&ws.path("out/cells.csv"));
    assert_eq!(
        rows.len(),
        (90 + 8 + 1) * 15 * 5 * 2,
        "(postal areas + major districts + city) x product groups x (4 quarters + year) x 2 measures"
    );
    let at = |postal: &str, group: &str, quarter: &str, measure: &str| {
        let r = cell_row(
            &rows,
            &header,
            &[("postal_area_code", postal), ("product_group", group), ("quarter", quarter)],
            measure,
        );
        let col = |name: &str| header.iter().position(|h| h.trim_start_matches('\u{feff}') == name).unwrap();
        (r[col("value")].clone(), r[col("status")].clone())
    };
    // Exact sums in euros with the decimal comma read: 100.50 + 50.25 + 10.00 + 1.00.
    assert_eq!(at("00100", "vegetables", "2025Q1", "euros"), ("161.75".to_string(), "published".to_string()));
    assert_eq!(at("00100", "vegetables", "2025Q1", "items"), ("65".to_string(), "published".to_string()));
    assert_eq!(at("00100", "vegetables", "total", "euros").0, "161.75");
    // The major district (postal areas 00100-00210) and the city add up the same rows.
    assert_eq!(at("1", "vegetables", "2025Q1", "euros").0, "161.75");
    assert_eq!(at("total", "vegetables", "total", "items").0, "65");
    // The two unsafe cells, and every total that would give them away (they are the only
    // non-empty cells of their product group).
    for (postal, group, quarter) in [("00110", "fish", "2025Q1"), ("00120", "fruit_berries", "2025Q2")] {
        for area in [postal, "1", "total"] {
            for q in [quarter, "total"] {
                let (value, status) = at(area, group, q, "euros");
                assert_eq!((value.as_str(), status.as_str()), ("", "suppressed"), "{area} {group} {q}");
            }
        }
    }
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(ws.path("out/manifest.json")).unwrap()).unwrap();
    assert_eq!(m["sdc"]["contributors_field"], "customers");
    assert_eq!(m["sdc"]["businesses"][0], "stores");
    assert_eq!(m["sdc"]["businesses"][1], 3);
    ws.run(&["audit", "out"]).expect_code(0);
    // Without `disjoint_within`, rows may share stores: 00100's largest row has 2 stores. Data
    // without a unit of privacy needs no pseudonymisation key.
    let text = std::fs::read_to_string(&policy).unwrap().replace("disjoint_within = \"week\"\n", "");
    let strict = ws.write("policies/food-aggregates-strict.toml", text.as_bytes());
    ws.run_env(
        &["run", "--policy", strict.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", "strict"],
        &[],
    )
    .expect_code(0);
    let (header, rows) = read_csv(&ws.path("strict/cells.csv"));
    let r = cell_row(
        &rows,
        &header,
        &[("postal_area_code", "00100"), ("quarter", "2025Q1"), ("product_group", "vegetables")],
        "euros",
    );
    assert_eq!(r[header.iter().position(|h| h == "status").unwrap()], "suppressed");
}

#[test]
fn area_indicators_under_sdc() {
    let ws = Workspace::new();
    // Vironniemi district (101) has three sub-areas; its unemployment numerators are 3, 40 and
    // 60. The 3 falls under the frequency rule, and the district total would give it away, so
    // the cheapest sibling (40) is suppressed too. `population` rows are outside the key set.
    let csv = "area_code,indicator_id,period,value,numerator,denominator\n\
               0911101010,population,2025,300,,\n\
               0911101010,unemployment_rate,2025,3.0,3,100\n\
               0911101020,unemployment_rate,2025,10.0,40,400\n\
               0911101080,unemployment_rate,2025,10.0,60,600\n\
               0911103130,unemployment_rate,2025,5.0,500,10000\n";
    let input = ws.write("input/indicators.csv", csv.as_bytes());
    let policy = ws.path("policies/area-indicators-sdc.toml");
    let out = ws.run_env(
        &["run", "--policy", policy.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", "out"],
        &[],
    );
    out.expect_code(0);
    let (header, rows) = read_csv(&ws.path("out/cells.csv"));
    let col = |name: &str| header.iter().position(|h| h.trim_start_matches('\u{feff}') == name).unwrap();
    let at = |area: &str, measure: &str| {
        let r = cell_row(&rows, &header, &[("area_code", area), ("indicator", "unemployment_rate")], measure);
        (r[col("value")].clone(), r[col("status")].clone())
    };
    let s = |v: &str, st: &str| (v.to_string(), st.to_string());
    assert_eq!(at("0911101010", "numerator"), s("", "suppressed"));
    assert_eq!(at("0911101020", "numerator"), s("", "suppressed"));
    assert_eq!(at("0911101080", "numerator"), s("60", "published"));
    assert_eq!(at("0911101080", "denominator"), s("600", "published"));
    assert_eq!(at("0911101", "numerator"), s("103", "published"));
    assert_eq!(at("091", "numerator"), s("603", "published"));
    assert_eq!(at("0911", "numerator"), s("603", "published"));
    // Finnish area names survive into the output.
    let etu = cell_row(&rows, &header, &[("area_code", "0911103130"), ("indicator", "unemployment_rate")], "numerator");
    assert_eq!(etu[col("area_name")], "Etu-Töölö");
    assert!(out.stdout.contains("1 outside the key set"), "{}", out.stdout);
    ws.run(&["audit", "out"]).expect_code(0);
}

#[test]
fn demo_releases_every_bundled_source() {
    let ws = Workspace::new();
    let out = ws.run_env(&["demo", "--dir", "demo", "--rows", "3000"], &[]);
    out.expect_code(0);
    let lines: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("  ")).collect();
    assert_eq!(lines.len(), 8, "{}", out.stdout);
    for name in [
        "payment-defaults-quarterly",
        "payment-defaults-quarterly-consistent",
        "payment-defaults-quarterly-dp-sdc",
        "youth-chat-quarterly",
        "sports-licences-yearly",
        "food-cards-quarterly",
        "food-aggregates-quarterly-sdc",
        "area-indicators-sdc",
    ] {
        let line = lines.iter().find(|l| l.contains(name)).unwrap_or_else(|| panic!("no {name} in {}", out.stdout));
        let dir = line.rsplit("-> ").next().unwrap();
        ws.run(&["verify", dir]).expect_code(0);
    }
    let gated = lines.iter().find(|l| l.contains("payment-defaults-quarterly-dp-sdc")).unwrap();
    assert!(gated.contains("rho") && gated.contains("SDC gate"), "{gated}");
}

#[test]
fn canary_never_leaks_from_any_source() {
    let ws = Workspace::new();
    let mut food = b"\xEF\xBB\xBF".to_vec();
    food.extend_from_slice(b"card_id;household_size;age_band;postal_code;week;product_group;euros;quantity\r\nCANARY-PERSON-5150;2;25-34;00100;2025-W01;vegetables;13371337,13;3\r\n");
    let mut food_bad = food.clone();
    food_bad.extend_from_slice(b"CANARY-PERSON-5150;2;25-34;00100;CANARY-DATE;vegetables;1,00;3\r\n");
    let sources: Vec<(&str, Vec<u8>, Vec<u8>)> = vec![
        (
            "youth-chat-quarterly",
            format!("{CHAT_HEADER}CANARY-PERSON-5150,2025-02-03,20,14,girl,anxiety,yes,30,0911101010\n").into_bytes(),
            format!("{CHAT_HEADER}CANARY-PERSON-5150,CANARY-DATE,20,14,girl,anxiety,yes,30,0911101010\n").into_bytes(),
        ),
        (
            "sports-licences-yearly",
            b"person_id,birth_year,sex,subarea,federation,sport,licence_type,season,purchase_date\nCANARY-PERSON-5150,2015,F,0911101010,CANARY-CREDITOR,football,competition,2025,2025-03-01\n".to_vec(),
            b"person_id,birth_year,sex,subarea,federation,sport,licence_type,season,purchase_date\nCANARY-PERSON-5150,2015,F,0911101010,CANARY-CREDITOR,football,competition,2025,CANARY-DATE\n".to_vec(),
        ),
        ("food-cards-quarterly", food, food_bad),
    ];
    for (policy, good, bad) in sources {
        let policy_path = ws.path(&format!("policies/{policy}.toml"));
        let good = ws.write(&format!("input/{policy}-good.csv"), &good);
        let bad = ws.write(&format!("input/{policy}-bad.csv"), &bad);
        let ok = ws.run(&[
            "run",
            "--policy",
            policy_path.to_str().unwrap(),
            "--input",
            good.to_str().unwrap(),
            "--out",
            &format!("out-{policy}"),
        ]);
        ok.expect_code(0).expect_no_sentinels();
        let fail = ws.run(&[
            "run",
            "--policy",
            policy_path.to_str().unwrap(),
            "--input",
            bad.to_str().unwrap(),
            "--out",
            &format!("out-bad-{policy}"),
        ]);
        fail.expect_code(2).expect_no_sentinels().expect_stderr(&["(line ", "in column"]);
    }
    let text = ws.all_output_text();
    for s in common::SENTINELS {
        assert!(!text.contains(s), "sentinel {s} reached an output file");
    }
}
