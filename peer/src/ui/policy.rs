//! The managed machine's consent policy: a small TOML file, written by the
//! machine's administrators, that denies capabilities outright (no prompt;
//! the request is answered "no" and recorded as denied by policy). Without
//! a file the person at the machine is asked for everything.
//!
//! ```toml
//! # /etc/tandem/peer-policy.toml
//! deny = ["control_desktop", "control_application"]
//! ```
//!
//! The names are the wire names of [`Capability`]. Anything else in the file
//! (an unknown key, a misspelt capability) is an error rather than silently
//! ignored: a typo must not quietly allow what the administrator meant to deny.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tandem_wire::channels::Capability;

use crate::consent::Policy;

/// Where the policy is read from unless another path is given.
pub const DEFAULT_POLICY_PATH: &str = "/etc/tandem/peer-policy.toml";

/// Larger than any sensible policy; a bigger file is refused unread.
const MAX_POLICY_BYTES: u64 = 64 * 1024;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    #[error("cannot read the consent policy {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the consent policy {} is larger than {MAX_POLICY_BYTES} bytes", path.display())]
    TooLarge { path: PathBuf },
    #[error("the consent policy {} is not valid: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

/// Reads the policy at `path`, or at [`DEFAULT_POLICY_PATH`] when `None`.
/// A missing file at the default path means "ask for everything"; a path
/// given explicitly must exist.
pub fn load(path: Option<&Path>) -> Result<Policy, PolicyError> {
    let (path, required) = match path {
        Some(p) => (p, true),
        None => (Path::new(DEFAULT_POLICY_PATH), false),
    };
    let read_error = |source| PolicyError::Read { path: path.to_owned(), source };
    let len = match std::fs::metadata(path) {
        Ok(meta) => meta.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(Policy::default()),
        Err(e) => return Err(read_error(e)),
    };
    if len > MAX_POLICY_BYTES {
        return Err(PolicyError::TooLarge { path: path.to_owned() });
    }
    let text = std::fs::read_to_string(path).map_err(read_error)?;
    parse(&text).map_err(|message| PolicyError::Invalid { path: path.to_owned(), message })
}

/// Parses a policy file's text; the error says what is wrong and where.
pub fn parse(text: &str) -> Result<Policy, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(default)]
        deny: Vec<Capability>,
    }
    let file: File = toml::from_str(text).map_err(|e| {
        let names: Vec<&str> = Capability::ALL.iter().map(|c| c.as_str()).collect();
        format!(
            "{} (the file holds one key, deny = [...], with names among: {})",
            e.message(),
            names.join(", ")
        )
    })?;
    let mut denied = Vec::new();
    for capability in file.deny {
        if !denied.contains(&capability) {
            denied.push(capability);
        }
    }
    Ok(Policy { denied })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_lists_the_denied_capabilities_by_wire_name() {
        let policy =
            parse("deny = [\"control_desktop\", \"control_application\", \"control_desktop\"]\n").unwrap();
        assert_eq!(policy.denied, vec![Capability::ControlDesktop, Capability::ControlApplication]);
        assert_eq!(parse("# nothing denied\n").unwrap(), Policy::default());
        assert_eq!(parse("deny = []").unwrap(), Policy::default());
    }

    #[test]
    fn mistakes_are_errors_that_say_what_is_wrong() {
        let err = parse("deny = [\"control_everything\"]").unwrap_err();
        assert!(err.contains("control_everything") && err.contains("view_desktop"), "{err}");
        let err = parse("denny = [\"control_desktop\"]").unwrap_err();
        assert!(err.contains("denny"), "an unknown key is named: {err}");
        let err = parse("deny = \"control_desktop\"").unwrap_err();
        assert!(err.contains("sequence") || err.contains("array"), "{err}");
        assert!(parse("deny = [").is_err());
    }

    #[test]
    fn the_default_file_may_be_absent_but_a_chosen_one_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("peer-policy.toml");
        assert!(matches!(load(Some(&missing)), Err(PolicyError::Read { .. })));

        std::fs::write(&missing, "deny = [\"view_application\"]").unwrap();
        assert_eq!(load(Some(&missing)).unwrap().denied, vec![Capability::ViewApplication]);

        std::fs::write(&missing, "deny = [\"nope\"]").unwrap();
        let err = load(Some(&missing)).unwrap_err().to_string();
        assert!(err.contains("peer-policy.toml") && err.contains("nope"), "{err}");

        std::fs::write(&missing, " ".repeat(MAX_POLICY_BYTES as usize + 1)).unwrap();
        assert!(matches!(load(Some(&missing)), Err(PolicyError::TooLarge { .. })));

        if !Path::new(DEFAULT_POLICY_PATH).exists() {
            assert_eq!(load(None).unwrap(), Policy::default(), "no file: ask for everything");
        }
    }
}
