//! `filter_userExists`: the field names an account of the system user database.
//!
//! Asks `getpwnam_r(3)` on every call, as Pyruse asked `pwd.getpwnam`: users
//! come and go, and a cache would answer with yesterday's passwd file. Names
//! with a NUL byte cannot exist and are refused without asking.

use std::ffi::CString;

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

/// Whether `name` is a known user name.
pub fn user_exists(name: &str) -> bool {
    if name.is_empty() {
        return false;
    }
    let Ok(c_name) = CString::new(name) else { return false };
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: every pointer is valid for the call; `pwd` and `buf` outlive it,
        // and `result` only points into them.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc =
            unsafe { libc::getpwnam_r(c_name.as_ptr(), &mut pwd, buf.as_mut_ptr().cast(), buf.len(), &mut result) };
        // ERANGE: the record does not fit; grow the buffer (getpwnam_r(3)).
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        return rc == 0 && !result.is_null();
    }
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
