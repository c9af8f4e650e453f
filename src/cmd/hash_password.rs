//! `banwarden hash-password`: the argon2id hash of a password, for
//! `api.users` and `resp.password`, which take hashes only.
//!
//! On a terminal it prompts twice with echo off (termios(3)); otherwise it
//! reads one line from standard input, so a script can pipe a generated
//! password in. The password never appears on the command line, where
//! every user could read it in /proc.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context as _;

use super::Exit;

pub fn run() -> anyhow::Result<Exit> {
    let stdin = std::io::stdin();
    let password = if stdin.is_terminal() {
        let first = prompt("Password: ")?;
        let again = prompt("Again: ")?;
        if first != again {
            eprintln!("banwarden: error: the passwords differ");
            return Ok(Exit::Invalid);
        }
        first
    } else {
        let mut line = String::new();
        stdin.lock().read_line(&mut line).context("reading the password from standard input")?;
        strip_newline(line)
    };
    if password.is_empty() {
        eprintln!("banwarden: error: the password is empty");
        return Ok(Exit::Invalid);
    }
    crate::out!("{}", crate::api::auth::hash(&password))?;
    Ok(Exit::Success)
}

fn strip_newline(mut line: String) -> String {
    if line.ends_with('\n') {
        line.pop();
        if line.ends_with('\r') {
            line.pop();
        }
    }
    line
}

/// Reads a line from the terminal on standard input with echo off.
fn prompt(text: &str) -> anyhow::Result<String> {
    eprint!("{text}");
    std::io::stderr().flush()?;
    let fd = libc::STDIN_FILENO;
    // SAFETY: tcgetattr fills the zeroed struct or fails.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
        return Err(std::io::Error::last_os_error()).context("reading the terminal's settings");
    }
    let mut quiet = saved;
    quiet.c_lflag &= !libc::ECHO;
    quiet.c_lflag |= libc::ECHONL;
    // SAFETY: a termios copied from the terminal's own, echo off.
    if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) } != 0 {
        return Err(std::io::Error::last_os_error()).context("turning the terminal's echo off");
    }
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    // SAFETY: puts back the settings read above.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
    read.context("reading the password")?;
    Ok(strip_newline(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_without_its_end() {
        assert_eq!(strip_newline("pw\n".into()), "pw");
        assert_eq!(strip_newline("pw\r\n".into()), "pw");
        assert_eq!(strip_newline("pw".into()), "pw");
        assert_eq!(strip_newline(" p w \n\n".into()), " p w \n");
    }
}
