//! The saved journal position: the cursor of the last entry fully judged.
//!
//! It is written crash-safely (a temporary file, `fsync`, `rename` over the
//! old one, `fsync` of the directory), so after a crash at any instant the
//! file holds either the previous cursor or the new one, never a torn
//! write. Each journal source has its own file, so following a namespace
//! never resumes from the system journal's position.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::sd::Source;

pub struct CursorFile {
    path: PathBuf,
}

impl CursorFile {
    /// The cursor file of `source` in the storage directory.
    pub fn new(storage: &Path, source: &Source) -> CursorFile {
        let name = match source {
            Source::System { .. } => "journal.cursor".to_owned(),
            Source::Namespace(ns) => format!("journal@{}.cursor", sanitize(ns)),
            Source::Directory(dir) => format!("journal@dir-{:016x}.cursor", fnv1a(dir.as_os_str().as_encoded_bytes())),
            Source::Files(files) => {
                let mut all = Vec::new();
                for f in files {
                    all.extend_from_slice(f.as_os_str().as_encoded_bytes());
                    all.push(0);
                }
                format!("journal@files-{:016x}.cursor", fnv1a(&all))
            }
        };
        CursorFile { path: storage.join(name) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved cursor, if any.
    pub fn load(&self) -> io::Result<Option<String>> {
        Ok(self.load_all()?.0)
    }

    /// The saved cursor and the fleet's stream position saved with it
    /// (a second line, `fleet ID`), each if any.
    pub fn load_all(&self) -> io::Result<(Option<String>, Option<String>)> {
        match fs::read_to_string(&self.path) {
            Ok(text) => {
                let mut lines = text.lines();
                let cursor = lines.next().map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned);
                let fleet = lines.find_map(|l| l.strip_prefix("fleet ")).map(|p| p.trim().to_owned());
                Ok((cursor, fleet.filter(|p| !p.is_empty())))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok((None, None)),
            Err(e) => Err(e),
        }
    }

    /// Replaces the saved cursor, durably.
    pub fn save(&self, cursor: &str) -> io::Result<()> {
        self.save_with(cursor, None)
    }

    /// Replaces the saved cursor and the fleet's position together, in one
    /// crash-safe write: after a crash both are from the same instant.
    pub fn save_with(&self, cursor: &str, fleet: Option<&str>) -> io::Result<()> {
        let text = match fleet {
            Some(position) => format!("{cursor}\nfleet {position}\n"),
            None => format!("{cursor}\n"),
        };
        crate::durable::replace_file(&self.path, text.as_bytes())
    }
}

/// Keeps a namespace name usable in a file name.
fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect()
}

/// A stable 64-bit hash (FNV-1a) to name the cursor of a set of paths.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_replace() {
        let dir = tempfile::tempdir().unwrap();
        let file = CursorFile::new(&dir.path().join("state"), &Source::System { users: false, other_machines: false });
        assert_eq!(file.load().unwrap(), None);
        file.save("s=abc;i=1").unwrap();
        assert_eq!(file.load().unwrap().as_deref(), Some("s=abc;i=1"));
        file.save("s=abc;i=2").unwrap();
        assert_eq!(file.load().unwrap().as_deref(), Some("s=abc;i=2"));
        assert!(!file.path().with_extension("cursor.tmp").exists());
        file.save_with("s=abc;i=3", Some("1733000000000-7")).unwrap();
        assert_eq!(file.load().unwrap().as_deref(), Some("s=abc;i=3"), "the cursor alone, as before");
        let (cursor, fleet) = file.load_all().unwrap();
        assert_eq!((cursor.as_deref(), fleet.as_deref()), (Some("s=abc;i=3"), Some("1733000000000-7")));
    }

    #[test]
    fn each_source_has_its_own_file() {
        let storage = Path::new("/var/lib/banwarden");
        let names: Vec<PathBuf> = [
            Source::System { users: false, other_machines: false },
            Source::Namespace("web/1".into()),
            Source::Directory("/var/log/journal/remote".into()),
            Source::Files(vec!["/a.journal".into()]),
            Source::Files(vec!["/b.journal".into()]),
        ]
        .iter()
        .map(|s| CursorFile::new(storage, s).path().to_owned())
        .collect();
        assert_eq!(names[0], Path::new("/var/lib/banwarden/journal.cursor"));
        assert_eq!(names[1], Path::new("/var/lib/banwarden/journal@web_1.cursor"));
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
    }
}
