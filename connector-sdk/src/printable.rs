//! Text from outside made safe to print on a terminal: names from a `.c1z`, messages from
//! an API. A raw ESC can recolour or erase the screen, a CR overwrite the start of a line,
//! a BEL ring, a bidirectional override reorder what the reader sees — enough for a name
//! to forge or hide lines of an access review. Human output escapes them; JSON output
//! stays exact.
//!
//! ```
//! use connector_sdk::printable::{printable, printable_lines};
//! assert_eq!(printable("Ada\x1b[2K\rroot"), "Ada\\x1b[2K\\rroot");
//! assert_eq!(printable("two\nlines"), "two\\nlines");
//! // Messages keep their line breaks and tabs; the rest is escaped.
//! assert_eq!(printable_lines("first\nsecond\x07"), "first\nsecond\\x07");
//! ```

use std::borrow::Cow;
use std::fmt::Write as _;
use std::process::ExitCode;

/// `text` with every control character escaped (`\n`, `\r`, `\t`, `\xNN`, `\u{NNNN}`):
/// for one cell of a table or one value on a line.
pub fn printable(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// `text` with control characters escaped except line breaks and tabs: for a message of
/// several lines (an error).
pub fn printable_lines(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

/// Prints `error: <e>` on stderr, control characters escaped ([`printable_lines`]): an
/// API's message or a name in it cannot rewrite the terminal.
pub fn eprint_error(e: impl std::fmt::Display) {
    eprintln!("error: {}", printable_lines(&e.to_string()));
}

/// The end of a program's `main`: [`ExitCode::SUCCESS`] for `Ok`; for an error, prints
/// `error: …` ([`eprint_error`]) and returns [`ExitCode::FAILURE`].
///
/// ```no_run
/// use std::process::ExitCode;
///
/// async fn run() -> connector_sdk::Result<()> {
///     Ok(())
/// }
///
/// #[tokio::main]
/// async fn main() -> ExitCode {
///     connector_sdk::printable::exit_code(run().await)
/// }
/// ```
pub fn exit_code<E: std::fmt::Display>(result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprint_error(e);
            ExitCode::FAILURE
        }
    }
}

/// Whether `c` changes the terminal or the order of what is shown rather than printing.
fn is_unsafe(c: char, keep_lines: bool) -> bool {
    if keep_lines && (c == '\n' || c == '\t') {
        return false;
    }
    c.is_control()
        // Bidirectional embeddings, overrides and isolates (the "Trojan Source" set), and
        // the line and paragraph separators.
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

fn escape(text: &str, keep_lines: bool) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c, keep_lines)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !is_unsafe(c, keep_lines) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_control_character_is_escaped_and_nothing_else_changes() {
        for c in (0u32..0x20).chain([0x7f]).chain(0x80..0xa0) {
            let c = char::from_u32(c).unwrap();
            let s = format!("a{c}b");
            let p = printable(&s);
            assert!(!p.chars().any(char::is_control), "{c:?} → {p:?}");
            assert!(p.starts_with('a') && p.ends_with('b'));
        }
        assert_eq!(printable("Zoë 李 ✓ <b>"), "Zoë 李 ✓ <b>");
        assert!(matches!(printable("plain"), Cow::Borrowed(_)));
        assert_eq!(printable("\u{202E}evil"), "\\u{202e}evil");
        assert_eq!(printable("\u{9b}31m"), "\\x9b31m");
    }

    #[test]
    fn lines_keep_breaks_and_tabs_only() {
        assert_eq!(
            printable_lines("a\n\tb\r\x1b]0;title\x07"),
            "a\n\tb\\r\\x1b]0;title\\x07"
        );
    }
}
