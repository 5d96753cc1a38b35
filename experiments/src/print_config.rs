//! `--print-config`: the resolved configuration as a commented TOML file
//! (preset, then `--config`, then `--set`, then flags), each key with its doc
//! line, its default and what values it takes, read from the config type's
//! JSON schema (doc comments, serde defaults, `#[schemars(range(...))]`).
//! The output is itself a valid `--config`.

use anyhow::{Context, Result};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

/// What a schema property accepts, in words (`a number in [0, 1]`, `one of: huber, mse`, ...).
fn accepted(prop: &Value, defs: &Value) -> String {
    let resolved = prop.get("$ref").and_then(Value::as_str).and_then(|r| r.rsplit('/').next()).and_then(|name| defs.get(name)).unwrap_or(prop);
    if let Some(values) = resolved.get("enum").and_then(Value::as_array) {
        let names: Vec<String> = values.iter().map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())).collect();
        return format!("one of: {}", names.join(", "));
    }
    if let Some(one_of) = resolved.get("oneOf").and_then(Value::as_array) {
        let names: Vec<String> = one_of
            .iter()
            .filter_map(|v| v.get("const").or_else(|| v.get("enum").and_then(|e| e.get(0))))
            .map(|v| v.as_str().unwrap_or("?").to_string())
            .collect();
        if !names.is_empty() {
            return format!("one of: {}", names.join(", "));
        }
    }
    let types: Vec<&str> = match resolved.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let optional = types.contains(&"null");
    let mut text = if types.contains(&"array") {
        format!("a list of {}", resolved.get("items").map(|i| accepted(i, defs)).unwrap_or_else(|| "values".into()))
    } else if types.contains(&"integer") {
        match resolved.get("minimum").and_then(Value::as_f64) {
            Some(m) if m >= 0.0 => format!("a whole number >= {m}"),
            _ => "a whole number".into(),
        }
    } else if types.contains(&"number") {
        let bound = |key: &str| resolved.get(key).and_then(Value::as_f64);
        match (bound("minimum"), bound("maximum"), bound("exclusiveMaximum")) {
            (Some(lo), Some(hi), _) => format!("a number in [{lo}, {hi}]"),
            (Some(lo), None, Some(hi)) => format!("a number in [{lo}, {hi})"),
            (Some(lo), None, None) => format!("a number >= {lo}"),
            _ => match bound("exclusiveMinimum") {
                Some(lo) => format!("a number > {lo}"),
                None => "a number".into(),
            },
        }
    } else if types.contains(&"boolean") {
        "true or false".into()
    } else if types.contains(&"string") {
        "text".into()
    } else {
        "a value".into()
    };
    if optional {
        text.push_str(", or none (remove the key)");
    }
    text
}

/// A TOML value on one line.
fn toml_value(v: &toml::Value) -> String {
    let mut t = toml::Table::new();
    t.insert("v".into(), v.clone());
    toml::to_string(&t).map(|s| s.trim().trim_start_matches("v = ").to_string()).unwrap_or_default()
}

/// The commented TOML of `config` (resolved from `source`).
pub fn render<T: Serialize + JsonSchema + Default>(config: &T, title: &str, source: &str) -> Result<String> {
    let schema = serde_json::to_value(schemars::schema_for!(T)).context("the config's schema")?;
    let defs = schema.get("$defs").cloned().unwrap_or(Value::Null);
    let values = toml::Table::try_from(config).context("serialising the config")?;
    let defaults = toml::Table::try_from(T::default()).context("serialising the defaults")?;
    let mut out = format!("# {title}\n# resolved from {source}; every key below, with its doc line, default and accepted values.\n");
    if let Some(doc) = schema.get("description").and_then(Value::as_str) {
        out.push_str(&format!("# {}\n", doc.replace('\n', " ")));
    }
    let props = schema.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
    for (key, prop) in &props {
        out.push('\n');
        if let Some(doc) = prop.get("description").and_then(Value::as_str) {
            for line in doc.lines() {
                out.push_str(&format!("# {line}\n"));
            }
        }
        let default = defaults.get(key).map(toml_value).unwrap_or_else(|| "none".into());
        out.push_str(&format!("# default {default}; {}\n", accepted(prop, &defs)));
        match values.get(key) {
            Some(v) => out.push_str(&format!("{key} = {}\n", toml_value(v))),
            None => out.push_str(&format!("# {key} = (none)\n")),
        }
    }
    Ok(out)
}

/// Prints [`render`] on stdout.
pub fn print<T: Serialize + JsonSchema + Default>(config: &T, title: &str, source: &str) -> Result<()> {
    let text = render(config, title, source)?;
    crate::out!("{}", text.trim_end());
    Ok(())
}
