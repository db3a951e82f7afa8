//! Reading one answer of a listing: items at a JSON pointer, a total, a cursor, the
//! `rel="next"` target of RFC 8288 `Link` headers. Every malformed answer is an error
//! naming the listing, never a panic, and never quotes a value of the body (it may hold a
//! token).

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::http::Response;

/// What kind of JSON value `v` is, for messages ("an object", "a string"…).
pub(super) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `pointer` as RFC 6901 wants it: `""` (the whole body) or starting with `/`.
pub(super) fn normalize_pointer(pointer: &str) -> String {
    let p = pointer.trim();
    if p.is_empty() || p.starts_with('/') {
        p.to_string()
    } else {
        format!("/{p}")
    }
}

/// How a pointer reads in a message: `the body` for `""`, else the pointer.
pub(super) fn where_(pointer: &str) -> String {
    if pointer.is_empty() {
        "the body".to_string()
    } else {
        format!("{pointer:?}")
    }
}

/// A malformed answer of `listing`.
pub(super) fn malformed(listing: &str, what: impl std::fmt::Display) -> Error {
    Error::internal(format!(
        "listing {listing}: {what}; the API changed, or the listing is declared wrongly"
    ))
}

/// The last segment of a type's name (`toy::ApiUser` → `ApiUser`), for messages.
fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    if full.contains('<') {
        full
    } else {
        full.rsplit("::").next().unwrap_or(full)
    }
}

/// serde's message without the value it may quote (`invalid type: string "x", expected
/// u32` → `invalid type, expected u32`).
fn describe_serde(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    for prefix in ["invalid type", "invalid value", "invalid length"] {
        if msg.starts_with(prefix) {
            return match msg.rsplit_once("expected ") {
                Some((_, expected)) => format!("{prefix}, expected {expected}"),
                None => prefix.to_string(),
            };
        }
    }
    // "missing field `id`", "unknown variant …" name the schema, not the data; anything
    // else is cut at its first quote.
    if msg.starts_with("missing field") || msg.starts_with("duplicate field") {
        msg
    } else {
        msg.split('"').next().unwrap_or_default().trim().to_string()
    }
}

/// The items of `body` at `pointer`, each deserialized to `T`. A missing pointer or a
/// value that is not an array is an error; `null` is no items.
pub(super) fn items<T: DeserializeOwned>(
    listing: &str,
    body: Value,
    pointer: &str,
) -> Result<Vec<T>> {
    let mut body = body;
    let found = if pointer.is_empty() {
        Some(body.take())
    } else {
        body.pointer_mut(pointer).map(Value::take)
    };
    let raw = match found {
        Some(Value::Array(items)) => items,
        Some(Value::Null) => Vec::new(),
        Some(other) => {
            return Err(malformed(
                listing,
                format!(
                    "the items at {} are {}, not an array",
                    where_(pointer),
                    kind_of(&other)
                ),
            ));
        }
        None => {
            return Err(malformed(
                listing,
                format!(
                    "the answer has no items at {} (it is {})",
                    where_(pointer),
                    kind_of(&body)
                ),
            ));
        }
    };
    raw.into_iter()
        .enumerate()
        .map(|(i, item)| {
            serde_json::from_value(item).map_err(|e| {
                malformed(
                    listing,
                    format!(
                        "item {i} at {} is not a {} ({})",
                        where_(pointer),
                        short_type_name::<T>(),
                        describe_serde(&e)
                    ),
                )
            })
        })
        .collect()
}

/// A count at `pointer`: a number or a numeric string; `None` when absent or `null`.
pub(super) fn count_at(listing: &str, body: &Value, pointer: &str) -> Result<Option<u64>> {
    match body.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64()),
        Some(Value::String(s)) if s.trim().parse::<u64>().is_ok() => Ok(s.trim().parse().ok()),
        Some(other) => Err(malformed(
            listing,
            format!(
                "the count at {} is {}, not a whole number",
                where_(pointer),
                kind_of(other)
            ),
        )),
    }
}

