//! Errors the user can fix by changing what they typed or the file they gave. They exit
//! with status 2, like a usage error, so scripts can tell them from failures of the
//! machine (unreadable disk, full disk …), which exit with 1.

use std::fmt;

/// The exit status of a command refused because of its input.
pub const EXIT_STATUS: u8 = 2;

/// Input that cannot be used, with a message that names the offending field, column or row.
#[derive(Debug)]
pub struct BadInput(pub String);

impl BadInput {
    pub fn new(message: impl Into<String>) -> BadInput {
        BadInput(message.into())
    }
}

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}
