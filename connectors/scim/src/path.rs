//! The two path dialects of a provider file (spec §3), compiled once when the file loads.
//!
//! * A path starting with `$` (or `@`, read as `$`) is **RFC 9535 JSONPath**, run by
//!   `serde_json_path`. As in baton-scim, a path that can select several nodes (a
//!   wildcard, a filter, a slice, a union or `..`) gives a list, possibly empty; any
//!   other gives the one value, or `null` when nothing is there.
//! * A path without `$` is read as baton-scim reads it: dotted and indexed steps
//!   (`name.givenName`, `emails[0].value`, `a["k-ey"]`) from the object, where a missing
//!   **last** key is `null`, a missing or `null` **intermediate** one is an error, and on a
//!   list a key that is not an index in range leaves the list unchanged; a comparison with
//!   a literal (`status == "Active"`) or a literal alone (`true`) evaluates as an
//!   expression. Unlike baton-scim, a bare path with a filter, wildcard or `..`
//!   (`emails[?(@.primary==true)].value`, which baton-scim cannot parse and silently
//!   skips) is run as the JSONPath it was meant to be, `$.` prefixed.
//!
//! ```
//! use connector_scim::path::Path;
//! use serde_json::json;
//!
//! let user = json!({"emails": [{"value": "a@x", "primary": false}, {"value": "b@x", "primary": true}]});
//! for text in ["emails[?(@.primary==true)].value", "$.emails[?(@.primary==true)].value"] {
//!     assert_eq!(Path::parse(text).unwrap().eval(&user).unwrap(), json!(["b@x"]));
//! }
//! assert_eq!(Path::parse("emails[0].value").unwrap().eval(&user).unwrap(), json!("a@x"));
//! assert_eq!(Path::parse("nickName").unwrap().eval(&user).unwrap(), json!(null));
//! assert!(Path::parse("name.givenName").unwrap().eval(&user).is_err());
//! assert!(Path::parse("$.emails[?(@.primary==").is_err());
//! ```

use std::fmt;

use serde_json::Value;
use serde_json_path::JsonPath;

/// The longest path accepted (a provider file is configuration, not data).
pub const MAX_PATH_LEN: usize = 1024;

/// A compiled path of either dialect.
#[derive(Clone)]
pub struct Path {
    text: String,
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    /// `""`: evaluates to `null` (baton-scim's `extractField`).
    Empty,
    /// RFC 9535 JSONPath; `singular` when it selects at most one node by its syntax.
    Json { path: JsonPath, singular: bool },
    /// baton-scim's bare form.
    Bare(Expr),
}

impl fmt::Debug for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Path({:?})", self.text)
    }
}

impl PartialEq for Path {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Path {
    /// Compiles `text`; the error says what is wrong with it (the caller names the field).
    pub fn parse(text: &str) -> Result<Path, String> {
        if text.len() > MAX_PATH_LEN {
            return Err(format!("longer than {MAX_PATH_LEN} bytes"));
        }
        let trimmed = text.trim();
        let kind = if trimmed.is_empty() {
            Kind::Empty
        } else if let Some(rest) = trimmed.strip_prefix('@') {
            json_path(&format!("${rest}"))?
        } else if trimmed.starts_with('$') {
            json_path(trimmed)?
        } else if needs_json_path(trimmed) {
            let joined = if trimmed.starts_with('[') {
                format!("${trimmed}")
            } else {
                format!("$.{trimmed}")
            };
            json_path(&joined)?
        } else {
            Kind::Bare(Expr::parse(trimmed)?)
        };
        Ok(Path {
            text: text.to_string(),
            kind,
        })
    }