/// A count in header `name`; `None` when absent.
pub(super) fn count_in_header(listing: &str, resp: &Response, name: &str) -> Result<Option<u64>> {
    match resp.headers().get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(Some)
            .ok_or_else(|| malformed(listing, format!("the {name} header is not a whole number"))),
    }
}

/// A cursor or a next URL at `pointer`: a string (or a whole number, as text); `None`
/// when absent, `null` or empty.
pub(super) fn text_at(
    listing: &str,
    body: &Value,
    pointer: &str,
    what: &str,
) -> Result<Option<String>> {
    match body.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone()).filter(|s| !s.is_empty())),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => Ok(Some(n.to_string())),
        Some(other) => Err(malformed(
            listing,
            format!(
                "the {what} at {} is {}, not a string",
                where_(pointer),
                kind_of(other)
            ),
        )),
    }
}

/// The value of header `name` as text; `None` when absent or empty.
pub(super) fn header_text(listing: &str, resp: &Response, name: &str) -> Result<Option<String>> {
    match resp.headers().get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| Some(s.trim().to_string()).filter(|s| !s.is_empty()))
            .map_err(|_| malformed(listing, format!("the {name} header is not text"))),
    }
}

/// One link of a `Link` header: its target and its relation types (lower case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Link {
    pub(super) target: String,
    pub(super) rels: Vec<String>,
}

/// Parses an RFC 8288 `Link` header value strictly: `<target>` then `; name=value`
/// parameters (value quoted or a token), links separated by commas. Unlike the lenient
/// [`link_next`](crate::page::link_next), a value that is not made of links is an error
/// (saying where it goes wrong, without quoting it), so a listing never ends quietly on
/// a header it could not read.
pub(super) fn parse_links(value: &str) -> std::result::Result<Vec<Link>, String> {
    let bytes = value.as_bytes();
    let mut i = 0;
    let mut links = Vec::new();
    let skip_ws = |i: &mut usize| {
        while *i < bytes.len() && (bytes[*i] == b' ' || bytes[*i] == b'\t') {
            *i += 1;
        }
    };
    loop {
        // Empty elements (",,") are allowed by the list syntax.
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b',') {
            i += 1;
        }
        if i >= bytes.len() {
            return Ok(links);
        }
        if bytes[i] != b'<' {
            return Err(format!("expected '<' at character {}", i + 1));
        }
        let close = value[i..]
            .find('>')
            .map(|n| i + n)
            .ok_or_else(|| format!("the '<' at character {} is never closed", i + 1))?;
        let target = value[i + 1..close].trim().to_string();
        i = close + 1;
        let mut rels = Vec::new();
        loop {
            skip_ws(&mut i);
            if i >= bytes.len() || bytes[i] == b',' {
                break;
            }
            if bytes[i] != b';' {
                return Err(format!(
                    "expected ';' or ',' after a link at character {}",
                    i + 1
                ));
            }
            i += 1;
            skip_ws(&mut i);
            let start = i;
            while i < bytes.len() && !matches!(bytes[i], b'=' | b';' | b',' | b' ' | b'\t') {
                i += 1;
            }
            let name = value[start..i].to_ascii_lowercase();
            if name.is_empty() {
                return Err(format!("a parameter without a name at character {}", i + 1));
            }
            skip_ws(&mut i);
            let mut param = String::new();
            if i < bytes.len() && bytes[i] == b'=' {
                i += 1;
                skip_ws(&mut i);
                if i < bytes.len() && bytes[i] == b'"' {
                    i += 1;
                    let mut closed = false;
                    while i < bytes.len() {
                        match bytes[i] {
                            b'\\' if i + 1 < bytes.len() => {
                                let ch = value[i + 1..].chars().next().unwrap_or(' ');
                                param.push(ch);
                                i += 1 + ch.len_utf8();
                            }
                            b'"' => {
                                i += 1;
                                closed = true;
                                break;
                            }
                            _ => {
                                let ch = value[i..].chars().next().unwrap_or(' ');
                                param.push(ch);
                                i += ch.len_utf8();
                            }
                        }
                    }
                    if !closed {
                        return Err("a quoted parameter is never closed".to_string());
                    }
                } else {
                    let start = i;
                    while i < bytes.len() && !matches!(bytes[i], b';' | b',') {
                        i += 1;
                    }
                    param = value[start..i].trim().to_string();
                }
            }
            if name == "rel" {
                rels.extend(param.split_ascii_whitespace().map(str::to_ascii_lowercase));
            }
        }
        links.push(Link { target, rels });
    }
}

