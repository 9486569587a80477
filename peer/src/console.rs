//! The command line's standard input: every line is a chat message to
//! everyone, except lines that start with `/`, which are commands for this
//! peer (the CSR's native share, SHR-3/4, and the Stop that ends it).

use tandem_wire::ChatText;
use tandem_wire::channels::Capability;

use crate::session::Command;

/// What one typed line asks for.
#[derive(Debug, PartialEq)]
pub enum Typed {
    /// Hand this to the session.
    Session(Command),
    /// Print this (help, or why the line was not understood).
    Say(String),
    /// Nothing (an empty line).
    Nothing,
}

/// The commands, for `/help`.
pub const HELP: &str = "commands: /share view (show your screen to the customers), \
/share control (let them control it), /stop (end all viewing and control of this screen), \
/help; any other line is a chat message to everyone";

/// Reads one line of standard input.
pub fn parse(line: &str) -> Typed {
    let line = line.trim_end_matches(['\r', '\n']);
    let Some(command) = line.strip_prefix('/') else {
        return match ChatText::parse(line) {
            Ok(text) => Typed::Session(Command::Chat { text, to: Vec::new() }),
            Err(_) if line.trim().is_empty() => Typed::Nothing,
            Err(e) => Typed::Say(format!("not sent: {e}")),
        };
    };
    let words: Vec<&str> = command.split_whitespace().collect();
    match words.as_slice() {
        ["share", "view"] => Typed::Session(Command::Share { capability: Capability::ShareView }),
        ["share", "control"] => Typed::Session(Command::Share { capability: Capability::ShareControl }),
        ["stop"] => Typed::Session(Command::StopAll),
        ["help"] => Typed::Say(HELP.to_owned()),
        _ => Typed::Say(format!("unknown command /{command}; {HELP}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slash_lines_are_commands_and_the_rest_is_chat() {
        assert_eq!(
            parse("/share view\n"),
            Typed::Session(Command::Share { capability: Capability::ShareView })
        );
        assert_eq!(
            parse("/share  control"),
            Typed::Session(Command::Share { capability: Capability::ShareControl })
        );
        assert_eq!(parse("/stop"), Typed::Session(Command::StopAll));
        assert_eq!(parse("/help"), Typed::Say(HELP.to_owned()));
        assert!(
            matches!(parse("/share everything"), Typed::Say(s) if s.starts_with("unknown command /share everything"))
        );
        let chat =
            Typed::Session(Command::Chat { text: ChatText::parse("hello /share").unwrap(), to: vec![] });
        assert_eq!(parse("hello /share"), chat);
        assert_eq!(parse(""), Typed::Nothing);
    }
}
