//! [`ExploreArgs`]: the flags of `baton serve` and `<connector> explore`.

use std::net::SocketAddr;

/// Where the explorer listens.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct ExploreArgs {
    /// The address to listen on; a loopback address unless --allow-remote is given.
    #[arg(long, default_value = super::DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Allow a --listen address beyond this machine. The explorer's only authentication is
    /// the token in the link it prints, sent over plain HTTP: anyone who sees the link or
    /// the traffic can read the whole file.
    #[arg(long)]
    pub allow_remote: bool,
    /// A name the explorer is reached under besides 127.0.0.1, localhost and `[::1]` (a
    /// reverse proxy's), with or without the port; repeat for several. Requests naming
    /// any other host are refused (421), so a web page cannot reach it by DNS rebinding.
    #[arg(long = "public-host", value_name = "NAME")]
    pub public_hosts: Vec<String>,
}
