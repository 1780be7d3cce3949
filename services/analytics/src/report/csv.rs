//! CSV (RFC 4180) of the reports: a header row, then one row per value.

/// One CSV field: quoted when it holds a comma, quote or line break.
pub fn field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// A CSV document of `header` and `rows`, CRLF line ends.
pub fn document(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut out = header.join(",");
    out.push_str("\r\n");
    for row in rows {
        let fields: Vec<String> = row.iter().map(|v| field(v)).collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

/// A number as CSV text; empty for none.
pub fn number(value: Option<f64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        let doc = document(
            &["group", "value"],
            [
                vec!["a,b".into(), number(Some(2.0))],
                vec!["q\"".into(), number(None)],
            ],
        );
        assert_eq!(doc, "group,value\r\n\"a,b\",2\r\n\"q\"\"\",\r\n");
    }
}
