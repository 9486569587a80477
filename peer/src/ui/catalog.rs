//! Every text the consent windows show, in one place so that the product's
//! six languages can replace this English catalogue later. Names are plain
//! text everywhere (egui draws them as text, nothing is interpreted).

use tandem_wire::channels::Capability;

use super::{ActiveGrant, FilesActivity, Prompt, Question};
use crate::session::{Direction, FilesAsk, TransferSummary};
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
    shorten_to(text, MAX_NAME_CHARS)
}

/// `text`, or its first `max - 1` characters and "…"; control characters shown as "?".
fn shorten_to(text: &str, max: usize) -> String {
    let text: String = text.chars().map(|c| if c.is_control() { '?' } else { c }).collect();
    if text.chars().count() <= max {
        return text;
    }
    let mut short: String = text.chars().take(max - 1).collect();
    short.push('…');
    short
}

/// Exactly what is asked, as one sentence.
pub fn question(prompt: &Prompt) -> String {
    let who = requester(prompt);
    let capability = match &prompt.question {
        Question::Capability(c) => *c,
        Question::Files(ask) => return files_question(&who, ask),
    };
    if prompt.offer {
        // This machine's own offer, typed in its command line: confirmed here, on screen.
        return match capability {
            Capability::ShareControl => {
                format!("Let {who} see and control your screen with their mouse and keyboard?")
            }
            _ => format!("Show your whole screen to {who}?"),
        };
    }
    match capability {
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

/// Longest file or folder name shown whole in a question.
const MAX_ITEM_CHARS: usize = 80;
/// At most this many granted folders are named in a question.
const MAX_ROOTS_NAMED: usize = 3;

/// File transfer and system information questions (TOOL-5, TOOL-7): who, what, which way, how much.
fn files_question(who: &str, ask: &FilesAsk) -> String {
    match ask {
        FilesAsk::Open { roots } => {
            let mut named: Vec<String> =
                roots.iter().take(MAX_ROOTS_NAMED).map(|r| shorten_to(r, MAX_ITEM_CHARS)).collect();
            if roots.len() > MAX_ROOTS_NAMED {
                named.push(format!("{} more", roots.len() - MAX_ROOTS_NAMED));
            }
            format!("{who} asks to browse and transfer your files in {}.", named.join(", "))
        }
        FilesAsk::Transfer(t) => transfer_question(who, t),
        FilesAsk::SystemInfo => format!(
            "{who} asks for this computer's system information (operating system, hardware, displays, network interfaces)."
        ),
    }
}

fn transfer_question(who: &str, t: &TransferSummary) -> String {
    let item = shorten_to(&t.item, MAX_ITEM_CHARS);
    let files = match t.files {
        1 => "1 file".to_owned(),
        n => format!("{n} files"),
    };
    let amount = format!("{files}, {}", size(t.bytes));
    match t.direction {
        Direction::Download => format!("{who} asks to copy \"{item}\" ({amount}) from this computer."),
        Direction::Upload => {
            let place = shorten_to(&t.place, MAX_ITEM_CHARS);
            let replacing = if t.overwrite { ", replacing existing files" } else { "" };
            format!("{who} asks to copy \"{item}\" ({amount}) to this computer, into {place}{replacing}.")
        }
    }
}

/// "1.5 GB", "340 KB", "12 bytes": decimal units, as file managers show them.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return if bytes == 1 { "1 byte".to_owned() } else { format!("{bytes} bytes") };
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 999.5 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if value < 9.95 { format!("{value:.1} {}", UNITS[unit]) } else { format!("{value:.0} {}", UNITS[unit]) }
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

/// File transfer's part of the indicator: who may browse this machine's
/// files, and each running transfer with how far it is
/// ("Copying "report.pdf" to Carla Example: 45 % of 200 MB").
pub fn files_indicator(files: &[FilesActivity]) -> String {
    let mut clauses = Vec::new();
    for activity in files {
        let name = &activity.name;
        if activity.transfers.is_empty() {
            clauses.push(format!("{name} may browse and transfer your files"));
        }
        for t in &activity.transfers {
            let item = shorten_to(&t.item, 40);
            let way = match t.direction {
                Direction::Download => "to",
                Direction::Upload => "from",
            };
            let percent = if t.total == 0 {
                100
            } else {
                (u128::from(t.done.min(t.total)) * 100 / u128::from(t.total)) as u64
            };
            clauses.push(format!("Copying \"{item}\" {way} {name}: {percent} % of {}", size(t.total)));
        }
    }
    clauses.join("; ")
}

/// The indicator's whole line: screen sharing, then file transfer.
pub fn indicator_line(grants: &[ActiveGrant], files: &[FilesActivity]) -> String {
    [indicator(grants), files_indicator(files)]
        .into_iter()
        .filter(|c| !c.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The indicator window's title (window lists, task bars).
pub fn indicator_title(grants: &[ActiveGrant], files: &[FilesActivity]) -> String {
    format!("Tandem: {}", indicator_line(grants, files))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::TransferLine;
    use tandem_wire::ParticipantId;
    use tandem_wire::channels::RequestId;

    fn prompt(capability: Capability, organisation: Option<&str>) -> Prompt {
        Prompt {
            from: ParticipantId::from_raw(1),
            request_id: RequestId(1),
            question: Question::Capability(capability),
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
    fn file_transfer_questions_say_what_which_way_and_how_much() {
        let ask = |a: FilesAsk| Prompt {
            question: Question::Files(a),
            ..prompt(Capability::ViewDesktop, Some("Example Support"))
        };
        let who = "Carla Example (Example Support)";
        assert_eq!(
            prompt_title(&ask(FilesAsk::Open { roots: vec!["/home/ann".into(), "/srv/share".into()] })),
            format!("Tandem: {who} asks to browse and transfer your files in /home/ann, /srv/share")
        );
        let many = FilesAsk::Open { roots: (0..5).map(|i| format!("/r{i}")).collect() };
        assert!(question(&ask(many)).ends_with("in /r0, /r1, /r2, 2 more."));
        let download = TransferSummary {
            direction: Direction::Download,
            item: "report.pdf".into(),
            place: String::new(),
            files: 1,
            bytes: 200_000_000,
            overwrite: false,
        };
        assert_eq!(
            question(&ask(FilesAsk::Transfer(download.clone()))),
            format!("{who} asks to copy \"report.pdf\" (1 file, 200 MB) from this computer.")
        );
        let upload = TransferSummary {
            direction: Direction::Upload,
            item: "photos\u{7}".into(),
            place: "/home/ann/Documents".into(),
            files: 12,
            bytes: 1_500_000,
            overwrite: true,
        };
        assert_eq!(
            question(&ask(FilesAsk::Transfer(upload))),
            format!(
                "{who} asks to copy \"photos?\" (12 files, 1.5 MB) to this computer, into /home/ann/Documents, replacing existing files."
            )
        );
        assert!(
            question(&ask(FilesAsk::SystemInfo))
                .starts_with(&format!("{who} asks for this computer's system information"))
        );
        let long = TransferSummary { item: "x".repeat(300), ..download };
        assert!(question(&ask(FilesAsk::Transfer(long))).contains(&format!("\"{}…\"", "x".repeat(79))));
        assert_eq!(size(0), "0 bytes");
        assert_eq!(size(1), "1 byte");
        assert_eq!(size(999), "999 bytes");
        assert_eq!(size(1000), "1.0 KB");
        assert_eq!(size(9_949), "9.9 KB");
        assert_eq!(size(9_950), "10 KB");
        assert_eq!(size(999_499), "999 KB");
        assert_eq!(size(999_500), "1.0 MB");
        assert_eq!(size(1 << 30), "1.1 GB");
        assert_eq!(size(u64::MAX), "18447 PB");
    }

    #[test]
    fn the_indicator_shows_file_transfer_and_each_transfer_s_progress() {
        let carla = ParticipantId::from_raw(1);
        let line = |transfers| FilesActivity { with: carla, name: "Carla Example".into(), transfers };
        assert_eq!(files_indicator(&[line(vec![])]), "Carla Example may browse and transfer your files");
        let copying = vec![
            TransferLine {
                item: "report.pdf".into(),
                direction: Direction::Download,
                done: 90_000_000,
                total: 200_000_000,
            },
            TransferLine { item: "a".repeat(60), direction: Direction::Upload, done: 0, total: 0 },
        ];
        assert_eq!(
            files_indicator(&[line(copying)]),
            format!(
                "Copying \"report.pdf\" to Carla Example: 45 % of 200 MB; Copying \"{}…\" from Carla Example: 100 % of 0 bytes",
                "a".repeat(39)
            )
        );
        let grants = [grant(1, "Carla Example", Capability::ViewDesktop)];
        assert_eq!(
            indicator_title(&grants, &[line(vec![])]),
            "Tandem: Your screen is being viewed by Carla Example; Carla Example may browse and transfer your files"
        );
        assert_eq!(indicator_line(&[], &[]), "");
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
