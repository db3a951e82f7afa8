//! [`ExploreArgs`]: the flags of `inspect serve` and `<connector> explore`.

use std::net::SocketAddr;

/// Where the explorer listens.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct ExploreArgs {
    /// The address to listen on; a loopback address unless --allow-remote is given.
    #[arg(long, default_value = super::DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Allow a --listen address beyond this machine. The explorer has no authentication:
    /// anyone who can reach the address can read the whole file.
    #[arg(long)]
    pub allow_remote: bool,
}
