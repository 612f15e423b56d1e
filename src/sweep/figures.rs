//! The figures of one run, read generically from its [`Summary`]: every number in the
//! summary's JSON form, named by its dotted path (`wait_s.p95`, `power.peak_it_kw`), so a
//! figure added to the summary later appears in `sweep.csv` without changes here. Lists
//! (per-tenant rows) and text are left out; a figure a run lacks (e.g. `power.*` with
//! power off) is an empty cell.

use serde_json::Value;

use crate::metrics::Summary;

/// One figure: its dotted name and its value as written in `sweep.csv` (Rust's shortest
/// round-trip form for floats, so the value read back is the value computed).
pub type Figure = (String, String);

/// Every figure of a run, by name (alphabetical: the JSON object order).
pub fn of(summary: &Summary) -> Vec<Figure> {
    let mut out = Vec::new();
    if let Ok(v) = serde_json::to_value(summary) {
        flatten("", &v, &mut out);
    }
    out
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<Figure>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&name, x, out);
            }
        }
        Value::Number(n) => {
            let text = match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => u.to_string(),
                (None, Some(i), _) => i.to_string(),
                (None, None, Some(x)) => format!("{x}"),
                _ => return,
            };
            out.push((prefix.to_string(), text));
        }
        Value::Bool(b) => out.push((prefix.to_string(), u8::from(*b).to_string())),
        Value::Null | Value::String(_) | Value::Array(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_numbers_are_named_by_path() {
        let v: Value = serde_json::json!({"a": 1, "b": {"c": 2.5, "d": "text", "e": [1]}, "f": null});
        let mut out = Vec::new();
        flatten("", &v, &mut out);
        assert_eq!(
            out,
            [("a".to_string(), "1".to_string()), ("b.c".into(), "2.5".into())]
        );
    }
}