    /// The empty path: always `null`.
    pub fn empty() -> Path {
        Path {
            text: String::new(),
            kind: Kind::Empty,
        }
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the path is empty (it always evaluates to `null`).
    pub fn is_empty(&self) -> bool {
        matches!(self.kind, Kind::Empty)
    }

    /// Evaluates the path on `value`. Errors are baton-scim's evaluation errors (a missing
    /// intermediate key, a step into a scalar); the caller decides whether they fail a
    /// record or read as absent.
    pub fn eval(&self, value: &Value) -> Result<Value, String> {
        match &self.kind {
            Kind::Empty => Ok(Value::Null),
            Kind::Json { path, singular } => {
                let nodes = path.query(value);
                if *singular {
                    Ok(nodes.first().map(|v| (*v).clone()).unwrap_or(Value::Null))
                } else {
                    Ok(Value::Array(nodes.all().into_iter().cloned().collect()))
                }
            }
            Kind::Bare(expr) => expr.eval(value),
        }
    }

    /// The value as a string, when it evaluates to a non-empty JSON string (numbers are
    /// read as their text, since some servers send numeric ids); anything else, an error
    /// included, is `None`.
    pub fn text(&self, value: &Value) -> Option<String> {
        match self.eval(value).ok()? {
            Value::String(s) if !s.trim().is_empty() => Some(s),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

fn json_path(text: &str) -> Result<Kind, String> {
    let path =
        JsonPath::parse(text).map_err(|e| format!("not a valid JSONPath (RFC 9535): {e}"))?;
    Ok(Kind::Json {
        path,
        singular: is_singular(text),
    })
}

/// Whether a bare path uses syntax only JSONPath has (a filter, wildcard, slice, union
/// or descendant step), outside quoted names.
fn needs_json_path(text: &str) -> bool {
    let mut quote = None;
    let mut depth = 0u32;
    let mut prev = ' ';
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q && prev != '\\' => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => depth = depth.saturating_sub(1),
            (None, '?' | '*') => return true,
            (None, ':' | ',') if depth > 0 => return true,
            (None, '.') if prev == '.' => return true,
            _ => {}
        }
        prev = c;
    }
    false
}

/// Whether a `$` path selects at most one node by its syntax: no wildcard, filter,
/// slice, union or `..` outside quoted names (RFC 9535 §2.3.5.1's singular queries).
fn is_singular(text: &str) -> bool {
    !needs_json_path(text)
}

/// A bare-dialect expression: a path, a literal, or a comparison of two.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Steps(Vec<Step>),
    Literal(Value),
    Compare(Box<Expr>, bool, Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(i64),
}

impl Expr {
    fn parse(text: &str) -> Result<Expr, String> {
        let mut text = text.trim();
        while text.starts_with('(') && text.ends_with(')') && text.len() >= 2 {
            text = text[1..text.len() - 1].trim();
        }
        if let Some((l, eq, r)) = split_comparison(text) {
            return Ok(Expr::Compare(
                Box::new(Expr::operand(l)?),
                eq,
                Box::new(Expr::operand(r)?),
            ));
        }
        Expr::operand(text)
    }

    fn operand(text: &str) -> Result<Expr, String> {
        let text = text.trim();
        match text {
            "" => return Err("an empty operand".into()),
            "true" => return Ok(Expr::Literal(Value::Bool(true))),
            "false" => return Ok(Expr::Literal(Value::Bool(false))),
            "nil" | "null" => return Ok(Expr::Literal(Value::Null)),
            _ => {}
        }
        if text.starts_with('"') {
            return serde_json::from_str::<String>(text)
                .map(|s| Expr::Literal(Value::String(s)))
                .map_err(|_| format!("{text:?} is not a closed string literal"));
        }
        if text.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            return serde_json::from_str::<serde_json::Number>(text)
                .map(|n| Expr::Literal(Value::Number(n)))
                .map_err(|_| format!("{text:?} is not a number"));
        }
        parse_steps(text).map(Expr::Steps)
    }

    fn eval(&self, root: &Value) -> Result<Value, String> {
        match self {
            Expr::Literal(v) => Ok(v.clone()),
            Expr::Steps(steps) => eval_steps(steps, root),
            Expr::Compare(l, eq, r) => {
                let same = loose_eq(&l.eval(root)?, &r.eval(root)?);
                Ok(Value::Bool(same == *eq))
            }
        }
    }
}

/// Equality as gval compares: numbers by value, everything else structurally.
fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// `l == r` or `l != r`, outside quotes and brackets.
fn split_comparison(text: &str) -> Option<(&str, bool, &str)> {
    let bytes = text.as_bytes();
    let mut quote: Option<u8> = None;
    let mut depth = 0i32;
    let mut i = 0;
    while i + 1 < bytes.len() {
        let c = bytes[i];
        match quote {
            Some(_) if c == b'\\' => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'"' | b'\'' => quote = Some(c),
                b'[' | b'(' => depth += 1,
                b']' | b')' => depth -= 1,
                b'=' | b'!' if depth == 0 && bytes[i + 1] == b'=' => {
                    return Some((&text[..i], c == b'=', &text[i + 2..]));
                }
                _ => {}
            },
        }
        i += 1;
    }
    None
}

fn parse_steps(text: &str) -> Result<Vec<Step>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    let ident = |i: &mut usize| -> Result<String, String> {
        let start = *i;
        while *i < chars.len()
            && (chars[*i].is_alphanumeric() || chars[*i] == '_' || chars[*i] == '$')
        {
            *i += 1;
        }
        if start == *i {
            return Err(match chars.get(start) {
                Some(c) => format!("unexpected {c:?} at character {}", start + 1),
                None => "the path ends where a name was expected".into(),
            });
        }
        Ok(chars[start..*i].iter().collect())
    };
    steps.push(Step::Key(ident(&mut i)?));
    while i < chars.len() {
        match chars[i] {
            '.' => {
                i += 1;
                steps.push(Step::Key(ident(&mut i)?));
            }
            '[' => {
                let close = chars[i..]
                    .iter()
                    .position(|c| *c == ']')
                    .map(|p| p + i)
                    .ok_or("a '[' without its ']'")?;
                let inner: String = chars[i + 1..close].iter().collect();
                let inner = inner.trim();
                let step = if let Ok(n) = inner.parse::<i64>() {
                    Step::Index(n)
                } else if inner.len() >= 2
                    && ((inner.starts_with('"') && inner.ends_with('"'))
                        || (inner.starts_with('\'') && inner.ends_with('\'')))
                {
                    Step::Key(inner[1..inner.len() - 1].to_string())
                } else {
                    return Err(format!("[{inner}] is neither an index nor a quoted name"));
                };
                steps.push(step);
                i = close + 1;
            }
            c => return Err(format!("unexpected {c:?} at character {}", i + 1)),
        }
    }
    Ok(steps)
}

