//! The policy reference (`docs/policy-reference.md`), generated from the doc comments of the
//! policy and baseline models through their JSON Schemas, so the documentation cannot drift
//! from the code: a test compares the committed file with [`policy_reference`].

use std::fmt::Write;

use serde_json::{Map, Value};

use super::baseline::BaselineFile;
use super::model::PolicyFile;

/// Splits a description into its text and its `Example: ...` suffix.
fn split_example(desc: &str) -> (String, String) {
    let desc = desc.replace('\n', " ");
    match desc.find("Example: ") {
        Some(i) => (desc[..i].trim().to_string(), desc[i + "Example: ".len()..].trim().to_string()),
        None => (desc.trim().to_string(), String::new()),
    }
}

struct Renderer<'a> {
    defs: &'a Map<String, Value>,
    queue: Vec<String>,
    done: Vec<String>,
}

impl<'a> Renderer<'a> {
    fn def(&self, reference: &str) -> Option<(&'a str, &'a Value)> {
        let name = reference.strip_prefix("#/$defs/")?;
        self.defs.get_key_value(name).map(|(k, v)| (k.as_str(), v))
    }

    /// The allowed values of a string enum schema, with their meanings.
    fn enum_values(schema: &Value) -> Option<Vec<(String, String)>> {
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            return Some(values.iter().filter_map(|v| v.as_str().map(|s| (s.to_string(), String::new()))).collect());
        }
        let variants = schema.get("oneOf").and_then(Value::as_array)?;
        variants
            .iter()
            .map(|v| {
                let c = v.get("const").and_then(Value::as_str)?;
                Some((c.to_string(), v.get("description").and_then(Value::as_str).unwrap_or("").to_string()))
            })
            .collect()
    }

    fn is_tagged_union(schema: &Value) -> bool {
        schema
            .get("oneOf")
            .and_then(Value::as_array)
            .is_some_and(|v| v.iter().all(|x| x.get("properties").and_then(|p| p.get("kind")).is_some()))
    }

    /// A short type description, queueing referenced sections.
    fn type_of(&mut self, schema: &Value) -> String {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            if let Some((name, def)) = self.def(r) {
                if let Some(values) = Self::enum_values(def) {
                    return format!(
                        "one of {}",
                        values.iter().map(|(v, _)| format!("`{v}`")).collect::<Vec<_>>().join(", ")
                    );
                }
                if !self.done.contains(&name.to_string()) && !self.queue.contains(&name.to_string()) {
                    self.queue.push(name.to_string());
                }
                return format!("table ([{name}](#{}))", name.to_lowercase());
            }
        }
        if let Some(any) = schema.get("anyOf").and_then(Value::as_array) {
            let non_null: Vec<&Value> =
                any.iter().filter(|s| s.get("type").and_then(Value::as_str) != Some("null")).collect();
            if let [one] = non_null.as_slice() {
                return self.type_of(one);
            }
        }
        let ty = match schema.get("type") {
            Some(Value::String(t)) => t.clone(),
            Some(Value::Array(ts)) => {
                ts.iter().filter_map(Value::as_str).filter(|t| *t != "null").collect::<Vec<_>>().join(" or ")
            }
            _ => String::new(),
        };
        match ty.as_str() {
            "array" => format!("list of {}", schema.get("items").map(|i| self.type_of(i)).unwrap_or_default()),
            "integer" => match schema.get("minimum").and_then(Value::as_f64) {
                Some(m) => format!("integer ≥ {m}"),
                None => "integer".into(),
            },
            "" => "value".into(),
            other => other.into(),
        }
    }

    fn table(&mut self, out: &mut String, schema: &Value) {
        let Some(props) = schema.get("properties").and_then(Value::as_object) else { return };
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let _ = writeln!(out, "| field | type | required | meaning | example |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        for (name, prop) in props {
            if name == "kind" {
                continue;
            }
            let (text, example) = split_example(prop.get("description").and_then(Value::as_str).unwrap_or(""));
            let ty = self.type_of(prop);
            let req = if required.contains(&name.as_str()) { "yes" } else { "no" };
            let example = if example.is_empty() { String::new() } else { example };
            let _ = writeln!(out, "| `{name}` | {ty} | {req} | {text} | {example} |");
        }
        // Allowed values of enum-typed fields, with meanings.
        for (name, prop) in props {
            let target = prop.get("$ref").or_else(|| {
                prop.get("anyOf").and_then(Value::as_array).and_then(|a| a.iter().find_map(|s| s.get("$ref")))
            });
            let target = target.or_else(|| prop.get("items").and_then(|i| i.get("$ref")));
            if let Some((_, def)) = target.and_then(Value::as_str).and_then(|r| self.def(r)) {
                if let Some(values) = Self::enum_values(def) {
                    if values.iter().any(|(_, d)| !d.is_empty()) {
                        let _ = writeln!(out, "\nValues of `{name}`:\n");
                        for (v, d) in values {
                            let _ = writeln!(out, "- `{v}`: {}", d.replace('\n', " "));
                        }
                    }
                }
            }
        }
        let _ = writeln!(out);
    }

    fn section(&mut self, out: &mut String, name: &str, schema: &Value) {
        let _ = writeln!(out, "### {name}\n");
        if let Some(d) = schema.get("description").and_then(Value::as_str) {
            let _ = writeln!(out, "{}\n", split_example(d).0);
        }
        if Self::is_tagged_union(schema) {
            let variants = schema.get("oneOf").and_then(Value::as_array).cloned().unwrap_or_default();
            for v in &variants {
                let kind = v
                    .get("properties")
                    .and_then(|p| p.get("kind"))
                    .and_then(|k| k.get("const"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let _ = writeln!(out, "#### `kind = \"{kind}\"`\n");
                if let Some(d) = v.get("description").and_then(Value::as_str) {
                    let _ = writeln!(out, "{}\n", d.replace('\n', " "));
                }
                self.table(out, v);
            }
        } else {
            self.table(out, schema);
        }
    }
}

fn render(out: &mut String, title: &str, root_name: &str, root: &Value) {
    let empty = Map::new();
    let defs = root.get("$defs").and_then(Value::as_object).unwrap_or(&empty);
    let mut r = Renderer { defs, queue: Vec::new(), done: Vec::new() };
    let _ = writeln!(out, "## {title}\n");
    r.section(out, root_name, root);
    while !r.queue.is_empty() {
        let name = r.queue.remove(0);
        r.done.push(name.clone());
        if let Some(def) = defs.get(&name) {
            r.section(out, &name, def);
        }
    }
}

/// The reference documentation of release policies and baseline policies, as Markdown.
pub fn policy_reference() -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Policy reference\n\n<!-- Generated by `cellguard policy reference` from the doc comments in crates/privacy/src/policy/; do not edit by hand. -->\n\nA release policy is one TOML file. Unknown fields are errors, and privacy-critical fields have no defaults. Paths are relative to the policy file. `cellguard policy check` validates a policy against the rules below and the baseline's floors; `cellguard policy explain` describes it in words. See `policies/payment-defaults-quarterly.toml` for a complete example.\n"
    );
    let policy = schemars::schema_for!(PolicyFile);
    render(&mut out, "Release policy", "PolicyFile", policy.as_value());
    let baseline = schemars::schema_for!(BaselineFile);
    render(&mut out, "Baseline policy (`policies/baseline.toml`)", "BaselineFile", baseline.as_value());
    let schema = schemars::schema_for!(cellguard_ingest::SourceSchema);
    render(&mut out, "Source schema (`policies/schemas/*.toml`)", "SourceSchema", schema.as_value());
    out
}