/// The `rel="next"` target of the `Link` headers of `resp` (several headers and several
/// links per header alike); an error when a header is not made of links.
pub(super) fn next_link(listing: &str, resp: &Response) -> Result<Option<String>> {
    for value in resp.headers().get_all("link") {
        let text = value
            .to_str()
            .map_err(|_| malformed(listing, "a Link header is not text"))?;
        let links = parse_links(text).map_err(|why| {
            malformed(
                listing,
                format!("a Link header could not be read as RFC 8288 links ({why})"),
            )
        })?;
        if let Some(link) = links
            .into_iter()
            .find(|l| l.rels.iter().any(|r| r == "next"))
        {
            return Ok(Some(link.target));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn links_are_read_strictly() {
        let links = parse_links(
            r#"<https://a/1>; rel="prev first", </users?page=3>;rel=next;title="a;b, \"c\"" , <x>"#,
        )
        .unwrap();
        assert_eq!(links.len(), 3);
        assert_eq!(links[0].rels, ["prev", "first"]);
        assert_eq!(links[1].target, "/users?page=3");
        assert_eq!(links[1].rels, ["next"]);
        assert!(links[2].rels.is_empty());
        assert_eq!(parse_links("").unwrap(), []);
        assert!(parse_links("garbage <unclosed").is_err());
        assert!(
            parse_links("<https://a/2")
                .unwrap_err()
                .contains("never closed")
        );
        assert!(parse_links(r#"<https://a/2>; rel="next"#).is_err());
        assert!(
            parse_links("<a> junk")
                .unwrap_err()
                .contains("expected ';'")
        );
    }

    #[test]
    fn serde_messages_do_not_quote_values() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct U {
            id: u32,
        }
        let e = serde_json::from_value::<U>(json!({"id": "secret-ish"})).unwrap_err();
        let text = describe_serde(&e);
        assert!(!text.contains("secret-ish"), "{text}");
        assert!(text.contains("expected u32"), "{text}");
        let e = serde_json::from_value::<U>(json!({})).unwrap_err();
        assert_eq!(describe_serde(&e), "missing field `id`");
    }

    #[test]
    fn items_counts_and_cursors() {
        let body = json!({"data": [1, 2], "meta": {"total": "7"}, "next": 5, "bad": true});
        assert_eq!(items::<u8>("l", body.clone(), "/data").unwrap(), [1, 2]);
        assert_eq!(items::<u8>("l", json!([3]), "").unwrap(), [3]);
        assert!(
            items::<u8>("l", json!({"data": null}), "/data")
                .unwrap()
                .is_empty()
        );
        let err = items::<u8>("/users", body.clone(), "/meta").unwrap_err();
        assert!(err.to_string().contains("listing /users"), "{err}");
        assert!(err.to_string().contains("an object, not an array"), "{err}");
        assert!(items::<u8>("l", body.clone(), "/nope").is_err());
        assert_eq!(count_at("l", &body, "/meta/total").unwrap(), Some(7));
        assert_eq!(count_at("l", &body, "/missing").unwrap(), None);
        assert!(count_at("l", &body, "/data").is_err());
        assert_eq!(
            text_at("l", &body, "/next", "cursor").unwrap().as_deref(),
            Some("5")
        );
        let err = text_at("l", &body, "/bad", "cursor").unwrap_err();
        assert!(err.to_string().contains("a boolean, not a string"), "{err}");
        assert_eq!(normalize_pointer("data"), "/data");
        assert_eq!(normalize_pointer(""), "");
    }
}
