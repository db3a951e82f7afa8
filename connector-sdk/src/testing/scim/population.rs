//! Large tenants, generated the same way every time: for tests of paging and for
//! benchmarks (10,000 users, 500 groups, 50,000 memberships).

use std::collections::HashSet;

use serde_json::json;

use super::ScimTenant;
use crate::scim::{Email, Group, Member, Meta, Name, User};

/// The instant every generated resource was created and last modified, so a generated
/// tenant is the same on every run.
pub const GENERATED_AT: &str = "2025-03-26T18:33:48.336Z";

/// What [`ScimTenant::populate`] adds: `users` users, `groups` groups, `memberships`
/// memberships and, when `roles` is not 0, one role per user.
///
/// Users `i` (counting from the users already in the tenant) are `u{i:06}`,
/// `user{i}@acme.example`, named `User i`, active; groups `g{j:05}` are `Group j`; role
/// `r` is `role-r` (`Role r`), user `i` having role `i % roles`. Memberships spread over
/// every user of the tenant: evenly without a seed (group `j`'s are users `j·k … j·k+k−1`
/// modulo the user count, `k = memberships / groups`, so a remainder is dropped), or as
/// distinct random pairs with a [`seed`](Population::seed).
///
/// ```
/// use connector_sdk::testing::scim::{Population, ScimTenant};
/// let t = ScimTenant::default().with_population(&Population::new(10_000, 500, 50_000).seed(1));
/// assert_eq!((t.users.len(), t.groups.len()), (10_000, 500));
/// assert_eq!(t.groups.iter().map(|g| g.members.len()).sum::<usize>(), 50_000);
/// let again = ScimTenant::default().with_population(&Population::new(10_000, 500, 50_000).seed(1));
/// assert_eq!(t.groups, again.groups);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Population {
    /// Users added.
    pub users: usize,
    /// Groups added.
    pub groups: usize,
    /// Memberships in the new groups (at most one per user and group when seeded).
    pub memberships: usize,
    /// Distinct roles handed out to the new users (0: none).
    pub roles: usize,
    /// The seed of a random spread of memberships (`None`: even).
    pub seed: Option<u64>,
}

impl Population {
    /// `users` users, `groups` groups and `memberships` memberships spread evenly.
    pub fn new(users: usize, groups: usize, memberships: usize) -> Self {
        Population {
            users,
            groups,
            memberships,
            roles: 0,
            seed: None,
        }
    }

    /// Spreads the memberships at random, the same way for the same seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Gives each new user one of `roles` roles.
    pub fn roles(mut self, roles: usize) -> Self {
        self.roles = roles;
        self
    }
}

/// SplitMix64: a tiny deterministic generator, plenty for spreading test data.
struct SplitMix(u64);

impl SplitMix {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

/// A user as seeds write one: `userName` also its primary email, named `given family`
/// when either is given, active, created and last modified at [`GENERATED_AT`].
///
/// ```
/// use connector_sdk::testing::scim::seed_user;
/// let u = seed_user("u1", "ada@acme.example", Some("Ada"), None);
/// assert_eq!((u.primary_email(), u.given_name(), u.is_active()), (Some("ada@acme.example"), Some("Ada"), true));
/// ```
pub fn seed_user(id: &str, user_name: &str, given: Option<&str>, family: Option<&str>) -> User {
    User {
        id: id.into(),
        user_name: user_name.into(),
        name: (given.is_some() || family.is_some())
            .then(|| Name::new(given.map(String::from), family.map(String::from))),
        emails: vec![Email::primary(user_name)],
        active: Some(true),
        meta: Some(Meta {
            created: Some(GENERATED_AT.into()),
            last_modified: Some(GENERATED_AT.into()),
            ..Meta::default()
        }),
        ..User::default()
    }
}

/// Generated user `i`.
fn user(i: usize, roles: usize) -> User {
    let mut u = seed_user(
        &format!("u{i:06}"),
        &format!("user{i}@acme.example"),
        Some("User"),
        Some(&i.to_string()),
    );
    if roles > 0 {
        let r = i % roles;
        u.extra.insert(
            "roles".into(),
            json!([{"value": format!("role-{r}"), "display": format!("Role {r}")}]),
        );
    }
    u
}

impl ScimTenant {
    /// Adds `population` after the users and groups already here; memberships may name
    /// any user of the tenant, those already here included.
    pub fn populate(&mut self, population: &Population) {
        let first = self.users.len();
        self.users
            .extend((first..first + population.users).map(|i| user(i, population.roles)));
        let first_group = self.groups.len();
        self.groups.extend(
            (first_group..first_group + population.groups).map(|j| Group {
                id: format!("g{j:05}"),
                display_name: format!("Group {j}"),
                ..Group::default()
            }),
        );
        let (n, groups) = (self.users.len(), population.groups);
        if n == 0 || groups == 0 {
            return;
        }
        let new = &mut self.groups[first_group..];
        let users = &self.users;
        let mut add = |g: usize, u: usize| new[g].members.push(Member::user(users[u].id.clone()));
        match population.seed {
            None => {
                let per_group = (population.memberships / groups).min(n);
                for g in 0..groups {
                    (0..per_group).for_each(|k| add(g, (g * per_group + k) % n));
                }
            }
            Some(seed) => {
                let wanted = population.memberships.min(n * groups);
                let mut rng = SplitMix(seed);
                let mut seen = HashSet::with_capacity(wanted);
                while seen.len() < wanted {
                    let pair = (rng.below(groups), rng.below(n));
                    if seen.insert(pair) {
                        add(pair.0, pair.1);
                    }
                }
            }
        }
    }
}
