//! Delivery of generated credentials: never in clear on a terminal unless asked.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use secrecy::ExposeSecret;

use crate::account::Credential;
use crate::error::{Error, Result};

use super::args::{CommonArgs, flag_and_env};

/// Where credentials go, decided (and checked) before the account is created, so that a
/// generated password is never lost.
#[derive(Debug)]
pub(crate) enum Delivery {
    /// Encrypted to an age recipient, into a file or (`None`) standard output.
    Age(Box<age::x25519::Recipient>, Option<PathBuf>),
    /// In clear on standard output (`--print-credentials`).
    Print,
    /// In clear in a new file with mode 0600.
    File(PathBuf),
}

impl Delivery {
    /// Checks the flags: a valid recipient, a target file that does not exist yet.
    pub(crate) fn from_args(args: &CommonArgs, account: &str) -> Result<Delivery> {
        let file = args.credentials_file.clone();
        if let Some(r) = &args.credentials_recipient {
            let recipient = age::x25519::Recipient::from_str(r.trim()).map_err(|e| {
                Error::invalid_argument(format!(
                    "{}: not an age recipient ({e}); it looks like age1…",
                    flag_and_env("credentials-recipient")
                ))
            })?;
            let target = file.filter(|p| p.as_os_str() != "-");
            if let Some(p) = &target {
                check_new(p)?;
            }
            return Ok(Delivery::Age(Box::new(recipient), target));
        }
        if args.print_credentials {
            return Ok(Delivery::Print);
        }
        let path = file
            .unwrap_or_else(|| PathBuf::from(format!("credentials-{}.json", sanitize(account))));
        check_new(&path)?;
        Ok(Delivery::File(path))
    }

    /// Delivers `credentials` of `account`; returns a sentence saying where they went.
    pub(crate) fn deliver(&self, account: &str, credentials: &[Credential]) -> Result<String> {
        let mut doc = serde_json::Map::new();
        doc.insert("account".into(), account.into());
        let mut secrets = serde_json::Map::new();
        for c in credentials {
            secrets.insert(c.name.clone(), c.secret.expose_secret().into());
        }
        doc.insert("credentials".into(), secrets.into());
        let plain = serde_json::to_vec_pretty(&doc)?;
        let names: Vec<&str> = credentials.iter().map(|c| c.name.as_str()).collect();
        match self {
            Delivery::Age(recipient, target) => {
                let armored = age::encrypt_and_armor(recipient.as_ref(), &plain).map_err(|e| {
                    Error::internal(format!("could not encrypt the credentials: {e}"))
                })?;
                match target {
                    Some(p) => {
                        write_private(p, armored.as_bytes())?;
                        Ok(format!(
                            "{} encrypted to the age recipient in {}",
                            names.join(", "),
                            p.display()
                        ))
                    }
                    None => {
                        println!("{armored}");
                        Ok(format!(
                            "{} encrypted to the age recipient on standard output",
                            names.join(", ")
                        ))
                    }
                }
            }
            Delivery::Print => {
                println!("{}", String::from_utf8_lossy(&plain));
                Ok(format!("{} printed in clear, as asked", names.join(", ")))
            }
            Delivery::File(p) => {
                write_private(p, &plain)?;
                Ok(format!(
                    "{} written to {} (mode 0600)",
                    names.join(", "),
                    p.display()
                ))
            }
        }
    }
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn check_new(path: &Path) -> Result<()> {
    if path.exists() {
        return Err(Error::invalid_argument(format!(
            "{}: {} exists already; choose another file so no credentials are overwritten",
            flag_and_env("credentials-file"),
            path.display()
        )));
    }
    Ok(())
}

/// Creates `path` (failing if it exists) readable by the owner only, and writes `bytes`.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .map_err(|e| Error::from(e).context(format!("creating {}", path.display())))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}
