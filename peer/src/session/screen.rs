//! What this machine's screen shows and to whom, from the consent grants
//! (SHR-1..8): the send gate of each link, the screen selector (desktop, one
//! window, nothing), the window picked for each application grant, and the
//! shared window as application control sees it.

use tandem_wire::ParticipantId;
use tandem_wire::channels::{Capability, ControlMessage, RequestId};

use super::State;
use crate::consent::Scope;
use crate::control::{SharedWindow, pointer_pixel};
use crate::media::{Feed, MediaKind};
use crate::video::WindowId;
use crate::video::screen_selector::ScreenTarget;
use crate::video::x11_window::X11Windows;

impl State {
    /// The person's answer to request `request_id`, checked for application
    /// sharing: a `*_application` request is allowed only with the window they
    /// picked, and only when this machine's screen can show one window; the
    /// window is remembered for the grant.
    pub(super) fn application_answer(
        &mut self,
        from: ParticipantId,
        request_id: RequestId,
        allowed: bool,
        window: Option<WindowId>,
    ) -> bool {
        let capability = self.consent.pending_capability(from, request_id);
        if !matches!(capability, Some(Capability::ViewApplication | Capability::ControlApplication)) {
            return allowed;
        }
        match window {
            _ if !allowed => false,
            None => {
                tracing::warn!(%from, "an application allowed without a window picked: denied");
                false
            }
            Some(_) if self.screen_feed().and_then(Feed::selector).is_none() => {
                tracing::warn!(%from, "this screen source cannot show one window: application sharing denied");
                false
            }
            Some(window) => {
                self.app_windows.insert((from, request_id), window);
                true
            }
        }
    }

    pub(super) fn screen_feed(&self) -> Option<&Feed> {
        self.media.feeds.iter().find(|f| f.kind() == MediaKind::Screen)
    }

    /// The window `participant` was allowed to see or control (their latest application grant).
    fn app_window(&self, participant: ParticipantId) -> Option<WindowId> {
        self.app_windows
            .iter()
            .filter(|((p, _), _)| *p == participant)
            .max_by_key(|((_, id), _)| *id)
            .map(|(_, w)| *w)
    }

    /// Our screen goes exactly to those consent lets see it: a participant we
    /// allowed to view or control it, or one who accepted our `share_*`. The
    /// screen source shows the desktop when anyone may see the desktop,
    /// otherwise the one window allowed, otherwise nothing; a participant
    /// allowed one window sees the feed only while it shows that window.
    pub(super) fn apply_screen_grants(&mut self) {
        let consent = &self.consent;
        self.app_windows.retain(|(p, id), _| consent.is_active(*p, *id));
        let scopes: Vec<(ParticipantId, Option<Scope>)> =
            self.links.keys().map(|&id| (id, self.consent.view_scope(id))).collect();
        let target = if scopes.iter().any(|(_, s)| *s == Some(Scope::Desktop)) {
            ScreenTarget::Desktop
        } else if let Some(window) = scopes
            .iter()
            .filter(|(_, s)| *s == Some(Scope::Application))
            .filter_map(|(id, _)| self.app_window(*id))
            .max()
        {
            ScreenTarget::Window(window)
        } else {
            ScreenTarget::Nothing
        };
        let selector = self.screen_feed().and_then(Feed::selector);
        if let (Some(feed), Some(selector)) = (self.screen_feed(), selector)
            && selector.get() != target
        {
            tracing::info!(?target, "the screen shows");
            selector.set(target);
            feed.request_keyframe();
        }
        for (id, scope) in scopes {
            let allowed = match scope {
                Some(Scope::Desktop) => true,
                Some(Scope::Application) => {
                    selector.is_some() && self.app_window(id).map(ScreenTarget::Window) == Some(target)
                }
                None => false,
            };
            if let Some(link) = self.links.get(&id) {
                link.send_screen(allowed);
            }
        }
    }

    /// The shared window as it is now, for a control message from `from` (application control).
    pub(super) fn shared_window(
        &mut self,
        from: ParticipantId,
        message: &ControlMessage,
    ) -> Option<SharedWindow> {
        let id = self.app_window(from)?;
        if self.windows.is_none() {
            match X11Windows::connect(None) {
                Ok(windows) => self.windows = Some(windows),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot look at this display's windows; application input dropped");
                    return None;
                }
            }
        }
        let windows = self.windows.as_ref()?;
        let rect = windows.rect(id)?;
        let topmost = pointer_pixel(message, rect).and_then(|(x, y)| windows.topmost_at(x, y));
        Some(SharedWindow { id, rect, topmost, focused: windows.focused() })
    }
}
