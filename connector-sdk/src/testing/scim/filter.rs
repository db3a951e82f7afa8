//! List filters (RFC 7644 §3.4.2.2): `attrPath op value` comparisons (`eq ne co sw ew gt
//! ge lt le`), `pr`, joined by `and`/`or`, negated by `not (…)`, grouped by parentheses;
//! multi-valued attributes match when any value does (`members.value eq "u1"`,
//! `emails[type eq "work"].value sw "a"`).

use serde_json::Value;

use super::answer::scim_error;
use super::path::AttrPath;
use crate::scim::ScimError;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn parse(word: &str) -> Option<Op> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "co" => Op::Co,
            "sw" => Op::Sw,
            "ew" => Op::Ew,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            _ => return None,
        })
    }
}

/// A parsed filter. Attribute paths are kept as written and read against each resource,
/// whose extension URNs tell where an attribute of an extension starts.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Filter {
    /// `path op value`.
    Compare(String, Op, Value),
    /// `path pr`.
    Present(String),
    /// `a and b`.
    And(Box<Filter>, Box<Filter>),
    /// `a or b`.
    Or(Box<Filter>, Box<Filter>),
    /// `not (a)`.
    Not(Box<Filter>),
}

/// A token: a word (attribute path, operator, keyword, bare literal), a string literal,
/// or a parenthesis.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Open,
    Close,
}

fn invalid(detail: &str) -> ScimError {
    scim_error(400, Some("invalidFilter"), detail)
}

fn tokenize(text: &str) -> Result<Vec<Token>, ScimError> {
    let mut tokens = Vec::new();
    let mut rest = text.trim_start();
    while let Some(c) = rest.chars().next() {
        let len = match c {
            '(' | ')' => {
                tokens.push(if c == '(' { Token::Open } else { Token::Close });
                1
            }
            '"' => {
                let end = string_end(rest).ok_or_else(|| invalid("unterminated string"))?;
                let s: String = serde_json::from_str(&rest[..=end])
                    .map_err(|_| invalid("invalid string literal"))?;
                tokens.push(Token::Text(s));
                end + 1
            }
            _ => {
                let end = word_end(rest);
                tokens.push(Token::Word(rest[..end].to_string()));
                end
            }
        };
        rest = rest[len..].trim_start();
    }
    Ok(tokens)
}

/// The index of the quote closing the string starting `s`.
fn string_end(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

/// Where a word ends: at a space or parenthesis outside `[…]` (a `valuePath` filter).
fn word_end(s: &str) -> usize {
    let (mut depth, mut quoted, mut escaped) = (0u32, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' if depth > 0 => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth = depth.saturating_sub(1),
            ' ' | '(' | ')' if depth == 0 => return i,
            _ => {}
        }
    }
    s.len()
}

/// A recursive-descent reader over the tokens.
struct Reader {
    tokens: Vec<Token>,
    at: usize,
}

impl Reader {
    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    /// `item (word item)*`, joined from the left.
    fn chain(
        &mut self,
        word: &str,
        item: fn(&mut Reader) -> Result<Filter, ScimError>,
        join: fn(Box<Filter>, Box<Filter>) -> Filter,
    ) -> Result<Filter, ScimError> {
        let mut left = item(self)?;
        while self.keyword(word) {
            self.at += 1;
            left = join(Box::new(left), Box::new(item(self)?));
        }
        Ok(left)
    }

    /// `and` binds tighter than `or`.
    fn or(&mut self) -> Result<Filter, ScimError> {
        self.chain("or", Reader::and, Filter::Or)
    }

    fn and(&mut self) -> Result<Filter, ScimError> {
        self.chain("and", Reader::unary, Filter::And)
    }

