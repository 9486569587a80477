//! Every text the consent windows show, in one place so that the product's
//! six languages can replace this English catalogue later. Names are plain
//! text everywhere (egui draws them as text, nothing is interpreted).

use tandem_wire::channels::Capability;

use super::{ActiveGrant, Prompt};
use crate::video::x11_window::WindowInfo;

pub const ALLOW: &str = "Allow";
pub const DENY: &str = "Deny";
pub const END_AND_REPORT: &str = "End session and report";
pub const STOP: &str = "Stop";

/// Above the window list of an application prompt.
pub const PICK_WINDOW: &str = "Choose the window to share, then Allow:";
/// In place of the window list when there is nothing to choose.
pub const NO_WINDOWS: &str = "No application windows were found. Open the application, or choose Deny.";
/// A window without a title, in the window list.
pub const UNTITLED: &str = "Untitled window";

/// One row of the window list: the window's title (cleaned by the lister),
/// and on the right its size, so that two windows of the same title can be
/// told apart.
pub fn window_row(window: &WindowInfo) -> (&str, String) {
    let title = if window.title.is_empty() { UNTITLED } else { window.title.as_str() };
    (title, format!("{}×{}", window.rect.width, window.rect.height))
}

/// The prompt window's title while it has nothing to ask (it is hidden then).
pub const IDLE_TITLE: &str = "Tandem";

/// Under the question: what happens next, and that the name is the server's.
pub const REASSURANCE: &str = "Name and organisation as verified by the Tandem server. \
     Nothing is shared until you choose Allow, and you can stop at any time.";

/// Longest name or organisation shown whole; longer ones end in "…" so that
/// the question still fits its window.
const MAX_NAME_CHARS: usize = 64;

