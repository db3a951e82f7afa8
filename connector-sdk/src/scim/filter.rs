//! Filter expressions (RFC 7644 §3.4.2.2) with safely escaped literals.

/// A filter `attr eq "value"` with `"` and `\` escaped inside the literal (RFC 7644
/// §3.4.2.2 uses JSON string rules). URL-encode the result as a query value.
///
/// ```
/// use connector_sdk::scim::filter_eq;
/// assert_eq!(filter_eq("userName", r#"a"b\c@x.com"#), r#"userName eq "a\"b\\c@x.com""#);
/// ```
pub fn filter_eq(attribute: &str, value: &str) -> String {
    let mut literal = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        match c {
            '"' => literal.push_str("\\\""),
            '\\' => literal.push_str("\\\\"),
            c if (c as u32) < 0x20 => literal.push_str(&format!("\\u{:04x}", c as u32)),
            c => literal.push(c),
        }
    }
    format!("{attribute} eq \"{literal}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_literals_escape_quotes_backslashes_and_controls() {
        assert_eq!(filter_eq("userName", "李@x"), "userName eq \"李@x\"");
        assert_eq!(filter_eq("a", "x\ny"), "a eq \"x\\u000ay\"");
    }
}
