//! Unit tests of the tenant.