    fn unary(&mut self) -> Result<Filter, ScimError> {
        if self.keyword("not") {
            self.at += 1;
            return Ok(Filter::Not(Box::new(self.group()?)));
        }
        if self.tokens.get(self.at) == Some(&Token::Open) {
            return self.group();
        }
        let Some(Token::Word(path)) = self.next() else {
            return Err(invalid("expected an attribute path"));
        };
        AttrPath::parse(&path, &Value::Null)
            .map_err(|_| invalid(&format!("invalid attribute path {path:?}")))?;
        let Some(Token::Word(op)) = self.next() else {
            return Err(invalid("expected an operator"));
        };
        if op.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let op = Op::parse(&op).ok_or_else(|| invalid(&format!("unknown operator {op:?}")))?;
        let value = match self.next() {
            Some(Token::Text(s)) => Value::String(s),
            Some(Token::Word(w)) => {
                serde_json::from_str(&w).map_err(|_| invalid(&format!("invalid value {w:?}")))?
            }
            _ => return Err(invalid("expected a value")),
        };
        Ok(Filter::Compare(path, op, value))
    }

    fn group(&mut self) -> Result<Filter, ScimError> {
        if self.next() != Some(Token::Open) {
            return Err(invalid("expected ("));
        }
        let inner = self.or()?;
        if self.next() != Some(Token::Close) {
            return Err(invalid("expected )"));
        }
        Ok(inner)
    }
}

impl Filter {
    /// Parses a filter; an error is the 400 `invalidFilter` to answer.
    pub fn parse(text: &str) -> Result<Filter, ScimError> {
        let mut reader = Reader {
            tokens: tokenize(text)?,
            at: 0,
        };
        let filter = reader.or()?;
        if reader.at != reader.tokens.len() {
            return Err(invalid("unexpected text after the filter"));
        }
        Ok(filter)
    }

    /// Whether `resource` (a JSON object) passes.
    pub fn matches(&self, resource: &Value) -> bool {
        match self {
            Filter::And(a, b) => a.matches(resource) && b.matches(resource),
            Filter::Or(a, b) => a.matches(resource) || b.matches(resource),
            Filter::Not(a) => !a.matches(resource),
            Filter::Present(path) => AttrPath::parse(path, resource).is_ok_and(|p| {
                p.values(resource)
                    .iter()
                    .any(|v| !v.is_null() && v.as_str() != Some(""))
            }),
            Filter::Compare(path, Op::Ne, value) => {
                !Filter::Compare(path.clone(), Op::Eq, value.clone()).matches(resource)
            }
            Filter::Compare(path, op, value) => AttrPath::parse(path, resource).is_ok_and(|p| {
                let exact = p.case_exact();
                p.values(resource)
                    .into_iter()
                    .any(|v| compare(v, *op, value, exact))
            }),
        }
    }
}

/// `actual op expected`; a complex value compares by its `value` sub-attribute.
fn compare(actual: &Value, op: Op, expected: &Value, exact: bool) -> bool {
    let actual = match actual {
        Value::Object(o) => o.get("value").unwrap_or(&Value::Null),
        v => v,
    };
    let order = match (actual, expected) {
        (Value::String(a), Value::String(e)) => {
            let fold = |s: &String| if exact { s.clone() } else { s.to_lowercase() };
            let (a, e) = (fold(a), fold(e));
            match op {
                Op::Co => return a.contains(&e),
                Op::Sw => return a.starts_with(&e),
                Op::Ew => return a.ends_with(&e),
                _ => a.cmp(&e),
            }
        }
        (Value::Number(a), Value::Number(e)) => {
            match a
                .as_f64()
                .zip(e.as_f64())
                .and_then(|(a, e)| a.partial_cmp(&e))
            {
                Some(order) => order,
                None => return false,
            }
        }
        (a, e) => return matches!((op, a == e), (Op::Eq, true) | (Op::Ne, false)),
    };
    match op {
        Op::Eq => order.is_eq(),
        Op::Ne => order.is_ne(),
        Op::Gt => order.is_gt(),
        Op::Ge => order.is_ge(),
        Op::Lt => order.is_lt(),
        Op::Le => order.is_le(),
        Op::Co | Op::Sw | Op::Ew => false,
    }
}
