//! The window picker of an application prompt (SHR-5..8): for "see one
//! application window" and "see and control one application window" the
//! prompt lists this machine's windows, and Allow takes a click only once
//! one is chosen. What is offered is plain data here; the window thread
//! reads the X server ([`crate::video::x11_window::X11Windows::list`]) every
//! [`REFRESH`] while such a prompt is shown, and the choice itself lives
//! with the front prompt in [`super::queue::PromptQueue`].

use std::time::Duration;

use tandem_wire::channels::Capability;

use crate::video::x11_window::WindowInfo;

/// How often the list is read again while an application prompt is shown.
pub const REFRESH: Duration = Duration::from_secs(1);

/// `WM_CLASS` of the consent windows themselves (their app ids): never offered.
const OWN_CLASSES: [&str; 2] = ["tandem-consent", "tandem-indicator"];

/// Whether a prompt for `capability` asks the person to choose a window.
pub fn needs_window(capability: Capability) -> bool {
    matches!(capability, Capability::ViewApplication | Capability::ControlApplication)
}

/// The windows to offer, in the order shown: not the consent windows
/// themselves, sorted by title (then id) so that rows stay in place as the
/// list refreshes.
pub fn offered(windows: Vec<WindowInfo>) -> Vec<WindowInfo> {
    let mut rows: Vec<WindowInfo> =
        windows.into_iter().filter(|w| !OWN_CLASSES.contains(&w.class.as_str())).collect();
    rows.sort_by_cached_key(|w| (w.title.to_lowercase(), w.id));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::Surface;
    use crate::video::WindowId;

    fn window(id: u32, title: &str, class: &str) -> WindowInfo {
        WindowInfo {
            id: WindowId(id),
            title: title.to_owned(),
            class: class.to_owned(),
            rect: Surface { x: 0, y: 0, width: 100, height: 100 },
        }
    }

    #[test]
    fn the_consent_windows_are_not_offered_and_rows_are_sorted_by_title() {
        let rows = offered(vec![
            window(5, "Tandem: Carla asks to see one application window", "tandem-consent"),
            window(4, "terminal", "XTerm"),
            window(3, "Budget.ods", "libreoffice-calc"),
            window(2, "Tandem: Your screen is being viewed", "tandem-indicator"),
            window(9, "budget.ods", "libreoffice-calc"),
        ]);
        let ids: Vec<u32> = rows.iter().map(|w| w.id.0).collect();
        assert_eq!(ids, vec![3, 9, 4]);
        assert!(needs_window(Capability::ViewApplication) && needs_window(Capability::ControlApplication));
        assert!(!needs_window(Capability::ControlDesktop) && !needs_window(Capability::ShareView));
    }
}
