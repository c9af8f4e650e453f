//! Which configuration file, and which storage directory when the file
//! names none.
//!
//! root (the service, the administrator) uses `/etc/banwarden/banwarden.json`
//! and `/var/lib/banwarden`. Anyone else who gives no `--config` gets their
//! own: `$XDG_CONFIG_HOME/banwarden/banwarden.json` and
//! `$XDG_DATA_HOME/banwarden` (crate `directories`), so that trying
//! banwarden out, or running it in the foreground without systemd, needs
//! neither root nor a file under /etc. An explicit `--config` is taken as
//! it is, with the system's storage default.

use std::path::{Path, PathBuf};

use super::{load, Config, ConfigError, DEFAULT_PATH};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigFile {
    pub path: PathBuf,
    /// The storage directory when the file names none (`None`: the
    /// system's, /var/lib/banwarden).
    pub default_storage: Option<PathBuf>,
}

impl ConfigFile {
    /// This file, with the system's storage default.
    pub fn at(path: impl Into<PathBuf>) -> ConfigFile {
        ConfigFile { path: path.into(), default_storage: None }
    }

    /// The file given on the command line, or the default for this user
    /// (see the module doc); `None` for a non-root user without a home.
    pub fn locate(given: Option<&Path>, euid: u32) -> Option<ConfigFile> {
        if let Some(path) = given {
            return Some(ConfigFile::at(path));
        }
        if euid == 0 {
            return Some(ConfigFile::at(DEFAULT_PATH));
        }
        let dirs = directories::ProjectDirs::from("", "", "banwarden")?;
        Some(ConfigFile {
            path: dirs.config_dir().join("banwarden.json"),
            default_storage: Some(dirs.data_dir().to_owned()),
        })
    }

    /// Whether this is a user's own file rather than the system's.
    pub fn is_users_own(&self) -> bool {
        self.default_storage.is_some()
    }

    /// Reads and compiles the file.
    pub fn load(&self) -> Result<Config, ConfigError> {
        let mut config = load(&self.path)?;
        if let (Some(dir), false) = (&self.default_storage, config.settings.storage_given) {
            config.settings.storage = dir.clone();
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_an_explicit_file_use_the_system_defaults() {
        assert_eq!(ConfigFile::locate(None, 0), Some(ConfigFile::at(DEFAULT_PATH)));
        assert_eq!(ConfigFile::locate(Some(Path::new("x.json")), 1000), Some(ConfigFile::at("x.json")));
    }

    #[test]
    fn a_user_without_config_gets_their_own_directories() {
        let file = ConfigFile::locate(None, 1000);
        if !crate::testenv::require(file.is_some(), "needs a home directory (the `directories` crate found none)") {
            return;
        }
        let file = file.unwrap();
        assert!(file.is_users_own());
        assert!(file.path.ends_with("banwarden/banwarden.json"), "{file:?}");
        assert!(file.default_storage.as_ref().unwrap().ends_with("banwarden"), "{file:?}");
    }

    #[test]
    fn the_users_storage_applies_only_when_the_file_names_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        let own = Some(dir.path().join("data"));
        std::fs::write(&path, r#"{"actions": {"a": [{"action": "action_noop"}]}}"#).unwrap();
        let file = ConfigFile { path: path.clone(), default_storage: own.clone() };
        assert_eq!(Some(file.load().unwrap().settings.storage), own);
        std::fs::write(&path, r#"{"actions": {"a": [{"action": "action_noop"}]}, "storage": "/srv/bw"}"#).unwrap();
        assert_eq!(file.load().unwrap().settings.storage, PathBuf::from("/srv/bw"));
    }
}