fn eval_steps(steps: &[Step], root: &Value) -> Result<Value, String> {
    let mut current = root;
    let mut walked = String::new();
    for (n, step) in steps.iter().enumerate() {
        let last = n + 1 == steps.len();
        let name = match step {
            Step::Key(k) => k.clone(),
            Step::Index(i) => i.to_string(),
        };
        match current {
            Value::Object(map) => {
                let found = match step {
                    Step::Key(k) => map.get(k),
                    Step::Index(i) => map.get(&i.to_string()),
                };
                match found {
                    Some(v) => current = v,
                    None if last => return Ok(Value::Null),
                    None => return Err(format!("unknown parameter {walked}{name}")),
                }
            }
            Value::Array(items) => {
                // baton-scim's evaluator leaves a list unchanged for a key or an index
                // out of range.
                if let Step::Index(i) = step
                    && let Some(v) = usize::try_from(*i).ok().and_then(|i| items.get(i))
                {
                    current = v;
                }
            }
            _ if n == 0 => return Ok(Value::Null),
            _ => return Err(format!("unknown parameter {walked}{name}")),
        }
        walked.push_str(&name);
        walked.push('.');
    }
    Ok(current.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(path: &str, v: &Value) -> Result<Value, String> {
        Path::parse(path).unwrap().eval(v)
    }

    #[test]
    fn bare_paths_behave_as_baton_scim_evaluates_them() {
        let u = json!({"id": "1", "name": {"givenName": "Zoë"}, "emails": [{"value": "a@x"}], "e": [],
                       "k-ey": {"v": 1}, "active": true, "status": "Active"});
        assert_eq!(eval("name.givenName", &u).unwrap(), json!("Zoë"));
        assert_eq!(eval("name.middleName", &u).unwrap(), json!(null));
        assert_eq!(eval("nickName", &u).unwrap(), json!(null));
        assert!(
            eval("manager.id", &u)
                .unwrap_err()
                .contains("unknown parameter manager")
        );
        assert_eq!(eval("emails[0].value", &u).unwrap(), json!("a@x"));
        assert_eq!(eval("emails[5].value", &u).unwrap(), u["emails"]);
        assert_eq!(eval("emails.value", &u).unwrap(), u["emails"]);
        assert_eq!(eval("e[0].value", &u).unwrap(), json!([]));
        assert_eq!(
            eval(r#"x["k-ey"].v"#, &json!({"x": {"k-ey": {"v": 1}}})).unwrap(),
            json!(1)
        );
        assert_eq!(
            eval(r#"id["x"]"#, &json!({"id": {"x": 2}})).unwrap(),
            json!(2)
        );
        assert_eq!(eval("active == true", &u).unwrap(), json!(true));
        assert_eq!(eval(r#"status != "Active""#, &u).unwrap(), json!(false));
        assert_eq!(eval("(active)", &u).unwrap(), json!(true));
        assert_eq!(eval("true", &u).unwrap(), json!(true));
        assert!(Path::parse("a-b").is_err());
        assert!(Path::parse("a[").is_err());
        assert!(Path::parse("a.").is_err());
    }

    #[test]
    fn dollar_paths_are_rfc_9535_with_baton_scims_result_shapes() {
        let u = json!({"emails": [{"value": "a@x", "type": "work"}, {"value": "b@x", "primary": true}],
                       "urn:x:2.0:User": {"level": "gold"}});
        assert_eq!(eval("$.emails[0].value", &u).unwrap(), json!("a@x"));
        assert_eq!(eval("$.emails[9].value", &u).unwrap(), json!(null));
        assert_eq!(
            eval("$.emails[*].value", &u).unwrap(),
            json!(["a@x", "b@x"])
        );
        assert_eq!(
            eval("$.emails[?(@.primary)].value", &u).unwrap(),
            json!(["b@x"])
        );
        assert_eq!(
            eval(r#"$.emails[?(@.type=="work")].value"#, &u).unwrap(),
            json!(["a@x"])
        );
        assert_eq!(
            eval(r#"$["urn:x:2.0:User"].level"#, &u).unwrap(),
            json!("gold")
        );
        assert_eq!(eval("$..value", &u).unwrap(), json!(["a@x", "b@x"]));
        assert_eq!(eval("$", &u).unwrap(), u);
        assert_eq!(eval("@.emails[1].value", &u).unwrap(), json!("b@x"));
        let err = Path::parse("$.emails[?(@.primary==]").unwrap_err();
        assert!(err.contains("JSONPath"), "{err}");
    }

    #[test]
    fn filters_written_without_dollar_work_as_meant() {
        let u = json!({"emails": [{"value": "a@x"}, {"value": "b@x", "primary": true}]});
        assert_eq!(
            eval("emails[?(@.primary==true)].value", &u).unwrap(),
            json!(["b@x"])
        );
        assert_eq!(eval("emails[*].value", &u).unwrap(), json!(["a@x", "b@x"]));
        assert_eq!(eval("", &u).unwrap(), json!(null));
        assert!(
            Path::parse(&"a.".repeat(600))
                .unwrap_err()
                .contains("longer")
        );
    }
}
