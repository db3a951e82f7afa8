//! Page tokens handed out to fetch at the same time, made as they are taken.

use std::collections::VecDeque;

use super::PageToken;

/// Tokens of pages that can be fetched at the same time ([`Page::parallel`]).
///
/// Either a list, or an arithmetic range of numbers (`first`, `first + step`, … up to
/// `last`) with a text prefix, made one at a time as the driver takes them: a server that
/// claims a billion results hands out a billion pages without a billion tokens in memory,
/// and the driver stops taking them at the first handed-out page that brings nothing.
///
/// ```
/// use connector_sdk::page::{HandOut, PageToken};
/// let mut range = HandOut::range("p:", 101, 100, 350);
/// assert_eq!(range.len(), 3);
/// assert_eq!(range.next(), Some(PageToken::new("p:101")));
/// assert_eq!(range.len(), 2);
///
/// let list: HandOut = vec![PageToken::new("a")].into();
/// assert_eq!(list.collect::<Vec<_>>(), [PageToken::new("a")]);
///
/// // Nothing is made up front.
/// assert_eq!(HandOut::range("", 1, 1, u64::MAX).len(), usize::MAX);
/// ```
///
/// [`Page::parallel`]: super::Page::parallel
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandOut {
    segments: VecDeque<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Token(PageToken),
    Range {
        prefix: String,
        next: u64,
        step: u64,
        last: u64,
    },
}

impl Segment {
    fn len(&self) -> u64 {
        match self {
            Segment::Token(_) => 1,
            Segment::Range {
                next, step, last, ..
            } => (last - next) / step + 1,
        }
    }
}

impl HandOut {
    /// The tokens `<prefix><first>`, `<prefix><first + step>`, … while the number is at
    /// most `last`. A `step` of 0 is taken as 1.
    pub fn range(prefix: &str, first: u64, step: u64, last: u64) -> Self {
        let mut segments = VecDeque::new();
        if first <= last {
            segments.push_back(Segment::Range {
                prefix: prefix.to_string(),
                next: first,
                step: step.max(1),
                last,
            });
        }
        HandOut { segments }
    }

    /// Whether no token is left.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// How many tokens are left (saturating at `usize::MAX`).
    pub fn len(&self) -> usize {
        self.segments
            .iter()
            .fold(0u64, |n, s| n.saturating_add(s.len()))
            .try_into()
            .unwrap_or(usize::MAX)
    }

    /// Adds the tokens of `other` after these.
    pub fn extend(&mut self, other: HandOut) {
        self.segments.extend(other.segments);
    }
}

impl Iterator for HandOut {
    type Item = PageToken;

    fn next(&mut self) -> Option<PageToken> {
        match self.segments.front_mut()? {
            Segment::Token(_) => match self.segments.pop_front() {
                Some(Segment::Token(t)) => Some(t),
                _ => None,
            },
            Segment::Range {
                prefix,
                next,
                step,
                last,
            } => {
                let token = PageToken::new(format!("{prefix}{next}"));
                match next.checked_add(*step) {
                    Some(n) if n <= *last => *next = n,
                    _ => {
                        self.segments.pop_front();
                    }
                }
                Some(token)
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.len();
        (n, Some(n))
    }
}

impl From<Vec<PageToken>> for HandOut {
    fn from(tokens: Vec<PageToken>) -> Self {
        HandOut {
            segments: tokens.into_iter().map(Segment::Token).collect(),
        }
    }
}
