//! A serialisable stack of listing states for nested listings.

use serde::{Deserialize, Serialize};

use super::PageToken;
use crate::error::{Error, Result};

/// One level of a nested listing in a [`TokenBag`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageState {
    /// What this level lists (e.g. a resource type id, or `"members"`).
    pub resource_type_id: String,
    /// Which resource this level lists under, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// The API's own token for this level; `None` for its first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// A serialisable stack of listing states, for a listing that walks several API
/// collections in turn (e.g. a vault's grants: first its users, then its groups).
///
/// ```
/// use connector_sdk::page::{PageState, TokenBag};
///
/// // First call: nothing in the token; plan both sub-listings.
/// let mut bag = TokenBag::from_token(None).unwrap();
/// if bag.is_empty() {
///     bag.push(PageState { resource_type_id: "group".into(), resource_id: None, token: None });
///     bag.push(PageState { resource_type_id: "user".into(), resource_id: None, token: None });
/// }
/// assert_eq!(bag.current().unwrap().resource_type_id, "user");
/// // The users API said its next cursor is "c2".
/// bag.next_token(Some("c2".into()));
/// let token = bag.to_token().unwrap();
///
/// // Next call: resume where we were.
/// let mut bag = TokenBag::from_token(Some(&token)).unwrap();
/// assert_eq!(bag.current().unwrap().token.as_deref(), Some("c2"));
/// bag.next_token(None); // users done: move to groups
/// assert_eq!(bag.current().unwrap().resource_type_id, "group");
/// bag.next_token(None); // groups done
/// assert!(bag.to_token().is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenBag {
    states: Vec<PageState>,
}

impl TokenBag {
    /// The bag a page token holds; an empty bag for `None`.
    pub fn from_token(token: Option<&PageToken>) -> Result<Self> {
        match token {
            None => Ok(TokenBag::default()),
            Some(t) if t.as_str().is_empty() => Ok(TokenBag::default()),
            Some(t) => serde_json::from_str(t.as_str()).map_err(|e| {
                Error::invalid_argument(format!("malformed page token: not a token bag ({e})"))
            }),
        }
    }

    /// Whether no state is left.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// Pushes a state; it becomes the current one.
    pub fn push(&mut self, state: PageState) {
        self.states.push(state);
    }

    /// Removes and returns the current state.
    pub fn pop(&mut self) -> Option<PageState> {
        self.states.pop()
    }

    /// The current state.
    pub fn current(&self) -> Option<&PageState> {
        self.states.last()
    }

    /// Records the API's next token for the current state, or pops it when `None`/empty.
    pub fn next_token(&mut self, token: Option<String>) {
        match token.filter(|t| !t.is_empty()) {
            Some(t) => {
                if let Some(cur) = self.states.last_mut() {
                    cur.token = Some(t);
                }
            }
            None => {
                self.states.pop();
            }
        }
    }

    /// The page token holding this bag; `None` when the bag is empty (the listing is done).
    pub fn to_token(&self) -> Option<PageToken> {
        if self.states.is_empty() {
            return None;
        }
        // A Vec of plain structs always serialises.
        serde_json::to_string(self).ok().map(PageToken::new)
    }
}
