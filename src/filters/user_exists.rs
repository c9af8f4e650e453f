//! `filter_userExists`: the field names an account of the system user database.
//!
//! Asks `getpwnam_r(3)` on every call, as Pyruse asked `pwd.getpwnam`: users
//! come and go, and a cache would answer with yesterday's passwd file. Names
//! with a NUL byte cannot exist and are refused without asking.

use crate::entry::Entry;
use crate::fields::FieldId;

#[derive(Debug)]
pub struct UserExists {
    field: FieldId,
}

impl UserExists {
    /// The field this filter reads.
    pub fn field(&self) -> FieldId {
        self.field
    }

    pub fn new(field: FieldId) -> UserExists {
        UserExists { field }
    }

    pub fn test(&self, entry: &Entry) -> bool {
        entry.get(self.field).is_some_and(user_exists)
    }
}

/// Whether `name` is a known user name. A lookup that fails (no NSS
/// answer, a name with a NUL) counts as unknown, as Pyruse's `KeyError` did.
pub fn user_exists(name: &str) -> bool {
    // getpwnam_r(3), with a buffer grown on ERANGE, inside nix.
    !name.is_empty() && matches!(nix::unistd::User::from_name(name), Ok(Some(_)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::FieldTable;

    #[test]
    fn root_exists_and_nonsense_does_not() {
        assert!(user_exists("root"));
        assert!(!user_exists("no-such-user-banwarden-test"));
        assert!(!user_exists(""));
        assert!(!user_exists("ro\0ot"));
    }

    #[test]
    fn reads_the_field() {
        let mut fields = FieldTable::new();
        let user = fields.intern("user");
        let filter = UserExists::new(user);
        let mut e = Entry::new(&fields);
        assert!(!filter.test(&e), "absent field fails");
        e.set(user, "root");
        assert!(filter.test(&e));
        e.set(user, "admin' OR 1=1");
        assert!(!filter.test(&e));
    }
}