/// "Carla Example (Example Support)", or the name alone when the server gave no organisation.
pub fn requester(prompt: &Prompt) -> String {
    let name = shorten(&prompt.requester_name);
    match &prompt.organisation {
        Some(org) => format!("{name} ({})", shorten(org)),
        None => name,
    }
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= MAX_NAME_CHARS {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(MAX_NAME_CHARS - 1).collect();
    short.push('…');
    short
}

/// Exactly what is asked, as one sentence.
pub fn question(prompt: &Prompt) -> String {
    let who = requester(prompt);
    if prompt.offer {
        // This machine's own offer, typed in its command line: confirmed here, on screen.
        return match prompt.capability {
            Capability::ShareControl => {
                format!("Let {who} see and control your screen with their mouse and keyboard?")
            }
            _ => format!("Show your whole screen to {who}?"),
        };
    }
    match prompt.capability {
        Capability::ViewDesktop => format!("{who} asks to see your whole screen."),
        Capability::ControlDesktop => {
            format!("{who} asks to see your whole screen and control your mouse and keyboard.")
        }
        Capability::ViewApplication => {
            format!("{who} asks to see one application window (you choose which).")
        }
        Capability::ControlApplication => {
            format!("{who} asks to see and control one application window (you choose which).")
        }
        Capability::ShareView => format!("{who} asks to share their screen with you."),
        Capability::ShareControl => format!("{who} asks to let you control their screen."),
    }
}

/// The prompt window's title: the question itself, so that a window list
/// (and a test) shows who asks for what.
pub fn prompt_title(prompt: &Prompt) -> String {
    format!("Tandem: {}", question(prompt).trim_end_matches('.'))
}

/// Shown under the buttons when more prompts wait behind this one.
pub fn waiting(more: usize) -> Option<String> {
    match more {
        0 => None,
        1 => Some("1 more request is waiting.".to_owned()),
        n => Some(format!("{n} more requests are waiting.")),
    }
}

/// The indicator's line: who sees or controls what, one clause per grant
/// ("Your screen is being controlled by Carla Example"). Seeing is left out
/// where the same person also controls the same thing (control implies view).
pub fn indicator(grants: &[ActiveGrant]) -> String {
    let implied_by = |c: Capability| match c {
        Capability::ViewDesktop => Some(Capability::ControlDesktop),
        Capability::ViewApplication => Some(Capability::ControlApplication),
        Capability::ShareView => Some(Capability::ShareControl),
        _ => None,
    };
    let mut clauses: Vec<String> = Vec::new();
    for grant in grants {
        let covered = implied_by(grant.capability)
            .is_some_and(|stronger| grants.iter().any(|g| g.with == grant.with && g.capability == stronger));
        if covered {
            continue;
        }
        let name = &grant.name;
        let clause = match grant.capability {
            Capability::ViewDesktop => format!("Your screen is being viewed by {name}"),
            Capability::ControlDesktop => format!("Your screen is being controlled by {name}"),
            Capability::ViewApplication => format!("One of your windows is being viewed by {name}"),
            Capability::ControlApplication => format!("One of your windows is being controlled by {name}"),
            Capability::ShareView => format!("You are viewing {name}'s screen"),
            Capability::ShareControl => format!("You are controlling {name}'s screen"),
        };
        if !clauses.contains(&clause) {
            clauses.push(clause);
        }
    }
    clauses.join("; ")
}

/// The indicator window's title (window lists, task bars).
pub fn indicator_title(grants: &[ActiveGrant]) -> String {
    format!("Tandem: {}", indicator(grants))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_wire::ParticipantId;
    use tandem_wire::channels::RequestId;

    fn prompt(capability: Capability, organisation: Option<&str>) -> Prompt {
        Prompt {
            from: ParticipantId::from_raw(1),
            request_id: RequestId(1),
            capability,
            requester_name: "Carla Example".to_owned(),
            organisation: organisation.map(str::to_owned),
            offer: false,
        }
    }

    fn grant(with: u64, name: &str, capability: Capability) -> ActiveGrant {
        ActiveGrant { with: ParticipantId::from_raw(with), name: name.to_owned(), capability }
    }

    #[test]
    fn the_question_names_the_requester_and_says_exactly_what_is_asked() {
        let p = prompt(Capability::ControlDesktop, Some("Example Support"));
        assert_eq!(
            question(&p),
            "Carla Example (Example Support) asks to see your whole screen and control your mouse and keyboard."
        );
        assert_eq!(
            prompt_title(&p),
            "Tandem: Carla Example (Example Support) asks to see your whole screen and control your mouse and keyboard"
        );
        assert_eq!(
            question(&prompt(Capability::ShareView, None)),
            "Carla Example asks to share their screen with you."
        );
        let long = Prompt {
            requester_name: "n".repeat(200),
            ..prompt(Capability::ViewDesktop, Some(&"o".repeat(90)))
        };
        let who = requester(&long);
        assert_eq!(who.chars().count(), 64 + 2 + 64 + 1, "both cut at 64 characters: {who}");
        assert!(who.ends_with("o…)"));
        let offered = |c| question(&Prompt { offer: true, ..prompt(c, None) });
        assert_eq!(offered(Capability::ShareView), "Show your whole screen to Carla Example?");
        assert_eq!(
            offered(Capability::ShareControl),
            "Let Carla Example see and control your screen with their mouse and keyboard?"
        );
        let all: Vec<String> = Capability::ALL.iter().map(|&c| question(&prompt(c, None))).collect();
        for (i, q) in all.iter().enumerate() {
            assert!(!all[..i].contains(q), "each capability has its own text: {q}");
        }
    }

    #[test]
    fn the_indicator_says_who_sees_or_controls_and_drops_what_control_implies() {
        let line = indicator(&[
            grant(1, "Carla Example", Capability::ViewDesktop),
            grant(1, "Carla Example", Capability::ControlDesktop),
        ]);
        assert_eq!(line, "Your screen is being controlled by Carla Example");
        let line = indicator(&[
            grant(1, "Carla Example", Capability::ViewDesktop),
            grant(2, "Dan Second", Capability::ControlDesktop),
        ]);
        assert_eq!(
            line,
            "Your screen is being viewed by Carla Example; Your screen is being controlled by Dan Second"
        );
        assert_eq!(indicator(&[]), "");
        let window = WindowInfo {
            id: crate::video::WindowId(1),
            title: String::new(),
            class: String::new(),
            rect: crate::control::Surface { x: 5, y: 5, width: 640, height: 480 },
        };
        assert_eq!(window_row(&window), ("Untitled window", "640×480".to_owned()));
        assert_eq!(waiting(0), None);
        assert_eq!(waiting(2).as_deref(), Some("2 more requests are waiting."));
    }
}
